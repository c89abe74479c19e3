"""Calendar arithmetic on days: the same day some months or years later."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day `months` later, on the month's last day where the month is shorter."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    if (
        day.day <= 28
    ):  # every month has the day: no calendar to look up (the book view adds months by the million)
        return date(year, month, day.day)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a year without one."""
    return add_months(day, 12 * years)
