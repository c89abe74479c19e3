"""The lifecycle stage (issue 18, point 7): the rule, its SQL in the book held to it over the whole demo book,
the stages of the demo's stories (whose truth the generator wrote), and the stage in the book, the filter,
the sort, `accounts list` and the playbooks' facts."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import get_args

import pytest
from sqlite_utils import Database
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.config import LifecycleStage, load_settings
from cockpit.demo import SEED_ANCHOR, STORY_ACCOUNTS
from cockpit.outreach.planner import evaluate
from cockpit.outreach.playbooks import compile_playbooks
from cockpit.scoring.lifecycle import ONBOARDING_DAYS, STAGES, lifecycle_stage
from cockpit.store import Store, open_store
from cockpit.store.book import _STORED_STAGE_RANK, BookFilter, BookQuery, fetch_book_page
from cockpit.store.migrations import migrations
from cockpit.store.outreach import plan_accounts
from tests.demo_books import build_scored_demo
from tests.query_plans import query_plans
from tests.tuning import tune

DAY = date(2026, 6, 1)


def stage(given: str | None = None, *, started: int = 400, **scores: object) -> str:
    fields: dict[str, object] = {"adoption_status": "adopted", "cross_sell_ready": False, "advocacy": "liker"}
    fields.update(scores)
    return lifecycle_stage(
        given,
        start_date=DAY - timedelta(days=started),
        as_of=DAY,
        adoption_status=str(fields["adoption_status"]),
        cross_sell_ready=bool(fields["cross_sell_ready"]),
        advocacy=str(fields["advocacy"]),
    )


def test_the_stages_follow_one_another() -> None:
    assert get_args(LifecycleStage) == STAGES
    assert stage(started=ONBOARDING_DAYS - 1, advocacy="lover") == "onboarding"  # the first days, whatever
    assert stage(started=ONBOARDING_DAYS, adoption_status="onboarding") == "adoption"
    assert stage(adoption_status="not started") == "adoption"
    assert stage() == stage(adoption_status="power") == "retention"
    assert stage(cross_sell_ready=True) == "expansion"
    assert stage(cross_sell_ready=True, advocacy="lover") == "advocacy"
    # The CRM's stage wins when it is one of the stages; "customer" (HubSpot's) says nothing of which.
    assert stage("Expansion", adoption_status="onboarding") == "expansion"
    assert stage("customer", adoption_status="onboarding") == "adoption"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_scored_demo(tmp_path_factory.mktemp("lifecycle") / "demo.db", SEED_ANCHOR)


@pytest.fixture
def store(demo: Path) -> Iterator[Store]:
    opened = open_store(demo)
    yield opened
    opened.close()


def book_stages(store: Store, **filters: object) -> dict[str, str | None]:
    query = BookQuery(sort="stage", filter=BookFilter(customers_on=SEED_ANCHOR.isoformat(), **filters))  # type: ignore[arg-type]
    return {row.id: row.lifecycle_stage for row in fetch_book_page(store.db, query, offset=0, limit=1000)}


def test_the_books_sql_is_the_rule_for_every_account(store: Store) -> None:
    rows = store.db.execute(
        "SELECT a.id, a.lifecycle_stage, a.start_date, s.adoption_status, s.cross_sell_ready, s.advocacy "
        "FROM accounts a JOIN scores s ON s.account_id = a.id"
    ).fetchall()
    assert len(rows) >= 150
    expected = {
        account: lifecycle_stage(
            given,
            start_date=date.fromisoformat(start) if start else None,
            as_of=SEED_ANCHOR,
            adoption_status=adoption,
            cross_sell_ready=bool(ready),
            advocacy=advocacy,
        )
        for account, given, start, adoption, ready, advocacy in rows
    }
    shown = book_stages(store)
    assert {account: shown[account] for account in shown} == {account: expected[account] for account in shown}
    assert set(shown.values()) == set(STAGES)  # the demo book has every stage


def test_the_demo_stories_are_in_the_stages_their_data_tells(store: Store) -> None:
    shown = book_stages(store)
    assert shown[STORY_ACCOUNTS["cross_sell_ready"]] == "expansion"  # every feature adopted, ready for more
    assert shown[STORY_ACCOUNTS["lover"]] == "advocacy"  # promoter, referral, review
    assert shown[STORY_ACCOUNTS["stalled_feature"]] == "adoption"  # a feature tried and left
    new = store.db.execute(
        "SELECT id FROM accounts WHERE start_date > ? AND churned_on IS NULL LIMIT 1",
        [(SEED_ANCHOR - timedelta(days=ONBOARDING_DAYS)).isoformat()],
    ).fetchone()[0]
    assert shown[new] == "onboarding"


def test_the_book_filters_and_sorts_by_stage(store: Store) -> None:
    expansion = book_stages(store, stages=("expansion",))
    assert STORY_ACCOUNTS["cross_sell_ready"] in expansion and set(expansion.values()) == {"expansion"}
    in_order = [value for value in book_stages(store).values() if value in STAGES]
    assert in_order == sorted(in_order, key=STAGES.index)


def test_accounts_list_shows_and_filters_the_stage(demo: Path) -> None:
    result = CliRunner().invoke(
        app, ["accounts", "list", "--stage", "advocacy", "--json", "--db", str(demo)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert STORY_ACCOUNTS["lover"] in {record["id"] for record in records}
    assert {record["lifecycle_stage"] for record in records} == {"advocacy"}
    table = CliRunner().invoke(
        app, ["accounts", "list", "--sort", "stage", "--limit", "3", "--db", str(demo)]
    )
    assert "stage" in table.stdout.splitlines()[0] and "onboarding" in table.stdout
    wrong = CliRunner().invoke(app, ["accounts", "list", "--stage", "growth", "--db", str(demo)])
    assert wrong.exit_code == 2 and "stage: 'growth' is not one of onboarding, adoption" in wrong.stderr


def test_a_playbook_can_fire_on_the_stage(store: Store) -> None:
    defaults = load_settings()
    [referral] = [playbook for playbook in defaults.outreach.playbooks if playbook.id == "referral"]
    by_stage = referral.model_copy(update={"trigger": "lifecycle_stage == 'advocacy'"})
    playbooks = compile_playbooks(tune("outreach", defaults, playbooks=[by_stage]))
    run = store.db.execute("SELECT max(id) FROM score_runs").fetchone()[0]
    accounts = plan_accounts(store.db, run, SEED_ANCHOR, 60, ())
    fired = {one.account_id for one in evaluate(playbooks, accounts)}
    assert STORY_ACCOUNTS["lover"] in fired
    assert fired == {account.id for account in accounts if account.facts["lifecycle_stage"] == "advocacy"}


@pytest.fixture
def copied(demo: Path, tmp_path: Path) -> Iterator[Store]:
    """A copy of the scored demo book with accounts the run did not score, one with a CRM's stage."""
    path = tmp_path / "copy.db"
    shutil.copy(demo, path)
    opened = open_store(path)
    with opened.write() as db:
        for number, given in enumerate((None, "Advocacy", "customer")):
            db.execute(
                "INSERT INTO accounts (id, name, mrr, lifecycle_stage, created_at, updated_at) "
                "VALUES (?, ?, 10, ?, '2026-01-01', '2026-01-01')",
                [f"new-{number}", f"Newcomer {number}", given],
            )
    yield opened
    opened.close()


def rule_order(store: Store, stages: tuple[str, ...] = ()) -> list[str]:
    """The book's accounts in stage order as the rule gives it: scored ones by stage, value (biggest first)
    and id; then those without a score by name and id; only those of `stages`, if given."""
    run = store.db.execute("SELECT max(id) FROM score_runs").fetchone()[0]
    scored = []
    for account, given, start, as_of, adoption, ready, advocacy, value in store.db.execute(
        "SELECT a.id, a.lifecycle_stage, a.start_date, s.as_of, s.adoption_status, s.cross_sell_ready, "
        "s.advocacy, s.value FROM accounts a JOIN scores s ON s.account_id = a.id AND s.run_id = ?",
        [run],
    ):
        found = lifecycle_stage(
            given,
            start_date=date.fromisoformat(start) if start else None,
            as_of=date.fromisoformat(as_of),
            adoption_status=adoption,
            cross_sell_ready=bool(ready),
            advocacy=advocacy,
        )
        if not stages or found in stages:
            scored.append((STAGES.index(found), -value, account))
    unscored = [
        (name.lower(), account)
        for account, name, given in store.db.execute(
            "SELECT id, name, lifecycle_stage FROM accounts a WHERE NOT EXISTS "
            "(SELECT 1 FROM scores s WHERE s.run_id = ? AND s.account_id = a.id)",
            [run],
        )
        if not stages or (given or "").lower() in stages
    ]
    return [row[-1] for row in sorted(scored)] + [row[-1] for row in sorted(unscored)]


def book_order(store: Store, stages: tuple[str, ...] = ()) -> list[str]:
    query = BookQuery(sort="stage", filter=BookFilter(stages=stages))
    return [row.id for row in fetch_book_page(store.db, query, offset=0, limit=10_000)]


def test_the_book_sorts_and_filters_by_the_stored_stage_in_the_rules_order(copied: Store) -> None:
    assert {"new-0", "new-1", "new-2"} <= set(book_order(copied))
    ordered: list[list[str]] = []
    plans = query_plans(copied, lambda: ordered.append(book_order(copied)))
    assert ordered == [rule_order(copied)]
    assert any("INDEX scores_run_stage " in plan for plan in plans), plans
    assert not any("TEMP B-TREE" in plan for plan in plans), plans
    for stages in (("advocacy",), ("onboarding", "retention")):
        assert book_order(copied, stages) == rule_order(copied, stages)
    assert "new-1" in book_order(copied, ("advocacy",))  # the CRM's stage of an account without a score
    descending = BookQuery(sort="stage", descending=True)
    (count,) = copied.db.execute(
        "SELECT count(*) FROM scores GROUP BY run_id ORDER BY run_id DESC"
    ).fetchone()
    scored = rule_order(copied)[:count]
    got = [row.id for row in fetch_book_page(copied.db, descending, offset=0, limit=10_000)]
    assert got[: len(scored)] == scored[::-1]


def test_a_stage_changed_by_a_write_is_restaged_and_one_from_elsewhere_is_computed(copied: Store) -> None:
    onboarding = rule_order(copied, ("onboarding",))
    with copied.write() as db:  # cockpit's own write restages what it changed
        db.execute("UPDATE accounts SET start_date = '2000-01-01' WHERE id = ?", [onboarding[0]])
        db.execute("UPDATE accounts SET lifecycle_stage = 'Expansion' WHERE id = ?", [onboarding[1]])
    assert copied.db.execute("SELECT count(*) FROM stage_changes").fetchone()[0] == 0
    assert book_order(copied) == rule_order(copied)
    assert onboarding[1] in book_order(copied, ("expansion",))
    # Another program's write is noted by the trigger: the book computes the stage until a write restages it.
    other = sqlite3.connect(copied.path)
    with other:
        other.execute("UPDATE accounts SET lifecycle_stage = 'advocacy' WHERE id = ?", [onboarding[2]])
    other.close()
    assert book_order(copied) == rule_order(copied)
    assert onboarding[2] in book_order(copied, ("advocacy",))
    with copied.write():
        pass
    stored = copied.db.execute(
        "SELECT stage FROM scores WHERE account_id = ? AND run_id = (SELECT max(id) FROM score_runs)",
        [onboarding[2]],
    ).fetchone()[0]
    assert stored == "advocacy" and book_order(copied) == rule_order(copied)


def test_runs_stored_before_the_stage_are_staged_by_the_migration(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="0036_stored_stage")
    db.execute(
        "INSERT INTO score_runs (id, as_of, started_at, finished_at) VALUES (1, '2026-06-01', 'x', 'x')"
    )
    for number, (start, adoption) in enumerate((("2026-05-01", "power"), ("2020-01-01", "adopted"))):
        db.execute(
            "INSERT INTO accounts (id, name, start_date, created_at, updated_at) VALUES (?, 'A', ?, 'x', 'x')",
            [f"a{number}", start],
        )
        db.execute(
            "INSERT INTO scores (run_id, account_id, as_of, adoption_status, cross_sell_ready) "
            "VALUES (1, ?, '2026-06-01', ?, 0)",
            [f"a{number}", adoption],
        )
    migrations.apply(db)
    assert db.execute("SELECT account_id, stage FROM scores ORDER BY account_id").fetchall() == [
        ("a0", "onboarding"),
        ("a1", "retention"),
    ]


def test_the_stored_stages_rank_is_the_indexes_and_the_rules(copied: Store) -> None:
    [sql] = copied.db.execute("SELECT sql FROM sqlite_master WHERE name = 'scores_run_stage'").fetchone()
    index = re.fullmatch(
        r"CREATE INDEX \S+ ON scores \(run_id, \( (.*) \), value DESC, account_id\)", " ".join(sql.split())
    )
    assert index is not None and re.sub(r"\bs\.", "", _STORED_STAGE_RANK) == index.group(1)
    for rank, name in enumerate(STAGES):
        assert copied.db.execute(f"SELECT {index.group(1)} FROM (SELECT ? AS stage)", [name]).fetchone() == (
            rank,
        )
