"""A score run keeps its explanations' terms once: rows stored before that (terms inline) and after (terms
with the run) read back alike through every reader of explanations."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cockpit import resources
from cockpit.config import load_settings
from cockpit.demo import load_seeds
from cockpit.scoring import explain
from cockpit.services.scoring import run_scoring
from cockpit.store import open_store
from cockpit.store.db import build_database
from cockpit.store.scoring import (
    SCORE_COLUMNS,
    finish_score_run,
    insert_scores,
    latest_score,
    latest_scores,
    start_score_run,
)
from tests.clocks import at

TODAY = date(2026, 11, 22)
BEFORE = TODAY - timedelta(days=1)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    build_database(path, lambda store: load_seeds(store, resources.seeds_dir(), today=TODAY))
    return path


def without_run(score: dict[str, Any] | None) -> dict[str, Any]:
    assert score is not None
    return {key: value for key, value in score.items() if key not in ("run_id", "as_of")}


def test_a_run_stored_with_its_terms_inline_reads_back_as_one_that_keeps_them_once(demo: Path) -> None:
    store = open_store(demo)
    try:
        new = run_scoring(store, load_settings(), TODAY, clock=at(TODAY)).run_id
        db = store.db
        (terms,) = db.execute("SELECT terms FROM score_runs WHERE id = ?", [new]).fetchone()
        rows = db.execute(
            f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores WHERE run_id = ? ORDER BY account_id", [new]
        ).fetchall()
        own = f"[{explain.VERSION},{explain.RUN_TERMS},"
        assert terms == explain.encode_terms(explain.terms(load_settings()))
        assert all(row[-1].startswith(own) for row in rows)
        with store.write() as writing:  # the same run the way cockpit stored it before: terms in every row
            old = start_score_run(writing, BEFORE, "2026-11-21T09:00:00", "{}", terms)
            writing.execute("UPDATE score_runs SET terms = NULL WHERE id = ?", [old])
            inline = [
                (
                    old,
                    row[1],
                    BEFORE.isoformat(),
                    *row[3:-1],
                    row[-1].replace(own, f"[{explain.VERSION},{terms},", 1),
                )
                for row in rows
            ]
            insert_scores(writing, inline)
            finish_score_run(writing, old, "2026-11-21T09:01:00", len(inline))
        sizes = dict(
            db.execute("SELECT run_id, sum(length(explanation)) FROM scores GROUP BY run_id").fetchall()
        )
        assert sizes[old] - sizes[new] == len(rows) * (len(terms) - len(explain.RUN_TERMS))

        accounts = [row[1] for row in rows]
        assert len(accounts) > 140
        for account_id in accounts:
            then, now = latest_score(db, account_id, BEFORE), latest_score(db, account_id, TODAY)
            assert then is not None and now is not None
            assert (then["run_id"], now["run_id"]) == (old, new)
            assert without_run(then) == without_run(now)
        then_all, now_all = latest_scores(db, as_of=BEFORE), latest_scores(db, as_of=TODAY)
        assert sorted(then_all) == sorted(now_all) == sorted(accounts)
        assert all(without_run(then_all[key]) == without_run(now_all[key]) for key in accounts)
        some, sections = accounts[::7], ("adoption", "churn")  # as the outreach planner reads them
        then_some, now_some = (
            latest_scores(db, some, BEFORE, sections),
            latest_scores(db, some, TODAY, sections),
        )
        assert sorted(then_some) == sorted(some)
        assert all(without_run(then_some[key]) == without_run(now_some[key]) for key in some)
    finally:
        store.close()
