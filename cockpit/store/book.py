"""Paged reads of the book (the accounts list): the only way the TUI reads accounts in bulk.

Every read is a bounded page (`LIMIT`/`OFFSET` over an indexed order), so the cost of showing the book does
not grow with its size. Sort keys are a fixed list mapped to SQL here, never interpolated from input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlite_utils import Database

SortKey = Literal["name", "owner", "plan", "mrr", "renewal_date"]

# Each sort key and the ORDER BY that uses its index; ties fall back to the name, then the id.
_ORDER: dict[str, str] = {
    "name": "name COLLATE NOCASE {dir}, id",
    "owner": "owner COLLATE NOCASE {dir}, name COLLATE NOCASE, id",
    "plan": "plan COLLATE NOCASE {dir}, name COLLATE NOCASE, id",
    "mrr": "mrr {dir}, name COLLATE NOCASE, id",
    "renewal_date": "renewal_date {dir}, name COLLATE NOCASE, id",
}
SORT_KEYS: tuple[SortKey, ...] = ("name", "owner", "plan", "mrr", "renewal_date")


@dataclass(frozen=True)
class BookRow:
    id: str
    name: str
    owner: str | None
    plan: str | None
    mrr: float
    renewal_date: str | None


@dataclass(frozen=True)
class BookQuery:
    """What part of the book to show, in what order."""

    sort: SortKey = "name"
    descending: bool = False
    search: str = ""
    """Case-insensitive text matched anywhere in the account's name or domain."""


def _where(query: BookQuery) -> tuple[str, list[Any]]:
    clauses = ["deleted_at IS NULL"]
    params: list[Any] = []
    if query.search.strip():
        pattern = (
            "%" + query.search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        clauses.append("(name LIKE ? ESCAPE '\\' OR domain LIKE ? ESCAPE '\\')")
        params.extend([pattern, pattern])
    return " AND ".join(clauses), params


def count_book(db: Database, query: BookQuery) -> int:
    where, params = _where(query)
    row = db.execute(f"SELECT count(*) FROM accounts WHERE {where}", params).fetchone()
    return int(row[0])


def fetch_book_page(db: Database, query: BookQuery, *, offset: int, limit: int) -> list[BookRow]:
    if query.sort not in _ORDER:
        raise ValueError(f"unknown sort key {query.sort!r}; expected one of {', '.join(SORT_KEYS)}")
    where, params = _where(query)
    order = _ORDER[query.sort].format(dir="DESC" if query.descending else "ASC")
    sql = (
        "SELECT id, name, owner, plan, mrr, renewal_date FROM accounts "
        f"WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
    )
    cursor = db.execute(sql, [*params, limit, offset])
    return [BookRow(*row) for row in cursor.fetchall()]
