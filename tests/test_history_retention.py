"""Score history retention on a real file: a year of nightly runs on the demo book, compacted."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit import resources
from cockpit.cli import app
from cockpit.config import load_settings
from cockpit.demo import load_seeds
from cockpit.scoring.retention import runs_to_keep
from cockpit.services.history import compact
from cockpit.services.scoring import run_scoring
from cockpit.store import Store
from cockpit.store.book import BookQuery, fetch_book_page
from cockpit.store.db import build_database
from cockpit.store.evaluation import finished_runs
from cockpit.store.retention import score_run_days
from cockpit.store.scoring import account_view
from tests.clocks import at

TODAY = date(2026, 11, 25)  # the day COCKPIT_NOW pins
runner = CliRunner()


def a_year_of_nightly_runs(path: Path) -> None:
    """The demo book scored once, its run copied to every night of the year before (a score run per night,
    as the nightly sync makes)."""
    first = TODAY - timedelta(days=364)
    build_database(path, lambda store: load_seeds(store, resources.seeds_dir(), today=TODAY))
    store = Store(path)
    try:
        run = run_scoring(store, load_settings(), first, clock=at(first)).run_id
        with store.write() as db:
            for night in range(1, 365):
                day = (first + timedelta(days=night)).isoformat()
                new = db.execute(
                    "INSERT INTO score_runs (as_of, started_at, finished_at, accounts, settings, terms) "
                    "SELECT ?, started_at, finished_at, accounts, settings, terms FROM score_runs WHERE id = ?",
                    [day, run],
                ).lastrowid
                db.execute(
                    "INSERT INTO scores SELECT ?, account_id, ?, "
                    + ", ".join(
                        name
                        for (name,) in db.execute("SELECT name FROM pragma_table_info('scores')")
                        if name not in {"run_id", "account_id", "as_of"}
                    )
                    + " FROM scores WHERE run_id = ?",
                    [new, day, run],
                )
    finally:
        store.close()


@pytest.mark.slow
def test_compacting_a_year_of_nightly_runs_keeps_the_policy_s_runs_and_what_reads_them_works(
    tmp_path: Path,
) -> None:
    path = tmp_path / "book.db"
    a_year_of_nightly_runs(path)
    settings = load_settings()
    store = Store(path)
    try:
        runs = score_run_days(store.db)
        expected = runs_to_keep(runs, TODAY, settings.history)
        preview = compact(store, settings, TODAY, dry_run=True)
        assert len(score_run_days(store.db)) == 365  # a dry run changes nothing
        report = compact(store, settings, TODAY, dry_run=False)
        kept = {run.run_id for run in score_run_days(store.db)}
        assert kept == expected and len(kept) == report.runs_kept == preview.runs_kept < 35 + 53
        assert report.runs_dropped == preview.runs_dropped == 365 - len(kept)
        assert report.size_after < report.size_before * len(kept) / 365 * 1.5
        assert 0.5 < preview.freeable_bytes / (report.size_before - report.size_after) < 1.5
        orphans = store.db.execute(
            "SELECT count(*) FROM scores WHERE run_id NOT IN (SELECT id FROM score_runs)"
        ).fetchone()[0]
        assert orphans == 0
        # What reads the history still finds it: "a month ago" in the book, the trend, score evaluate.
        page = fetch_book_page(store.db, BookQuery(sort="health"), offset=0, limit=5)
        assert page and all(row.health_month_before is not None for row in page if row.health is not None)
        trend = account_view(store.db, page[0].id)
        assert trend is not None and len(trend.health_history) == len(kept)
        assert len(finished_runs(store.db)) == len(kept)
    finally:
        store.close()
    evaluated = runner.invoke(app, ["score", "evaluate", "--db", str(path), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)


@pytest.mark.slow
def test_db_compact_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "book.db"
    a_year_of_nightly_runs(path)
    dry = runner.invoke(app, ["db", "compact", "--dry-run", "--json", "--db", str(path)])
    assert dry.exit_code == 0, dry.output
    preview = json.loads(dry.stdout)
    assert preview["dry_run"] and preview["runs_dropped"] > 0 and preview["freeable_bytes"] > 0
    doctor = runner.invoke(app, ["doctor", "--db", str(path)])
    assert f"would drop {preview['runs_dropped']}" in doctor.stdout, doctor.output
    done = runner.invoke(app, ["db", "compact", "--db", str(path)])
    assert done.exit_code == 0, done.output
    assert f"dropped {preview['runs_dropped']}" in done.stdout and "freed" in done.stdout
