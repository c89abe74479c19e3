"""A deep jump in a score's order reads from the nearest mark the screen's walk found (`book_marks`), by offset
from the start until the walk has found one, and shows the rows of the one ordered query either way; the
marks of a sort before, or of data changed since, are never used."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from itertools import islice

import pytest
from sqlite_utils import Database
from textual.pilot import Pilot

from cockpit.store import Store
from cockpit.store.book import BookCursor, BookQuery, book_marks
from cockpit.tui.screens import book as book_screen
from cockpit.tui.widgets.book_table import BookTable

from .books import settle
from .conftest import MakeApp
from .test_book_keyset import book_order, fetch_recorder, score_two_thirds
from .test_book_screen import SIZE, VISIBLE_ROWS, book_table, visible_ids

EVERY = 50
PAGE = 20
JUMP = 530
"""Rows 530 to 554 show: pages 26 and 27, the first starting 20 rows after the 10th mark."""
WAIT = 0.01
"""Seconds the table waits without a page asked for before it asks for the marks."""


async def settle_and_mark(pilot: Pilot[None]) -> None:
    """Settle, let the table wait long enough to ask for the marks, and settle again (the walk)."""
    await settle(pilot)
    await pilot.pause(WAIT * 5)
    await settle(pilot)


def walk_finds(monkeypatch: pytest.MonkeyPatch, found: int | None) -> None:
    """Let the screen's walk find only its first `found` marks (0: none yet), or all (None)."""

    def walk(db: Database, query: BookQuery, every: int) -> Generator[BookCursor]:
        with closing(book_marks(db, query, every)) as marks:
            yield from islice(marks, found)

    monkeypatch.setattr(book_screen, "book_marks", walk)


@pytest.mark.parametrize("found", [None, 3, 0], ids=["marks-ready", "some-marks", "no-marks-yet"])
@pytest.mark.parametrize("descending", [False, True])
async def test_a_deep_jump_shows_the_rows_a_walk_from_the_start_reads(
    make_app: MakeApp, store: Store, monkeypatch: pytest.MonkeyPatch, found: int | None, descending: bool
) -> None:
    walk_finds(monkeypatch, found)
    requests, record = fetch_recorder()
    app, accounts = make_app(1_000, page_size=PAGE)
    score_two_thirds(store, [account.id for account in accounts])
    query = BookQuery(sort="health", descending=descending)
    expected = book_order(store, query)
    marks = list(book_marks(store.db, query, EVERY))
    async with app.run_test(size=SIZE, message_hook=record) as pilot:
        await settle(pilot)
        table = book_table(app)
        table.marks_every, table.marks_after = EVERY, WAIT
        table.set_query(query)
        await settle_and_mark(pilot)
        assert table.marks_found == (len(expected) // EVERY if found is None else found)
        requests.clear()
        table.scroll_to(y=JUMP, animate=False)
        await settle(pilot)
        assert visible_ids(table) == expected[JUMP : JUMP + VISIBLE_ROWS]
        # The first page on screen reads from the nearest mark found before it, or from the start.
        nearest = min(JUMP // PAGE * PAGE // EVERY, table.marks_found)
        jumped = [request.seek for request in requests if request.page == JUMP // PAGE]
        assert jumped and all(
            seek.cursor == (marks[nearest - 1] if nearest else None)
            and seek.offset == JUMP // PAGE * PAGE - nearest * EVERY
            for seek in jumped
        ), jumped


async def test_the_marks_of_the_sort_before_are_never_used(
    make_app: MakeApp, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reversed, the book is marked again: until then a jump reads from the start, and a mark the walk of the
    sort before sends late is dropped."""
    app, accounts = make_app(1_000, page_size=PAGE)
    score_two_thirds(store, [account.id for account in accounts])
    reversed_order = book_order(store, BookQuery(sort="health", descending=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        table.marks_every, table.marks_after = EVERY, WAIT
        table.set_query(BookQuery(sort="health"))
        await settle_and_mark(pilot)
        assert table.marks_found == len(reversed_order) // EVERY
        before = table.generation
        late = next(book_marks(store.db, BookQuery(sort="health"), EVERY))
        walk_finds(monkeypatch, 0)
        await pilot.press("h")
        table.post_message(BookTable.MarksFound(before, late))
        await settle_and_mark(pilot)
        assert table.book_query == BookQuery(sort="health", descending=True)
        assert table.marks_found == 0
        table.scroll_to(y=JUMP, animate=False)
        await settle(pilot)
        assert visible_ids(table) == reversed_order[JUMP : JUMP + VISIBLE_ROWS]


@pytest.mark.parametrize("found", [None, 0], ids=["marked-again", "not-marked-again-yet"])
async def test_a_change_to_the_data_forgets_the_marks(
    make_app: MakeApp, store: Store, monkeypatch: pytest.MonkeyPatch, found: int | None
) -> None:
    """Scores written after the book was marked move the rows: the reload forgets the marks, so a jump
    shows the rows of the new order."""
    app, accounts = make_app(1_000, page_size=PAGE)
    score_two_thirds(store, [account.id for account in accounts])
    query = BookQuery(sort="health")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        table.marks_every, table.marks_after = EVERY, WAIT
        table.set_query(query)
        await settle_and_mark(pilot)
        assert table.marks_found > JUMP // EVERY
        with store.write() as db:  # the first 300 scored accounts fall to the bottom of the scores
            db.execute(
                "UPDATE scores SET health = 0 WHERE run_id = 2 AND account_id IN "
                "(SELECT account_id FROM scores WHERE run_id = 2 ORDER BY account_id LIMIT 300)"
            )
        expected = book_order(store, query)
        walk_finds(monkeypatch, found)
        await pilot.press("ctrl+r")
        await settle_and_mark(pilot)
        assert table.marks_found == (len(expected) // EVERY if found is None else 0)
        table.scroll_to(y=JUMP, animate=False)
        await settle(pilot)
        assert visible_ids(table) == expected[JUMP : JUMP + VISIBLE_ROWS]
