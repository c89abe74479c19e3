"""The book as a whole (`b`): painted from the kept view at once, computed in a worker otherwise; the movers
one key away, each opening its account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import OptionList, Static

from cockpit.config import load_settings
from cockpit.services.book_view import BookViewRequest, book_view
from cockpit.store import Store
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.account import AccountScreen
from cockpit.tui.screens.book import BookScreen
from cockpit.tui.screens.book_view import BookViewScreen
from tests.book_views import AS_OF, build_book
from tests.clocks import at

from .books import press_to, run_command, settle

SnapCompare = Callable[..., bool]


def book_app(store: Store) -> CockpitApp:
    build_book(store)
    return CockpitApp(store, load_settings(), clock=at(AS_OF), db_label="book.db")


def body(screen: BookViewScreen) -> str:
    content = screen.query_one("#book-view-body", Static).content
    assert isinstance(content, Text), content
    return content.plain


def top(app: CockpitApp) -> Screen[Any]:
    """The screen on top (a call: each read is a fresh one for the type checker)."""
    return app.screen_stack[-1]


def status(screen: BookViewScreen) -> str:
    return str(screen.query_one("#book-view-status", Static).content)


async def test_b_computes_the_view_in_a_worker_and_keeps_it(store: Store) -> None:
    app = book_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await press_to(pilot, "b", BookViewScreen)
        text = body(screen)
        assert "The book as of 2026-06-01, compared with 2026-05-01 · 7 accounts" in text
        assert "  logo churn             16.7%" in text
        assert status(screen).startswith("Computed 2026-06-01 09:00 · m movers")
        await pilot.press("c")
        await settle(pilot)
        assert "compared with 2025-06-01" in body(screen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, BookScreen)
    kept = book_view(store, load_settings(), BookViewRequest(as_of=AS_OF), clock=at(AS_OF, hour=12))
    assert kept.computed_at.startswith("2026-06-01T09:00")  # the screen's, still fresh


async def test_the_kept_view_paints_without_computing_again(store: Store) -> None:
    app = book_app(store)
    book_view(store, load_settings(), BookViewRequest(as_of=AS_OF), clock=at(AS_OF, hour=7))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await press_to(pilot, "b", BookViewScreen)
        assert status(screen).startswith("Computed 2026-06-01 07:00 · m movers")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert status(screen).startswith("Computed 2026-06-01 09:00")


async def test_a_kept_view_of_data_changed_since_is_computed_again(store: Store) -> None:
    app = book_app(store)
    book_view(store, load_settings(), BookViewRequest(as_of=AS_OF), clock=at(AS_OF, hour=7))
    with store.write() as db:
        db.execute("UPDATE accounts SET mrr = 0, updated_at = '2026-06-01T10:00:00+00:00' WHERE id = 'G'")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await press_to(pilot, "b", BookViewScreen)
        assert status(screen).startswith("Computed 2026-06-01 09:00 · m movers")


async def test_m_lists_the_movers_and_enter_opens_the_account(store: Store) -> None:
    app = book_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await press_to(pilot, "b", BookViewScreen)
        await pilot.press("m")
        await settle(pilot)
        movers = screen.query_one("#book-view-movers", OptionList)
        assert movers.display and movers.has_focus and movers.option_count == 4
        assert "Cedar Group" in str(movers.get_option_at_index(0).prompt)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(top(app), AccountScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert top(app) is screen
        await pilot.press("escape")  # the movers close first
        await settle(pilot)
        assert top(app) is screen and movers.styles.display == "none"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, BookScreen)


async def test_the_view_is_in_the_command_palette(store: Store) -> None:
    app = book_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_command(pilot, "The book as a whole")
        assert isinstance(app.screen, BookViewScreen)


async def open_view(pilot: Pilot[None]) -> None:
    await press_to(pilot, "b", BookViewScreen)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_book_view_snapshot(snap_compare: SnapCompare, store: Store, size: tuple[int, int]) -> None:
    assert snap_compare(book_app(store), terminal_size=size, run_before=open_view)
