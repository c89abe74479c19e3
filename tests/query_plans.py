"""What SQLite plans for the statements a read runs: how a test holds a query to the index it must walk."""

from __future__ import annotations

from collections.abc import Callable

from cockpit.store import Store

BOOK_PAGE = "SELECT a.id, ("
"""How the book's page queries start."""


def query_plans(store: Store, read: Callable[[], object], prefix: str = BOOK_PAGE) -> list[str]:
    """The query plan lines of the statements `read` runs that start with `prefix`."""
    plans: list[str] = []
    store.db.conn.set_trace_callback(
        lambda sql: (
            plans.extend(str(row[3]) for row in store.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            if sql.startswith(prefix)
            else None
        )
    )
    try:
        read()
    finally:
        store.db.conn.set_trace_callback(None)
    return plans
