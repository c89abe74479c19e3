"""Today on the demo book, the morning after its plan: what is due, at 120x40 and at 80x24."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.today import TodayScreen

from .books import press_to
from .test_demo_snapshots import SnapCompare, demo_app, queue

pytestmark = pytest.mark.slow

__all__ = ["demo_app"]  # the fixture, shared with the other pictures of the demo book


async def today(pilot: Pilot[None]) -> None:
    await queue(pilot)  # plans the morning's outreach (and opens the queue)
    await pilot.press("escape")
    await press_to(pilot, "T", TodayScreen)


def test_today(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(120, 40), run_before=today)


def test_today_at_80x24(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=today)
