"""Value tiers across the book, from each account's value (ARR, or CLV once fitted).

The accounts are ranked by value, largest first, ties by account id (ascending), so a tie always splits the
same way. Walking down the ranking, each account's cumulative share is the sum of the values up to and
including it over the book's total (the sum of the positive values):
- high when that share is at most `high_cumulative_share`; the first account is high whenever its value is
  positive, even if it alone holds more than that share;
- medium, if not high, when the share is at most `medium_cumulative_share`;
- other beyond, and always for a value of 0 or less.
"At most" allows 1e-9 for floating-point sums, so a book of [50, 50] at 0.5 has one high account.
Tiers never rise down the ranking: an account never gets a lower tier than one of lower value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from cockpit.config import ValueSettings, ValueTier

_SLACK = 1e-9


class Ranked(NamedTuple):
    tier: ValueTier
    rank: int
    """1 for the most valuable account."""
    cumulative_share: float
    """Share of the book's value held by the accounts up to and including this one (0 for values <= 0)."""


class ValuePart(NamedTuple):
    """What the explanation words of an account's value, stored as a JSON array of these fields in this
    order."""

    value: float
    basis: str
    """What the value is: "arr", or the `value.basis` of values given (e.g. "clv")."""
    tier: ValueTier
    rank: int
    book_size: int
    cumulative_share: float


def value_tiers(book: Sequence[tuple[str, float]], settings: ValueSettings) -> list[Ranked]:
    """The tier of each (account id, value), in the order given."""
    order = sorted(range(len(book)), key=lambda index: (-book[index][1], book[index][0]))
    # Summed in ranking order, as the cumulative shares are: the same total whatever order the book came in,
    # and the last positive account's share is exactly 1.
    total = sum(book[index][1] for index in order if book[index][1] > 0)
    high, medium = settings.high_cumulative_share + _SLACK, settings.medium_cumulative_share + _SLACK
    ranked: dict[int, Ranked] = {}
    cumulative = 0.0
    for rank, index in enumerate(order, start=1):
        value = book[index][1]
        tier: ValueTier = "other"
        share = 0.0
        if value > 0:
            cumulative += value
            share = cumulative / total
            if rank == 1 or share <= high:
                tier = "high"
            elif share <= medium:
                tier = "medium"
        ranked[index] = Ranked(tier, rank, share)
    return [ranked[index] for index in range(len(book))]
