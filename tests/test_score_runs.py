"""Scoring runs on the demo book: facts from SQL, stored runs, as-of, and the CLI around them."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit import resources
from cockpit.cli import app
from cockpit.config import load_settings
from cockpit.demo import STORY_ACCOUNTS, load_seeds
from cockpit.services.scoring import explanation_for, run_scoring, windows
from cockpit.store import Store, open_store
from cockpit.store.db import build_database
from cockpit.store.scoring import (
    SCORE_COLUMNS,
    BookFacts,
    account_facts,
    insert_scores,
    latest_score,
    latest_scores,
    start_score_run,
)
from tests.clocks import at

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
        summary = run_scoring(store, load_settings(), TODAY, clock=at(TODAY))
    finally:
        store.close()
    scores = scores_of(demo, summary.run_id)
    assert len(scores) == summary.accounts > 140
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
        past = run_scoring(store, load_settings(), TODAY - timedelta(days=30), clock=at(TODAY))
        now = run_scoring(store, load_settings(), TODAY, clock=at(TODAY))
    finally:
        store.close()
    account = STORY_ACCOUNTS["cancel_lookup"]
    assert scores_of(demo, now.run_id)[account][1] == "high"
    assert scores_of(demo, past.run_id)[account][1] != "high"


def test_score_and_explain_from_the_command_line(demo: Path) -> None:
    scored = runner.invoke(app, ["score", "--db", str(demo), "--as-of", TODAY.isoformat(), "--json"])
    assert scored.exit_code == 0, scored.output
    summary = json.loads(scored.stdout)
    assert summary["accounts"] > 140 and summary["counts"]["churn_tier"]["high"] >= 1
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


def test_usage_read_by_a_thread_of_its_own_range_by_range_gives_the_same_facts(demo_db: Path) -> None:
    store = open_store(demo_db)
    try:
        settings = load_settings()
        alone = account_facts(store.db, TODAY, windows(settings))
        with (
            store.write() as db,
            BookFacts(db, TODAY, windows(settings), reader=store, range_accounts=7) as book,
        ):
            beside = list(book)
            ids = [account_id for account_id, _mrr in book.book]
    finally:
        store.close()
    assert len(alone) > 140
    assert beside == alone
    assert ids == [facts.account_id for facts in alone]


def all_scores(db: Path, run_id: int) -> list[tuple[object, ...]]:
    store = Store(db)
    try:
        rows = store.db.execute(
            "SELECT * FROM scores WHERE run_id = ? ORDER BY account_id", [run_id]
        ).fetchall()
    finally:
        store.close()
    return [row[1:] for row in rows]


def test_a_run_inside_a_transaction_reads_in_its_own_thread_and_stores_the_same(demo: Path) -> None:
    """Inside a transaction (whose changes another connection could not see) usage is read in the caller's
    thread; otherwise by a thread of its own. Either way the run is the same."""
    store = open_store(demo)
    try:
        beside = run_scoring(store, load_settings(), TODAY, clock=at(TODAY))
        with store.write():
            inside = run_scoring(store, load_settings(), TODAY, clock=at(TODAY))
        assert store.db.execute("PRAGMA ignore_check_constraints").fetchone()[0] == 0
        # The rows were written without SQLite evaluating the CHECK constraints: the rules keep them.
        assert store.db.execute("PRAGMA quick_check(scores)").fetchall() == [("ok",)]
    finally:
        store.close()
    assert (beside.accounts, beside.counts) == (inside.accounts, inside.counts)
    assert all_scores(demo, beside.run_id) == all_scores(demo, inside.run_id)
    assert len(all_scores(demo, beside.run_id)) == beside.accounts > 140


def test_latest_scores_reads_many_accounts_as_latest_score_reads_one(demo: Path) -> None:
    store = open_store(demo)
    try:
        assert latest_scores(store.db) == {}
        past = run_scoring(store, load_settings(), TODAY - timedelta(days=30), clock=at(TODAY))
        now = run_scoring(store, load_settings(), TODAY, clock=at(TODAY))
        every = latest_scores(store.db)
        chosen = [STORY_ACCOUNTS["cancel_lookup"], STORY_ACCOUNTS["lover"], "no-such-account"]
        some = latest_scores(store.db, chosen)
        before = latest_scores(store.db, as_of=TODAY - timedelta(days=1))
        churn_only = latest_scores(store.db, chosen, sections=("churn",))
        one = {account_id: latest_score(store.db, account_id, None) for account_id in every}
    finally:
        store.close()
    assert len(every) == now.accounts
    assert every == one
    assert set(some) == set(chosen[:2])
    assert all(score == every[account_id] for account_id, score in some.items())
    assert some[STORY_ACCOUNTS["cancel_lookup"]]["churn"]["tier"] == "high"
    assert churn_only == {
        account_id: {key: score[key] for key in ("account_id", "run_id", "as_of", "churn")}
        for account_id, score in some.items()
    }
    assert {score["run_id"] for score in before.values()} == {past.run_id}
    assert len(before) == past.accounts


def test_an_explanation_stored_by_cockpit_0_1_explains_as_before(demo: Path) -> None:
    """Runs of cockpit 0.1 stored the worded explanation itself, in users' databases still: it reads back
    as it was stored, and `cockpit explain` shows it as it shows a run of today."""
    store = open_store(demo)
    account = STORY_ACCOUNTS["cancel_lookup"]
    try:
        run = run_scoring(store, load_settings(), TODAY, clock=at(TODAY))
        today = explanation_for(store, account, None)
    finally:
        store.close()
    shown = runner.invoke(app, ["explain", account, "--db", str(demo)]).stdout
    worded = {key: value for key, value in today.items() if key not in ("account_id", "run_id")}
    store = open_store(demo)
    try:
        with store.write() as db:
            db.execute(
                "UPDATE scores SET explanation = ? WHERE run_id = ? AND account_id = ?",
                [json.dumps(worded), run.run_id, account],
            )
        assert (
            store.db.execute(
                "SELECT explanation FROM scores WHERE run_id = ? AND account_id = ?", [run.run_id, account]
            )
            .fetchone()[0]
            .startswith('{"as_of"')
        )
        assert explanation_for(store, account, None) == today
        assert latest_scores(store.db, [account]) == {account: today}
    finally:
        store.close()
    assert runner.invoke(app, ["explain", account, "--db", str(demo)]).stdout == shown
    assert "cancel_click" in shown


def test_each_accounts_events_come_newest_first_as_the_signals_hold_them(demo_db: Path) -> None:
    """Signals are read packed, range by range, each kind over the days the rules read it: each account's
    events come as a plain query finds and orders them."""
    settings = load_settings()
    kept = windows(settings).events
    store = open_store(demo_db)
    try:
        facts = account_facts(store.db, TODAY, windows(settings))
        rows = store.db.execute(
            "SELECT account_id, kind, substr(occurred_at, 1, 10), value, "
            "coalesce(json_extract(payload, '$.subject'), json_extract(payload, '$.comment')), "
            "coalesce(json_extract(payload, '$.message_id'), nullif(source_id, '')) FROM signals "
            "WHERE occurred_at < ? ORDER BY account_id, occurred_at, id",
            [(TODAY + timedelta(days=1)).isoformat()],
        ).fetchall()
    finally:
        store.close()
    expected: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    for account_id, kind, day, value, detail, ref in rows:
        if (TODAY - date.fromisoformat(day)).days < kept.get(kind, 0):
            expected[account_id].append((kind, date.fromisoformat(day), value, detail, ref))
    assert "login" not in kept and kept["email_sent"] < kept["nps"]
    assert sum(len(account.events) for account in facts) > 500
    for account in facts:
        assert [tuple(event) for event in reversed(account.events)] == expected.get(account.account_id, [])


def test_scores_are_inserted_batch_by_batch_by_a_thread_of_their_own(demo: Path) -> None:
    store = open_store(demo)
    try:
        first = run_scoring(store, load_settings(), TODAY, clock=at(TODAY))
        rows = store.db.execute(
            f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores WHERE run_id = ? ORDER BY account_id",
            [first.run_id],
        ).fetchall()
        (first_terms,) = store.db.execute(
            "SELECT terms FROM score_runs WHERE id = ?", [first.run_id]
        ).fetchone()
        with store.write() as db:
            again = start_score_run(db, TODAY, "2026-11-22T09:00:00", "{}", first_terms)
            stored = insert_scores(db, [(again, *row[1:]) for row in rows], beside=True, batch=7)
    finally:
        store.close()
    assert stored == len(rows) == first.accounts
    assert all_scores(demo, again) == all_scores(demo, first.run_id)


def test_a_signals_value_comes_exactly_as_stored(demo: Path) -> None:
    """Packed as JSON by SQLite, a REAL would keep 15 digits; it comes through `quote`, exact."""
    account, value, day = STORY_ACCOUNTS["lover"], 0.1 + 0.2, TODAY - timedelta(days=3)
    store = open_store(demo)
    try:
        with store.write() as db:
            db.execute(
                "INSERT INTO signals (account_id, kind, occurred_at, value, source_id) "
                "VALUES (?, 'nps', ?, ?, 'exact')",
                [account, f"{day.isoformat()}T10:00:00+00:00", value],
            )
        facts = {one.account_id: one for one in account_facts(store.db, TODAY, windows(load_settings()))}
    finally:
        store.close()
    assert repr(value) == "0.30000000000000004"
    assert [event.value for event in facts[account].events if event.on == day and event.kind == "nps"] == [
        value
    ]


def test_value_tiers_follow_lifetime_value_when_configured(demo: Path, tmp_path: Path) -> None:
    config = tmp_path / "clv.toml"
    config.write_text('[value]\nbasis = "clv"\n')
    unvalued = runner.invoke(app, ["score", "--db", str(demo), "--config", str(config)])
    assert unvalued.exit_code == 1 and "cockpit clv fit" in unvalued.stderr  # nothing to rank by yet
    assert runner.invoke(app, ["clv", "fit", "--db", str(demo)]).exit_code == 0
    assert runner.invoke(app, ["score", "--db", str(demo), "--config", str(config)]).exit_code == 0

    store = Store(demo)
    try:
        clv = dict(
            store.db.execute("SELECT account_id, clv FROM clv_latest WHERE clv IS NOT NULL").fetchall()
        )
        [run_id] = store.db.execute("SELECT max(id) FROM score_runs").fetchone()
        tiers = dict(store.db.execute("SELECT account_id, value_tier FROM scores WHERE run_id = ?", [run_id]))
        explained = explanation_for(store, STORY_ACCOUNTS["cancel_lookup"], None)
    finally:
        store.close()
    assert explained["value"]["basis"] == "clv"
    assert explained["value"]["value"] == pytest.approx(clv[STORY_ACCOUNTS["cancel_lookup"]])
    # Tiers by cumulative share of the book's CLV: every "high" account is worth more than every "other" one.
    high = [clv[account] for account, tier in tiers.items() if tier == "high"]
    other = [clv[account] for account, tier in tiers.items() if tier == "other" and account in clv]
    assert high and other and min(high) >= max(other)
