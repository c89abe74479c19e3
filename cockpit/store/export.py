"""Reading whole tables out for `cockpit export`, streamed in primary-key order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cockpit.store.compact_scores import run_scores

if TYPE_CHECKING:  # for the annotations only: the command line reads EXPORT_TABLES without sqlite-utils
    from sqlite_utils import Database

# The kinds `cockpit import` reads, and the table each is kept in.
EXPORT_TABLES: dict[str, str] = {
    "accounts": "accounts",
    "contacts": "contacts",
    "products": "products",
    "features": "features",
    "complements": "product_complements",
    "entitlements": "entitlements",
    "usage": "usage_events",
    "signals": "signals",
    "tickets": "tickets",
    "surveys": "surveys",
    "interactions": "interactions",
    "transactions": "transactions",
    "subscriptions": "subscriptions",
    "churn_events": "churn_events",
    "outreach": "outreach",
    "scores": "scores",
}


RUN_TABLES = frozenset({"scores"})
"""Tables whose rows belong to a score run, and can be exported for the latest run only."""


def table_rows(
    db: Database, table: str, *, latest_run: bool = False
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """The table's column names and a cursor over its rows (generated columns included); with `latest_run`,
    only the rows of the latest finished score run (the one the book shows), for the RUN_TABLES."""
    if latest_run and table not in RUN_TABLES:
        raise ValueError(f"{table} rows belong to no score run")
    columns = [
        row[1] for row in db.execute(f"PRAGMA table_xinfo([{table}])").fetchall() if row[6] in (0, 2, 3)
    ]
    if table in RUN_TABLES:
        return columns, _run_rows(db, columns, latest_run=latest_run)
    names = ", ".join(f"[{column}]" for column in columns)
    return columns, iter(db.execute(f"SELECT {names} FROM [{table}] ORDER BY 1"))


def _run_rows(db: Database, columns: list[str], *, latest_run: bool) -> Iterator[tuple[Any, ...]]:
    """The scores of every run (or the latest finished), run by run, each by account, in either form (a
    compact run's columns it does not keep come empty: `store/compact_scores.py`)."""
    runs = db.execute(
        "SELECT id FROM score_runs WHERE finished_at IS NOT NULL ORDER BY as_of DESC, id DESC LIMIT 1"
        if latest_run
        else "SELECT id FROM score_runs ORDER BY id"
    ).fetchall()
    for (run_id,) in runs:
        for row in run_scores(db, run_id, columns):
            yield row[1:]
