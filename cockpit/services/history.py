"""Score history retention (`cockpit db compact`, `doctor`, the nightly sync): which runs the `[history]`
policy keeps, what dropping the rest and compacting the older ones frees, and doing it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from cockpit.config import Settings
from cockpit.scoring.retention import runs_to_compact, runs_to_keep
from cockpit.store import Store
from cockpit.store.compact_scores import compact_score_runs
from cockpit.store.retention import (
    FileSize,
    drop_score_runs,
    file_size,
    planned_score_run,
    score_run_days,
    scores_of_runs,
    vacuum,
)
from cockpit.store.sqlite import Database


@dataclass(frozen=True)
class Compaction:
    size_before: int
    size_after: int
    runs_kept: int
    runs_dropped: int
    scores_dropped: int
    freeable_bytes: int
    """What dropping the runs and compacting the older ones frees (an estimate) plus the pages already free
    in the file."""
    dry_run: bool
    runs_compacted: int = 0
    """Runs kept whose full rows make way for the compact form (`store/compact_scores.py`)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "size_before": self.size_before,
            "size_after": self.size_after,
            "runs_kept": self.runs_kept,
            "runs_dropped": self.runs_dropped,
            "scores_dropped": self.scores_dropped,
            "runs_compacted": self.runs_compacted,
            "freeable_bytes": self.freeable_bytes,
        }

    def line(self) -> str:
        verb, compacted = ("would drop", "would compact") if self.dry_run else ("dropped", "compacted")
        freed = (
            f"would free about {self.freeable_bytes:,} bytes"
            if self.dry_run
            else f"freed {self.size_before - self.size_after:,} bytes"
        )
        return (
            f"Database {self.size_before:,} bytes; score history keeps {self.runs_kept} run(s), {verb} "
            f"{self.runs_dropped} ({self.scores_dropped:,} score rows) and {compacted} {self.runs_compacted}; "
            f"{freed}."
        )


class _Plan(NamedTuple):
    before: FileSize
    kept: set[int]
    dropped: list[int]
    scores_dropped: int
    score_bytes: int
    compacted: list[int]
    compacted_bytes: int
    """The full rows' bytes of the runs to compact, less what their compact form will take (an estimate)."""


COMPACT_BYTES_PER_SCORE = 10
"""About what a score takes in the compact form (9 bytes at 70,000 accounts), for the estimate of a dry run."""


def _plan(db: Database, settings: Settings, today: date) -> _Plan:
    runs = score_run_days(db)
    planned = planned_score_run(db)
    pinned = () if planned is None else {planned}
    kept = runs_to_keep(runs, today, settings.history, pinned=pinned)
    dropped = [run.run_id for run in runs if run.run_id not in kept]
    compacted = sorted(runs_to_compact([run for run in runs if run.run_id in kept], pinned))
    rows, full_bytes = scores_of_runs(db, compacted)
    return _Plan(
        file_size(db),
        kept,
        dropped,
        *scores_of_runs(db, dropped),
        compacted,
        max(0, full_bytes - rows * COMPACT_BYTES_PER_SCORE),
    )


def compact(
    store: Store, settings: Settings, today: date, *, dry_run: bool, reclaim: bool = True
) -> Compaction:
    """Drop the score runs the policy does not keep and compact the older ones kept, in one transaction (a
    dry run only reads), then, when `reclaim`, VACUUM the file so that it shrinks (the nightly sync leaves
    the free pages to its next run)."""
    if dry_run:
        plan = _plan(store.db, settings, today)
    else:
        with store.write() as db:
            plan = _plan(db, settings, today)
            drop_score_runs(db, plan.dropped)
            compact_score_runs(db, plan.compacted)
        if reclaim:
            vacuum(store.db)
    before = plan.before.total_bytes
    return Compaction(
        size_before=before,
        size_after=before if dry_run else file_size(store.db).total_bytes,
        runs_kept=len(plan.kept),
        runs_dropped=len(plan.dropped),
        scores_dropped=plan.scores_dropped,
        freeable_bytes=plan.score_bytes + plan.compacted_bytes + plan.before.free_bytes,
        dry_run=dry_run,
        runs_compacted=len(plan.compacted),
    )
