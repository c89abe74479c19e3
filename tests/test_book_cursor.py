"""Walking the book by cursor (keyset paging) yields exactly the rows of the book's one unpaged read, in its
order, for every sort key and direction, with ties, NULLs and filters."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from cockpit.store import Store
from cockpit.store.book import (
    SORT_KEYS,
    BookCursor,
    BookFilter,
    BookQuery,
    fetch_book_after,
    fetch_book_before,
    fetch_book_page,
)
from tests.test_book_order import NOW, fill

FILTERS = {
    "none": (BookFilter(), ""),
    "scores": (BookFilter(churn_tiers=("high", "low")), ""),
    "owner": (BookFilter(owner="ann"), ""),
    "segments and renewal": (
        BookFilter(segments=("smb",), renewal_between=("2026-12-01", "2027-03-31")),
        "",
    ),
    "search and cross-sell": (BookFilter(cross_sell_ready=True), "acme"),
}


@pytest.fixture
def book(store: Store) -> Store:
    """`fill`'s scored book, with owners, plans, segments, renewals and lifetime values that tie and are
    missing (NULL) in places, in mixed case."""
    rows = fill(store)
    rnd = random.Random(11)
    with store.write() as db:
        db.execute(
            "INSERT INTO clv_runs (id, as_of, started_at, finished_at) VALUES (1, '2026-11-22', ?, ?)",
            [NOW, NOW],
        )
        for row in rows:
            db.execute(
                "UPDATE accounts SET owner = ?, plan = ?, segment = ?, renewal_date = ?, domain = ? WHERE id = ?",
                [
                    rnd.choice([None, "Ann", "ann", "Bob"]),
                    rnd.choice([None, "Pro", "basic", "Basic"]),
                    rnd.choice([None, "smb", "ent"]),
                    rnd.choice([None, "2026-12-01", "2027-01-15", "2027-03-31", "2027-06-30"]),
                    f"{row['id']}.example",
                    row["id"],
                ],
            )
            if rnd.random() < 0.75:
                db.execute(
                    "INSERT INTO clv_values (run_id, account_id, model, clv) VALUES (1, ?, 'sbg', ?)",
                    [row["id"], float(rnd.choice([10, 20, 30]))],
                )
    return store


def walk(store: Store, query: BookQuery, size: int) -> list[str]:
    """The ids of every page by cursor, until a page says it is the last."""
    ids: list[str] = []
    cursor: BookCursor | None = None
    while True:
        page = fetch_book_after(store.db, query, cursor, limit=size)
        assert len(page.rows) <= size
        ids += [row.id for row in page.rows]
        if page.next is None:
            return ids
        cursor = page.next


def walk_back(store: Store, query: BookQuery, size: int) -> list[str]:
    """The ids of every page by cursor from the end of the book, until a page says it is the first; each
    page's own cursors lead back to its neighbours."""
    ids: list[str] = []
    cursor: BookCursor | None = None
    while True:
        page = fetch_book_before(store.db, query, cursor, limit=size)
        assert len(page.rows) <= size
        if page.next is not None:  # the page after it, read forwards, starts where this one ends
            assert fetch_book_after(store.db, query, page.next, limit=size).rows[0].id == ids[0]
        ids = [row.id for row in page.rows] + ids
        if page.previous is None:
            return ids
        cursor = page.previous


@pytest.mark.parametrize("filter_name", list(FILTERS))
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("key", SORT_KEYS)
@pytest.mark.parametrize("walker", [walk, walk_back], ids=["forward", "back-from-the-end"])
def test_walking_by_cursor_is_the_unpaged_order(
    book: Store,
    key: str,
    descending: bool,
    filter_name: str,
    walker: Callable[[Store, BookQuery, int], list[str]],
) -> None:
    wanted_filter, search = FILTERS[filter_name]
    query = BookQuery(sort=key, descending=descending, filter=wanted_filter, search=search)  # type: ignore[arg-type]
    everything = [row.id for row in fetch_book_page(book.db, query, offset=0, limit=10_000)]
    assert everything, "the filter leaves no account to walk"
    for size in (1, 7, len(everything), len(everything) + 5):
        assert walker(book, query, size) == everything, size


def test_a_book_never_scored_walks_by_the_tie_breakers(book: Store) -> None:
    with book.write() as db:
        db.execute("DELETE FROM scores")
        db.execute("DELETE FROM score_runs")
    query = BookQuery(sort="health", descending=True)
    assert walk(book, query, 9) == [row.id for row in fetch_book_page(book.db, query, offset=0, limit=10_000)]


def test_a_page_reads_from_the_cursor_on_not_the_rows_before(book: Store) -> None:
    """Each page is one seek into the score's index: SQLite neither sorts nor counts the rows before it."""
    plans: list[str] = []
    book.db.conn.set_trace_callback(
        lambda sql: (
            plans.extend(str(row[3]) for row in book.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            if sql.startswith("SELECT a.id, (")
            else None
        )
    )
    first = fetch_book_after(book.db, BookQuery(sort="priority"), None, limit=10)
    fetch_book_after(book.db, BookQuery(sort="priority"), first.next, limit=10)
    book.db.conn.set_trace_callback(None)
    assert plans and all("TEMP B-TREE" not in plan for plan in plans), plans
    assert any("INDEX scores_run_priority (run_id=? AND " in plan for plan in plans), plans
