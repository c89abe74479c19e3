"""The outreach review queue as a CSM uses it on the planned demo book: read a draft as it will be sent,
edit it, approve two at once, snooze and cancel; and the account's own outreach tab."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Input, Static

from cockpit import resources
from cockpit.config import load_settings
from cockpit.demo import SEED_ANCHOR, STORY_ACCOUNTS, load_seeds
from cockpit.services import outreach as service
from cockpit.services.scoring import run_scoring
from cockpit.store import Store, open_store
from cockpit.store.db import build_database
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.account import AccountScreen
from cockpit.tui.screens.outreach import EditDraftScreen, OutreachScreen
from tests.clocks import at

from .books import settle


@pytest.fixture
def planned(tmp_path: Path) -> Store:
    path = tmp_path / "demo.db"
    build_database(path, lambda store: load_seeds(store, resources.seeds_dir(), today=SEED_ANCHOR))
    store = open_store(path)
    run_scoring(store, load_settings(), SEED_ANCHOR, clock=at(SEED_ANCHOR))
    service.plan(store, load_settings(), as_of=SEED_ANCHOR, clock=at(SEED_ANCHOR))
    return store


def status_of(store: Store, item_id: str) -> tuple[str, str]:
    row = store.db.execute("SELECT status, subject FROM outreach WHERE id = ?", [item_id]).fetchone()
    return row[0], row[1]


def editing(app: CockpitApp) -> bool:
    return isinstance(app.screen, EditDraftScreen)


def row_id(table: DataTable[object], row: int) -> str:
    return str(table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value)


def first_column(screen: OutreachScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(index)[1]) for index in range(table.row_count)]


@pytest.mark.slow
async def test_review_edit_approve_snooze_and_cancel(planned: Store) -> None:
    app = CockpitApp(planned, load_settings(), clock=at(SEED_ANCHOR))
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OutreachScreen)
        table = screen.query_one(DataTable)
        assert table.row_count > 2 and set(first_column(screen)) == {"draft"}
        first = row_id(table, 0)
        preview = str(screen.query_one("#outreach-preview", Static).render())
        subject = status_of(planned, first)[1]
        assert f"Subject: {subject}" in preview and "Why: playbook" in preview

        await pilot.press("e")
        await settle(pilot)
        assert editing(app)
        app.screen.query_one("#edit-subject", Input).value = "{{ account.name }} call"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "template markup" in str(app.screen.query_one("#edit-problem", Static).render())
        app.screen.query_one("#edit-subject", Input).value = "A call this week"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not editing(app)
        assert status_of(planned, first) == ("draft", "A call this week")

        second = row_id(table, 1)
        await pilot.press("space", "space", "a")  # mark two, approve both
        await settle(pilot)
        assert status_of(planned, first)[0] == status_of(planned, second)[0] == "approved"

        table.move_cursor(row=0)
        third = row_id(table, 0)
        await pilot.press("z")
        await settle(pilot)
        snoozed = planned.db.execute(
            "SELECT status, snoozed_until FROM outreach WHERE id = ?", [third]
        ).fetchone()
        assert snoozed == ("snoozed", "2026-11-29")
        table.move_cursor(row=0)
        fourth = row_id(table, 0)
        await pilot.press("x")
        await settle(pilot)
        assert status_of(planned, fourth)[0] == "cancelled"
        assert fourth not in {str(key.value) for key in table.rows}  # closed items leave the open list
        await pilot.press("A")
        await settle(pilot)
        assert fourth in {str(key.value) for key in table.rows}


async def test_the_account_shows_its_outreach(planned: Store) -> None:
    account = STORY_ACCOUNTS["cancel_lookup"]
    app = CockpitApp(planned, load_settings(), clock=at(SEED_ANCHOR))
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        app.push_screen(AccountScreen(planned, account, load_settings(), clock=at(SEED_ANCHOR)))
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        table = app.screen.query_one("#outreach-items", DataTable)
        playbooks = {str(table.get_row_at(index)[3]) for index in range(table.row_count)}
        assert "save-now" in playbooks
        assert "Why: playbook" in str(app.screen.query_one("#account-outreach-preview", Static).render())
