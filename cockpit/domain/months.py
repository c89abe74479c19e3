"""Calendar months: contract periods and renewals are counted in them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Final

from cockpit.domain.dates import add_months


def whole_months(start: date, end: date) -> int:
    """Whole months from `start` to `end` (anniversaries by `add_months`), 0 if `end` is earlier."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and add_months(start, months) > end:
        months -= 1
    return max(months, 0)


PERIODS: Final = (12, 6, 3, 1)
"""The contract periods in months that renewals are inferred in, longest first."""


def infer_period(spans: Iterable[tuple[date, date]]) -> int:
    """The longest of PERIODS that every (start, renewal date) span is a whole number of; spans that are not
    whole months are ignored, and 12 is the default when none is left."""
    months = []
    for start, renewal in spans:
        count = whole_months(start, renewal)
        if count > 0 and add_months(start, count) == renewal:
            months.append(count)
    return next(period for period in PERIODS if all(count % period == 0 for count in months))
