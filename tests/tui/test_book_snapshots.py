"""How the book looks: fixed data, no clock, explicit terminal sizes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from .books import settle
from .conftest import MakeApp

pytestmark = pytest.mark.slow

SnapCompare = Callable[..., bool]


async def sort_by_mrr_descending(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("m", "down", "down")
    await settle(pilot)


def test_book(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    app, _ = make_app(40)
    assert snap_compare(app, terminal_size=(100, 30), run_before=settle)


def test_book_at_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    app, _ = make_app(40)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_book_sorted_by_mrr_descending(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    app, _ = make_app(40)
    assert snap_compare(app, terminal_size=(100, 30), run_before=sort_by_mrr_descending)


def test_empty_book(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    app, _ = make_app(0)
    assert snap_compare(app, terminal_size=(100, 30), run_before=settle)


def test_light_theme_at_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    app, _ = make_app(40, theme="cockpit-light")
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
