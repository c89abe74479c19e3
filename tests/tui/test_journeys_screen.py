"""The journeys screen (j): the paths to churn or renewal mined in a worker, a path's customers, an account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Static

from cockpit.config import load_settings
from cockpit.demo import SEED_ANCHOR
from cockpit.store import Store
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.account import AccountScreen
from cockpit.tui.screens.book import BookScreen
from cockpit.tui.screens.journeys import JourneysScreen, PathScreen, path_lines
from tests.clocks import at

from .books import settle

SnapCompare = Callable[..., bool]


def demo_app(store: Store) -> CockpitApp:
    return CockpitApp(store, load_settings(), clock=at(SEED_ANCHOR), db_label="demo.db")


def screen(app: CockpitApp) -> Screen[Any]:
    """The screen on top (read afresh: a key press changes it)."""
    return app.screen


def text_of(app: CockpitApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


def paths_shown(app: CockpitApp) -> list[str]:
    table = app.screen.query_one("#journeys-table", DataTable)
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)]


async def open_journeys(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("j")
    await settle(pilot)


async def test_j_mines_the_paths_enter_opens_a_path_and_then_an_account(seeds_demo: Store) -> None:
    app = demo_app(seeds_demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_journeys(pilot)
        assert isinstance(screen(app), JourneysScreen)
        assert "Paths to churn as of 2026-11-22: 144 accounts churned or renewed" in text_of(
            app, "#journeys-status"
        )
        shown = paths_shown(app)
        assert shown[0] == "cancel_page_visit" and "ticket_burst" in shown
        # The path of the cancel page: the customers who visited it, the cancel_lookup story among them.
        table = app.screen.query_one("#journeys-table", DataTable)
        table.move_cursor(row=shown.index("cancel_page_visit"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(screen(app), PathScreen)
        assert text_of(app, "#path-status").startswith(
            "6 accounts on the path that preceded 39% of the churn"
        )
        accounts = app.screen.query_one("#path-table", DataTable)
        assert accounts.row_count == 6
        ids = [key.value for key in accounts.rows]
        accounts.move_cursor(row=ids.index("acc-00001"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(screen(app), AccountScreen)
        for expected in (PathScreen, JourneysScreen, BookScreen):
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(screen(app), expected)


async def test_o_shows_the_paths_to_renewal_and_the_palette_opens_the_screen(seeds_demo: Store) -> None:
    app = demo_app(seeds_demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        book = screen(app)
        assert isinstance(book, BookScreen)
        commands = {command.title: command for command in book.commands()}
        commands["Journeys: the paths to churn and renewal"].callback()
        await settle(pilot)
        assert isinstance(screen(app), JourneysScreen)
        await pilot.press("o")
        await settle(pilot)
        assert "Paths to renewal" in text_of(app, "#journeys-status")
        assert "No path stands out from the base rate." in text_of(app, "#journeys-status")
        assert app.screen.query_one("#journeys-table", DataTable).row_count == 0
        await pilot.press("o")
        await settle(pilot)
        assert "Paths to churn" in text_of(app, "#journeys-status") and paths_shown(app)


async def test_at_80_columns_long_paths_wrap_between_steps_and_every_figure_is_in_sight(
    seeds_demo: Store,
) -> None:
    app = demo_app(seeds_demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_journeys(pilot)
        journeys = screen(app)
        assert isinstance(journeys, JourneysScreen)
        table = journeys.query_one("#journeys-table", DataTable)
        assert table.virtual_size.width <= 80 - 2  # the scroll bar beside it
        shown = [path.replace(" >\n", " > ") for path in paths_shown(app)]
        assert "emails_unopened > emails_unopened > usage_drop" in shown
        assert any("\n" in path for path in paths_shown(app))  # some wrapped, none cut
        report = journeys._report
        assert report is not None and shown == [path.pattern.text for path in report.paths]


def test_a_path_breaks_between_steps_within_the_width() -> None:
    assert path_lines(("a",), 5) == ["a"]
    assert path_lines(("ab", "cd", "ef"), 12) == ["ab > cd > ef"]
    assert path_lines(("ab", "cd", "ef"), 11) == ["ab > cd >", "ef"]
    assert path_lines(("ab", "cd"), 7) == ["ab > cd"]
    assert path_lines(("ab", "cd", "e"), 7) == ["ab >", "cd > e"]  # the `>` a line ends with fits too
    assert path_lines(("a_very_long_step", "b"), 5) == ["a_very_long_step >", "b"]


@pytest.mark.slow
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_journeys_snapshot(snap_compare: SnapCompare, seeds_demo: Store, size: tuple[int, int]) -> None:
    assert snap_compare(demo_app(seeds_demo), terminal_size=size, run_before=open_journeys)


@pytest.mark.slow
def test_path_snapshot(snap_compare: SnapCompare, seeds_demo: Store) -> None:
    async def open_first_path(pilot: Pilot[None]) -> None:
        await open_journeys(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(demo_app(seeds_demo), terminal_size=(80, 24), run_before=open_first_path)
