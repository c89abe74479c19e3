"""The book reads its pages by cursor: `End` walks back from the end of the book (no OFFSET over the whole
book), and paging down then up shows exactly the rows of one ordered query, for account and score sorts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from textual.message import Message
from textual.pilot import Pilot

from cockpit.store import Store
from cockpit.store.book import BookQuery, SortKey, fetch_book_page
from cockpit.tui.widgets.book_table import BookTable

from .books import settle
from .conftest import MakeApp
from .test_book_scores import add_runs
from .test_book_screen import SIZE, VISIBLE_ROWS, book_table, first_visible_index, visible_ids

SORTS: list[tuple[SortKey, bool]] = [
    ("name", False),
    ("mrr", True),
    ("renewal_date", False),
    ("health", False),
]


def score_two_thirds(store: Store, ids: list[str]) -> None:
    """Scores for two accounts in three, with ties; the others have none and sort after them."""
    add_runs(
        store,
        {
            account_id: (float(index % 40), "yellow", "medium", "medium", "watch", 50.0)
            for index, account_id in enumerate(ids)
            if index % 3
        },
    )


def book_order(store: Store, query: BookQuery) -> list[str]:
    return [row.id for row in fetch_book_page(store.db, query, offset=0, limit=100_000)]


def fetch_recorder() -> tuple[list[BookTable.FetchRows], Callable[[Message], None]]:
    """The page requests the book table makes, and the message hook that records them."""
    requests: list[BookTable.FetchRows] = []

    def record(message: Message) -> None:
        if isinstance(message, BookTable.FetchRows):
            requests.append(message)

    return requests, record


@asynccontextmanager
async def sorted_book(
    make_app: MakeApp, store: Store, accounts: int, query: BookQuery
) -> AsyncIterator[tuple[Pilot[None], BookTable, list[str], list[BookTable.FetchRows]]]:
    """A book of `accounts`, two thirds scored, open in the app on `query`: the pilot, the table, the ids in
    the query's order and the page requests recorded."""
    requests, record = fetch_recorder()
    app, made = make_app(accounts)
    score_two_thirds(store, [account.id for account in made])
    expected = book_order(store, query)
    async with app.run_test(size=SIZE, message_hook=record) as pilot:
        await settle(pilot)
        table = book_table(app)
        table.set_query(query)
        await settle(pilot)
        yield pilot, table, expected, requests


@pytest.mark.parametrize(("key", "descending"), SORTS)
async def test_end_shows_the_last_rows_read_backwards_from_the_end(
    make_app: MakeApp, store: Store, key: SortKey, descending: bool
) -> None:
    async with sorted_book(make_app, store, 1_000, BookQuery(sort=key, descending=descending)) as opened:
        pilot, table, expected, requests = opened
        requests.clear()
        await pilot.press("end")
        await settle(pilot)
        assert visible_ids(table) == expected[-VISIBLE_ROWS:]
        assert table.cursor_row == len(expected) - 1
        assert requests and all(r.seek.backward and r.seek.offset == 0 for r in requests)
        if key == "health":  # the unscored accounts end the book
            last_rows = [table.row_at(i) for i in range(len(expected) - VISIBLE_ROWS, len(expected))]
            assert all(row is not None and row.health is None for row in last_rows)


@pytest.mark.parametrize(("key", "descending"), [("health", True), ("owner", False)])
async def test_paging_down_then_up_shows_the_rows_of_one_ordered_query(
    make_app: MakeApp, store: Store, key: SortKey, descending: bool
) -> None:
    async with sorted_book(make_app, store, 400, BookQuery(sort=key, descending=descending)) as opened:
        pilot, table, expected, requests = opened
        for keys in (["pagedown"] * 20, ["pageup"] * 20):
            for press in keys:
                await pilot.press(press)
                await settle(pilot)
                first = first_visible_index(table)
                assert visible_ids(table) == expected[first : first + VISIBLE_ROWS]
        assert first_visible_index(table) == 0
        assert all(r.seek.offset == 0 for r in requests), "a page next to one in memory is read by its cursor"


async def test_a_far_jump_reads_one_page_by_offset_and_its_neighbours_by_cursor(
    make_app: MakeApp, store: Store
) -> None:
    """A jump into the middle (a scrollbar drag) that straddles two pages reads one of them by offset (which
    walks every row it skips) and the other from its cursor once it lands, not both by offset at once."""
    requests, record = fetch_recorder()
    app, _accounts = make_app(1_000, page_size=20)
    expected = book_order(store, BookQuery())
    async with app.run_test(size=SIZE, message_hook=record) as pilot:
        await settle(pilot)
        table = book_table(app)
        requests.clear()
        table.scroll_to(y=510, animate=False)  # rows 510 to 534: pages 25, 26
        await settle(pilot)
        assert visible_ids(table) == expected[510 : 510 + VISIBLE_ROWS]
        # (a request is recorded at each widget it bubbles through)
        assert {r.page for r in requests if r.seek.offset} == {25}
        assert {r.page for r in requests if r.seek.cursor is not None} == {26}
