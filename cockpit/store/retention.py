"""The SQL of score history retention: the runs, the size of the file, and dropping runs with their scores
(in either form: `store/compact_scores.py`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import NamedTuple

from cockpit.scoring.retention import RunDay
from cockpit.store.compact_scores import compact_bytes
from cockpit.store.sqlite import Database


class FileSize(NamedTuple):
    total_bytes: int
    free_bytes: int
    """Pages free inside the file (reused by later writes; VACUUM gives them back to the disk)."""


def score_run_days(db: Database) -> list[RunDay]:
    return [
        RunDay(run_id, date.fromisoformat(as_of), finished is not None, bool(compact))
        for run_id, as_of, finished, compact in db.execute(
            "SELECT id, as_of, finished_at, id IN (SELECT run_id FROM compact_scores) FROM score_runs ORDER BY id"
        )
    ]


def planned_score_run(db: Database) -> int | None:
    """The score run the latest outreach plan read (its queue still rests on it)."""
    row = db.execute("SELECT score_run_id FROM outreach_runs ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else row[0]


def file_size(db: Database) -> FileSize:
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    return FileSize(pages * page_size, free * page_size)


def scores_of_runs(db: Database, run_ids: Collection[int]) -> tuple[int, int]:
    """The scores of `run_ids` (full rows and compact ones), and an estimate of the bytes they take: the full
    rows' share of the rows of the scores table times the pages that table and its indexes take (from
    dbstat), plus the compact runs' arrays."""
    if not run_ids:
        return 0, 0
    ids = list(run_ids)
    (compact,) = db.execute(
        f"SELECT coalesce(sum(accounts), 0) FROM compact_scores WHERE run_id IN ({_marks(ids)})", ids
    ).fetchone()
    total = db.execute("SELECT count(*) FROM scores").fetchone()[0]
    rows = db.execute(f"SELECT count(*) FROM scores WHERE run_id IN ({_marks(ids)})", ids).fetchone()[0]
    pages = (
        db.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN "
            "(SELECT name FROM sqlite_master WHERE tbl_name = 'scores')"
        ).fetchone()[0]
        if rows
        else 0
    )
    return int(rows + compact), int(pages * rows / total if rows else 0) + compact_bytes(db, ids)


def _marks(ids: Collection[int]) -> str:
    return ", ".join("?" * len(ids))


def drop_score_runs(db: Database, run_ids: Collection[int]) -> None:
    """Delete the runs and their scores (call inside a write transaction); older outreach runs that read
    one of them keep their record with no score run."""
    if not run_ids:
        return
    ids = list(run_ids)
    marks = _marks(ids)
    db.execute(f"DELETE FROM scores WHERE run_id IN ({marks})", ids)
    db.execute(f"DELETE FROM compact_scores WHERE run_id IN ({marks})", ids)
    db.execute(f"UPDATE outreach_runs SET score_run_id = NULL WHERE score_run_id IN ({marks})", ids)
    db.execute(f"DELETE FROM score_runs WHERE id IN ({marks})", ids)


def vacuum(db: Database) -> None:
    """Give the free pages back to the disk (outside any transaction)."""
    db.execute("VACUUM")
