"""Contract terms: as stated, else read from start and renewal dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.domain.contracts import PERIODS, anniversary, periods_paid, renewals_made, term_months


@pytest.mark.parametrize(
    ("start", "renewal", "term"),
    [
        (date(2024, 3, 5), date(2026, 3, 5), 12),  # two years after: yearly
        (date(2024, 3, 5), date(2027, 3, 5), 12),
        (date(2024, 3, 5), date(2025, 9, 5), 6),
        (date(2024, 3, 5), date(2026, 6, 5), 3),  # 27 months
        (date(2024, 3, 5), date(2026, 12, 5), 3),  # 33 months
        (date(2024, 3, 5), date(2026, 11, 5), 1),  # 32 months: monthly
        (date(2026, 10, 20), date(2026, 11, 20), 1),
        (date(2024, 1, 31), date(2024, 2, 29), 1),  # a short month's end
        (date(2024, 3, 5), date(2026, 3, 8), 12),  # a few days off the anniversary still reads
        (date(2026, 11, 1), date(2026, 11, 10), 1),  # less than a month: the first month's renewal
        (date(2026, 3, 5), date(2026, 3, 5), None),
        (date(2026, 3, 5), date(2025, 3, 5), None),
        (None, date(2026, 3, 5), None),
        (date(2026, 3, 5), None, None),
    ],
)
def test_the_term_is_the_longest_that_fits_the_months_from_start_to_renewal(
    start: date | None, renewal: date | None, term: int | None
) -> None:
    assert term_months(start, renewal) == term


def test_a_stated_term_wins_and_the_dates_are_read_only_without_one() -> None:
    start, renewal = date(2024, 3, 5), date(2026, 11, 5)  # 32 months: read alone, monthly
    assert term_months(start, renewal, 12) == 12
    assert term_months(start, renewal, 24) == 24
    assert term_months(start, renewal, None) == 1
    assert term_months(None, None, 6) == 6  # no dates needed


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
    offset=st.integers(min_value=-400, max_value=4000),
    term=st.sampled_from(PERIODS),
)
def test_renewals_made_counts_the_anniversaries_passed(start: date, offset: int, term: int) -> None:
    """Held to counting the anniversaries one by one: the rule the book view, journeys and CLV share."""
    day = start + timedelta(days=offset)
    passed = 0
    while anniversary(start, term, passed + 1) <= day:
        passed += 1
    assert renewals_made(start, day, term) == passed
    if passed:
        assert anniversary(start, term, passed) <= day < anniversary(start, term, passed + 1)


def test_a_churn_costs_the_renewal_nearest_it() -> None:
    start = date(2024, 1, 25)
    assert periods_paid(start, date(2025, 1, 20), 12) == 1  # days before the first renewal: that one lost
    assert periods_paid(start, date(2025, 8, 1), 12) == 2  # nearer the second renewal
    assert periods_paid(start, date(2024, 2, 1), 12) == 1  # at least one term paid
