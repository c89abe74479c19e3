"""Value tiers across the book (boundaries, ties, zeros, a single account), values given, and priorities."""

from __future__ import annotations

import random

import pytest

from cockpit.config import ChurnTier, ValueTier
from cockpit.scoring.rules import score_book
from cockpit.scoring.value import value_tiers

from .builders import account, defaults, event, section, tune

V = defaults().value


def tiers(*book: tuple[str, float]) -> list[ValueTier]:
    return [ranked.tier for ranked in value_tiers(book, V)]


def test_cumulative_share_boundaries_are_inclusive() -> None:
    assert (V.high_cumulative_share, V.medium_cumulative_share) == (0.5, 0.8)
    # Cumulative shares 0.5, 0.8, 1.0: exactly at a boundary stays in the tier.
    assert tiers(("a", 50.0), ("b", 30.0), ("c", 20.0)) == ["high", "medium", "other"]
    # 0.4, 0.7, 0.9, 1.0.
    assert tiers(("a", 40.0), ("b", 30.0), ("c", 20.0), ("d", 10.0)) == ["high", "medium", "other", "other"]


def test_the_largest_account_is_high_even_alone_above_the_share() -> None:
    # 0.6 is above the high share, but the first account is always high; 0.9 is above the medium share.
    assert tiers(("a", 60.0), ("b", 30.0), ("c", 10.0)) == ["high", "other", "other"]


def test_a_single_account() -> None:
    assert tiers(("a", 10.0)) == ["high"]
    assert tiers(("a", 0.0)) == ["other"]
    assert tiers() == []


def test_zero_and_negative_values_are_other() -> None:
    assert tiers(("a", 100.0), ("b", 0.0), ("c", -5.0)) == ["high", "other", "other"]
    assert tiers(("a", 0.0), ("b", 0.0)) == ["other", "other"]


def test_ties_split_by_account_id_whatever_the_order() -> None:
    book = [("b", 10.0), ("a", 10.0), ("d", 10.0), ("c", 10.0)]
    expected = {"a": "high", "b": "high", "c": "medium", "d": "other"}
    for _ in range(5):
        random.Random(len(book)).shuffle(book)
        assert dict(zip((name for name, _ in book), tiers(*book), strict=True)) == expected


def test_ranks_and_cumulative_shares() -> None:
    ranked = value_tiers([("small", 25.0), ("big", 75.0)], V)
    assert [(r.rank, r.cumulative_share) for r in ranked] == [(2, 1.0), (1, 0.75)]


def test_float_sums_at_a_boundary_stay_inside() -> None:
    # Shares 0.2, 0.3, 0.4, ... 1.0; in floats the second is 0.3000000000000001, a hair above the boundary.
    book = [("a", 0.2), *((name, 0.1) for name in "bcdefghi")]
    assert (0.2 + 0.1) / sum(value for _, value in book) > 0.3
    settings = tune("value", high_cumulative_share=0.3, medium_cumulative_share=0.6).value
    assert "".join(r.tier[0] for r in value_tiers(book, settings)) == "hhmmmoooo"


def test_score_book_ranks_arr_and_names_priorities() -> None:
    book = [
        account("acc-big", mrr=5000.0, events=[event("cancel_click", 0)]),
        account("acc-mid", mrr=3000.0),
        account("acc-small", mrr=2000.0, events=[event("cancel_click", 10)]),
    ]
    scored = {s.account_id: s for s in score_book(book, defaults())}
    big, mid, small = scored["acc-big"], scored["acc-mid"], scored["acc-small"]
    assert (big.value, big.value_tier, big.churn_tier, big.priority) == (60000.0, "high", "high", "save now")
    assert (mid.value_tier, mid.churn_tier, mid.priority) == ("medium", "low", "nurture")
    assert (small.value_tier, small.churn_tier, small.priority) == ("other", "medium", "watch")
    value = section(big, "value")
    assert (value["basis"], value["rank"], value["of"], value["tier"]) == ("arr", 1, 3, "high")
    assert value["cumulative_share"] == pytest.approx(0.5)


def test_given_values_replace_arr_for_the_accounts_they_name() -> None:
    book = [account("acc-1", mrr=5000.0), account("acc-2", mrr=1000.0), account("acc-3", mrr=10.0)]
    settings = tune("value", basis="clv")
    scored = score_book(book, settings, values={"acc-2": 900_000.0, "acc-3": 0.0})
    assert [(s.account_id, s.value, s.value_tier) for s in scored] == [
        ("acc-1", 60000.0, "other"),
        ("acc-2", 900_000.0, "high"),
        ("acc-3", 0.0, "other"),
    ]
    bases = [section(s, "value")["basis"] for s in scored]
    assert bases == ["arr", "clv", "clv"]


@pytest.mark.parametrize(
    ("churn", "value", "label"),
    [
        ("high", "high", "save now"),
        ("high", "medium", "rescue"),
        ("high", "other", "rescue"),
        ("medium", "high", "protect"),
        ("medium", "medium", "watch"),
        ("medium", "other", "watch"),
        ("low", "high", "grow"),
        ("low", "medium", "nurture"),
        ("low", "other", "nurture"),
    ],
)
def test_priority_for_each_churn_and_value_tier(churn: ChurnTier, value: ValueTier, label: str) -> None:
    assert defaults().priority.label(churn, value) == label


def test_priority_labels_come_from_the_settings() -> None:
    settings = tune("priority", low_high="expand")
    [scored] = score_book([account()], settings)
    assert (scored.churn_tier, scored.value_tier, scored.priority) == ("low", "high", "expand")
    assert section(scored, "priority") == {"label": "expand", "churn_tier": "low", "value_tier": "high"}
