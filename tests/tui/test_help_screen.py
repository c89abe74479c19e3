"""The keys (`?`): a line per key at 80 columns, the screen's keys, closed again by ? or Esc."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select

from cockpit.tui import bindings
from cockpit.tui.screens.book import BookScreen
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.help import HelpScreen
from cockpit.tui.screens.log_interaction import LogInteractionScreen

from .books import settle
from .conftest import MakeApp

SnapCompare = Callable[..., bool]


async def open_help(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


async def test_help_at_80x24_shows_a_line_per_key_and_closes(make_app: MakeApp) -> None:
    app, _ = make_app(5)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        active = {a.binding.description for a in app.screen.active_bindings.values() if not a.binding.system}
        await open_help(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert {key.name for key in help_screen.keys} == active
        assert {"Views", "Search", "Name", "Down", "Quit", "Help"} <= active
        table = help_screen.query_one("#help-table", DataTable)
        assert table.row_count == len(help_screen.keys)
        assert all(row.height == 1 for row in table.ordered_rows)
        assert table.scrollable_content_region.height >= 15
        await pilot.press("ctrl+end")
        await pilot.pause()
        last = help_screen.keys[-1]
        assert str(help_screen.query_one("#help-detail").render()) == f"{last.key}  {last.name}: {last.does}"
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, BookScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, BookScreen)


async def test_help_shows_a_key_without_a_tooltip_by_its_name(make_app: MakeApp) -> None:
    app, _ = make_app(5)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_help(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        row = next(i for i, key in enumerate(help_screen.keys) if key.name == "Focus Next")
        help_screen.query_one("#help-table", DataTable).move_cursor(row=row)
        await pilot.pause()
        assert str(help_screen.query_one("#help-detail").render()) == "tab  Focus Next"


@pytest.mark.slow
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_help(snap_compare: SnapCompare, make_app: MakeApp, size: tuple[int, int]) -> None:
    app, _ = make_app(40)
    assert snap_compare(app, terminal_size=size, run_before=open_help)


async def test_help_over_a_modal_lists_its_keys(make_app: MakeApp) -> None:
    app, _ = make_app(5)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ConfirmScreen("Approve 2 drafts?"))
        await open_help(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        names = {key.name for key in help_screen.keys}
        assert {"Yes", "No", "Help"} <= names and "Quit" not in names  # the app's keys do not reach it
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)


async def test_question_mark_in_a_form_is_typed_where_text_is_typed(make_app: MakeApp) -> None:
    app, _ = make_app(5)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, LogInteractionScreen)
        await pilot.press(*"Renewal?")
        await pilot.pause()
        assert form.query_one("#log-summary", Input).value == "Renewal?"
        assert app.screen is form
        form.query_one("#log-kind", Select).focus()
        await open_help(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert {"Save", "Cancel", "Help"} <= {key.name for key in help_screen.keys}
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is form


async def test_a_help_key_remapped_opens_help_over_a_modal_too(make_app: MakeApp) -> None:
    app, _ = make_app(5, keymap={bindings.HELP: "f1"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ConfirmScreen("Approve 2 drafts?"))
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
