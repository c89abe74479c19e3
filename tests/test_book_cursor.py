"""Walking the book by cursor (keyset paging) yields exactly the rows of the book's one unpaged read, in its
order, for every sort key and direction, with ties, NULLs and filters."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from cockpit.store import Store
from cockpit.store import book as book_module
from cockpit.store.book import (
    SORT_KEYS,
    BookCursor,
    BookFilter,
    BookQuery,
    count_book,
    fetch_book_after,
    fetch_book_before,
    fetch_book_page,
    record_unscored,
)
from tests.query_plans import query_plans
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
    "search": (BookFilter(), "hooli"),
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

    def read() -> None:
        first = fetch_book_after(book.db, BookQuery(sort="priority"), None, limit=10)
        fetch_book_after(book.db, BookQuery(sort="priority"), first.next, limit=10)

    plans = query_plans(book, read)
    assert plans and all("TEMP B-TREE" not in plan for plan in plans), plans
    assert any("INDEX scores_run_priority (run_id=? AND " in plan for plan in plans), plans


CUSTOMERS = BookFilter(customers_on="2026-11-22")
"""The filter of every saved view: the customers of the day."""


INDEXED_SCORE_KEYS = [
    key for key in SORT_KEYS if key not in ("name", "owner", "plan", "mrr", "renewal_date", "stage")
]
"""The score sorts an index walks. Not the lifecycle stage: it reads the account's row (the CRM's stage, the
start date) with its score, which no index holds together, so sorting by it sorts the book (its result is
checked with the others below)."""


@pytest.mark.parametrize("key", INDEXED_SCORE_KEYS)
def test_the_accounts_without_a_score_are_found_without_reading_score_rows(book: Store, key: str) -> None:
    """`End` after a score sort starts with the accounts the run did not score, usually few or none: finding
    them probes the run's key and the score's index, never each account's score row (700 ms at 100k)."""
    query = BookQuery(sort=key, filter=CUSTOMERS)  # type: ignore[arg-type]
    plans = query_plans(book, lambda: fetch_book_before(book.db, query, None, limit=5), "SELECT a.id, a.")
    assert plans, "no walk of the accounts without the score"
    accounts = [plan for plan in plans if plan.startswith("SCAN a ")]
    probes = [plan for plan in plans if "(run_id=? AND account_id=?)" in plan]
    null_scores = [
        plan for plan in plans if plan.startswith(("SEARCH s ", "SEARCH c ")) and plan not in probes
    ]
    assert accounts and all("COVERING INDEX" in plan for plan in accounts + probes), plans
    assert probes and all("INDEX sqlite_autoindex" in plan for plan in probes), plans
    assert null_scores and all(
        "INDEX scores_run_" in plan or "INDEX clv_values_run_clv" in plan for plan in null_scores
    ), plans


@pytest.mark.parametrize("key", ["health", "priority"])
def test_an_owners_view_in_a_score_order_probes_each_account_by_its_id(
    book: Store, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In an owner's view, the account of each score the walk reads (and of each kept account) is sought by
    its id in the slim index, which holds the owner too (0045), never among the owner's accounts in the
    owner's index: that read them all for each score (3 s a page at 100k, minutes to count the kept)."""
    monkeypatch.setattr(book_module, "_DEEP", 0)
    with book.write() as db:
        record_unscored(db, 2)
    query = BookQuery(sort=key, filter=replace(CUSTOMERS, owner="ann"))  # type: ignore[arg-type]
    statements: list[str] = []
    book.db.conn.set_trace_callback(statements.append)
    try:
        fetch_book_after(book.db, query, None, limit=5, offset=3)
        fetch_book_before(book.db, query, None, limit=5)
    finally:
        book.db.conn.set_trace_callback(None)
    probes = []
    for sql in statements:
        loops: dict[int, list[str]] = {}
        for _, parent, _, detail in book.db.execute(f"EXPLAIN QUERY PLAN {sql}"):
            loops.setdefault(parent, []).append(detail)
        probes += [
            detail for nested in loops.values() for detail in nested[1:] if detail.startswith("SEARCH a ")
        ]
    assert probes and all("INDEX accounts_live (id=?" in probe for probe in probes), probes


@pytest.mark.parametrize("key", ["owner", "plan", "renewal_date"])
@pytest.mark.parametrize("backward", [False, True])
def test_a_descending_account_sort_walks_its_own_index(book: Store, key: str, backward: bool) -> None:
    """Descending, the ties still go by name ascending: an index in that very order, not a sort of each
    owner's (plan's, day's) accounts, which on a big book are tens of thousands."""
    query = BookQuery(sort=key, descending=True, filter=CUSTOMERS)  # type: ignore[arg-type]
    fetch = fetch_book_before if backward else fetch_book_after
    plans = query_plans(book, lambda: fetch(book.db, query, None, limit=5), "SELECT a.id, a.")
    index = {"owner": "owner", "plan": "plan", "renewal_date": "renewal"}[key]
    assert any(f"INDEX accounts_{index}_descending" in plan for plan in plans), plans
    assert not any("TEMP B-TREE" in plan for plan in plans), plans


def test_names_searches_and_counts_read_the_name_index_alone(book: Store) -> None:
    """Sorting by name, searching (a LIKE over every name and domain) and counting the customers need no
    account row: the name index carries the id, the domain and the customer filter's columns."""
    query = BookQuery(search="acme", filter=CUSTOMERS)
    plans = query_plans(book, lambda: fetch_book_after(book.db, query, None, limit=5), "SELECT a.id, a.")
    plans += query_plans(book, lambda: count_book(book.db, query), "SELECT count(*)")
    assert plans and all("COVERING INDEX accounts_book_name" in plan for plan in plans), plans


@pytest.mark.parametrize("key", INDEXED_SCORE_KEYS)
@pytest.mark.parametrize("descending", [False, True])
def test_a_search_that_matches_few_sorts_them_in_the_order_of_the_whole_book(
    book: Store, key: str, descending: bool
) -> None:
    """A search that matches few accounts sorts its matches (not the score's index walked to find them, which
    reads an account per score): the same accounts in the same order as the whole book's, filtered."""
    query = BookQuery(sort=key, descending=descending)  # type: ignore[arg-type]
    whole = fetch_book_page(book.db, query, offset=0, limit=10_000)
    wanted = [row.id for row in whole if "hooli" in row.name.lower()]
    searched = replace(query, search="hooli")
    plans = query_plans(
        book, lambda: fetch_book_after(book.db, searched, None, limit=10_000), "SELECT a.id, ("
    )
    assert wanted and walk(book, searched, 7) == wanted
    assert plans[0].startswith("SCAN a USING COVERING INDEX accounts_book_name"), plans


# The stage is read from the account row and the score together (`STAGE_SQL`): no index holds it.
@pytest.mark.parametrize("key", [key for key in SORT_KEYS if key != "stage"])
@pytest.mark.parametrize("descending", [False, True])
def test_a_deep_jump_skips_rows_in_indexes_alone(book: Store, key: str, descending: bool) -> None:
    """A page far from any page read goes by offset, which walks every row it skips: each order's walk reads
    the views' filter columns from an index (a score's, by the account's id), never the account's row (100-150
    ms for a jump to the middle of a 100,000-account book)."""
    query = BookQuery(sort=key, descending=descending, filter=CUSTOMERS)  # type: ignore[arg-type]
    plans = query_plans(
        book, lambda: fetch_book_after(book.db, query, None, limit=5, offset=7), "SELECT a.id, "
    )
    accounts = [plan for plan in plans if plan.startswith(("SCAN a ", "SEARCH a "))]
    assert accounts and all("COVERING INDEX" in plan for plan in accounts), plans


@pytest.mark.parametrize("filter_name", list(FILTERS))
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("key", INDEXED_SCORE_KEYS)
def test_the_kept_accounts_without_a_score_page_as_the_probe_does(
    book: Store, key: str, descending: bool, filter_name: str
) -> None:
    """With the accounts the run did not score kept (`record_unscored`), every view's filter and search
    pages the same rows in the same order as with the run probed for each account."""
    wanted_filter, search = FILTERS[filter_name]
    query = BookQuery(sort=key, descending=descending, filter=wanted_filter, search=search)  # type: ignore[arg-type]
    probed = walk(book, query, 10_000)
    with book.write() as db:
        record_unscored(db, 2)
    assert walk(book, query, 7) == probed
    assert walk_back(book, query, 7) == probed
