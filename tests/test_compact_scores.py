"""Score runs kept compact: the scores the history reads come back exactly as they were stored, and what
reads older runs (score evaluate, the trend, the book's month-ago health, export) gives the same before
and after `cockpit db compact` compacts them, also in a book stored before the compact form."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from cockpit.config import load_settings
from cockpit.errors import DatabaseError
from cockpit.services.evaluate import evaluate_scores
from cockpit.services.history import compact
from cockpit.store import Store, open_store
from cockpit.store.book import BookQuery, fetch_book_page
from cockpit.store.compact_scores import HISTORY_COLUMNS, compact_score_runs, run_scores
from cockpit.store.export import table_rows
from cockpit.store.migrations import migrations
from cockpit.store.retention import drop_score_runs
from cockpit.store.scoring import account_view
from tests.churn_books import TODAY, plant_book

SETTINGS = load_settings()
READ = ("run_id", "account_id", "as_of", *HISTORY_COLUMNS)
STAMP = "2026-01-01T09:00:00+00:00"


def vary(db: Database) -> None:
    """Give the planted runs every kind of value the compact form keeps: NULLs, labels of each column, a
    health of 100 and of 0, a boolean."""
    db.execute(
        """
        UPDATE scores SET
            adoption_status = CASE abs(random()) % 5 WHEN 0 THEN NULL WHEN 1 THEN 'not started'
                WHEN 2 THEN 'onboarding' WHEN 3 THEN 'adopted' ELSE 'power' END,
            value_tier = CASE abs(random()) % 3 WHEN 0 THEN 'high' WHEN 1 THEN 'medium' ELSE 'other' END,
            priority = CASE abs(random()) % 4 WHEN 0 THEN NULL ELSE 'p' || (abs(random()) % 9) END,
            advocacy = CASE abs(random()) % 4 WHEN 0 THEN NULL WHEN 1 THEN 'lover' WHEN 2 THEN 'liker'
                ELSE 'lurker' END,
            cross_sell_ready = abs(random()) % 2,
            health = CASE abs(random()) % 10 WHEN 0 THEN NULL WHEN 1 THEN 100.0 WHEN 2 THEN 0.0 ELSE health END,
            health_band = CASE WHEN abs(random()) % 10 = 0 THEN 'insufficient' ELSE health_band END,
            churn_risk = CASE abs(random()) % 10 WHEN 0 THEN NULL ELSE churn_risk END
        """
    )


def history(store: Store) -> dict[str, Any]:
    """Everything that reads older runs, as it reads them now."""
    db = store.db
    runs = [run_id for (run_id,) in db.execute("SELECT id FROM score_runs ORDER BY id")]
    accounts = [account_id for (account_id,) in db.execute("SELECT id FROM accounts ORDER BY id LIMIT 40")]
    columns, exported = table_rows(db, "scores")
    keep = [columns.index(name) for name in READ]
    return {
        "runs": {run_id: list(run_scores(db, run_id, READ)) for run_id in runs},
        "some": {run_id: list(run_scores(db, run_id, ("health",), accounts[::3])) for run_id in runs},
        "evaluate": evaluate_scores(store, SETTINGS, today=TODAY).to_json(),
        "evaluate_short": evaluate_scores(store, SETTINGS, today=TODAY, horizon_days=30).to_json(),
        "trend": {account_id: account_view(db, account_id).health_history for account_id in accounts},  # type: ignore[union-attr]
        "book": fetch_book_page(db, BookQuery(sort="name"), offset=0, limit=60),
        "export": [tuple(row[index] for index in keep) for row in exported],
    }


def test_compacting_keeps_what_the_history_reads_and_drops_the_rest(store: Store) -> None:
    plant_book(store, accounts=400)
    with store.write() as db:
        vary(db)
    before = history(store)
    full_bytes = store.db.execute("SELECT sum(length(explanation) + 200) FROM scores").fetchone()[0]

    report = compact(store, SETTINGS, TODAY, dry_run=False)

    assert report.runs_dropped == 0 and report.runs_compacted == 3
    runs = store.db.execute("SELECT run_id FROM compact_scores ORDER BY run_id").fetchall()
    assert runs == [(1,), (2,), (3,)]  # all but the latest run (June's), which the book shows in full
    assert store.db.execute("SELECT DISTINCT run_id FROM scores").fetchall() == [(4,)]
    after = history(store)
    for name, value in before.items():
        assert after[name] == value, name
    assert any(row.health_month_before is not None for row in after["book"])  # March's, compact
    assert sum(len(rows) for run_id, rows in after["runs"].items() if run_id < 4) > 1000
    assert 0 < store.db.execute("SELECT sum(accounts) FROM compact_scores").fetchone()[0] < full_bytes
    # Compacting again changes nothing.
    assert compact(store, SETTINGS, TODAY, dry_run=True).runs_compacted == 0


def test_an_account_numbered_after_the_first_compaction_reads_back_in_its_place(store: Store) -> None:
    """Accounts are numbered as runs are compacted: one that comes later gets the next number, whatever
    its id, and its run still reads back by id."""
    plant_book(store, accounts=50)
    with store.write() as db:
        compact_score_runs(db, [1])
        db.execute(
            "INSERT INTO accounts (id, name, created_at, updated_at) VALUES ('acc-0', 'First by id', ?, ?)",
            [STAMP, STAMP],
        )
        db.execute(
            "INSERT INTO scores (run_id, account_id, as_of, health, health_band, churn_risk, churn_tier) "
            "VALUES (2, 'acc-0', '2026-02-01', 12.5, 'red', 0.75, 'high')"
        )
    full = list(run_scores(store.db, 2, READ))
    assert full[0][0] == "acc-0"
    with store.write() as db:
        compact_score_runs(db, [2])
    assert list(run_scores(store.db, 2, READ)) == full
    assert list(run_scores(store.db, 2, ("health",), ["acc-0", "acc-00003", "no-such"])) == [
        ("acc-0", 12.5),
        *[row[:1] + row[4:5] for row in full if row[0] == "acc-00003"],
    ]


def _planted_before_0023(path: Path) -> Database:
    """A database as cockpit left it before migration 0023: three finished runs of four accounts, the first
    pinned by an outreach plan."""
    db = Database(path)
    migrations.apply(db, stop_before="0023_compact_runs")
    for n in range(4):
        db.execute(
            "INSERT INTO accounts (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
            [f"acc-{n}", f"Account {n}", STAMP, STAMP],
        )
    for run_id, as_of in ((1, "2026-01-01"), (2, "2026-02-01"), (3, "2026-03-01")):
        db.execute(
            "INSERT INTO score_runs (id, as_of, started_at, finished_at) VALUES (?, ?, ?, ?)",
            [run_id, as_of, STAMP, STAMP],
        )
        for n in range(4):
            db.execute(
                "INSERT INTO scores (run_id, account_id, as_of, health, health_band, churn_risk, churn_tier, "
                "priority) VALUES (?, ?, ?, ?, 'green', 0.125, 'low', ?)",
                [run_id, f"acc-{n}", as_of, 70.0 + run_id + n / 3, f"p{(run_id * 4 + n) % 3}"],
            )
    db.execute(
        "INSERT INTO outreach_runs (as_of, score_run_id, started_at) VALUES ('2026-01-01', 1, ?)", [STAMP]
    )
    return db


def test_db_compact_compacts_the_runs_a_book_stored_before_migration_0023(tmp_path: Path) -> None:
    db = _planted_before_0023(tmp_path / "old.db")
    stored = {run_id: db.execute(
        f"SELECT account_id, {', '.join(READ)} FROM scores WHERE run_id = ? ORDER BY account_id", [run_id]
    ).fetchall() for run_id in (1, 2, 3)}  # fmt: skip
    migrations.apply(db)
    db.close()
    store = open_store(tmp_path / "old.db")
    try:
        # Opening the book converts nothing; `db compact` does, keeping the latest run and the planned one.
        assert store.db.execute("SELECT count(*) FROM compact_scores").fetchone() == (0,)
        compact(store, SETTINGS, date(2026, 3, 2), dry_run=False)
        assert store.db.execute("SELECT run_id FROM compact_scores").fetchall() == [(2,)]
        assert store.db.execute("SELECT DISTINCT run_id FROM scores ORDER BY 1").fetchall() == [(1,), (3,)]
        assert {run_id: list(run_scores(store.db, run_id, READ)) for run_id in (1, 2, 3)} == stored
    finally:
        store.close()


def test_a_compaction_that_cannot_pack_a_run_changes_nothing(tmp_path: Path) -> None:
    """A health that is no number (a file written by hand): the compaction fails whole, the file as it was."""
    db = _planted_before_0023(tmp_path / "odd.db")
    migrations.apply(db)
    db.execute("PRAGMA ignore_check_constraints = ON")
    db.execute("UPDATE scores SET health = 'high' WHERE run_id = 2 AND account_id = 'acc-3'")
    db.conn.commit()
    db.execute("PRAGMA ignore_check_constraints = OFF")
    rows = db.execute("SELECT * FROM scores ORDER BY run_id, account_id").fetchall()
    db.close()
    store = open_store(tmp_path / "odd.db")
    try:
        with pytest.raises(DatabaseError, match="score run 2 holds a health that is not a number"):
            compact(store, SETTINGS, date(2026, 3, 2), dry_run=False)
        assert store.db.execute("SELECT * FROM scores ORDER BY run_id, account_id").fetchall() == rows
        assert store.db.execute("SELECT count(*) FROM compact_scores").fetchone() == (0,)
    finally:
        store.close()


def test_a_label_of_many_values_is_coded_wider(store: Store) -> None:
    plant_book(store, accounts=700)
    with store.write() as db:
        db.execute("UPDATE scores SET priority = 'p' || account_id WHERE run_id = 1")
    full = list(run_scores(store.db, 1, READ))
    assert len({row[-3] for row in full}) > 600
    with store.write() as db:
        compact_score_runs(db, [1])
    assert list(run_scores(store.db, 1, READ)) == full


def test_a_compact_run_is_dropped_whole(store: Store) -> None:
    plant_book(store, accounts=20)
    with store.write() as db:
        compact_score_runs(db, [1, 2])
    with store.write() as db:
        drop_score_runs(db, [1])
    assert store.db.execute("SELECT run_id FROM compact_scores").fetchall() == [(2,)]
    assert list(run_scores(store.db, 1, READ)) == [] and list(run_scores(store.db, 2, READ))
