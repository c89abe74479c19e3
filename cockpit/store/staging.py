"""An import's staging file: where its rows wait, read, checked and de-duplicated, until one short write
transaction applies them to the database.

The staging file is an SQLite file of its own beside the database (`.<db>.import-<pid>-<token>.staging`),
written without durability (a crash loses nothing anyone else needs). Its import owns it while it holds an
OS lock on it (flock), which the OS drops however the process ends, kill -9 included. An import removes its
file when it ends, and the files no live import owns (a killed run's) before it starts. While the import
applies, the file also has a second name, ending in `.applying`: a writer that has to wait tells from it
that it waits for an import (`import_applying`).
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.errors import DatabaseError
from cockpit.store.bulk import BULK_CACHE_KIB, insert_cells
from cockpit.store.imports import integrity_message
from cockpit.store.sqlite import Database

STAGING_CACHE_KIB = BULK_CACHE_KIB
"""The staging connection's page cache: the staged events' key index, filled in file order, stays in memory
instead of going back and forth to the file (pages are only taken as the staging grows)."""

STAGING_PAGE_SIZE = 16384
"""The staging file's pages: a fresh file, so its own choice. Four times the database's 4 KiB pages take a
tenth off making a million cells events in key order (fewer pages to split and to walk)."""

STAGING = ".staging"
APPLYING = ".applying"
_OWN: set[str] = set()
"""The staging files of this process's running imports: never probed, since closing a file descriptor of
theirs would drop the locks SQLite holds on them."""


def _pattern(db_path: Path, suffix: str) -> str:
    real = Path(os.path.realpath(db_path))
    return str(real.parent / f".{glob.escape(real.name)}.import-*{suffix}")


def _live(path: str) -> bool:
    """Whether a running import owns the staging file at `path`; one that is gone counts as not live."""
    if path in _OWN:
        return True
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(descriptor)  # and with it the lock this probe may have taken
    return False


def import_applying(db_path: Path) -> bool:
    """Whether an import is applying its rows to the database at `db_path` (in any process)."""
    return any(_live(path) for path in glob.glob(_pattern(db_path, APPLYING)))


def remove_abandoned(db_path: Path) -> None:
    """Remove the staging files of imports that ended without removing theirs (killed), by both names."""
    for suffix in (STAGING, APPLYING):
        for path in glob.glob(_pattern(db_path, suffix)):
            if not _live(path):
                with suppress(FileNotFoundError):
                    os.unlink(path)


def _create_locked(db_path: Path) -> tuple[Path, int]:
    """A new empty staging file, locked by this process. Another import removing abandoned files may take
    the lock of a file created a moment before its owner locks it, and remove it; so the lock is checked to
    be on the file still at that name, else another is made."""
    real = Path(os.path.realpath(db_path))
    while True:
        path = real.with_name(f".{real.name}.import-{os.getpid()}-{secrets.token_hex(4)}{STAGING}")
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise DatabaseError(
                f"{db_path}: cannot create the import's staging file in {real.parent} ({error.strerror}); "
                "nothing was written.",
                hint=STAGING_HINT,
            ) from None
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            same = os.stat(path).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return path, descriptor
        os.close(descriptor)


STAGING_HINT = (
    "An import stages its rows in a file beside the database before it applies them: the folder needs to be "
    "writable and to have room for up to twice as much as the rows take in the database."
)


def staging_failed(db_path: Path, error: sqlite3.Error) -> DatabaseError:
    """An error met while staging an import (reading the database, or writing the staging file)."""
    return DatabaseError(
        f"{db_path}: the import could not be staged ({error}); nothing was written.", hint=STAGING_HINT
    )


class Staging:
    """One import's staging file and its connection, made by `staging_for`. Everything is staged in one
    transaction, which `commit` ends before the import applies: a commit per batch would write back the
    pages each batch touched all over the staged rows' key index, many times over."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema = "staging"
        """Where the apply reads the staged events: the file attached (`applying`), or their copy (`copied`)."""
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute(f"PRAGMA page_size = {STAGING_PAGE_SIZE}")  # before the file's first table
        # Nothing here needs to survive a crash: no journal on disk, no syncing.
        self.conn.execute("PRAGMA journal_mode = MEMORY")
        self.conn.execute("PRAGMA synchronous = OFF")
        (self._default_cache,) = self.conn.execute("PRAGMA cache_size").fetchone()
        self.conn.execute(f"PRAGMA cache_size = -{STAGING_CACHE_KIB}")
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        """End the staging: what is staged becomes readable by the connection that applies it. The staging's
        page cache is given back first, for the apply's to use: both held at once took the peak memory of a
        1M-event import from 157 MB to 241 MB."""
        self.conn.execute("COMMIT")
        self.conn.execute(f"PRAGMA cache_size = {int(self._default_cache)}")
        self.conn.execute("PRAGMA shrink_memory")

    def begin_source(self) -> None:
        """Mark where one file's rows begin, so that they can be undone (`undo_source`) to read it again."""
        self.conn.execute("SAVEPOINT source")

    def undo_source(self) -> None:
        self.conn.execute("ROLLBACK TO source")

    def end_source(self) -> None:
        self.conn.execute("RELEASE source")

    @contextmanager
    def applying(self, db: Database) -> Iterator[None]:
        """Around the apply's `write()` (ATTACH cannot run inside a transaction): the staging file attached to
        the database's connection `db` as `staging`, and named `.applying` too, a hard link sharing its lock
        (where the file system has none, a waiting writer just does not know whom it waits for)."""
        applying = str(self.path.with_suffix(APPLYING))
        _OWN.add(applying)
        with suppress(OSError):
            os.link(self.path, applying)
        db.execute("ATTACH DATABASE ? AS staging", [str(self.path)])
        try:
            yield
        finally:
            db.execute("DETACH DATABASE staging")
            with suppress(FileNotFoundError):
                os.unlink(applying)
            _OWN.discard(applying)

    @contextmanager
    def copied(self, db: Database) -> Iterator[None]:
        """Where the file cannot be attached (inside a transaction: a bundle applies kind after kind in one),
        its staged events copied into a temporary `events` table of the database's connection `db`, for the
        apply to read as it reads an attached file's."""
        columns = [str(info[1]) for info in self.conn.execute("PRAGMA table_info(events)")]
        names = ", ".join(f"[{column}]" for column in columns)
        db.execute(f"CREATE TEMP TABLE events ({names})")  # no constraints: each was checked as it was staged
        rows = self.conn.execute(f"SELECT {names} FROM events")
        marks = ", ".join("?" for _ in columns)
        while batch := rows.fetchmany(10_000):
            db.conn.executemany(f"INSERT INTO temp.events VALUES ({marks})", batch)
        self.schema = "temp"
        try:
            yield
        finally:
            db.execute("DROP TABLE temp.events")
            self.schema = "staging"


@contextmanager
def staging_for(db_path: Path) -> Iterator[Staging]:
    """A new staging file for an import of the database at `db_path`, removed when the block ends however it
    ends (an error, Ctrl-C); the files of killed imports are removed first."""
    remove_abandoned(db_path)
    path, descriptor = _create_locked(db_path)
    _OWN.add(str(path))
    try:
        staging = Staging(path)
        try:
            yield staging
        finally:
            staging.conn.close()
    finally:
        _OWN.discard(str(path))
        with suppress(FileNotFoundError):
            os.unlink(path)
        os.close(descriptor)  # last: closing it earlier would drop SQLite's own locks on the file


_CREATE_TABLE = re.compile(r"CREATE TABLE\s+(\"[^\"]+\"|\[[^\]]+\]|`[^`]+`|\w+)", re.IGNORECASE)


@dataclass
class EventsStaged:
    refused: dict[int, str]
    """The rows refused, by position in the batch, with why ("duplicate", or the constraint's objection)."""
    merged: int = 0
    """Rows that repeat an event staged before: identical to it, or summed into it."""


class EventStage:
    """Events (usage, signals) staged in a table made from the database's own definition of theirs, so that
    its constraints judge each row as it is staged (with the row's place to report), and its key spots an
    event that the import gives twice. `import_row` keeps each event's place: the file's index in the
    import times 2**32 plus the row.

    A row identical to an event staged before is that event. One that differs is refused as a duplicate,
    unless `summed` names a value column and the row has no `source_id`: raw exports write several rows
    for one account, feature and moment, and then the event is the sum of the distinct rows (which the
    `parts` table keeps, so that a row repeated among them is still counted once)."""

    def __init__(
        self,
        staging: Staging,
        db: Database,
        table: str,
        identity: Sequence[str],
        values: Sequence[str],
        *,
        summed: str | None = None,
    ) -> None:
        self.staging = staging
        self.table = table
        self.identity = tuple(identity)
        self.values = tuple(values)
        self._summed = summed
        self._source_at = self.identity.index("source_id")
        (definition,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
        ).fetchone()
        staging.conn.execute(_CREATE_TABLE.sub("CREATE TABLE events", definition, count=1))
        columns = [*identity, *values, "import_row"]
        names = ", ".join(f"[{column}]" for column in columns)
        marks = ", ".join("?" for _ in columns)
        self._insert = f"INSERT INTO events ({names}) VALUES ({marks})"
        self._insert_new = self._insert.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
        match = " AND ".join(f"[{column}] = ?" for column in identity)
        stored = ", ".join(f"[{column}]" for column in values)
        self._place = f"SELECT import_row, {stored} FROM events WHERE {match}"
        if summed is not None:
            every = ", ".join(f"[{column}]" for column in (*identity, *values))
            staging.conn.execute(f"CREATE TABLE parts ({every}, PRIMARY KEY ({every})) WITHOUT ROWID")
            marks = ", ".join("?" for _ in (*identity, *values))
            self._part = f"INSERT OR IGNORE INTO parts ({every}) VALUES ({marks})"
            self._parted = f"SELECT 1 FROM parts WHERE {match} LIMIT 1"
            self._add = f"UPDATE events SET [{summed}] = [{summed}] + ? WHERE {match}"

    def write(self, rows: Sequence[Sequence[Any]]) -> EventsStaged:
        """Stage a batch of (identity..., values..., place) rows."""
        if not rows:
            return EventsStaged({})
        conn = self.staging.conn
        if conn.executemany(self._insert_new, rows).rowcount == len(rows):
            return EventsStaged({})
        staged = EventsStaged({})
        width = len(self.identity)
        for position, row in enumerate(rows):
            identity = list(row[:width])
            found = conn.execute(self._place, identity).fetchone()
            if found is None:  # ignored for another constraint: let it say which
                try:
                    conn.execute(self._insert, row)
                except sqlite3.IntegrityError as error:
                    staged.refused[position] = integrity_message(error)
            elif found[0] == row[-1]:
                continue
            elif self._summed is not None and row[self._source_at] == "":
                # The event as first staged is its first part; a part not met before adds to the sum.
                if conn.execute(self._parted, identity).fetchone() is None:
                    conn.execute(self._part, [*identity, *found[1:]])
                if conn.execute(self._part, row[:-1]).rowcount:
                    summed = row[width + self.values.index(self._summed)]
                    conn.execute(self._add, [summed, *identity])
                staged.merged += 1
            elif tuple(found[1:]) == tuple(row[width:-1]):
                staged.merged += 1
            else:
                staged.refused[position] = "duplicate"
        return staged


@dataclass(frozen=True)
class EventsApplied:
    inserted: int
    """Events new to the database."""
    known: dict[int, tuple[int, int]]
    """By the index of their file in the import: (updated, unchanged), the events the database held already."""


def apply_events(db: Database, stage: EventStage, *, staged: int, import_id: int) -> EventsApplied:
    """Apply the `staged` events to the database, inside the caller's write transaction with the staging
    file attached (`Staging.attached`): new ones inserted in key order, known ones updated where a value
    differs, each written stamped with the import and its place. The usual nightly file holds only new
    events, and then that is one statement."""
    table, identity, values = stage.table, stage.identity, stage.values
    staged_events = f"[{stage.staging.schema}].events"
    columns = ", ".join(f"[{column}]" for column in [*identity, *values])
    keys = ", ".join(f"[{column}]" for column in identity)
    inserted = db.execute(
        f"INSERT OR IGNORE INTO main.[{table}] ({columns}, import_id, import_row) "
        f"SELECT {columns}, {int(import_id)}, import_row FROM {staged_events} ORDER BY {keys}"
    ).rowcount
    if inserted == staged:
        return EventsApplied(inserted, {})
    # The staged rows drive the join (CROSS JOIN keeps them outside), each finding its row by the key.
    joined = (
        f"FROM {staged_events} AS s CROSS JOIN main.[{table}] AS m ON "
        + " AND ".join(f"m.[{column}] = s.[{column}]" for column in identity)
        + f" WHERE m.import_id IS NOT {int(import_id)}"
    )
    same = " AND ".join(f"m.[{column}] IS s.[{column}]" for column in values)
    known = {
        int(source): (int(changed), int(count - changed))
        for source, count, changed in db.execute(
            f"SELECT s.import_row >> 32, count(*), sum(NOT ({same})) {joined} GROUP BY 1"
        )
    }
    if any(changed for changed, _ in known.values()):
        assignments = ", ".join(f"[{column}] = ?" for column in values)
        match = " AND ".join(f"[{column}] = ?" for column in identity)
        selected = ", ".join(f"s.[{column}]" for column in [*values, "import_row", *identity])
        changed_rows = db.execute(f"SELECT {selected} {joined} AND NOT ({same})").fetchall()
        db.conn.executemany(
            f"UPDATE main.[{table}] SET {assignments}, import_id = {int(import_id)}, import_row = ? "
            f"WHERE {match}",
            changed_rows,
        )
    return EventsApplied(inserted, known)


class KeyedStage:
    """Keyed records (accounts, contacts, tickets...) staged as the service encodes them, in file order, to be
    upserted one by one when the import applies; each under a 64-bit hash of its key, which spots a record
    that the import gives twice."""

    def __init__(self, staging: Staging) -> None:
        self._staging = staging
        staging.conn.execute(
            "CREATE TABLE keyed (seq INTEGER PRIMARY KEY, key INTEGER NOT NULL UNIQUE, source INTEGER NOT NULL, "
            "row INTEGER NOT NULL, record TEXT NOT NULL, cells TEXT NOT NULL)"
        )

    def write(self, rows: Sequence[tuple[int, int, int, str, str]]) -> dict[int, tuple[int, int]]:
        """Stage (key, source index, row, record, cells as read) rows; returns, for each position of `rows`
        whose key was staged before, the (source index, row) that staged it, and stages nothing there."""
        conn = self._staging.conn
        insert = "INSERT OR IGNORE INTO keyed (key, source, row, record, cells) VALUES (?, ?, ?, ?, ?)"
        if conn.executemany(insert, rows).rowcount == len(rows):
            return {}
        repeats: dict[int, tuple[int, int]] = {}
        for position, (key, source, row, _record, _cells) in enumerate(rows):
            first = conn.execute("SELECT source, row FROM keyed WHERE key = ?", [key]).fetchone()
            if (first[0], first[1]) != (source, row):
                repeats[position] = (first[0], first[1])
        return repeats

    def rows(self) -> Iterator[tuple[int, int, str, str]]:
        """(source index, row, record, cells) in the order staged."""
        yield from self._staging.conn.execute("SELECT source, row, record, cells FROM keyed ORDER BY seq")


@dataclass(frozen=True)
class UsageCells:
    """Where a CSV file's usage fields sit among its cells (0-based positions; None: no such column), and how
    its dates with the year last are read (None: the order is not given, so such dates are left to Python)."""

    width: int
    account: int
    feature: int
    occurred_at: int
    contact: int | None = None
    count: int | None = None
    source_id: int | None = None
    date_order: str | None = None


def _calendar(year: str, month: str, day: str, *, leading: str | None = None) -> str:
    """SQL: whether the two-digit `month` and `day` texts of the four-digit `year` name a day of the calendar;
    `leading`: the whole text, where it begins with the year (told not zero by one comparison, no copy)."""
    leap = f"(CAST({year} AS INTEGER) % 4 = 0 AND (CAST({year} AS INTEGER) % 100 <> 0 OR CAST({year} AS INTEGER) % 400 = 0))"
    last = (
        f"CASE {month} WHEN '02' THEN CASE WHEN {leap} THEN '29' ELSE '28' END "
        f"WHEN '04' THEN '30' WHEN '06' THEN '30' WHEN '09' THEN '30' WHEN '11' THEN '30' ELSE '31' END"
    )
    not_zero = f"{leading} >= '0001'" if leading else f"{year} <> '0000'"
    # Days up to the 28th, most of them, are told without working out the month's last day.
    return (
        f"{month} BETWEEN '01' AND '12' AND ({day} BETWEEN '01' AND '28' OR {day} BETWEEN '29' AND {last}) "
        f"AND {not_zero}"
    )


_DAY = "[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]"
_CLOCK = "[012][0-9]:[0-5][0-9]:[0-5][0-9]"
_SLASHED = "[0-3][0-9]/[0-3][0-9]/[0-9][0-9][0-9][0-9]"


def normal_time_sql(cell: str, date_order: str | None) -> str:
    """SQL for `parsing.iso_timestamp` of the text `cell` (and, where the order is given, for a day with the
    year last as `DateColumn.timestamp` reads it): its normal form, or NULL for any text it leaves to Python
    (SQLite's own date functions take days such as Feb 30 and hour 24, so the calendar is checked here).
    `tests/test_import_cells.py` holds it to the Python rule."""
    iso_day = _calendar(
        f"substr({cell}, 1, 4)", f"substr({cell}, 6, 2)", f"substr({cell}, 9, 2)", leading=cell
    )

    def moment(tail: str, separator: str) -> str:
        return f"{cell} GLOB '{_DAY}{separator}{_CLOCK}{tail}' AND substr({cell}, 12, 2) < '24' AND {iso_day}"

    # Each string function is a copy: with a `T` already in place (the pattern tells it from a space), the
    # date and clock are one piece.
    spaced = f"substr({cell}, 1, 10) || 'T' || substr({cell}, 12, 8) || '+00:00'"
    utc = f"substr({cell}, 1, 19) || '+00:00'"
    suffix = f"substr({cell}, 20)"
    zero = f"{suffix} IN ('+00:00', '-00:00')"
    by_length = {
        10: [f"WHEN {cell} GLOB '{_DAY}' AND {iso_day} THEN {cell}"],
        19: [f"WHEN {moment('', 'T')} THEN {cell} || '+00:00'", f"WHEN {moment('', ' ')} THEN {spaced}"],
        20: [f"WHEN {moment('Z', 'T')} THEN {utc}", f"WHEN {moment('Z', ' ')} THEN {spaced}"],
        25: [
            f"WHEN {zero} AND {moment('*', 'T')} THEN {utc}",
            f"WHEN {zero} AND {moment('*', ' ')} THEN {spaced}",
            f"WHEN {suffix} GLOB '[+-][0-9][0-9]:[0-5][0-9]' AND {moment('*', '[T ]')} "
            f"AND {cell} NOT GLOB '000[01]-*' AND {cell} NOT GLOB '9999-*' "
            f"THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', {cell})",
        ],
    }
    if date_order is not None:
        day, month = ("1", "4") if date_order == "dmy" else ("4", "1")
        parts = (f"substr({cell}, 7, 4)", f"substr({cell}, {month}, 2)", f"substr({cell}, {day}, 2)")
        iso = " || '-' || ".join(parts)
        by_length[10].append(f"WHEN {cell} GLOB '{_SLASHED}' AND {_calendar(*parts)} THEN {iso}")
        by_length[19].append(
            f"WHEN {cell} GLOB '{_SLASHED} {_CLOCK}' AND substr({cell}, 12, 2) < '24' AND {_calendar(*parts)} "
            f"THEN {iso} || 'T' || substr({cell}, 12, 8) || '+00:00'"
        )
    cases = " ".join(f"WHEN {length} THEN CASE {' '.join(whens)} END" for length, whens in by_length.items())
    return f"CASE length({cell}) {cases} END"


def _plain_text(cell: str) -> str:
    """SQL for text that validation keeps as it is (`kinds._plain`), taken only where it begins and ends with
    a printable ASCII character (any other is left to Python, which knows every kind of space)."""
    return (
        f"length({cell}) <= 200 AND unicode({cell}) BETWEEN 33 AND 126 "
        f"AND unicode(substr({cell}, -1)) BETWEEN 33 AND 126"
    )


CELLS_CACHE_KIB = 32 * 1024
"""The staging's page cache while a file is staged as cells: its cells are appended and its events inserted in
key order, which touch few pages; the bulk cache would hold every page written (300 MB at 1M events)."""


_CELL_REFERENCES = {"account": "accounts", "feature": "features", "contact": "contacts"}
"""The kinds of record usage cells name, each with a table of the references to it resolved so far."""


class CellStage:
    """A CSV file of usage events staged as its cells, without Python per row: the cells go into a plain
    table straight from the CSV reader (many rows an INSERT), and one `INSERT ... SELECT` makes them events
    (references through a table of those resolved, times and counts in normal form) in nearly key order.
    The rows it cannot take (a reference not resolved, a time in another form, a bad count) are handed back
    (`flagged`) for the Python path, which reports them by row and field, as are rows that repeat an event
    staged already (`repeated`), which `EventStage.write` judges one by one."""

    def __init__(self, staging: Staging, layout: UsageCells, *, place: int) -> None:
        self._conn = staging.conn
        self.layout = layout
        self._place = place
        self.first_line = 0
        """The file's row number of the first row staged; each row after it is on the next line (`load`'s
        caller makes sure of it), so a row's number is this plus its rowid less one."""
        self.counts = {"cells": 0}
        """Rows staged."""
        self._conn.execute(f"PRAGMA cache_size = -{CELLS_CACHE_KIB}")
        self._conn.execute("DROP TABLE IF EXISTS cells")
        self._conn.execute(f"CREATE TABLE cells ({', '.join(f'c{i}' for i in range(layout.width))})")
        for table in _CELL_REFERENCES.values():
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS cell_{table} (ref TEXT PRIMARY KEY, id TEXT, owner TEXT) WITHOUT ROWID"
            )

    def load(self, first_line: int, cells: Iterator[list[str]], *, progress: Callable[[int], None]) -> None:
        """Stage every row, the first on row `first_line` of the file, telling `progress` how many so far;
        `cells` gives the rows' cells, many rows a list, row after row (`Source.csv_cells`)."""
        self.first_line = first_line
        width = self.layout.width
        columns = [f"c{i}" for i in range(width)]
        for block in cells:
            insert_cells(self._conn, "cells", columns, block)
            self.counts["cells"] += len(block) // width
            progress(self.counts["cells"])

    def references(self, kind: str, known: Iterable[tuple[str, str, str | None]]) -> None:
        """Add (reference as written, id, owner) pairs of a kind (`account`, `feature`, `contact`, the owner
        the contact's account) that the events may name."""
        self._conn.executemany(f"INSERT OR IGNORE INTO cell_{_CELL_REFERENCES[kind]} VALUES (?, ?, ?)", known)

    def unknown(self) -> dict[str, list[str]]:
        """The references the cells make that are not known, by kind, in the order first met."""
        found: dict[str, list[str]] = {}
        layout = self.layout
        for kind, position in (
            ("account", layout.account),
            ("feature", layout.feature),
            ("contact", layout.contact),
        ):
            if position is None:
                continue
            cell = f"c{position}"
            blank = f"{cell} <> '' AND " if kind == "contact" else ""
            found[kind] = [
                str(row[0])
                for row in self._conn.execute(
                    f"SELECT {cell} FROM cells WHERE {blank}NOT EXISTS (SELECT 1 FROM cell_{_CELL_REFERENCES[kind]} "
                    f"WHERE ref = {cell}) GROUP BY 1 ORDER BY min(rowid)"
                )
            ]
        return found

    def _events(self) -> str:
        """The cells as events, with each row's place and cells; NULL in a column the row cannot give."""
        layout = self.layout
        contact, count, source = (
            None if at is None else f"r.c{at}" for at in (layout.contact, layout.count, layout.source_id)
        )
        contact_id = (
            f"CASE WHEN {contact} = '' THEN '' WHEN rc.owner IS NULL OR rc.owner = ra.id THEN rc.id END"
            if contact
            else "''"
        )
        count_value = (
            f"CASE WHEN {count} = '' THEN 1 WHEN length({count}) <= 18 AND {count} NOT GLOB '*[^0-9]*' "
            f"THEN CAST({count} AS INTEGER) END"
            if count
            else "1"
        )
        source_id = (
            f"CASE WHEN {source} = '' THEN '' WHEN {_plain_text(source)} THEN {source} END"
            if source
            else "''"
        )
        contact_join = f" LEFT JOIN cell_contacts AS rc ON rc.ref = {contact}" if contact else ""
        cells = ", ".join(f"r.c{i}" for i in range(layout.width))
        return (
            f"SELECT ra.id AS account_id, rf.id AS feature_id, "
            f"{normal_time_sql(f'r.c{layout.occurred_at}', layout.date_order)} AS occurred_at, "
            f"{contact_id} AS contact_id, {source_id} AS source_id, {count_value} AS count, "
            f"{int(self._place) + int(self.first_line) - 1} + r.rowid AS import_row, r.rowid AS cell_row, {cells} "
            f"FROM cells AS r LEFT JOIN cell_accounts AS ra ON ra.ref = r.c{layout.account} "
            f"LEFT JOIN cell_features AS rf ON rf.ref = r.c{layout.feature}{contact_join}"
        )

    _TAKEN = (
        "account_id IS NOT NULL AND feature_id IS NOT NULL AND occurred_at IS NOT NULL "
        "AND contact_id IS NOT NULL AND source_id IS NOT NULL AND count IS NOT NULL"
    )
    _EVENT = "account_id, feature_id, occurred_at, contact_id, source_id, count"

    def insert(self, naming: Mapping[str, Sequence[str]] | None = None) -> int:
        """Stage as events every row the SQL takes whose event is not staged yet (of two rows of one event,
        the first of the file), or only the rows `naming` one of the references given by kind (those resolved
        since the last insert); returns how many. A row it does not take has a NULL where the table has NOT
        NULL, which the insert skips as it skips a repeated key (`OR IGNORE`).

        They go in by account and feature, then in file order: nearly the key order (the few rows of an
        account's feature go to the table's last pages), and cheaper to sort than the whole key (2.4 -> 2.25 s
        of CPU per 1M rows); the rows of one event, by whatever references, still come in file order."""
        where, params = "", []
        if naming is not None:
            layout = vars(self.layout)
            named = [(f"r.c{layout[kind]}", refs) for kind, refs in naming.items() if refs]
            where = " WHERE " + " OR ".join(
                f"{cell} IN (SELECT value FROM json_each(?))" for cell, _ in named
            )
            params = [json.dumps(list(refs)) for _, refs in named]
        return int(
            self._conn.execute(
                f"INSERT OR IGNORE INTO events ({self._EVENT}, import_row) "
                f"SELECT {self._EVENT}, import_row FROM ({self._events()}{where}) "
                "ORDER BY account_id, feature_id, import_row",
                params,
            ).rowcount
        )

    def takes_time(self, text: str) -> bool:
        """Whether the SQL reads this time (a file whose first time it does not read is read row by row)."""
        (taken,) = self._conn.execute(
            f"SELECT {normal_time_sql('?1', self.layout.date_order)} IS NOT NULL", [text]
        ).fetchone()
        return bool(taken)

    def flagged(self) -> Iterator[tuple[int, list[str]]]:
        """(row, cells) of the rows the SQL does not take, in file order, read a chunk at a time."""
        for row in self._chunked(f"NOT ({self._TAKEN})", "import_row"):
            yield int(row[0]) - self._place, list(row[1:])

    def repeated(self) -> Iterator[tuple[tuple[Any, ...], int, list[str]]]:
        """(event with its place, row, cells) of the rows the SQL takes whose event was staged by another row
        (earlier in the file, or in a file before), in file order."""
        identity = ("account_id", "feature_id", "occurred_at", "contact_id", "source_id")
        staged_as = " AND ".join(f"e.{column} = x.{column}" for column in identity)
        condition = (
            f"{self._TAKEN} AND NOT EXISTS (SELECT 1 FROM events AS e WHERE {staged_as} "
            "AND e.import_row = x.import_row)"
        )
        for row in self._chunked(condition, f"{self._EVENT}, import_row"):
            yield tuple(row[:7]), int(row[6]) - self._place, list(row[7:])

    def _chunked(self, condition: str, columns: str) -> Iterator[tuple[Any, ...]]:
        """The `columns` and cells of the rows that meet `condition`, in file order, 5,000 rows a query (the
        connection stages what the caller makes of them in between)."""
        cells = ", ".join(f"c{i}" for i in range(self.layout.width))
        select = (
            f"SELECT {columns}, {cells}, cell_row FROM ({self._events()}) AS x "
            f"WHERE cell_row > ? AND {condition} ORDER BY cell_row LIMIT 5000"
        )
        after = 0
        while rows := self._conn.execute(select, [after]).fetchall():
            after = rows[-1][-1]
            for row in rows:
                yield tuple(row[:-1])

    def close(self) -> None:
        """The staging's page cache as it was. The cells stay (a next file's stage drops them, and the file
        goes when the import ends): dropping a million rows' pages took 2% of the import."""
        self._conn.execute(f"PRAGMA cache_size = -{STAGING_CACHE_KIB}")
