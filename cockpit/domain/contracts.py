"""Contract terms: as the account states them, else read from its dates.

A subscription renews on anniversaries of its start every `term` months, so the renewal date on file lies a
whole number of terms after the start: the term is the longest of 12, 6, 3 and 1 months that divides the
months from start to renewal. The months are rounded to the nearest whole number, so dates kept a few days
off their anniversary still read: any run of n calendar months is within three days of n average months.
The dates cannot tell every term apart: a monthly contract whose renewal falls a multiple of 3, 6 or 12
months after its start (a third of the months) reads as that longer term.
"""

from __future__ import annotations

from datetime import date
from typing import Final

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
