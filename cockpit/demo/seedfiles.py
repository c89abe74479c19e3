"""The demo book shipped in `seeds/`: written once by the generator, loaded with its dates moved to today.

One file per table, named after it: CSV for flat tables (header = the columns, UTF-8, '' for NULL), JSONL for
the tables that carry JSON objects (`signals`, `outreach`: the objects stay nested). `manifest.json` records
the anchor (the data's "today"), the seed and the row counts. Loading shifts every date and timestamp by
`today - anchor` days, so a renewal "in 30 days" is still in 30 days whenever the demo is opened.

`python -m cockpit.demo.seeds [DIRECTORY]` regenerates the files (see `cockpit/demo/seeds.py`).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from datetime import date, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, Final, TextIO

from cockpit.demo.generator import (
    JSON_COLUMNS,
    TABLE_COLUMNS,
    Row,
    Value,
    dump_json,
    ensure_empty,
    generate_book,
    insert_batch,
)
from cockpit.domain.dates import add_years
from cockpit.errors import CockpitError
from cockpit.store import Store
from cockpit.store.bulk import table_columns

SEED_ANCHOR: Final = date(2026, 11, 22)
SEED_ACCOUNTS: Final = 230
SEED: Final = 7
MANIFEST: Final = "manifest.json"
JSONL_TABLES: Final = frozenset({"signals", "outreach"})

# The schema names every date and timestamp column *_at, *_on, *_date or *_until; a birthday is an
# anniversary, moved within the year so that "born today" stays true (see shift_anniversary).
_DATE_SUFFIXES: Final = ("_at", "_on", "_date", "_until")
_ANNIVERSARY_COLUMNS: Final = frozenset({"birthday"})

_README: Final = """\
# Demo book

The demo book that `cockpit demo` loads: {accounts} accounts with their contacts, product usage, signals,
tickets, surveys, purchases, logged interactions and a few outreach drafts, with every story of the
design (a high-value account looking up how to cancel, a support burst, a silent account, unopened email,
a feature stalled in onboarding, a cross-sell candidate, lovers among lurkers, renewals, a birthday) among
steady accounts and a minority in trouble. It holds two years of churn, renewals, tickets, surveys, emails,
logged interactions and usage (the accounts that left are in it): usage day by day and user by user over
the last half year, as weekly totals before.

These files are generated: do not edit them. `python -m cockpit.demo.seeds` regenerates them from
`cockpit/demo/generator.py` (seed {seed}), and a test fails if they drift from what it produces.

- One file per table, named after it. CSV (header = column names, UTF-8, 0/1 for booleans, empty = NULL
  except in NOT NULL columns such as `usage_events.contact_id`, where it is the empty string) for flat
  tables; JSONL for `signals` and `outreach`, whose `payload` and `reason` are nested JSON objects.
- `manifest.json`: the anchor date (the data's "today", {anchor}), the seed, and the row count per table.
- Dates are shifted on load: every date and timestamp moves by (today - anchor) days, so the book always
  looks current.
"""


def _file_name(table: str) -> str:
    return f"{table}.jsonl" if table in JSONL_TABLES else f"{table}.csv"


def write_seeds(
    directory: Path, *, accounts: int = SEED_ACCOUNTS, seed: int = SEED, anchor: date = SEED_ANCHOR
) -> dict[str, int]:
    """Write a generated book as seed files (with manifest and README) into `directory`; returns counts."""
    directory.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(TABLE_COLUMNS, 0)
    with ExitStack() as stack:
        writers: dict[str, Callable[[Row], None]] = {}
        for table, columns in TABLE_COLUMNS.items():
            handle = stack.enter_context(
                (directory / _file_name(table)).open("w", encoding="utf-8", newline="")
            )
            writers[table] = (
                _jsonl_writer(handle, columns) if table in JSONL_TABLES else _csv_writer(handle, columns)
            )
        for table, row in generate_book(accounts=accounts, seed=seed, anchor=anchor):
            writers[table](row)
            counts[table] += 1
    manifest = {
        "anchor": anchor.isoformat(),
        "seed": seed,
        "accounts": accounts,
        "counts": counts,
        "generator": "cockpit.demo.generator",
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    readme = _README.format(accounts=accounts, seed=seed, anchor=anchor.isoformat())
    (directory / "README.md").write_text(readme, encoding="utf-8")
    return counts


def _csv_writer(handle: TextIO, columns: tuple[str, ...]) -> Callable[[Row], None]:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(columns)
    values = itemgetter(*columns)
    return lambda row: writer.writerow(values(row))  # csv writes None as ''


def _jsonl_writer(handle: TextIO, columns: tuple[str, ...]) -> Callable[[Row], None]:
    def write(row: Row) -> None:
        record = {c: json.loads(str(row[c])) if c in JSON_COLUMNS else row[c] for c in columns}
        handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")

    return write


# --- Loading -----------------------------------------------------------------------------------------------


def load_seeds(store: Store, directory: Path, *, today: date) -> dict[str, int]:
    """Load seed files into an empty store in one transaction, every date moved by (today - anchor) days.

    Returns the rows per table; refuses a non-empty store and files that do not match the manifest.
    """
    manifest = _read_manifest(directory)
    anchor = date.fromisoformat(manifest["anchor"])
    days = (today - anchor).days
    counts = dict.fromkeys(TABLE_COLUMNS, 0)
    with store.write() as db:
        ensure_empty(store)
        for table, columns in TABLE_COLUMNS.items():
            schema = table_columns(db, table)
            convert = [
                _converter(column, schema[column][1], schema[column][0], days, anchor) for column in columns
            ]
            path = directory / _file_name(table)
            records = _read_jsonl(path, columns) if table in JSONL_TABLES else _read_csv(path, columns)
            try:
                rows = [tuple(f(v) for f, v in zip(convert, record, strict=True)) for record in records]
                insert_batch(db.conn, {table: rows}, counts)
            except (ValueError, sqlite3.Error) as error:  # a hand-edited or damaged file
                raise CockpitError(
                    f"{path}: cannot load it ({error}).",
                    hint="Regenerate it with `python -m cockpit.demo.seeds`.",
                ) from None
        expected = manifest["counts"]
        if counts != expected:
            wrong = ", ".join(
                f"{t} {n} (manifest: {expected.get(t)})" for t, n in counts.items() if n != expected.get(t)
            )
            raise CockpitError(
                f"{directory}: the seed files do not match their manifest: {wrong}.",
                hint="Regenerate them with `python -m cockpit.demo.seeds`.",
            )
    return counts


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CockpitError(
            f"{path}: no seed manifest here.", hint="Point at a folder written by write_seeds."
        ) from None
    return manifest


def _read_csv(path: Path, columns: tuple[str, ...]) -> Iterator[Sequence[object]]:
    with _open(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        _check_columns(path, header, columns)
        yield from reader


def _read_jsonl(path: Path, columns: tuple[str, ...]) -> Iterator[Sequence[object]]:
    with _open(path) as handle:
        for line in handle:
            record = json.loads(line)
            _check_columns(path, list(record), columns)
            yield list(record.values())


def _open(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8", newline="")
    except FileNotFoundError:
        raise CockpitError(
            f"{path}: seed file missing.", hint="Regenerate with `python -m cockpit.demo.seeds`."
        ) from None


def _check_columns(path: Path, found: list[str], columns: tuple[str, ...]) -> None:
    if tuple(found) != columns:
        raise CockpitError(
            f"{path}: columns {', '.join(found)} do not match the schema's {', '.join(columns)}.",
            hint="Regenerate the seeds with `python -m cockpit.demo.seeds`.",
        )


def _converter(
    column: str, nullable: bool, declared: str, days: int, anchor: date
) -> Callable[[object], Value]:
    """How a value read from a seed file becomes the stored one: '' is NULL where NULL is allowed, numbers
    get their column's type, JSON objects become text, and dates move by `days`."""

    def stored(value: object) -> Value:
        if value is None or (value == "" and nullable):
            return None
        if isinstance(value, dict):
            return dump_json(value)
        if declared == "INTEGER":
            return int(str(value))
        if declared == "REAL":
            return float(str(value))
        return str(value)

    if column in _ANNIVERSARY_COLUMNS:
        return lambda value: (
            None if (text := stored(value)) is None else shift_anniversary(str(text), days, anchor)
        )
    if column.endswith(_DATE_SUFFIXES):
        shifted: dict[str, str] = {}

        def moved(value: object) -> Value:
            text = stored(value)
            if text is None:
                return None
            text = str(text)
            day = shifted.get(text[:10])
            if day is None:
                day = shifted[text[:10]] = shift_date(text[:10], days)
            return day + text[10:]

        return moved
    return stored


def shift_date(text: str, days: int) -> str:
    """An ISO date, or a timestamp that starts with one, moved by `days`; the time and zone are kept."""
    return (date.fromisoformat(text[:10]) + timedelta(days=days)).isoformat() + text[10:]


def shift_anniversary(text: str, days: int, anchor: date) -> str:
    """A birthday moved so that it falls `days` after the anchor exactly when it fell on the anchor's day
    before: the shift is taken in the anchor's year, so leap days between the birth year and today cannot
    move a birthday off today. The birth year moves only when the shift crosses a new year."""
    if days == 0:
        return text  # a 29 February stays put when nothing moves
    born = date.fromisoformat(text)
    moved = add_years(born, anchor.year - born.year) + timedelta(days=days)
    return add_years(moved, born.year - anchor.year).isoformat()
