"""Which score runs to keep: every run of the recent days, then one a week, then one a month (the
`[history]` settings); and which of those keep only the scores the history reads (`runs_to_compact`).
Pure: the caller reads the runs and today's day, drops what this does not keep and compacts the rest."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from typing import NamedTuple

from cockpit.config import HistorySettings


class RunDay(NamedTuple):
    """A score run as the retention policy sees it."""

    run_id: int
    as_of: date
    finished: bool
    compact: bool = False
    """Kept in the compact form already (`store/compact_scores.py`)."""


def runs_to_keep(
    runs: Iterable[RunDay], today: date, policy: HistorySettings, pinned: Collection[int] = ()
) -> set[int]:
    """The ids of the runs to keep: every run as of the last `keep_all_days` days (unfinished ones included:
    one may be running); older, the latest finished run of each ISO week within `keep_weekly_days` days and
    of each month before that; always the latest finished run and the `pinned` runs (ones another record
    still needs)."""
    runs = list(runs)
    keep = {
        run.run_id for run in runs if run.run_id in pinned or (today - run.as_of).days < policy.keep_all_days
    }
    latest_of: dict[tuple[int, int, int], RunDay] = {}
    for run in runs:
        if not run.finished:
            continue
        if (today - run.as_of).days < policy.keep_weekly_days:
            year, week, _ = run.as_of.isocalendar()
            period = (0, year, week)
        else:
            period = (1, run.as_of.year, run.as_of.month)
        held = latest_of.get(period)
        if held is None or (run.as_of, run.run_id) > (held.as_of, held.run_id):
            latest_of[period] = run
    keep.update(run.run_id for run in latest_of.values())
    return keep


def _latest_finished(runs: Iterable[RunDay]) -> RunDay | None:
    return max((run for run in runs if run.finished), key=lambda run: (run.as_of, run.run_id), default=None)


def runs_to_compact(runs: Iterable[RunDay], pinned: Collection[int] = ()) -> set[int]:
    """The ids of the runs to keep compact from now on (among `runs`, those kept): every finished run not
    compact yet but the latest (the book's, whose explanations the screens show) and the `pinned` ones (the
    latest outreach plan's); a run not finished may still be being written."""
    runs = list(runs)
    latest = _latest_finished(runs)
    return {
        run.run_id
        for run in runs
        if run.finished and not run.compact and run.run_id not in pinned and run != latest
    }
