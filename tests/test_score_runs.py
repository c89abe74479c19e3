"""Scoring runs on the demo book: facts from SQL, stored runs, as-of, and the CLI around them."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit import resources
from cockpit.cli import app
from cockpit.config import load_settings
from cockpit.demo import STORY_ACCOUNTS, load_seeds
from cockpit.score_runs import run_scoring, windows
from cockpit.store import Store, open_store
from cockpit.store.db import build_database
from cockpit.store.scoring import account_facts

TODAY = date(2026, 11, 22)
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    build_database(path, lambda store: load_seeds(store, resources.seeds_dir(), today=TODAY))
    return path


@pytest.fixture
def demo(demo_db: Path, tmp_path: Path) -> Path:
    """A private copy of the demo book, for tests that write to it."""
    copy = tmp_path / "demo.db"
    copy.write_bytes(demo_db.read_bytes())
    return copy


def scores_of(db: Path, run_id: int) -> dict[str, tuple[object, ...]]:
    store = Store(db)
    try:
        rows = store.db.execute(
            "SELECT account_id, health_band, churn_tier, value_tier, priority, cross_sell_ready, advocacy "
            "FROM scores WHERE run_id = ?",
            [run_id],
        ).fetchall()
    finally:
        store.close()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_facts_reflect_the_stories(demo_db: Path) -> None:
    store = open_store(demo_db)
    try:
        facts = {fact.account_id: fact for fact in account_facts(store.db, TODAY, windows(load_settings()))}
    finally:
        store.close()
    cancel = facts[STORY_ACCOUNTS["cancel_lookup"]]
    assert {event.kind for event in cancel.events} >= {"cancel_page_visit", "cancel_click"}
    silent = facts[STORY_ACCOUNTS["silent"]]
    assert silent.last_usage is not None and (TODAY - silent.last_usage).days >= 15
    assert facts[STORY_ACCOUNTS["cross_sell_ready"]].complements
    assert STORY_ACCOUNTS["churned"] not in facts  # churned before today: not a customer any more
    assert all(event.on <= TODAY for fact in facts.values() for event in fact.events)


def test_a_run_scores_every_customer_and_the_stories_come_out(demo: Path) -> None:
    store = open_store(demo)
    try:
        summary = run_scoring(store, load_settings(), TODAY)
    finally:
        store.close()
    scores = scores_of(demo, summary.run_id)
    assert len(scores) == summary.accounts > 150
    assert scores[STORY_ACCOUNTS["cancel_lookup"]][1:4] == ("high", "high", "save now")
    assert scores[STORY_ACCOUNTS["cross_sell_ready"]][4] == 1
    assert scores[STORY_ACCOUNTS["lover"]][5] == "lover"
    assert scores[STORY_ACCOUNTS["support_burst"]][1] in ("high", "medium")
    assert scores[STORY_ACCOUNTS["silent"]][1] in ("high", "medium")
    advocates = [row[5] for row in scores.values()]
    assert advocates.count("lurker") > advocates.count("liker") > advocates.count("lover") >= 1


def test_as_of_uses_only_data_up_to_that_day(demo: Path) -> None:
    """A month ago the cancel-page visits of the last two weeks had not happened."""
    store = open_store(demo)
    try:
        past = run_scoring(store, load_settings(), TODAY - timedelta(days=30))
        now = run_scoring(store, load_settings(), TODAY)
    finally:
        store.close()
    account = STORY_ACCOUNTS["cancel_lookup"]
    assert scores_of(demo, now.run_id)[account][1] == "high"
    assert scores_of(demo, past.run_id)[account][1] != "high"


def test_score_and_explain_from_the_command_line(demo: Path) -> None:
    scored = runner.invoke(app, ["score", "--db", str(demo), "--as-of", TODAY.isoformat(), "--json"])
    assert scored.exit_code == 0, scored.output
    summary = json.loads(scored.stdout)
    assert summary["accounts"] > 150 and summary["counts"]["churn_tier"]["high"] >= 1
    account = STORY_ACCOUNTS["cancel_lookup"]
    explained = runner.invoke(app, ["explain", account, "--db", str(demo)])
    assert explained.exit_code == 0, explained.output
    assert "cancel_click" in explained.stdout
    assert (TODAY - timedelta(days=3)).isoformat() in explained.stdout or "on 2026-11" in explained.stdout
    as_json = json.loads(runner.invoke(app, ["explain", account, "--db", str(demo), "--json"]).stdout)
    assert as_json["churn"]["tier"] == "high"
    assert {signal["name"] for signal in as_json["churn"]["signals"]} >= {"cancel_click", "cancel_page_visit"}


def test_explain_errors(demo: Path) -> None:
    missing = runner.invoke(app, ["explain", "no-such-account", "--db", str(demo)])
    assert missing.exit_code == 1
    assert "no account matches 'no-such-account'" in missing.stderr
    unscored = runner.invoke(app, ["explain", STORY_ACCOUNTS["lover"], "--db", str(demo)])
    assert unscored.exit_code == 1
    assert "has not been scored" in unscored.stderr
    assert "cockpit score" in unscored.stderr
    bad_date = runner.invoke(app, ["score", "--db", str(demo), "--as-of", "22/11/2026"])
    assert bad_date.exit_code == 2


def test_accounts_list_follows_a_view(demo: Path) -> None:
    assert runner.invoke(app, ["score", "--db", str(demo)]).exit_code == 0
    listed = runner.invoke(app, ["accounts", "list", "--db", str(demo), "--view", "save now", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows and {(row["churn_tier"], row["value_tier"]) for row in rows} == {("high", "high")}
    assert STORY_ACCOUNTS["cancel_lookup"] in {row["id"] for row in rows}
    table = runner.invoke(app, ["accounts", "list", "--db", str(demo), "--sort", "-mrr", "--limit", "3"])
    assert table.exit_code == 0
    assert len(table.stdout.splitlines()) == 4  # the header and three accounts
    assert runner.invoke(app, ["accounts", "list", "--db", str(demo), "--sort", "colour"]).exit_code == 2
