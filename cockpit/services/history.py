"""Score history retention (`cockpit db compact`, `doctor`, the nightly sync): which runs the `[history]`
policy keeps, what dropping the rest frees, and dropping them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlite_utils import Database

from cockpit.config import Settings
from cockpit.scoring.retention import runs_to_keep
from cockpit.store import Store
from cockpit.store.retention import (
    FileSize,
    drop_score_runs,
    file_size,
    planned_score_run,
    score_run_days,
    scores_of_runs,
    vacuum,
)


@dataclass(frozen=True)
class Compaction:
    size_before: int
    size_after: int
    runs_kept: int
    runs_dropped: int
    scores_dropped: int
    freeable_bytes: int
    """What dropping the runs frees (an estimate) plus the pages already free in the file."""
    dry_run: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "size_before": self.size_before,
            "size_after": self.size_after,
            "runs_kept": self.runs_kept,
            "runs_dropped": self.runs_dropped,
            "scores_dropped": self.scores_dropped,
            "freeable_bytes": self.freeable_bytes,
        }

    def line(self) -> str:
        verb = "would drop" if self.dry_run else "dropped"
        freed = (
            f"would free about {self.freeable_bytes:,} bytes"
            if self.dry_run
            else f"freed {self.size_before - self.size_after:,} bytes"
        )
        return (
            f"Database {self.size_before:,} bytes; score history keeps {self.runs_kept} run(s), {verb} "
            f"{self.runs_dropped} ({self.scores_dropped:,} score rows); {freed}."
        )


class _Plan(NamedTuple):
    before: FileSize
    kept: set[int]
    dropped: list[int]
    scores_dropped: int
    score_bytes: int


def _plan(db: Database, settings: Settings, today: date) -> _Plan:
    runs = score_run_days(db)
    planned = planned_score_run(db)
    kept = runs_to_keep(runs, today, settings.history, pinned=() if planned is None else {planned})
    dropped = [run.run_id for run in runs if run.run_id not in kept]
    return _Plan(file_size(db), kept, dropped, *scores_of_runs(db, dropped))


def compact(
    store: Store, settings: Settings, today: date, *, dry_run: bool, reclaim: bool = True
) -> Compaction:
    """Drop the score runs the policy does not keep, in one transaction (a dry run only reads), then, when
    `reclaim`, VACUUM the file so that it shrinks (the nightly sync leaves the free pages to its next run)."""
    if dry_run:
        plan = _plan(store.db, settings, today)
    else:
        with store.write() as db:
            plan = _plan(db, settings, today)
            drop_score_runs(db, plan.dropped)
        if reclaim:
            vacuum(store.db)
    before = plan.before.total_bytes
    return Compaction(
        size_before=before,
        size_after=before if dry_run else file_size(store.db).total_bytes,
        runs_kept=len(plan.kept),
        runs_dropped=len(plan.dropped),
        scores_dropped=plan.scores_dropped,
        freeable_bytes=plan.score_bytes + plan.before.free_bytes,
        dry_run=dry_run,
    )
