"""The order the book sorts scores by, the most pressing first: the churn and value tiers, the priority they
make, and adoption.

Priority ranks the churn tier first, then the value tier, so "save now" (high risk, high value) leads and
"nurture" (low risk, no standout value) comes last. The book sorts a whole run in SQL by these ranks, off
indexes that migration 0008 made for the same expressions (`cockpit/store/book.py` builds its ORDER BY
from the orders here; `tests/test_book_order.py` holds the indexes to them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the book's store module reads these orders; it must not load the config's models
    from cockpit.config import AdoptionStatus, ChurnTier, ValueTier

ADOPTION_RANK: Final[dict[AdoptionStatus, int]] = {
    "not started": 0,
    "onboarding": 1,
    "adopted": 2,
    "power": 3,
}
"""Adoption statuses in order, so that "at least adopted" can be asked (power counts as adopted)."""

CHURN_TIER_ORDER: Final[tuple[ChurnTier, ...]] = ("high", "medium", "low")
VALUE_TIER_ORDER: Final[tuple[ValueTier, ...]] = ("high", "medium", "other")
ADOPTION_ORDER: Final[tuple[AdoptionStatus, ...]] = tuple(
    sorted(ADOPTION_RANK, key=ADOPTION_RANK.__getitem__, reverse=True)
)
"""The most adopted first."""


def priority_rank(churn_tier: ChurnTier, value_tier: ValueTier) -> int:
    """0 for the most pressing pair of tiers (high, high), then by churn tier, then by value tier."""
    return CHURN_TIER_ORDER.index(churn_tier) * len(VALUE_TIER_ORDER) + VALUE_TIER_ORDER.index(value_tier)
