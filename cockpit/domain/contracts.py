"""Contract terms: as the account states them, else read from its dates.

A subscription renews on anniversaries of its start every `term` months, so the renewal date on file lies a
whole number of terms after the start: the term is the longest of 12, 6, 3 and 1 months that divides the
months from start to renewal. The months are rounded to the nearest whole number, so dates kept a few days
off their anniversary still read: any run of n calendar months is within three days of n average months.
The dates cannot tell every term apart: a monthly contract whose renewal falls a multiple of 3, 6 or 12
months after its start (a third of the months) reads as that longer term.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Final

from cockpit.domain.dates import add_months

PERIODS: Final = (12, 6, 3, 1)
"""The contract terms cockpit knows, in months, longest first."""
DAYS_PER_MONTH: Final = 365.2425 / 12


def term_months(start: date | None, renewal: date | None, stated: int | None = None) -> int | None:
    """The contract term in months: the one the account states (its `contract_months`), else the one (12,
    6, 3 or 1) that the start and renewal dates imply; None when neither tells (no stated term, and not
    both dates or a renewal no later than the start)."""
    if stated is not None:
        return stated
    if start is None or renewal is None or renewal <= start:
        return None
    months = max(1, round((renewal - start).days / DAYS_PER_MONTH))
    return next(period for period in PERIODS if months % period == 0)


def infer_period(spans: Iterable[tuple[date, date]]) -> int:
    """The longest of PERIODS that every (start, renewal date) span is a whole number of months of; spans
    that are not whole months are ignored, and 12 is the default when none is left (a book-wide term)."""
    months = []
    for start, renewal in spans:
        count = whole_months(start, renewal)
        if count > 0 and add_months(start, count) == renewal:
            months.append(count)
    return next(period for period in PERIODS if all(count % period == 0 for count in months))


def whole_months(start: date, end: date) -> int:
    """Whole months from `start` to `end` (anniversaries by `add_months`), 0 if `end` is earlier."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and add_months(start, months) > end:
        months -= 1
    return max(months, 0)


def anniversary(start: date, term: int, renewals: int) -> date:
    """The day of a contract's `renewals`-th renewal: that many terms of `term` months after its start."""
    return add_months(start, renewals * term)


def renewals_made(start: date, day: date, term: int) -> int:
    """The renewals (anniversaries every `term` months) passed from `start` up to and including `day`."""
    return whole_months(start, day) // term


def periods_paid(start: date, churned_on: date, term: int) -> int:
    """Lifetime in terms of an account that churned: the renewal nearest the churn date is the one it did
    not make (a churn recorded a few days before or after its renewal date is that renewal), at least 1."""
    before = renewals_made(start, churned_on, term)
    earlier, later = anniversary(start, term, before), anniversary(start, term, before + 1)
    nearest = before if churned_on - earlier < later - churned_on else before + 1
    return max(nearest, 1)
