"""The lifecycle stage (issue 18, point 7): the rule, its SQL in the book held to it over the whole demo book,
the stages of the demo's stories (whose truth the generator wrote), and the stage in the book, the filter,
the sort, `accounts list` and the playbooks' facts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import get_args

import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.config import LifecycleStage, load_settings
from cockpit.demo import SEED_ANCHOR, STORY_ACCOUNTS
from cockpit.outreach.planner import evaluate
from cockpit.outreach.playbooks import compile_playbooks
from cockpit.scoring.lifecycle import ONBOARDING_DAYS, STAGES, lifecycle_stage
from cockpit.store import Store, open_store
from cockpit.store.book import BookFilter, BookQuery, fetch_book_page
from cockpit.store.outreach import plan_accounts
from tests.demo_books import build_scored_demo
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
