"""Explanations are plain JSON holding every score's inputs, stored compact and read back as the same words;
score_book keeps order and leaves no trace."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest

from cockpit.config import HealthWeights
from cockpit.errors import DatabaseFromFuture
from cockpit.scoring import explain
from cockpit.scoring.rules import score_account, score_book

from .builders import AS_OF, account, ago, defaults, event, feature, healthy, score, section, tune

HEALTH_COMPONENTS = set(HealthWeights.model_fields)


def busy() -> Any:
    """An account with something in every part of the explanation."""
    return healthy(
        features=(
            feature("core.reports", days=25, users=12),
            feature("core.alerts", days=3, users=1, first=40, last=20),
        ),
        events=[
            event("cancel_click", 2, detail="Clicked cancel"),
            event("support_ticket", 3, detail="Export fails"),
            event("escalation", 3),
            event("nps", 10, 9.0),
            event("csat", 12, 4.0),
            event("referral", 50, detail="Referred Acme"),
            event("email_sent", 30, ref="m1"),
        ],
        renewal_date=ago(-30),
    )


def test_the_explanation_is_plain_json() -> None:
    explanation = score(busy()).explanation
    # Only JSON types: a round trip gives back the same (tuples or dates would not survive it).
    assert json.loads(json.dumps(explanation, allow_nan=False)) == explanation


def test_the_explanation_holds_every_score() -> None:
    scored = score(busy())
    explanation = scored.explanation
    assert set(explanation) == {
        "as_of",
        "health",
        "churn",
        "adoption",
        "value",
        "priority",
        "cross_sell",
        "advocacy",
    }
    assert explanation["as_of"] == AS_OF.isoformat()
    health = section(scored, "health")
    named = {part["name"] for part in health["components"]} | {part["name"] for part in health["missing"]}
    assert named == HEALTH_COMPONENTS
    for part in health["components"]:
        assert set(part) == {"name", "score", "weight", "effective_weight", "points", "detail"}
        assert part["detail"]
    assert health["score"] == scored.health
    assert health["band"] == scored.health_band


def test_churn_signals_name_their_dates_and_contributions() -> None:
    scored = score(busy())
    churn = section(scored, "churn")
    by_name = {signal["name"]: signal for signal in churn["signals"]}
    assert set(by_name) == {"cancel_click", "escalation", "renewal_near"}
    click = by_name["cancel_click"]
    assert click["on"] == ago(2).isoformat()
    assert click["effect"] == pytest.approx(click["weight"] * click["decay"])
    assert click["detail"] == "Clicked cancel"


def test_explanation_words_a_person_reads() -> None:
    scored = score(busy())
    details = {part["name"]: part["detail"] for part in section(scored, "health")["components"]}
    assert details == {
        "adoption": "1 of 2 features adopted",
        "usage_trend": "usage +20%: 120 in the last 30 days against 100 in the 30 before",
        "recency": f"last use on {AS_OF}, 0 days ago",
        "support": "1 ticket and 1 escalation in the last 30 days",
        "sentiment": "NPS 9 on 2026-11-10, CSAT 4 on 2026-11-08 (newer answers weigh more)",
        "email_engagement": "0 of 1 email opened in 60 days",
        "csm_touch": "last CSM touch on 2026-11-17, 3 days ago",
    }
    assert scored.stalled_features == ("core.alerts",)


def test_score_book_keeps_the_order_and_takes_any_iterable() -> None:
    book = [account(f"acc-{n}", mrr=float(n)) for n in (3, 1, 2)]
    scored = score_book(iter(book), defaults())
    assert [s.account_id for s in scored] == ["acc-3", "acc-1", "acc-2"]
    assert score_book([], defaults()) == []


def test_score_account_is_a_book_of_one() -> None:
    facts = busy()
    [from_book] = score_book([facts], defaults())
    assert score_account(facts, defaults()) == from_book
    assert from_book.value_tier == "high"


def test_score_book_leaves_the_cycle_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    score_book([account()], defaults())
    assert gc.isenabled()

    def failing() -> Iterator[Any]:
        yield account()
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError):
        score_book(failing(), defaults())
    assert gc.isenabled()
    gc.disable()
    try:
        score_book([account()], defaults())
        assert not gc.isenabled()
    finally:
        gc.enable()


def stored(scored: Any) -> str:
    """The explanation as a scoring run stores it."""
    return explain.encode(explain.encode_terms(scored.terms), scored.body)


def test_the_stored_explanation_reads_back_as_the_same_words() -> None:
    scored = score(busy())
    text = stored(scored)
    assert json.loads(text)[0] == explain.VERSION
    assert explain.decode(text) == scored.explanation
    assert list(explain.decode(text)) == list(scored.explanation)  # the sections in the same order
    assert len(text) < len(json.dumps(scored.explanation, separators=(",", ":"))) / 2


def test_the_stored_explanation_keeps_the_settings_it_was_worded_with() -> None:
    settings = tune("health", green_min=55.0, yellow_min=30.0)
    settings = tune("churn.weights", base=settings, cancel_click=0.9)
    scored = score(busy(), settings)
    decoded: dict[str, Any] = explain.decode(stored(scored))
    assert decoded == scored.explanation
    assert (decoded["health"]["green_min"], decoded["health"]["yellow_min"]) == (55.0, 30.0)
    click = next(signal for signal in decoded["churn"]["signals"] if signal["name"] == "cancel_click")
    assert click["weight"] == 0.9


def test_an_explanation_stored_before_version_2_reads_back_as_it_was() -> None:
    """Version 1 stored the worded explanation itself (runs in databases of cockpit 0.1)."""
    worded = score(busy()).explanation
    assert explain.decode(json.dumps(worded, separators=(",", ":"))) == worded


def test_an_explanation_from_a_newer_cockpit_is_refused_with_a_hint() -> None:
    text = stored(score(busy())).replace(f"[{explain.VERSION},", f"[{explain.VERSION + 1},", 1)
    with pytest.raises(DatabaseFromFuture, match="newer cockpit") as refused:
        explain.decode(text)
    assert refused.value.hint and "Upgrade cockpit" in refused.value.hint


def test_a_reader_may_ask_for_some_sections_only() -> None:
    scored = score(busy())
    some = ("churn", "adoption")
    for text in (stored(scored), json.dumps(scored.explanation)):
        assert explain.decode(text, some) == {name: scored.explanation[name] for name in some}
    assert list(explain.decode(stored(scored))) == list(explain.SECTIONS)
