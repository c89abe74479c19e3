"""The book's seek past a cursor (`_keyed`, range by range of `_ranges`) against SQLite's own unpaged ORDER BY,
on generated tables full of ties and NULLs, for every mix of directions and of where NULLs sort: from any
row, forwards and backwards, with an offset, the rows that follow it there."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from cockpit.store.book import _keyed, _order_by, _reversed, _terms

_VALUES = {"x": st.none() | st.integers(0, 2), "y": st.none() | st.sampled_from(["a", "B", "b"])}
_TERM = st.tuples(st.booleans(), st.booleans())
"""(descending, NULLS LAST) of a term."""


def _order(columns: list[str], terms: list[tuple[bool, bool]]) -> str:
    """An ORDER BY in the form the book writes them (`_terms`), its id last."""
    written = [
        f"{column}{' DESC' if descending else ''}{' NULLS LAST' if nulls_last and not descending else ''}"
        for column, (descending, nulls_last) in zip(columns, terms, strict=True)
    ]
    return ", ".join([*written, "a.id"])


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.fixed_dictionaries(_VALUES), min_size=1, max_size=40),
    columns=st.sampled_from([["a.x"], ["a.y COLLATE NOCASE"], ["a.x", "a.y COLLATE NOCASE"], ["a.y", "a.x"]]),
    terms=st.lists(_TERM, min_size=2, max_size=2),
    limit=st.integers(1, 6),
    offset=st.integers(0, 8),
)
def test_a_seek_past_any_row_reads_what_follows_it_in_the_unpaged_order(
    rows: list[dict[str, Any]], columns: list[str], terms: list[tuple[bool, bool]], limit: int, offset: int
) -> None:
    db = Database(memory=True)
    db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, x INTEGER, y TEXT)")
    db.execute("CREATE INDEX t_x_y ON t (x, y COLLATE NOCASE, id)")  # a seek's plan may use it, or not
    db.conn.executemany(
        "INSERT INTO t VALUES (?, ?, ?)", [(f"r{n:02}", r["x"], r["y"]) for n, r in enumerate(rows)]
    )
    order = _order(columns, terms[: len(columns)])
    select = "FROM t a WHERE 1"
    for backward in (False, True):
        walked = _reversed(_terms(order)) if backward else _terms(order)
        keys = ", ".join(term.expression for term in walked)
        everything = [
            tuple(row) for row in db.execute(f"SELECT a.id, {keys} {select} ORDER BY {_order_by(walked)}")
        ]
        for at, row in enumerate(everything):
            found, short = _keyed(db, select, order, [], row[1:], limit, backward=backward, offset=offset)
            assert found == everything[at + 1 + offset : at + 1 + offset + limit], (backward, at)
            # Where no row is found, `short` says how many of the offset's rows were missing.
            assert short == (0 if found else max(0, offset - (len(everything) - at - 1)))
