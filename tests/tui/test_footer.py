"""The footer keeps the keys that matter on each screen when the terminal is narrow (issue 18, point 4)."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.widgets._footer import FooterKey

from cockpit.tui.widgets.footer import fitting

from .books import settle
from .conftest import MakeApp

SORT = Binding.Group("Sort")


def keys() -> list[tuple[Binding, str]]:
    found = [(Binding("enter", "select", "Select", id="select"), "⏎")]
    found += [(Binding(key, f"sort('{key}')", key, id=f"sort-{key}", group=SORT), key) for key in "nohcv"]
    found += [
        (Binding("slash", "search", "Search", id="search"), "/"),
        (Binding("d", "drafts", "Drafts", id="drafts"), "d"),
        (Binding("q", "quit", "Quit", id="quit"), "q"),
    ]
    return found


def shown(kept: set[Binding]) -> list[str]:
    return [str(binding.id) for binding, _ in keys() if binding in kept]


def test_every_key_when_they_fit_and_the_ranked_ones_when_they_do_not() -> None:
    everything = [str(binding.id) for binding, _ in keys()]
    assert shown(fitting(keys(), (), 200, compact=False)) == everything
    ranked = ("search", "drafts", "quit")
    # Too narrow: the keys no screen ranks go first, the sort group as one; the ranked keep their place.
    assert shown(fitting(keys(), ranked, 32, compact=True)) == ["search", "drafts", "quit"]
    assert shown(fitting(keys(), ranked, 40, compact=True)) == ["select", "search", "drafts", "quit"]
    # Narrower still: the least important of the ranked.
    assert shown(fitting(keys(), ranked, 20, compact=True)) == ["search", "drafts"]


@pytest.mark.parametrize(("width", "missing"), [(80, {"ctrl+r"}), (130, set())])
async def test_the_book_keeps_drafts_sync_quit_and_help_at_80_columns(
    make_app: MakeApp, width: int, missing: set[str]
) -> None:
    app, _ = make_app(40)
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot)
        await pilot.pause()
        shown_keys = {key.key for key in app.screen.query(FooterKey)}
        assert {"slash", "d", "s", "l", "f", "q", "question_mark", "ctrl+p"} <= shown_keys
        assert not missing & shown_keys
        right_edge = max(key.region.right for key in app.screen.query(FooterKey))
        assert right_edge <= width  # nothing cut at the edge
