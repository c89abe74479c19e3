"""The book's marks (`book_marks`): a cursor every n rows, from which a deep jump reads the rows an offset
from the start would, for every order, with ties, NULL scores and the accounts without a score (kept by
their run or probed for), and with the views' filters."""

from __future__ import annotations

import threading

import pytest

from cockpit.store import Store, open_store
from cockpit.store import book as book_module
from cockpit.store.book import (
    SORT_KEYS,
    BookCursor,
    BookQuery,
    book_marks,
    fetch_book_after,
    fetch_book_page,
    record_unscored,
)
from cockpit.store.bulk import BULK_CACHE_KIB
from cockpit.store.sqlite import Database
from tests.test_book_cursor import CUSTOMERS, FILTERS, book

__all__ = ["book"]  # the fixture

EVERY = 7


def page_ends(store: Store, query: BookQuery, size: int) -> list[BookCursor]:
    """Where each full page of `size` ends, paging by cursor from the start of the book."""
    ends: list[BookCursor] = []
    while True:
        page = fetch_book_after(store.db, query, ends[-1] if ends else None, limit=size)
        if page.next is None:
            return ends
        ends.append(page.next)


def assert_marks_lead_to_every_row(store: Store, query: BookQuery) -> None:
    """The marks are where every `EVERY` rows end (as paging by cursor finds them), and a page at any depth
    read from the nearest mark before it holds the rows of the book's one unpaged read there."""
    everything = [row.id for row in fetch_book_page(store.db, query, offset=0, limit=10_000)]
    assert len(everything) >= 2 * EVERY, "too few accounts to mark twice"
    marks = list(book_marks(store.db, query, EVERY))
    assert len(marks) == len(everything) // EVERY
    assert marks == page_ends(store, query, EVERY)
    for start in range(0, len(everything), 3):
        nearest = start // EVERY
        mark = marks[nearest - 1] if nearest else None
        page = fetch_book_after(store.db, query, mark, limit=5, offset=start - nearest * EVERY)
        assert [row.id for row in page.rows] == everything[start : start + 5], start


def test_whether_a_view_leaves_out_a_scored_account_is_counted_once_per_store_and_file_state(
    book: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deep jump's check is counted once for the store's readers, and again once another connection
    (another store of the file, as another process's) changed the file."""
    monkeypatch.setattr(book_module, "_DEEP", 0)
    query = BookQuery(sort="priority", filter=CUSTOMERS)
    everything = [row.id for row in fetch_book_page(book.db, query, offset=0, limit=10_000)]
    checks: list[str] = []

    def jump(db: Database, offset: int) -> list[str]:
        return [row.id for row in fetch_book_after(db, query, None, limit=5, offset=offset).rows]

    with book.reader() as first, book.reader() as second:
        for db in (first, second):
            db.conn.set_trace_callback(lambda sql: checks.append(sql) if "IS NOT TRUE AND" in sql else None)
        assert jump(first, 10) == everything[10:15] and len(checks) == 1
        assert jump(second, 20) == everything[20:25] and len(checks) == 1
        other = open_store(book.path)
        with other.write() as db:
            db.execute("UPDATE accounts SET churned_on = '2026-01-01' WHERE id = ?", [everything[0]])
        other.close()
        assert jump(second, 10) == everything[11:16] and len(checks) == 2
        assert jump(first, 20) == everything[21:26] and len(checks) == 2


@pytest.mark.parametrize(
    "kept", [None, 1, 1_000], ids=["unscored-probed", "unscored-kept-gathered", "unscored-kept-walked"]
)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("key", SORT_KEYS)
def test_a_jump_from_the_nearest_mark_reads_the_rows_of_the_unpaged_order(
    book: Store, key: str, descending: bool, kept: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kept`: the accounts without a score are kept with the run, and read gathered (`_DENSE` 1) or walked
    in the tie-breakers' index (`_DENSE` 1,000)."""
    if kept is not None:
        monkeypatch.setattr(book_module, "_DENSE", kept)
        with book.write() as db:
            record_unscored(db, 2)
    assert_marks_lead_to_every_row(book, BookQuery(sort=key, descending=descending))  # type: ignore[arg-type]


@pytest.mark.parametrize("filter_name", [name for name in FILTERS if name != "none"])
@pytest.mark.parametrize("key", ["health", "priority", "owner"])
def test_marks_of_a_filtered_or_searched_book(book: Store, key: str, filter_name: str) -> None:
    wanted, search = FILTERS[filter_name]
    query = BookQuery(sort=key, descending=True, filter=wanted, search=search)  # type: ignore[arg-type]
    assert_marks_lead_to_every_row(book, query)


def test_the_customers_view_marks_its_own_rows(book: Store) -> None:
    assert_marks_lead_to_every_row(book, BookQuery(sort="churn", filter=CUSTOMERS))


def test_a_book_without_a_score_run_marks_by_the_tie_breakers(book: Store) -> None:
    with book.write() as db:
        db.execute("DELETE FROM scores")
        db.execute("DELETE FROM unscored_accounts")
        db.execute("DELETE FROM score_runs")
    assert_marks_lead_to_every_row(book, BookQuery(sort="health"))


def cache_size(store: Store) -> int:
    return int(store.db.execute("PRAGMA cache_size").fetchone()[0])


def test_a_deep_offset_and_the_walk_read_with_a_big_cache_and_give_it_back(
    book: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(book_module, "_DEEP", 10)
    default = cache_size(book)
    query = BookQuery(sort="health")
    everything = [row.id for row in fetch_book_page(book.db, query, offset=0, limit=10_000)]
    assert [row.id for row in fetch_book_after(book.db, query, None, limit=5, offset=50).rows] == everything[
        50:55
    ]
    assert cache_size(book) == default
    marks = book_marks(book.db, query, EVERY)
    next(marks)
    assert cache_size(book) == -BULK_CACHE_KIB
    marks.close()
    assert cache_size(book) == default


def assert_offsets_read_the_unpaged_order(store: Store, query: BookQuery) -> None:
    everything = [row.id for row in fetch_book_page(store.db, query, offset=0, limit=10_000)]
    for start in range(1, len(everything) + 2):
        page = fetch_book_after(store.db, query, None, limit=5, offset=start)
        assert [row.id for row in page.rows] == everything[start : start + 5], start


@pytest.mark.parametrize("kept", [False, True], ids=["unscored-probed", "unscored-kept"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("key", SORT_KEYS)
def test_a_deep_jump_skipping_by_the_score_index_alone_reads_the_unpaged_order(
    book: Store, key: str, descending: bool, kept: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every offset is deep (`_DEEP` 0): in a view that leaves out no scored account, the scored rows are
    skipped by the score's index alone, whatever the order, NULL scores and the accounts without one."""
    monkeypatch.setattr(book_module, "_DEEP", 0)
    if kept:
        with book.write() as db:
            record_unscored(db, 2)
    assert_offsets_read_the_unpaged_order(book, BookQuery(sort=key, descending=descending, filter=CUSTOMERS))  # type: ignore[arg-type]


def test_a_deep_jump_reads_past_each_account_the_view_leaves_out_once_it_does(
    book: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a scored account leaves the view (churned, written by another connection), a deep jump reads
    past the accounts again instead of the score's index alone."""
    monkeypatch.setattr(book_module, "_DEEP", 0)
    query = BookQuery(sort="priority", filter=CUSTOMERS)
    assert_offsets_read_the_unpaged_order(book, query)
    first = fetch_book_page(book.db, query, offset=0, limit=1)[0].id

    def churn() -> None:
        with book.write() as db:
            db.execute("UPDATE accounts SET churned_on = '2026-01-01' WHERE id = ?", [first])

    thread = threading.Thread(target=churn)
    thread.start()
    thread.join()
    assert first not in [row.id for row in fetch_book_page(book.db, query, offset=0, limit=10_000)]
    assert_offsets_read_the_unpaged_order(book, query)
