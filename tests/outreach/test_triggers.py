"""The trigger language: what fires, None handling, and the mistakes it refuses when the config is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cockpit.outreach.triggers import FACTS, MAX_DEPTH, TriggerError, compile_trigger

FACTS_OF_A_SAVE: dict[str, Any] = {
    "churn_tier": "high",
    "value_tier": "high",
    "health": 31.5,
    "renewal_in_days": 45,
    "cross_sell_ready": False,
    "stalled_feature": None,
    "churn_signals": ("cancel_click", "low_health"),
    "advocacy": "lurker",
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("churn_tier == 'high' and value_tier == 'high'", True),
        ("churn_tier == 'high' and value_tier != 'high'", False),
        ("churn_tier in ['high', 'medium']", True),
        ("churn_tier not in ['high', 'medium']", False),
        ("health < 40", True),
        ("health >= 40 or renewal_in_days <= 60", True),
        ("30 < health < 35", True),
        ("30 < health < 31", False),
        ("-5 < renewal_in_days", True),
        ("not cross_sell_ready", True),
        ("cross_sell_ready", False),
        ("cross_sell_ready == false", True),
        ("stalled_feature is none", True),
        ("stalled_feature is not none", False),
        ("'cancel_click' in churn_signals", True),
        ("'inactivity' in churn_signals", False),
        ("(churn_tier == 'low' or health < 40) and advocacy == 'lurker'", True),
    ],
)
def test_what_fires(source: str, expected: bool) -> None:
    trigger = compile_trigger(source)
    assert trigger.fires(FACTS_OF_A_SAVE) is expected


def test_missing_facts_are_none_and_never_ordered() -> None:
    """An account without a renewal date never has a renewal 'within 90 days', nor 'after 90 days'."""
    within = compile_trigger("renewal_in_days <= 90")
    beyond = compile_trigger("renewal_in_days > 90")
    neither = {"renewal_in_days": None}
    assert not within.fires(neither)
    assert not beyond.fires(neither)
    assert compile_trigger("renewal_in_days != 30").fires(neither)
    assert not compile_trigger("stalled_feature in ['x']").fires({"stalled_feature": None})
    assert not compile_trigger("'inactivity' in churn_signals").fires({"churn_signals": None})


def test_names_in_order_of_first_use() -> None:
    trigger = compile_trigger("value_tier == 'high' and churn_tier == 'high' or value_tier == 'medium'")
    assert trigger.names == ("value_tier", "churn_tier")
    assert not trigger.explained and not trigger.per_contact
    assert compile_trigger("stalled_idle_days > 14").explained
    assert compile_trigger("birthday_in_days == 0").per_contact


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty"),
        ("churn_tier ==", "not a valid expression"),
        ("churn_tier == 'high' extra", "not a valid expression"),
        ("churn == 'high'", "'churn' is not a fact"),
        ("churn_tier == 'hihg'", "churn_tier is never 'hihg'"),
        ("churn_tier in ['high', 'severe']", "churn_tier is never 'severe'"),
        ("health == 'high'", "compares number with text"),
        ("churn_tier > 3", "compares text with number"),
        ("churn_tier in 'high'", "needs a list"),
        ("churn_signals < 3", "compares list with number"),
        ("cross_sell_ready > false", "orders numbers or text"),
        ("health.real > 3", "attribute access"),
        ("health['x'] > 3", "indexing"),
        ("range(3)", "a call"),
        ("churn_tier|upper == 'HIGH'", "a filter"),
        ("health + 10 > 50", "arithmetic"),
        ("health if cross_sell_ready", "if-else"),
        ("churn_tier ~ 'x'", "concatenation"),
        ("health is defined", "'is defined' is not a test"),
        ("churn_tier in [value_tier]", "constants only"),
        ("{'a': 1}", "a dict"),
    ],
)
def test_mistakes_are_refused_with_what_to_fix(source: str, message: str) -> None:
    with pytest.raises(TriggerError) as caught:
        compile_trigger(source)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "source",
    [
        "(" * 3000 + "health < 50" + ")" * 3000,
        "not " * 3000 + "cross_sell_ready",
        " and ".join(["health < 50"] * 3000),
        " or ".join(["health < 50"] * 3000),
        "churn_tier in " + "[" * 3000 + "'high'" + "]" * 3000,
    ],
)
def test_a_trigger_nested_thousands_deep_is_refused_not_a_recursion_error(source: str) -> None:
    with pytest.raises(TriggerError) as caught:
        compile_trigger(source)
    assert f"nested more than {MAX_DEPTH} levels deep" in str(caught.value)


def test_a_deep_but_sensible_trigger_still_works() -> None:
    assert compile_trigger("(" * 40 + "health < 50" + ")" * 40).fires({"health": 31})
    assert compile_trigger(" and ".join(["health < 50"] * 20)).fires({"health": 31})
    assert compile_trigger("0 <= " + " <= ".join(["health"] * 500)).fires({"health": 31})  # flat: one level


def test_a_trigger_cannot_reach_python() -> None:
    """Dunder names are not facts, so nothing of Python is reachable from a trigger."""
    for source in ("__class__ == 'x'", "cycler.__init__.__globals__", "lipsum is none", "self is none"):
        with pytest.raises(TriggerError):
            compile_trigger(source)


def test_every_fact_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "outreach.md").read_text(encoding="utf-8")
    missing = [name for name in FACTS if f"`{name}`" not in docs]
    assert missing == []


def test_a_custom_field_is_a_text_fact() -> None:
    trigger = compile_trigger("custom.industry == 'FinTech' or custom.tier in ['gold']")
    assert trigger.names == ("custom.industry", "custom.tier")
    assert trigger.fires({"custom.industry": "FinTech"}) and trigger.fires({"custom.tier": "gold"})
    assert not trigger.fires({}) and not trigger.explained and not trigger.per_contact
    with pytest.raises(TriggerError, match="compare like with like"):
        compile_trigger("custom.employees > 100")
    with pytest.raises(TriggerError, match="not a custom field key"):
        compile_trigger("custom.Industry == 'x'")
    with pytest.raises(TriggerError, match="attribute access"):
        compile_trigger("name.custom == 'x'")
