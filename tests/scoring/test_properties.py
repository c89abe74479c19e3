"""Properties over generated accounts: ranges, monotone risk, stable weights, as-of, value order."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.domain.names import SignalKindName
from cockpit.scoring import explain
from cockpit.scoring.churn import noisy_or, norms_of
from cockpit.scoring.facts import FULL_COVERAGE, AccountFacts, Event, FeatureUse
from cockpit.scoring.rules import event_windows, score_accounts, score_book
from cockpit.scoring.value import value_tiers

from .builders import ANALYTICS, AS_OF, account, ago, components, defaults, event, score

pytestmark = pytest.mark.slow

TIER_RANK = {"other": 0, "medium": 1, "high": 2}
RISK_KINDS = ("cancel_page_visit", "cancel_click", "escalation", "support_ticket")


def days_ago(low: int = 0, high: int = 400) -> st.SearchStrategy[date]:
    return st.integers(low, high).map(ago)


def maybe_day() -> st.SearchStrategy[date | None]:
    return st.none() | days_ago()


features = st.builds(
    FeatureUse,
    feature_id=st.sampled_from(["core.reports", "core.alerts", "analytics.cohorts", "automation.flows"]),
    feature_name=st.just("Feature"),
    product_id=st.just("core"),
    active_days=st.integers(0, 30),
    active_users=st.integers(0, 25),
    first_used=maybe_day(),
    last_used=maybe_day(),
)


def events_on(days: st.SearchStrategy[date]) -> st.SearchStrategy[Event]:
    return st.builds(
        Event,
        kind=st.sampled_from(get_args(SignalKindName)),
        on=days,
        value=st.none() | st.floats(0, 10),
        detail=st.none() | st.text(max_size=10),
        ref=st.none() | st.sampled_from(["m1", "m2", "m3", "m4"]),
    )


events = events_on(days_ago(0, 400))
later_events = events_on(days_ago(-60, -1))
accounts = st.builds(
    account,
    mrr=st.floats(0, 1e6),
    features=st.lists(features, max_size=6, unique_by=lambda use: use.feature_id).map(tuple),
    events=st.lists(events, max_size=25),
    usage_last_30=st.integers(0, 5000),
    usage_prior_30=st.integers(0, 5000),
    last_usage=maybe_day(),
    last_csm_touch=maybe_day(),
    renewal_date=st.none() | st.integers(-400, 10).map(ago),
    start_date=maybe_day(),
    complements=st.lists(st.just(ANALYTICS), max_size=1).map(tuple),
)


@given(accounts)
def test_scores_stay_in_range_and_explain_in_json(facts: AccountFacts) -> None:
    scored = score(facts)
    assert scored.health is None or 0.0 <= scored.health <= 100.0
    assert 0.0 <= scored.churn_risk <= 1.0
    assert scored.adoption_share is None or 0.0 <= scored.adoption_share <= 1.0
    for part in components(scored).values():
        assert 0.0 <= part["score"] <= 100.0
    assert json.loads(json.dumps(scored.explanation, allow_nan=False)) == scored.explanation
    # Stored compact, it reads back as the same words.
    assert (
        explain.decode(explain.encode(explain.encode_terms(scored.terms), scored.body)) == scored.explanation
    )


@given(accounts, st.sampled_from(RISK_KINDS), st.integers(0, defaults().churn.horizon_days))
def test_another_risk_event_never_lowers_the_risk(
    facts: AccountFacts, kind: SignalKindName, age: int
) -> None:
    before = score(facts).churn_risk
    after = score(facts._replace(events=(event(kind, age), *facts.events))).churn_risk
    assert after >= before


@given(st.lists(st.floats(0, 1), max_size=8), st.floats(0, 1))
def test_noisy_or_never_falls_when_a_signal_is_added(effects: list[float], extra: float) -> None:
    assert noisy_or([*effects, extra]) >= noisy_or(effects) - 1e-12


@given(accounts)
def test_a_missing_component_leaves_the_others_relative_weights_alone(facts: AccountFacts) -> None:
    weights = defaults().health.weights
    scored = score(facts)
    present = components(scored)
    if scored.health is None:  # not enough data: the components add up to no score
        assert all(part["effective_weight"] is None for part in present.values())
        return
    assert sum(part["effective_weight"] for part in present.values()) == pytest.approx(1.0)
    for name, part in present.items():
        for other, other_part in present.items():
            ratio = getattr(weights, name) / getattr(weights, other)
            assert part["effective_weight"] / other_part["effective_weight"] == pytest.approx(ratio)


@given(accounts, st.lists(later_events, min_size=1, max_size=5))
def test_later_data_changes_nothing(facts: AccountFacts, later: list[Event]) -> None:
    assert score(facts._replace(events=(*later, *facts.events))) == score(facts)


@given(
    st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.floats(-10, 1000)), max_size=12, unique_by=lambda a: a[0]
    )
)
def test_a_more_valuable_account_never_gets_a_lower_tier(book: list[tuple[str, float]]) -> None:
    ranked = value_tiers(book, defaults().value)
    for (_, value), mine in zip(book, ranked, strict=True):
        for (_, other_value), other in zip(book, ranked, strict=True):
            if value > other_value:
                assert TIER_RANK[mine.tier] >= TIER_RANK[other.tier]
    shuffled = book[:]
    random.Random(len(book)).shuffle(shuffled)
    again = dict(zip((name for name, _ in shuffled), value_tiers(shuffled, defaults().value), strict=True))
    assert [again[name] for name, _ in book] == ranked


@given(st.lists(accounts, max_size=6))
def test_a_book_scores_each_account_as_it_would_alone_but_for_value_and_the_book_norms(
    book: list[AccountFacts],
) -> None:
    """Health and advocacy are the account's own; churn weighs it against the book's norms, so it is the
    account's own given those norms."""
    settings = defaults()
    norms = norms_of(book, settings.churn)
    together = score_book(book, settings)
    for facts, scored in zip(book, together, strict=True):
        single = score(facts)
        assert (scored.health, scored.advocacy) == (single.health, single.advocacy)
        [weighed] = score_accounts(
            [facts], [(facts.account_id, facts.mrr)], settings, FULL_COVERAGE, norms=norms
        )
        assert scored.churn_risk == weighed.churn_risk


@given(accounts)
def test_events_outside_the_windows_the_rules_read_change_nothing(facts: AccountFacts) -> None:
    """The store reads each kind of event only over `event_windows`: the rules must read no further."""
    windows = event_windows(defaults())
    read = tuple(e for e in facts.events if (AS_OF - e.on).days < windows.get(e.kind, 0))
    assert score(facts._replace(events=read)) == score(facts)
