"""The "how good are these scores" panel: past runs against the churn that followed, opened from the book."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from rich.console import Console, Group, RenderableType
from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.config import load_settings
from cockpit.store import Store
from cockpit.tui import bindings
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.book import BookScreen
from cockpit.tui.screens.score_quality import ScoreQualityScreen
from tests.churn_books import plant_book
from tests.clocks import at

from .books import BOOK_DAY, run_command, settle

SnapCompare = Callable[..., bool]
SIZE = (80, 24)


def planted_app(store: Store) -> CockpitApp:
    """300 accounts whose churn their scores foretell, scored monthly; on BOOK_DAY (1 June) the runs of
    January to March can be judged and June's cannot."""
    plant_book(store, accounts=300)
    return CockpitApp(store, load_settings(), clock=at(BOOK_DAY), db_label="book.db")


def plain(renderable: RenderableType) -> str:
    """A Rich renderable as plain text (a wide console: no line wraps)."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def body_text(app: CockpitApp) -> str:
    """What the panel shows."""
    content = app.screen.query_one("#quality-body", Static).content
    assert isinstance(content, Group), content  # loaded, not "Loading…"
    return plain(content)


async def open_panel(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("g")
    await settle(pilot)


async def test_g_opens_the_panel_which_loads_in_a_worker_and_esc_closes_it(store: Store) -> None:
    app = planted_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_panel(pilot)
        assert isinstance(app.screen, ScoreQualityScreen)
        text = body_text(app)
        assert "Churn within 90 days of 3 run(s) as of 2026-01-01 to 2026-03-01, pooled" in text
        assert "AUC of churn risk 0." in text
        assert "2026-02-01" in text
        assert "Not judged yet, their 90 days not over: 2026-06-01" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, BookScreen)
        # The help (?) lists the screen's active bindings, those the footer leaves out included.
        shown = {active.binding.id: active for active in app.screen.active_bindings.values()}
        panel = shown[bindings.BOOK_SCORE_QUALITY]
        assert panel.enabled and not panel.binding.system and panel.binding.description == "Score quality"


async def test_the_panel_is_in_the_command_palette_and_says_when_nothing_can_be_judged(store: Store) -> None:
    app = CockpitApp(store, load_settings(), clock=at(BOOK_DAY), db_label="book.db")
    async with app.run_test(size=SIZE) as pilot:
        await run_command(pilot, "How good are these scores")
        assert isinstance(app.screen, ScoreQualityScreen)
        assert "No score run has a fully observed horizon of 90 days" in body_text(app)


@pytest.mark.slow
def test_score_quality_panel_at_80x24(snap_compare: SnapCompare, store: Store) -> None:
    assert snap_compare(planted_app(store), terminal_size=SIZE, run_before=open_panel)
