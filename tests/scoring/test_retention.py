"""The retention policy on its own: which score runs a year of nightly runs keeps."""

from __future__ import annotations

from datetime import date, timedelta

from cockpit.config import HistorySettings
from cockpit.scoring.retention import RunDay, runs_to_compact, runs_to_keep

TODAY = date(2026, 11, 25)
POLICY = HistorySettings(keep_all_days=35, keep_weekly_days=365, prune_nightly=True)


def nightly(days: int) -> list[RunDay]:
    """One finished run a night for `days` nights up to today, ids in order."""
    first = TODAY - timedelta(days=days - 1)
    return [RunDay(n + 1, first + timedelta(days=n), True) for n in range(days)]


def test_a_year_and_a_half_of_nightly_runs_keeps_recent_days_then_weeks_then_months() -> None:
    runs = nightly(550)
    kept = runs_to_keep(runs, TODAY, POLICY)
    by_id = {run.run_id: run for run in runs}
    ages = sorted((TODAY - by_id[run_id].as_of).days for run_id in kept)
    assert [age for age in ages if age < 35] == list(range(35))
    weekly = [by_id[run_id].as_of for run_id in kept if 35 <= (TODAY - by_id[run_id].as_of).days < 365]
    assert all(day.isoweekday() == 7 for day in weekly)  # the latest run of each ISO week: its Sunday
    assert len({day.isocalendar()[:2] for day in weekly}) == len(weekly) >= 46
    monthly = [by_id[run_id].as_of for run_id in kept if (TODAY - by_id[run_id].as_of).days >= 365]
    assert len({(day.year, day.month) for day in monthly}) == len(monthly)
    assert all((day + timedelta(days=1)).day == 1 or day == max(monthly) for day in monthly)  # month ends
    assert len(kept) < 35 + 53 + 7


def test_the_latest_finished_run_and_pinned_runs_are_always_kept() -> None:
    old = [RunDay(1, TODAY - timedelta(days=400), True), RunDay(2, TODAY - timedelta(days=399), True)]
    assert runs_to_keep(old, TODAY, POLICY) == {2}
    assert runs_to_keep(old, TODAY, POLICY, pinned={1}) == {1, 2}


def test_of_a_day_scored_twice_the_week_keeps_the_later_run_and_skips_unfinished_ones() -> None:
    sunday = date(2026, 3, 1)
    runs = [RunDay(10, sunday, True), RunDay(11, sunday, True), RunDay(12, sunday, False)]
    assert runs_to_keep(runs, TODAY, POLICY) == {11}
    recent = [RunDay(20, TODAY, False), RunDay(21, TODAY - timedelta(days=1), True)]
    assert runs_to_keep(recent, TODAY, POLICY) == {20, 21}


def test_every_finished_run_but_the_latest_and_the_pinned_is_compacted_once() -> None:
    runs = [
        RunDay(1, TODAY - timedelta(days=60), True),
        RunDay(2, TODAY - timedelta(days=30), True, compact=True),
        RunDay(3, TODAY - timedelta(days=20), True),
        RunDay(5, TODAY - timedelta(days=3), True),  # scored again for a past day after run 4: not the latest
        RunDay(4, TODAY - timedelta(days=1), True),
        RunDay(6, TODAY, False),  # still being written
    ]
    assert runs_to_compact(runs) == {1, 3, 5}
    assert runs_to_compact(runs, pinned={3}) == {1, 5}
    assert runs_to_compact(runs[:1]) == set()
