"""Reading whole tables out for `cockpit export`, streamed in primary-key order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

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
    "outreach": "outreach",
    "scores": "scores",
}


def table_rows(db: Database, table: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """The table's column names and a cursor over its rows (generated columns included)."""
    columns = [
        row[1] for row in db.execute(f"PRAGMA table_xinfo([{table}])").fetchall() if row[6] in (0, 2, 3)
    ]
    names = ", ".join(f"[{column}]" for column in columns)
    return columns, iter(db.execute(f"SELECT {names} FROM [{table}] ORDER BY 1"))
