"""The demo book, scored, as a CSM sees it in the morning: the book by priority and the account on top."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from cockpit import resources
from cockpit.config import load_settings
from cockpit.demo import SEED_ANCHOR, STORY_ACCOUNTS, load_seeds
from cockpit.services import outreach as service
from cockpit.services.clv import run_clv
from cockpit.services.scoring import run_scoring
from cockpit.store import open_store
from cockpit.store.book import BookRow
from cockpit.store.db import build_database
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.account import AccountScreen
from cockpit.tui.widgets.book_table import BookTable
from tests.clocks import at

from .books import settle

pytestmark = pytest.mark.slow

SnapCompare = Callable[..., bool]


@pytest.fixture
def demo_app(tmp_path: Path) -> CockpitApp:
    """The demo book as of its anchor day, scored then and a month before."""
    path = tmp_path / "demo.db"
    build_database(path, lambda store: load_seeds(store, resources.seeds_dir(), today=SEED_ANCHOR))
    store = open_store(path)
    run_clv(store, load_settings(), SEED_ANCHOR, clock=at(SEED_ANCHOR))
    for as_of in (SEED_ANCHOR.replace(month=SEED_ANCHOR.month - 1), SEED_ANCHOR):
        run_scoring(store, load_settings(), as_of, clock=at(as_of))
    return CockpitApp(store, load_settings(), db_label="demo.db", clock=at(SEED_ANCHOR))


async def by_priority(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("p")
    await settle(pilot)


async def open_top_account(pilot: Pilot[None]) -> None:
    await by_priority(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AccountScreen)


def test_demo_book_by_priority(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(120, 30), run_before=by_priority)


def test_account_screen(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(120, 45), run_before=open_top_account)


def test_account_screen_at_80x24(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=open_top_account)


async def save_now(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("f", "f")
    await settle(pilot)


def test_save_now_view(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(120, 24), run_before=save_now)


def rows_shown(app: CockpitApp) -> list[BookRow]:
    table = app.screen.query_one(BookTable)
    rows = [table.row_at(index) for index in range(table.row_count or 0)]
    return [row for row in rows if row is not None]


async def test_saved_views_filter_the_book(demo_app: CockpitApp) -> None:
    async with demo_app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        everyone = len(rows_shown(demo_app))
        assert STORY_ACCOUNTS["churned"] not in {row.id for row in rows_shown(demo_app)}  # not a customer now
        await pilot.press("f", "f")  # All accounts -> My book -> Save now
        await settle(pilot)
        save_now = rows_shown(demo_app)
        assert save_now and len(save_now) < everyone
        assert {(row.churn_tier, row.value_tier) for row in save_now} == {("high", "high")}
        assert STORY_ACCOUNTS["cancel_lookup"] in {row.id for row in save_now}
        await pilot.press("f")  # Renewals in 90 days
        await settle(pilot)
        renewals = rows_shown(demo_app)
        last_day = (SEED_ANCHOR + timedelta(days=90)).isoformat()
        assert renewals and all(
            SEED_ANCHOR.isoformat() <= (row.renewal_date or "") <= last_day for row in renewals
        )
        assert [row.renewal_date for row in renewals] == sorted(row.renewal_date or "" for row in renewals)
        await pilot.press("F", "F", "F")  # back to All accounts
        await settle(pilot)
        assert len(rows_shown(demo_app)) == everyone


def on_top_account(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Open the top account by priority, then press each group of keys (space-separated) in turn."""

    async def run(pilot: Pilot[None]) -> None:
        await open_top_account(pilot)
        for group in keys:
            await pilot.press(*group.split())
            await settle(pilot)

    return run


def test_account_journey(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(100, 30), run_before=on_top_account("2"))


def test_demo_book_by_priority_at_80x24(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=by_priority)


def test_account_journey_at_80x24(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    """The journey's detail, cut in the table, shows in full under it for the event under the cursor."""
    journey = on_top_account("2", "down down down down down")
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=journey)


def test_account_contacts_at_80x24(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    """The consent columns stay in sight; the long email address comes last."""
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=on_top_account("3"))


def test_account_outreach_at_80x24(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    """The review keys the Outreach tab offers come before the tab keys in the footer."""
    service.plan(demo_app.store, load_settings(), as_of=SEED_ANCHOR, clock=at(SEED_ANCHOR))
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=on_top_account("4"))


def test_sync_screen_at_80x24(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    async def sync(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=sync)


def test_log_interaction_form_at_80x24(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    async def form(pilot: Pilot[None]) -> None:
        await open_top_account(pilot)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("ctrl+s")  # nothing typed: the form says what is missing
        await settle(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor would make the picture depend on the moment
        await pilot.pause()

    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=form)


def test_sync_screen_before_any_sync(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    async def sync(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=(100, 24), run_before=sync)


async def queue(pilot: Pilot[None]) -> None:
    """The review queue over the drafts the morning's plan queued."""
    app = pilot.app
    assert isinstance(app, CockpitApp)
    service.plan(app.store, load_settings(), as_of=SEED_ANCHOR, clock=at(SEED_ANCHOR))
    await settle(pilot)
    await pilot.press("d")
    await settle(pilot)


def test_outreach_queue(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    """The drafts the morning's plan queued, the first shown exactly as it will be sent."""
    assert snap_compare(demo_app, terminal_size=(110, 36), run_before=queue)


def test_outreach_queue_at_80x24(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=queue)


def test_outreach_queue_searched_and_marked_at_120x40(
    snap_compare: SnapCompare, demo_app: CockpitApp
) -> None:
    """The rescue drafts, two marked (the cursor on the second: space does not move it), asked before
    approving both."""

    async def marked(pilot: Pilot[None]) -> None:
        await queue(pilot)
        await pilot.press("slash", *"playbook:rescue", "enter")
        await settle(pilot)
        await pilot.press("space", "down", "space", "a")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=(120, 40), run_before=marked)
