"""The order the book sorts scores by (`cockpit.scoring.order`): the most pressing first."""

from __future__ import annotations

from itertools import product
from typing import get_args

from cockpit.config import AdoptionStatus, ChurnTier, ValueTier
from cockpit.scoring.order import (
    ADOPTION_ORDER,
    ADOPTION_RANK,
    CHURN_TIER_ORDER,
    VALUE_TIER_ORDER,
    priority_rank,
)

from .builders import defaults


def test_every_tier_and_status_has_one_place() -> None:
    assert sorted(CHURN_TIER_ORDER) == sorted(get_args(ChurnTier))
    assert sorted(VALUE_TIER_ORDER) == sorted(get_args(ValueTier))
    assert sorted(ADOPTION_ORDER) == sorted(get_args(AdoptionStatus))


def test_priority_ranks_the_churn_tier_then_the_value_tier() -> None:
    pairs = list(product(CHURN_TIER_ORDER, VALUE_TIER_ORDER))
    assert sorted(pairs, key=lambda pair: priority_rank(*pair)) == pairs
    assert sorted(priority_rank(*pair) for pair in pairs) == list(range(len(pairs)))  # no two alike
    labels = [defaults().priority.label(*pair) for pair in pairs]
    assert labels[0] == "save now" and labels[-1] == "nurture"


def test_the_most_adopted_comes_first() -> None:
    assert ADOPTION_ORDER[0] == "power" and ADOPTION_ORDER[-1] == "not started"
    assert [ADOPTION_RANK[status] for status in ADOPTION_ORDER] == sorted(
        ADOPTION_RANK.values(), reverse=True
    )
