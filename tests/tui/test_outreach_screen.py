"""The outreach review queue as a CSM uses it on the planned demo book: read a draft as it will be sent,
edit it, approve two at once, snooze and cancel; and the account's own outreach tab."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from cockpit import resources
from cockpit.config import load_settings
from cockpit.demo import SEED_ANCHOR, STORY_ACCOUNTS, load_seeds
from cockpit.outreach.items import OutreachItem
from cockpit.outreach.search import matches
from cockpit.services import outreach as service
from cockpit.services.scoring import run_scoring
from cockpit.store import Store, open_store
from cockpit.store.db import build_database
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.account import AccountScreen
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.outreach import EditDraftScreen, OutreachScreen
from tests.clocks import at

from .books import press_to, settle


@pytest.fixture
def planned(tmp_path: Path) -> Store:
    path = tmp_path / "demo.db"
    build_database(path, lambda store: load_seeds(store, resources.seeds_dir(), today=SEED_ANCHOR))
    store = open_store(path)
    run_scoring(store, load_settings(), SEED_ANCHOR, clock=at(SEED_ANCHOR))
    service.plan(store, load_settings(), as_of=SEED_ANCHOR, clock=at(SEED_ANCHOR))
    return store


@pytest.fixture
def app(planned: Store) -> CockpitApp:
    return CockpitApp(planned, load_settings(), clock=at(SEED_ANCHOR))


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


async def open_account(pilot: Pilot[None], store: Store, account: str) -> None:
    await settle(pilot)
    pilot.app.push_screen(AccountScreen(store, account, load_settings(), clock=at(SEED_ANCHOR)))
    await settle(pilot)


async def open_queue(pilot: Pilot[None]) -> OutreachScreen:
    return await press_to(pilot, "d", OutreachScreen)


def showing(app: CockpitApp, screen: Screen[None]) -> bool:
    return app.screen is screen


@pytest.mark.slow
async def test_review_edit_approve_snooze_and_cancel(planned: Store, app: CockpitApp) -> None:
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_queue(pilot)
        table = screen.query_one(DataTable)
        assert table.row_count > 2 and set(first_column(screen)) == {"draft"}
        first = row_id(table, 0)
        preview = str(screen.query_one("#outreach-preview", Static).render())
        subject = status_of(planned, first)[1]
        assert f"Subject: {subject}" in preview and "Why: playbook" in preview

        await pilot.press("e")
        await settle(pilot)
        assert editing(app)
        await pilot.press("escape")  # nothing changed: closes at once
        await settle(pilot)
        assert not editing(app)
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("question_mark")  # typed into the subject, not the keys' help
        await settle(pilot)
        assert editing(app) and app.screen.query_one("#edit-subject", Input).value == f"{subject}?"
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
        await pilot.press("space", "down", "space", "a")  # mark two, approve both
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
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


async def test_the_account_shows_its_outreach(planned: Store, app: CockpitApp) -> None:
    account = STORY_ACCOUNTS["cancel_lookup"]
    async with app.run_test(size=(110, 36)) as pilot:
        await open_account(pilot, planned, account)
        await pilot.press("4")
        await settle(pilot)
        table = app.screen.query_one("#outreach-items", DataTable)
        playbooks = {str(table.get_row_at(index)[3]) for index in range(table.row_count)}
        assert "save-now" in playbooks
        assert "Why: playbook" in str(app.screen.query_one("#account-outreach-preview", Static).render())


def statuses(store: Store, ids: list[str]) -> list[str]:
    return [status_of(store, item_id)[0] for item_id in ids]


@pytest.mark.slow
async def test_space_marks_without_moving_and_a_bulk_approve_asks_first(
    planned: Store, app: CockpitApp
) -> None:
    """space, Down, space marks rows 1 and 2 (not 1 and 3); the count shows; approving both asks, and `n`
    approves nothing."""
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_queue(pilot)
        table = screen.query_one(DataTable)
        first, second, third = (row_id(table, row) for row in range(3))
        await pilot.press("space")
        await settle(pilot)
        assert table.cursor_row == 0
        await pilot.press("down", "space")
        await settle(pilot)
        assert [str(table.get_row_at(row)[0]) for row in range(3)] == ["●", "●", ""]
        assert "2 marked" in str(screen.query_one("#outreach-status", Static).render())

        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == "Approve 2 drafts?"
        await pilot.press("n")
        await settle(pilot)
        assert showing(app, screen)
        assert statuses(planned, [first, second, third]) == ["draft"] * 3

        await pilot.press("a")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert statuses(planned, [first, second, third]) == ["approved", "approved", "draft"]
        assert "marked" not in str(screen.query_one("#outreach-status", Static).render())


@pytest.mark.slow
async def test_the_edit_box_adds_to_the_subject_and_esc_asks_before_dropping_edits(
    planned: Store, app: CockpitApp
) -> None:
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_queue(pilot)
        first = row_id(screen.query_one(DataTable), 0)
        subject = status_of(planned, first)[1]
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("!", "!")  # the first key does not replace the subject: it is added at its end
        await settle(pilot)
        assert app.screen.query_one("#edit-subject", Input).value == subject + "!!"

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # keep editing
        await settle(pilot)
        assert editing(app)
        assert app.screen.query_one("#edit-subject", Input).value == subject + "!!"
        await pilot.press("escape", "y")  # discard
        await settle(pilot)
        assert showing(app, screen)
        assert status_of(planned, first) == ("draft", subject)


@pytest.mark.slow
async def test_the_search_narrows_the_queue_by_playbook_account_and_channel(
    planned: Store, app: CockpitApp
) -> None:
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await open_queue(pilot)
        table = screen.query_one(DataTable)
        everyone = table.row_count
        playbooks = {str(table.get_row_at(row)[5]) for row in range(everyone)}
        assert "save-now" in playbooks and len(playbooks) > 1
        await pilot.press("space")  # a mark on an item the search hides is dropped
        await pilot.press("slash", *"playbook:save-now", "enter")
        await settle(pilot)
        shown = {str(table.get_row_at(row)[5]) for row in range(table.row_count)}
        assert shown == {"save-now"} and 0 < table.row_count < everyone
        assert screen.focused is table
        status = str(screen.query_one("#outreach-status", Static).render())
        assert "matching 'playbook:save-now'" in status and "marked" not in status

        account = str(table.get_row_at(0)[3])
        await pilot.press("slash", "ctrl+u", *account.split()[0].lower(), "enter")
        await settle(pilot)
        assert account in {str(table.get_row_at(row)[3]) for row in range(table.row_count)}

        await pilot.press("slash", "escape")  # Esc in the box clears it; the queue stays open
        await settle(pilot)
        assert showing(app, screen) and table.row_count == everyone

        # The drafts each playbook queued, most first, with the muted playbooks.
        drafts = planned.db.execute(
            "SELECT playbook, count(*) FROM outreach WHERE status = 'draft' GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
        counts = str(screen.query_one("#outreach-playbooks", Static).render())
        assert counts.startswith("drafts by playbook: " + " · ".join(f"{name} {n}" for name, n in drafts[:2]))
        assert "muted" not in counts
        service.set_muted(planned, load_settings(), "birthday", True, clock=at(SEED_ANCHOR))
        await pilot.press("A", "A")  # reads the queue again
        await settle(pilot)
        assert str(screen.query_one("#outreach-playbooks", Static).render()).startswith(
            "muted: birthday · drafts by playbook: "
        )

        # due: picks by the due day (the demo plans on a Sunday: drafts go out from Monday).
        later = sum(str(table.get_row_at(row)[2]) > "2026-11-23" for row in range(table.row_count))
        await pilot.press("slash", *"due:1", "enter")
        await settle(pilot)
        assert table.row_count == everyone - later and table.row_count > 0
        assert {str(table.get_row_at(row)[2]) for row in range(table.row_count)} <= {
            "2026-11-22",
            "2026-11-23",
        }


def queue_item(due_on: date = SEED_ANCHOR) -> OutreachItem:
    return OutreachItem(
        id="i1", account_id="a1", account_name="Acme Labs", owner=None, contact_id=None, contact_name=None,
        contact_email=None, playbook="save-now", channel="call_task", subject="Hello", body="", status="draft",
        due_on=due_on, snoozed_until=None, priority=1, dedupe_key="k", reason={}, sync_key="s",
        sync_error=None, edited_at=None, created_at="", updated_at="",
    )  # fmt: skip


def test_search_words_pick_items_by_field() -> None:
    item = queue_item()
    today = SEED_ANCHOR
    assert matches(item, "", today)
    assert matches(item, "acme SAVE call", today)
    assert matches(item, "playbook:save channel:call_task account:labs", today)
    assert not matches(item, "playbook:acme", today)  # a field word looks in its field only
    assert not matches(item, "hello", today)  # the subject is not searched
    assert not matches(item, "acme email", today)


@pytest.mark.parametrize(
    ("due_in_days", "word", "picked"),
    [
        (0, "due:today", True),
        (-3, "due:today", True),  # overdue is due today too
        (1, "due:today", False),
        (-1, "due:overdue", True),
        (0, "due:overdue", False),
        (7, "due:7", True),
        (8, "due:7", False),
        (2, "due:2026-11-24", True),
        (3, "due:2026-11-24", False),
        (30, "due:", True),  # still being typed: no filter yet
        (0, "due:soon", False),  # not understood: nothing, rather than everything
    ],
)
def test_the_due_word_picks_items_by_their_due_day(due_in_days: int, word: str, picked: bool) -> None:
    item = queue_item(SEED_ANCHOR + timedelta(days=due_in_days))
    assert matches(item, f"acme {word}", SEED_ANCHOR) is picked


@pytest.mark.slow
async def test_the_accounts_outreach_tab_approves_snoozes_and_cancels(
    planned: Store, app: CockpitApp
) -> None:
    account = STORY_ACCOUNTS["cancel_lookup"]
    async with app.run_test(size=(110, 36)) as pilot:
        await open_account(pilot, planned, account)
        await pilot.press("a")  # the review keys are the Outreach tab's only
        await settle(pilot)
        open_ids = [item.id for item in service.items_for_account(planned, account) if item.status == "draft"]
        assert len(open_ids) >= 1 and statuses(planned, open_ids) == ["draft"] * len(open_ids)

        await pilot.press("4")
        await settle(pilot)
        table = app.screen.query_one("#outreach-items", DataTable)
        chosen = service.items_for_account(planned, account)[table.cursor_row].id
        await pilot.press("a")
        await settle(pilot)
        assert status_of(planned, chosen)[0] == "approved"
        shown = [str(table.get_row_at(row)[0]) for row in range(table.row_count)]
        assert "approved" in shown  # the tab reads the items again
        table.move_cursor(row=shown.index("approved"))
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert status_of(planned, chosen)[0] == "cancelled"
