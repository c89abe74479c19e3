"""The SQL of imports: resolving references, upserting keyed records, bulk-upserting events, and spotting
records that a single import gives twice.

Everything here runs inside the import's one transaction (`Store.write()`); nothing commits.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, NamedTuple

from sqlite_utils import Database

Outcome = Literal["inserted", "updated", "unchanged"]


class Upserted(NamedTuple):
    outcome: Outcome
    changed: dict[str, Any]
    """The columns written, with their new values: every one given, for a new row; none, unchanged."""


class References:
    """Finds the id of a referenced record from whatever the source gave: an id, a CRM id, a domain, an email.

    Answers are cached for the life of one import; misses are not, so records inserted earlier in the same
    import are found.
    """

    _LOOKUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "account": (
            "SELECT id FROM accounts WHERE id = ?",
            "SELECT id FROM accounts WHERE hubspot_id = ?",
            "SELECT id FROM accounts WHERE salesforce_id = ?",
            "SELECT id FROM accounts WHERE domain = lower(?) COLLATE NOCASE",
        ),
        "contact": (
            "SELECT id FROM contacts WHERE id = ?",
            "SELECT id FROM contacts WHERE hubspot_id = ?",
            "SELECT id FROM contacts WHERE salesforce_id = ?",
            "SELECT id FROM contacts WHERE email = lower(?) COLLATE NOCASE",
        ),
        "product": (
            "SELECT id FROM products WHERE id = ?",
            "SELECT id FROM products WHERE name = ? COLLATE NOCASE",
        ),
        "feature": (
            "SELECT id FROM features WHERE id = ?",
            "SELECT id FROM features WHERE name = ? COLLATE NOCASE",
        ),
    }

    def __init__(self, db: Database) -> None:
        self._db = db
        self._caches: dict[str, dict[str, str]] = {kind: {} for kind in self._LOOKUPS}

    def cache(self, kind: str) -> dict[str, str]:
        """The answers found so far for `kind` (for hot loops; a miss must go through `find`)."""
        return self._caches[kind]

    def find(self, kind: str, ref: str) -> str | None:
        cache = self._caches[kind]
        cached = cache.get(ref)
        if cached is not None:
            return cached
        for sql in self._LOOKUPS[kind]:
            rows = self._db.execute(sql, [ref]).fetchmany(2)
            if len(rows) == 1:
                found: str = rows[0][0]
                cache[ref] = found
                return found
        return None

    def find_existing(self, kind: str, identifiers: Sequence[str | None]) -> str | None:
        """The record matched by the first identifier that matches, tried in lookup order (id first)."""
        for sql, value in zip(self._LOOKUPS[kind], identifiers, strict=False):
            if value:
                row = self._db.execute(sql, [value]).fetchone()
                if row is not None:
                    return str(row[0])
        return None


def start_import_run(db: Database, kind: str, sources: Sequence[str], *, now: str) -> int:
    cursor = db.execute(
        "INSERT INTO import_runs (kind, sources, started_at) VALUES (?, ?, ?)",
        [kind, json.dumps(list(sources)), now],
    )
    return int(cursor.lastrowid or 0)


def finish_import_run(db: Database, import_id: int, counts: dict[str, Any], *, now: str) -> None:
    db.execute(
        "UPDATE import_runs SET finished_at = ?, counts = ? WHERE id = ?",
        [now, json.dumps(counts), import_id],
    )


def upsert_row(
    db: Database, table: str, key: dict[str, Any], values: dict[str, Any], *, now: str
) -> Upserted:
    """Insert the row, or update the given columns where they differ; `key` names the row.

    Columns not in `values` are left as they are, so a file that carries only some columns never blanks the
    others. Tables with created_at/updated_at get them set.
    """
    where = " AND ".join(f"[{column}] = ?" for column in key)
    columns = list(values)
    selected = ", ".join(f"[{column}]" for column in columns) or "1"
    existing = db.execute(f"SELECT {selected} FROM [{table}] WHERE {where}", list(key.values())).fetchone()
    stamped = table in TIMESTAMPED_TABLES
    if existing is None:
        row = {**key, **values}
        if stamped:
            row.update(created_at=now, updated_at=now)
        names = ", ".join(f"[{column}]" for column in row)
        marks = ", ".join("?" for _ in row)
        db.execute(f"INSERT INTO [{table}] ({names}) VALUES ({marks})", list(row.values()))
        return Upserted("inserted", dict(values))
    changed = {
        column: values[column]
        for column, value in zip(columns, existing, strict=True)
        if values[column] != value
    }
    if not changed:
        return Upserted("unchanged", {})
    updates = dict(changed)
    if stamped:
        updates["updated_at"] = now
    assignments = ", ".join(f"[{column}] = ?" for column in updates)
    db.execute(f"UPDATE [{table}] SET {assignments} WHERE {where}", [*updates.values(), *key.values()])
    return Upserted("updated", changed)


# Tables whose rows carry created_at and updated_at (see migrations.py).
TIMESTAMPED_TABLES = frozenset({"accounts", "contacts", "interactions", "outreach"})


class EventWriter:
    """Bulk upsert of events (usage, signals) keyed by their identity, for one import run.

    Each batch goes in by one `INSERT OR IGNORE`, stamped with the run and each row's place in its file. When
    every row went in (new events: the usual nightly case) that is all. Otherwise the batch is sorted out
    row by row: a row stored with this run and another place is a duplicate in this import's files; one
    stored before is updated where its values changed, or left alone (and remembered, so that a second copy
    of it is a duplicate too). A re-imported file therefore changes nothing, and overlapping exports can be
    loaded every night. (A savepoint per batch would make SQLite journal every page it touches, which cost a
    third more time than the insert itself.)
    """

    def __init__(
        self, db: Database, table: str, identity: Sequence[str], values: Sequence[str], *, import_id: int
    ) -> None:
        self._db = db
        self.import_id = import_id
        self._width = len(identity)
        columns = ", ".join(f"[{column}]" for column in [*identity, *values])
        marks = ", ".join("?" for _ in [*identity, *values])
        match = " AND ".join(f"[{column}] = ?" for column in identity)
        stamp = f"{int(import_id)}, ?"
        self._insert = f"INSERT INTO [{table}] ({columns}, import_id, import_row) VALUES ({marks}, {stamp})"
        self._insert_new = self._insert.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
        self._select = f"SELECT import_id, import_row, {', '.join(f'[{c}]' for c in values)} FROM [{table}] WHERE {match}"
        assignments = ", ".join(f"[{column}] = ?" for column in values)
        self._update = (
            f"UPDATE [{table}] SET {assignments}, import_id = {int(import_id)}, import_row = ? WHERE {match}"
        )
        self._kept = DuplicateGuard(db, name="import_kept")
        self.inserted = self.updated = self.unchanged = 0

    def write(self, rows: Sequence[Sequence[Any]]) -> dict[int, str]:
        """Write a batch of (identity..., values..., place) rows; returns the rows refused, by position in the
        batch, with why ("duplicate", or the database's objection)."""
        if not rows:
            return {}
        cursor = self._db.conn.executemany(self._insert_new, rows)
        if cursor.rowcount == len(rows):
            self.inserted += len(rows)
            return {}
        return self._sort_out(rows)

    def _sort_out(self, rows: Sequence[Sequence[Any]]) -> dict[int, str]:
        refused: dict[int, str] = {}
        db, width = self._db, self._width
        for position, row in enumerate(rows):
            identity, values, place = list(row[:width]), list(row[width:-1]), row[-1]
            existing = db.execute(self._select, identity).fetchone()
            if existing is None:  # ignored for another constraint: let it say which
                try:
                    db.execute(self._insert, row)
                    self.inserted += 1
                except sqlite3.IntegrityError as error:
                    refused[position] = integrity_message(error)
            elif existing[0] == self.import_id:
                if existing[1] == place:
                    self.inserted += 1  # this batch's insert
                else:
                    refused[position] = "duplicate"
            elif self._kept.seen(hash(tuple(identity))):
                refused[position] = "duplicate"
            elif list(existing[2:]) != values:
                db.execute(self._update, [*values, place, *identity])
                self.updated += 1
            else:
                self._kept.add(hash(tuple(identity)))
                self.unchanged += 1
        return refused

    def close(self) -> None:
        self._kept.close()


def integrity_message(error: sqlite3.IntegrityError) -> str:
    """A constraint failure as a user reads it."""
    text = str(error)
    if text.startswith("UNIQUE constraint failed"):
        columns = text.split(":", 1)[1].strip()
        return f"another record already has this {columns.split('.')[-1]}"
    return f"rejected by the database ({text})"


class DuplicateGuard:
    """Remembers keys (64-bit hashes) in a temporary table, on disk past a bounded cache, so that memory stays
    flat whatever the file size; reports a key given twice, with where it was first seen."""

    def __init__(self, db: Database, *, name: str = "import_seen") -> None:
        self._db = db
        self._table = f"temp.{name}"
        db.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {name} (key INTEGER PRIMARY KEY, source INTEGER, row INTEGER)"
        )
        db.execute(f"DELETE FROM {self._table}")

    def add(self, key: int) -> None:
        self._db.execute(f"INSERT OR IGNORE INTO {self._table} (key) VALUES (?)", [key])

    def seen(self, key: int) -> bool:
        return self._db.execute(f"SELECT 1 FROM {self._table} WHERE key = ?", [key]).fetchone() is not None

    def first_seen(self, keys: Sequence[tuple[int, int, int]]) -> dict[int, tuple[int, int]]:
        """Record `(key, source, row)` triples; return, for each position of `keys` that repeats an earlier
        key, the `(source, row)` where that key was first seen."""
        cursor = self._db.conn.executemany(f"INSERT OR IGNORE INTO {self._table} VALUES (?, ?, ?)", keys)
        if cursor.rowcount == len(keys):
            return {}
        repeats: dict[int, tuple[int, int]] = {}
        for position, (key, source, row) in enumerate(keys):
            first = self._db.execute(f"SELECT source, row FROM {self._table} WHERE key = ?", [key]).fetchone()
            if (first[0], first[1]) != (source, row):
                repeats[position] = (first[0], first[1])
        return repeats

    def close(self) -> None:
        self._db.execute(f"DROP TABLE IF EXISTS {self._table}")


def accounts_named(db: Database, name: str) -> list[str]:
    """The ids of the accounts whose name is `name`, ignoring case."""
    return [
        str(row[0]) for row in db.execute("SELECT id FROM accounts WHERE name = ? COLLATE NOCASE", [name])
    ]
