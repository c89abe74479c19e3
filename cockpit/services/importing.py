"""`cockpit import`: files in, records validated, references resolved, one short transaction out.

An import lands whole or not at all, without holding the database's write lock while it reads: its rows are
read, checked and staged in a staging file of its own (`store/staging.py`), the database only read; then
every file of one invocation is applied in one write transaction, rolled back if any row is rejected
(unless `skip_invalid`), on a dry run, or on any error. Files are streamed in batches; what stays in memory
is one batch and the rejected rows.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import sqlite3
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cockpit.clock import Clock
from cockpit.config import ImportProfile, Settings
from cockpit.domain.parsing import DateColumn, DateOrder, DateOrderConflict, ReadAgain
from cockpit.domain.provenance import older_fields
from cockpit.domain.records import ALIAS_PREFIX, date_fields
from cockpit.errors import CockpitError
from cockpit.importer.bundle import MANIFEST, read_bundle
from cockpit.importer.kinds import KINDS, KeyedRow, Kind, Skipped, Unresolved, plain_reference
from cockpit.importer.mapping import ColumnMap, MappingError, build_mapping
from cockpit.importer.sources import Format, OtherWidth, Row, Source, open_source
from cockpit.scoring.common import cyclic_gc_paused
from cockpit.services.progress import Progress
from cockpit.store import Store
from cockpit.store.bulk import bulk_cache
from cockpit.store.db import recognise_sqlite_error
from cockpit.store.history import change_account, import_source, record_changes
from cockpit.store.imports import (
    References,
    finish_import_run,
    integrity_message,
    start_import_run,
    upsert_row,
)
from cockpit.store.provenance import modified_times, record_sources
from cockpit.store.staging import (
    CellStage,
    EventStage,
    KeyedStage,
    Staging,
    UsageCells,
    apply_events,
    staging_failed,
    staging_for,
)


@dataclass
class ImportOptions:
    kind: str
    format: Format | None = None
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    date_order: DateOrder | None = None
    """How dates with the year last are written; None: decided for each column from its values."""
    profile: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    """Value maps by field (`--values`), over the profile's."""
    constants: dict[str, str] = field(default_factory=dict)
    """Values every row gets by field (`--set`), over the profile's."""
    max_errors: int | None = None
    """Stop after this many errors (0: never), a missing record counting once; None: import.max_errors."""
    dry_run: bool = False
    skip_invalid: bool = False
    rejects: Path | None = None
    new_features_product: str | None = None
    """Add the features rows name that do not exist, under this product (added too if missing); None: a row
    naming a missing feature is refused."""


@dataclass(frozen=True)
class RowError:
    source: str
    row: int
    field: str | None
    problem: str
    value: Any = None
    rows: int = 1
    """Rows of the file with this same problem for this same value (a missing record), from `row` on."""

    def __str__(self) -> str:
        where = f"{self.source}:{self.row}: "
        what = f"{self.field}: {self.problem}" if self.field else self.problem
        shown = "" if self.value is None else f" ({_shorten(self.value)})"
        repeated = f", and {self.rows - 1:,} more row(s) like it" if self.rows > 1 else ""
        return where + what + shown + repeated


def _shorten(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class FileSummary:
    source: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    merged: int = 0
    """Event rows that repeat one given earlier in the import: identical to it, or summed into it."""
    skipped: int = 0
    """Valid rows that are not records of the kind (invoices not paid), by the `notes` say why."""
    kept_newer: int = 0
    """Account values left as they were because the stored one is newer (by the sources' modified times)."""
    ignored_columns: list[str] = field(default_factory=list)
    kept_columns: list[str] = field(default_factory=list)
    """Columns that mean no field, kept as the accounts' custom fields."""
    notes: list[str] = field(default_factory=list)
    """What the reader decided for want of a value that decides (a date column read month first)."""


@dataclass
class ImportResult:
    kind: str
    files: list[FileSummary]
    errors: list[RowError]
    committed: bool
    dry_run: bool
    stopped_early: bool
    missing: dict[str, list[str]] = field(default_factory=dict)
    """The records the rows name that do not exist, by kind (account, feature...), in the order first met."""
    added_features: list[str] = field(default_factory=list)
    """The features added because rows named them (`new_features_product`), in the order first met."""

    @property
    def totals(self) -> dict[str, int]:
        keys = ("rows", "inserted", "updated", "unchanged", "rejected", "merged")
        return {key: sum(getattr(summary, key) for summary in self.files) for key in keys}

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            **_landing(self),
            "totals": self.totals,
            "files": [vars(summary) for summary in self.files],
            "errors": [str(error) for error in self.errors],
            "missing": self.missing,
            "added_features": self.added_features,
        }


def _landing(result: ImportResult | BundleResult) -> dict[str, bool]:
    """Whether an import (or a bundle) landed, as its JSON summary says it."""
    return {"committed": result.committed, "dry_run": result.dry_run, "stopped_early": result.stopped_early}


class ImportFailed(CockpitError):
    title = "Import failed"


class _TooManyErrors(Exception):
    pass


class _Rollback(Exception):
    """Leaves the transaction without committing: a dry run, or rejected rows without skip_invalid."""


_CELLS_CHUNK = 100_000
"""Rows of a file staged as cells between two progress reports."""

_Pending = tuple[int, int, Row, "KeyedRow | tuple[Any, ...]"]
"""A row ready to write: (source index, row number, cells as read, converted row)."""


class _Run:
    """State of one import invocation: its rows staged first, then applied in one transaction."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        kind: Kind,
        options: ImportOptions,
        now: str,
        today: date,
        staging: Staging,
    ) -> None:
        self.store = store
        self.kind = kind
        self.options = options
        self.now = now
        self.today = today
        """The CSM's day, on which the account changes of this import are recorded."""
        self.staging = staging
        self.batch_size = settings.import_.batch_size
        self.subdomains = settings.import_.account_subdomains
        limit = settings.import_.max_errors if options.max_errors is None else options.max_errors
        self.max_errors = limit or None
        self.date_fields = date_fields(kind.record)
        self.currency = settings.general.currency
        self.profile = _profile(settings, kind, options.profile)
        self.errors: list[RowError] = []
        self.rejected_rows: list[tuple[list[RowError], dict[str, Any]]] = []
        self.summaries: list[FileSummary] = []
        self.missing: dict[str, dict[str, None]] = {}
        """Each kind of record found missing, with the references to it (an ordered set)."""
        self.reported: dict[tuple[str, str | None, str, str], int] = {}
        self.known_missing: dict[tuple[str, str], tuple[str, str]] = {}
        """(field, value as read) of each missing reference met, with the kind missing and the problem: a row
        naming it again is refused without its validation (a file naming a missing feature on every row)."""
        """Where in `errors` each missing reference of a file is reported, so that it is reported once."""
        self.staged: list[int] = []
        """Events staged, by the index of their file."""
        self.skipped: dict[str, int] = {}
        """Rows skipped in the file being read, by why."""
        self.named_accounts: dict[str, None] = {}
        """The accounts the written rows name, for a kind that settles something about them (ordered set)."""
        self.added_features: dict[str, None] = {}
        """The features rows named that do not exist, to add (`new_features_product`): an ordered set."""

    def reject(self, errors: list[RowError], raw: dict[str, Any], summary: FileSummary) -> None:
        """Reject one row, for one or more reasons."""
        self.errors.extend(errors)
        self.rejected_rows.append((errors, raw))
        summary.rejected += 1
        if self.max_errors is not None and len(self.errors) >= self.max_errors:
            raise _TooManyErrors

    def reject_missing(self, kind: str, error: RowError, raw: dict[str, Any], summary: FileSummary) -> None:
        """Reject a row naming a record that does not exist: reported once per file and reference, with the
        count of its rows, so that a missing catalogue is a short list and not one error per row."""
        self.missing.setdefault(kind, {})[str(error.value)] = None
        key = (error.source, error.field, error.problem, str(error.value))
        first = self.reported.get(key)
        if first is None:
            self.reported[key] = len(self.errors)
            self.reject([error], raw, summary)
            return
        self.errors[first] = replace(self.errors[first], rows=self.errors[first].rows + 1)
        self.rejected_rows.append(([error], raw))
        summary.rejected += 1

    def stage(self, sources: list[str], progress: Progress | None) -> None:
        """Read, check and stage every row; the database is only read."""
        db = self.store.db
        self.refs = References(db, staged=self.staging.conn, subdomains=self.subdomains)
        kind = self.kind
        self.keyed = None if kind.event_table else KeyedStage(self.staging)
        self.events = (
            EventStage(
                self.staging,
                db,
                kind.event_table,
                kind.event_identity,
                kind.event_values,
                summed=kind.event_summed,
            )
            if kind.event_table
            else None
        )
        self.done = 0
        for index, name in enumerate(sources):
            dates: dict[str, DateColumn] = {}
            self.staging.begin_source()
            errors, rejected = len(self.errors), len(self.rejected_rows)
            while True:
                self.summaries[index:] = [FileSummary(source=name)]
                self.staged[index:] = [0]
                try:
                    self._stage_source(index, name, dates, progress)
                    break
                except ReadAgain:
                    # A column's order was learnt late: what this file staged is undone, and it is read again.
                    if name == "-":
                        raise ImportFailed(
                            "-: a date column turned out to be day first after rows read month first, and "
                            "standard input cannot be read twice; nothing was written.",
                            hint="Pass --date-order dmy (or --dayfirst).",
                        ) from None
                    self.staging.undo_source()
                    self.skipped = {}
                    del self.errors[errors:], self.rejected_rows[rejected:]
                    self.reported = {key: at for key, at in self.reported.items() if at < errors}
                    for column in dates.values():
                        column.again()
                except DateOrderConflict as conflict:
                    raise ImportFailed(
                        f"{name}: {conflict}; nothing was written.",
                        hint="A column's dates are read in one order: fix the rows that differ, or split the file.",
                    ) from None
            self.staging.end_source()
            self.summaries[index].notes = [note for column in dates.values() if (note := column.note)]
            self.summaries[index].notes += [
                f"{count:,} rows skipped: {why}" for why, count in self.skipped.items()
            ]
            self.skipped = {}

    def _stage_source(
        self, index: int, name: str, dates: dict[str, DateColumn], progress: Progress | None
    ) -> None:
        summary = self.summaries[index]
        options = self.options
        source = open_source(
            name, format=options.format, encoding=options.encoding, delimiter=options.delimiter
        )
        layout = self._cell_layout(source)
        if layout is not None:
            if self._stage_cells(index, source, layout, dates, progress):
                return
            # A row SQL cannot stage as it is (another width, a broken line): the file is read row by row.
            self.staging.undo_source()
            self.summaries[index] = summary = FileSummary(source=name)
            self.staged[index] = 0
            source = open_source(
                name, format=options.format, encoding=options.encoding, delimiter=options.delimiter
            )
        for batch in self._batches(index, source, summary, dates):
            if self.events is not None:
                self._stage_events(batch, summary, source)
            else:
                self._stage_keyed(batch, summary, source)
            self.done += len(batch)
            if progress:
                progress(self.done, None)

    def apply(self) -> None:
        """Write the staged rows, inside the import's write transaction."""
        db = self.store.db
        self.import_id = start_import_run(
            db, self.kind.name, [s.source for s in self.summaries], now=self.now
        )
        if self.added_features:
            self._add_features()
        if self.events is not None:
            applied = apply_events(db, self.events, staged=sum(self.staged), import_id=self.import_id)
            for index, summary in enumerate(self.summaries):
                summary.updated, summary.unchanged = applied.known.get(index, (0, 0))
                summary.inserted = self.staged[index] - summary.updated - summary.unchanged
        else:
            assert self.keyed is not None
            for index, row_number, record, cells in self.keyed.rows():
                self._write_keyed(self.summaries[index], row_number, _decoded(record), json.loads(cells))
            for summary in self.summaries:
                if summary.kept_newer:
                    summary.notes.append(
                        f"{summary.kept_newer:,} value(s) older than the one stored (by the sources' modified "
                        "times) left as they were"
                    )
            if self.kind.settle is not None:
                self._settle(self.kind.settle)
        counts = {"files": [vars(summary) for summary in self.summaries]}
        finish_import_run(db, self.import_id, counts, now=self.now)

    def _settle(self, settle: Callable[[References, list[str], date], dict[str, dict[str, Any]]]) -> None:
        """Set on each account the rows named what the kind decides from all of its rows (its current
        subscription, its latest churn), recorded in its history as this import's."""
        db = self.store.db
        decided = settle(self.refs, list(self.named_accounts), self.today)
        changed = 0
        for account_id, values in decided.items():
            if values:
                before = change_account(
                    db, account_id, values, now=self.now, day=self.today, source=import_source(self.import_id)
                )
                changed += bool(before)
        if changed:
            what = ", ".join(sorted({column for values in decided.values() for column in values}))
            self.summaries[-1].notes.append(f"set the {what} of {changed:,} account(s)")

    def _mapping(self, source: Source) -> ColumnMap:
        profile = self.profile or ImportProfile(kind=self.kind.name, columns={})
        values = dict(profile.values)
        for name, table in self.options.values.items():
            values[name] = {**values.get(name, {}), **table}
        # A JSON Lines record's nested values named by a dotted path: those of --map, and those of the profile
        # for the fields --map does not give (a path in the profile may be missing from the file).
        overridden = set(self.options.overrides.values())
        paths = [
            name
            for name, target in (*profile.columns.items(), *self.options.overrides.items())
            if "." in name
            and name not in source.columns
            and source.format == "jsonl"
            and (name in self.options.overrides or target not in overridden)
        ]
        return build_mapping(
            self.kind,
            source.name,
            [*source.columns, *dict.fromkeys(paths)],
            profile=profile.columns,
            overrides=self.options.overrides,
            values=values,
            constants={**profile.constants, **self.options.constants},
        )

    def _projection(self, source: Source, mapping: ColumnMap) -> Callable[[Row], dict[str, Any]]:
        """Reads a row's mapped columns as fields (through the value maps and constants), and its kept
        columns into the kind's `kept` field."""
        project = mapping.reading(source.project(mapping.fields))
        if self.kind.kept is None or not mapping.kept:
            return project
        kept_field, keep = self.kind.kept, source.project(mapping.kept)

        def with_kept(cells: Row) -> dict[str, Any]:
            data = project(cells)
            kept = {key: _kept_text(value) for key, value in keep(cells).items()}
            kept = {key: value for key, value in kept.items() if value}
            if kept:
                data[kept_field] = kept
            return data

        return with_kept

    def _fast_path(
        self, source: Source, mapping: ColumnMap, dates: dict[str, DateColumn]
    ) -> Callable[[Row, int], tuple[Any, ...] | None] | None:
        """The kind's pydantic-free path for CSV rows already in normal form, where the options allow it."""
        if self.kind.fast_event is None or not self._fast_allowed(source, mapping):
            return None
        return self.kind.fast_event(self.refs, source.positions(mapping.fields), dates)

    def _fast_allowed(self, source: Source, mapping: ColumnMap) -> bool:
        """Whether rows can skip validation: CSV, read as written (no value maps, constants or inversions)."""
        return (
            self.kind.fast_event is not None
            and source.format == "csv"
            and not (mapping.negated or mapping.values or mapping.constants)
        )

    def _cell_layout(self, source: Source) -> UsageCells | None:
        """Where a file that the fast path reads (usage events in CSV, a file that can be read again) has its
        fields, for staging it as cells; None: it is staged row by row."""
        if self.kind.name != "usage" or source.name == "-" or source.format != "csv":
            return None
        try:
            mapping = self._mapping(source)
        except MappingError:
            return None  # said by the row-by-row path
        if not self._fast_allowed(source, mapping):
            return None
        at = source.positions(mapping.fields)
        if not {"account", "feature", "occurred_at"} <= at.keys():
            return None
        return UsageCells(
            width=len(source.columns),
            account=at["account"],
            feature=at["feature"],
            occurred_at=at["occurred_at"],
            contact=at.get("contact"),
            count=at.get("count"),
            source_id=at.get("source_id"),
            date_order=self.options.date_order,
        )

    def _stage_cells(
        self,
        index: int,
        source: Source,
        layout: UsageCells,
        dates: dict[str, DateColumn],
        progress: Progress | None,
    ) -> bool:
        """Stage a file of usage events as its cells, made events in SQL (`CellStage`); Python reads only the
        rows SQL leaves (a reference not met, a time in another form, a value to report), as the row-by-row
        path does. False, with the file's staging to undo, where a row cannot be staged as cells."""
        assert self.events is not None
        mapping = self._mapping(source)
        self._date_columns(mapping, dates)
        self._fast_path(source, mapping, dates)  # looks the book's records up at once
        cells = CellStage(self.staging, layout, place=index << 32)
        try:
            return self._staged_as_cells(index, source, cells, mapping, dates, progress)
        finally:
            cells.close()

    def _staged_as_cells(
        self,
        index: int,
        source: Source,
        cells: CellStage,
        mapping: ColumnMap,
        dates: dict[str, DateColumn],
        progress: Progress | None,
    ) -> bool:
        summary = self.summaries[index]
        first = source.first_cells
        if len(first) != cells.layout.width or not cells.takes_time(first[cells.layout.occurred_at]):
            source.close()
            return False  # row by row: a short row, or times in a form the SQL would leave in every row
        self._known_references(cells)
        first_line, records = source.csv_cells()

        def loaded(staged: int) -> None:
            if progress:
                progress(self.done + staged, None)

        try:
            cells.load(first_line, records, progress=loaded)
        except (OtherWidth, csv.Error, UnicodeError, EOFError, zlib.error, OSError):
            return False  # the row-by-row path reads the file again, and says what is wrong with it
        finally:
            source.close()
        staged = cells.counts["cells"]
        if source.line != first_line + staged - 1:  # a row of more than one line, or a blank line
            return False
        inserted = cells.insert()
        if inserted < staged and (resolved := self._resolve_unknown(cells)):
            inserted += cells.insert(naming=resolved)  # the rows naming records not met before
        self.staged[index] += inserted
        if inserted < staged:
            repeats: Iterator[_Pending] = (
                (index, row, cells_, event[:-1]) for event, row, cells_ in cells.repeated()
            )
            while repeated := list(itertools.islice(repeats, self.batch_size)):
                self._stage_events(repeated, summary, source)
            for batch in self._batches(index, source, summary, dates, rows=cells.flagged()):
                self._stage_events(batch, summary, source)
        summary.rows = staged  # the rows read by `_batches` were some of them
        self._columns_read(source, mapping, summary)
        self.done += staged
        if progress:
            progress(self.done, None)
        return True

    def _known_references(self, cells: CellStage) -> None:
        """Give the cell stage every reference resolved so far."""
        refs = self.refs
        owners = refs.contact_accounts()
        cells.references("account", ((ref, found, None) for ref, found in refs.cache("account").items()))
        cells.references("feature", ((ref, found, None) for ref, found in refs.cache("feature").items()))
        cells.references(
            "contact",
            (
                (ref, found, owners.get(found) or refs.account_of_contact(found))
                for ref, found in refs.cache("contact").items()
            ),
        )

    def _resolve_unknown(self, cells: CellStage) -> dict[str, list[str]]:
        """Look up the references the cells make that are not known yet, as the fast path does; those found,
        by kind (empty: none)."""
        refs = self.refs
        newly: dict[str, list[str]] = {}
        for kind, unknown in cells.unknown().items():
            resolved = [(ref, found) for ref in unknown if (found := plain_reference(refs, kind, ref))]
            cells.references(
                kind,
                [
                    (ref, found, refs.account_of_contact(found) if kind == "contact" else None)
                    for ref, found in resolved
                ],
            )
            if resolved:
                newly[kind] = [ref for ref, _found in resolved]
        return newly

    def _date_columns(self, mapping: ColumnMap, dates: dict[str, DateColumn]) -> None:
        """A reader for each date column the mapping reads that has none yet (JSON Lines bring columns late)."""
        for column, field_name in mapping.fields.items():
            if field_name in self.date_fields and field_name not in dates:
                dates[field_name] = DateColumn(column, self.options.date_order)

    def _batches(
        self,
        index: int,
        source: Source,
        summary: FileSummary,
        dates: dict[str, DateColumn],
        *,
        rows: Iterator[tuple[int, Row]] | None = None,
    ) -> Iterator[list[_Pending]]:
        """The file's rows (or the `rows` given, of it) validated and resolved, in batches."""
        try:
            mapping = self._mapping(source)
        except MappingError:
            source.close()
            raise
        self._date_columns(mapping, dates)
        known_columns = len(source.columns)
        project = self._projection(source, mapping)
        fast = self._fast_path(source, mapping, dates)
        model = self.kind.record
        batch: list[_Pending] = []
        jsonl, batch_size = source.format == "jsonl", self.batch_size
        for row, cells in source.rows() if rows is None else rows:
            if jsonl and len(source.columns) != known_columns:  # a record brought new keys
                mapping = self._mapping(source)
                self._date_columns(mapping, dates)
                project = self._projection(source, mapping)
                known_columns = len(source.columns)
            summary.rows += 1
            converted: KeyedRow | tuple[Any, ...] | None = fast(cells, row) if fast is not None else None
            if converted is None and self.known_missing:
                data = project(cells)
                repeat = next(
                    (
                        (name, value, *self.known_missing[name, value])
                        for name, value in data.items()
                        if isinstance(value, str) and (name, value) in self.known_missing
                    ),
                    None,
                )
                if repeat is not None:
                    name, value, kind, problem = repeat
                    error = RowError(source.name, row, mapping.column_of(name), problem, value)
                    self.reject_missing(kind, error, source.as_dict(cells), summary)
                    continue
            if converted is None:
                try:
                    context = {"dates": dates, "row": row, "currency": self.currency}
                    record = self._validate(model, project(cells), mapping, cells, source, context)
                    converted = self._convert(record)
                except ValidationError as invalid:
                    self.reject(
                        _row_errors(invalid, source.name, row, mapping), source.as_dict(cells), summary
                    )
                    continue
                except Skipped as skipped:
                    summary.skipped += 1
                    self.skipped[skipped.why] = self.skipped.get(skipped.why, 0) + 1
                    continue
                except Unresolved as missing:
                    column = mapping.column_of(missing.field)
                    error = RowError(source.name, row, column, missing.message, missing.value)
                    if missing.missing is None:
                        self.reject([error], source.as_dict(cells), summary)
                    else:
                        self.known_missing[missing.field, missing.value] = (missing.missing, missing.message)
                        self.reject_missing(missing.missing, error, source.as_dict(cells), summary)
                    continue
            batch.append((index, row, cells, converted))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        self._columns_read(source, mapping, summary)
        if batch:
            yield batch

    def _columns_read(self, source: Source, mapping: ColumnMap, summary: FileSummary) -> None:
        """Once a file is read: refuse a dotted path that matched nothing, and say which columns were not read."""
        _refuse_unmatched_paths(source, self.options.overrides)
        read_within = {name.partition(".")[0] for name in mapping.fields}
        summary.ignored_columns = [
            column
            for column in source.columns
            if column not in mapping.fields and column not in mapping.kept and column not in read_within
        ]
        summary.kept_columns = list(mapping.kept)

    def _validate(
        self,
        model: type[BaseModel],
        data: dict[str, Any],
        mapping: ColumnMap,
        cells: Row,
        source: Source,
        context: dict[str, Any],
    ) -> BaseModel:
        """Full validation; blank values count as not given, inverted yes/no columns are flipped first (a
        blank one stays not given)."""
        values = {
            field: value
            for field, value in data.items()
            if not (isinstance(value, str) and not value.strip())
        }
        aliases = {
            field.removeprefix(ALIAS_PREFIX): values.pop(field)
            for field in list(values)
            if field.startswith(ALIAS_PREFIX)
        }
        if aliases:  # `alias:SYSTEM` columns join an `aliases` column's pairs, if the file has one too
            given = values.get("aliases") or {}
            if isinstance(given, str):
                given = "; ".join([given, *(f"{system}:{alias}" for system, alias in aliases.items())])
            values["aliases"] = {**given, **aliases} if isinstance(given, dict) else given
        if mapping.negated:
            raw = source.as_dict(cells)
            for column in mapping.negated & raw.keys():
                if mapping.fields[column] in values:
                    values[mapping.fields[column]] = _inverted(raw[column])
        return model.model_validate(values, context=context)

    def _convert(self, record: Any) -> KeyedRow | tuple[Any, ...]:
        while True:
            try:
                if self.kind.to_event is not None:
                    return self.kind.to_event(record, self.refs)
                assert self.kind.to_row is not None
                return self.kind.to_row(record, self.refs)
            except Unresolved as missing:
                if not self._adds(missing):
                    raise

    def _adds(self, missing: Unresolved) -> bool:
        """Whether the import adds the missing feature a row names (from then on it resolves to its own id)."""
        if missing.missing != "feature" or self.options.new_features_product is None:
            return False
        if missing.value in self.added_features:
            return False
        self.added_features[missing.value] = None
        self.refs.cache("feature")[missing.value] = missing.value
        return True

    def _add_features(self) -> None:
        """The features rows named that did not exist, each named as the rows name it, under the product asked
        for (added, named as given, if it does not exist either)."""
        db = self.store.db
        given = self.options.new_features_product
        assert given is not None
        product = self.refs.find("product", given)
        if product is None:
            product = given
            upsert_row(db, "products", {"id": product}, {"name": given}, now=self.now)
        for feature in self.added_features:
            upsert_row(
                db, "features", {"id": feature}, {"product_id": product, "name": feature}, now=self.now
            )

    def _stage_events(self, batch: list[_Pending], summary: FileSummary, source: Source) -> None:
        assert self.events is not None
        # Each event with its place: the file's index and its row, the provenance the store keeps.
        place = batch[0][0] << 32
        staged = self.events.write([(*converted, place | row) for _, row, _, converted in batch])  # type: ignore[misc]
        self.staged[batch[0][0]] += len(batch) - len(staged.refused) - staged.merged
        summary.merged += staged.merged
        for position, why in staged.refused.items():
            _index, row, cells, _converted = batch[position]
            problem = (
                f"duplicate: the same {self.kind.noun} is given earlier in this import with other values"
                if why == "duplicate"
                else why
            )
            self.reject([RowError(summary.source, row, None, problem)], source.as_dict(cells), summary)

    def _stage_keyed(self, batch: list[_Pending], summary: FileSummary, source: Source) -> None:
        assert self.keyed is not None
        repeats = self.keyed.write(
            [
                (
                    _key_hash(row),
                    index,
                    row_number,
                    _encoded(row),
                    json.dumps(source.as_dict(cells), default=str),
                )
                for index, row_number, cells, row in batch
            ]
        )
        for position, (first_source, first_row) in repeats.items():
            index, row_number, cells, _row = batch[position]
            where = (
                f"row {first_row}"
                if first_source == index
                else f"{self.summaries[first_source].source}:{first_row}"
            )
            problem = RowError(
                summary.source, row_number, None, f"duplicate: the same {self.kind.noun} as {where}"
            )
            self.reject([problem], source.as_dict(cells), summary)

    def _write_keyed(
        self, summary: FileSummary, row_number: int, row: KeyedRow, cells: dict[str, Any]
    ) -> None:
        db = self.store.db
        try:
            with db.atomic():
                values = row.values
                if row.table == "accounts":
                    older = older_fields(row.modified_at, modified_times(db, row.key["id"], values))
                    values = {name: value for name, value in values.items() if name not in older}
                    summary.kept_newer += len(older)
                outcome, changed = upsert_row(
                    db, row.table, row.key, values, now=self.now, defaults=row.defaults, merged=row.merged
                )
                if row.table == "accounts":
                    made_by = import_source(self.import_id)
                    record_changes(db, row.key["id"], changed, day=self.today, source=made_by)
                    record_sources(
                        db,
                        row.key["id"],
                        values,
                        system=row.system,
                        written_by=made_by,
                        file=summary.source,
                        modified_at=row.modified_at,
                        now=self.now,
                    )
                for extra in row.also:
                    upsert_row(db, extra.table, extra.key, extra.values, now=self.now)
                if self.kind.settle is not None:
                    self.named_accounts[row.values["account_id"]] = None
        except sqlite3.IntegrityError as error:
            self.reject(
                [RowError(summary.source, row_number, None, integrity_message(error))], cells, summary
            )
            return
        setattr(summary, outcome, getattr(summary, outcome) + 1)


def _refuse_unmatched_paths(source: Source, overrides: dict[str, str]) -> None:
    """A dotted `--map` (`context.groupId=account`) that no record of the file has is an error, not ignored."""
    for name, target in overrides.items():
        if (
            "." in name
            and target not in ("", "-")
            and name not in source.columns
            and name not in source.found_paths
        ):
            where = (
                "a dotted path reads JSON Lines, and the CSV has no column of that name"
                if source.format == "csv"
                else "no record of the file has it"
            )
            shown = ", ".join(repr(column) for column in source.columns[:12])
            raise MappingError(
                f"{source.name}: --map {name!r} matches nothing: {where}.",
                hint=f"A dotted path names a key inside an object (properties.time reads "
                f'{{"properties": {{"time": ...}}}}). The file\'s columns: {shown}.',
            )


def _encoded(row: Any) -> str:
    """A keyed row as the staging file keeps it (its values are those of a validated record: JSON's own)."""
    assert isinstance(row, KeyedRow)
    also = [_encoded(extra) for extra in row.also]
    return json.dumps(
        [row.table, row.key, row.values, also, row.defaults, row.merged, row.modified_at, row.system]
    )


def _decoded(text: str) -> KeyedRow:
    table, key, values, also, defaults, merged, modified_at, system = json.loads(text)
    return KeyedRow(
        table, key, values, tuple(_decoded(extra) for extra in also), defaults, merged, modified_at, system
    )


def _key_hash(row: Any) -> int:
    """A 64-bit hash of a keyed row's key, for spotting a record given twice in one import."""
    assert isinstance(row, KeyedRow)
    return hash((row.table, *row.key.values()))


def _kept_text(value: Any) -> str:
    """A kept column's value as text: JSON Lines bring numbers, flags and objects too."""
    return value.strip() if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _inverted(value: Any) -> Any:
    from cockpit.domain.parsing import parse_bool

    try:
        return not parse_bool(value)
    except ValueError:
        return value  # left for validation to report


def _row_errors(invalid: ValidationError, source: str, row: int, mapping: ColumnMap) -> list[RowError]:
    found = []
    for error in invalid.errors(include_url=False):
        loc = error["loc"]
        field_name = str(loc[0]) if loc else None
        column = mapping.column_of(field_name) if field_name else None
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        value = error.get("input") if field_name and error["type"] != "missing" else None
        if error["type"] == "missing":
            message = "required, but missing or empty"
        elif error["type"] == "literal_error" and field_name:
            message += f"; map it with --values '{field_name}:{value}=VALUE'"
        found.append(RowError(source, row, column, message, value))
    return found


def _profile(settings: Settings, kind: Kind, name: str | None) -> ImportProfile | None:
    if name is None:
        return None
    profiles = settings.import_.profiles
    if name not in profiles:
        raise MappingError(
            f"no mapping profile named {name!r}.",
            hint=f"Profiles: {', '.join(sorted(profiles))}; add your own under [import.profiles] in your config.",
        )
    profile = profiles[name]
    if profile.kind != kind.name:
        raise MappingError(f"profile {name!r} is for {profile.kind}, not {kind.name}.")
    return profile


def run_import(
    store: Store,
    settings: Settings,
    sources: list[str],
    options: ImportOptions,
    *,
    clock: Clock,
    progress: Progress | None = None,
) -> ImportResult:
    if options.kind not in KINDS:
        raise ImportFailed(f"unknown kind {options.kind!r}.", hint=f"Kinds: {', '.join(KINDS)}.")
    if not sources:
        raise ImportFailed("no file to import.", hint="Name one or more files, or - for standard input.")
    if sources.count("-") > 1:
        raise ImportFailed("standard input (-) can be read only once.")
    stamp = clock().astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()
    outcome = _Outcome()
    # A file's rows are lists and tuples by the million, none in a cycle: the collector walking them again
    # and again was a sixth of importing 1M usage events.
    with cyclic_gc_paused(), staging_for(store.path) as staging:
        work = _Run(store, settings, KINDS[options.kind], options, stamp, clock.today(), staging)
        with outcome.deciding():
            _stage(work, sources, progress)
            # Event kinds resolved every reference themselves (with row-precise errors) as they were staged,
            # so SQLite's own per-row foreign-key check would only double the cost of the insert.
            # A bulk page cache: the table's key index, filled in key order, stays in memory while it grows.
            with (
                staging.applying(store.db),
                store.write(foreign_keys=not work.kind.event_table) as db,
                bulk_cache(db.conn),
            ):
                work.apply()
                outcome.keep(not options.dry_run and not (work.errors and not options.skip_invalid))
    if options.rejects is not None:
        write_rejects(options.rejects, work.rejected_rows)
    return _result(work, outcome)


def _stage(work: _Run, sources: list[str], progress: Progress | None) -> None:
    """Stage the files of one kind, and end the staging."""
    try:
        work.stage(sources, progress)
        work.staging.commit()
    except sqlite3.Error as error:
        # The disk full, a read-only or damaged file are said as such; anything else failed the staging.
        path = work.store.path
        raise (recognise_sqlite_error(error, path) or staging_failed(path, error)) from None


@dataclass
class _Outcome:
    """How an import's write transaction ended: committed, left (a dry run, rejected rows), or stopped early."""

    committed: bool = False
    stopped_early: bool = False

    @contextmanager
    def deciding(self) -> Iterator[None]:
        """Around the import: too many errors stop it, and `keep(False)` leaves its transaction."""
        try:
            yield
        except _TooManyErrors:
            self.stopped_early = True
        except _Rollback:
            pass

    def keep(self, keep: bool) -> None:
        """At the end of the write transaction: commit it, or leave it without committing."""
        if not keep:
            raise _Rollback
        self.committed = True


def _result(work: _Run, outcome: _Outcome) -> ImportResult:
    return ImportResult(
        kind=work.kind.name,
        files=work.summaries,
        errors=work.errors,
        committed=outcome.committed,
        dry_run=work.options.dry_run,
        stopped_early=outcome.stopped_early,
        missing={kind: list(references) for kind, references in work.missing.items()},
        added_features=list(work.added_features),
    )


@dataclass
class BundleResult:
    folder: str
    imports: list[ImportResult]
    """One per kind (and profile) the folder holds, in the order they landed; up to where it stopped."""
    unrecognised: list[str]
    """The folder's files whose kind was not recognised: not read."""
    committed: bool
    dry_run: bool
    stopped_early: bool

    @property
    def errors(self) -> list[RowError]:
        return [error for result in self.imports for error in result.errors]

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            **_landing(self),
            "imports": [result.to_json() for result in self.imports],
            "unrecognised": self.unrecognised,
        }


def run_bundle(
    store: Store,
    settings: Settings,
    folder: Path,
    options: ImportOptions,
    *,
    clock: Clock,
    progress: Progress | None = None,
) -> BundleResult:
    """Import every file of an export folder whose kind is recognised (`importer/bundle.py`), kind after kind
    in dependency order, all in one write transaction: any rejected row, any error, and nothing is written.

    Unlike a single import, a bundle stages each kind inside the write transaction, once the kinds before it
    are written (its rows name theirs), so it holds the database's write lock while it reads its files."""
    if options.skip_invalid or options.rejects is not None:
        raise ImportFailed(
            "a bundle lands whole or not at all: --skip-invalid and --rejects are for single imports."
        )
    profiles = {name: profile.kind for name, profile in settings.import_.profiles.items()}
    bundle = read_bundle(folder, profiles)
    if not bundle.files:
        raise ImportFailed(
            f"{folder}: no file whose kind is recognised; nothing was written.",
            hint=f"Name each file after its kind (accounts.csv, usage.jsonl...), or list them in {MANIFEST}.",
        )
    groups: dict[tuple[str, str | None, str], list[str]] = {}
    for file in bundle.files:
        key = (file.kind, file.profile, json.dumps(file.overrides, sort_keys=True))
        groups.setdefault(key, []).append(str(file.path))
    stamp = clock().astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()
    runs: list[_Run] = []
    outcome = _Outcome()
    with ExitStack() as stack:
        stack.enter_context(cyclic_gc_paused())
        stagings = [stack.enter_context(staging_for(store.path)) for _ in groups]
        with outcome.deciding(), store.write() as db, bulk_cache(db.conn):
            for ((kind, profile, overrides), sources), staging in zip(groups.items(), stagings, strict=True):
                chosen = replace(options, kind=kind, profile=profile, overrides=json.loads(overrides))
                work = _Run(store, settings, KINDS[kind], chosen, stamp, clock.today(), staging)
                runs.append(work)
                _stage(work, sources, progress)
                with staging.copied(db) if work.events is not None else nullcontext():
                    work.apply()
            outcome.keep(not options.dry_run and not any(work.errors for work in runs))
    return BundleResult(
        folder=str(folder),
        imports=[_result(work, outcome) for work in runs],
        unrecognised=[str(path) for path in bundle.unrecognised],
        committed=outcome.committed,
        dry_run=options.dry_run,
        stopped_early=outcome.stopped_early,
    )


def write_rejects(path: Path, rejected: list[tuple[list[RowError], dict[str, Any]]]) -> None:
    """The rejected rows with their reasons: JSON Lines for a .jsonl path, else CSV with the file's columns
    plus `error`, `source` and `row`, so that the rows can be fixed and imported again."""
    temporary = path.with_name(f".{path.name}.writing")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            if path.suffix.lower() in (".jsonl", ".ndjson"):
                for errors, raw in rejected:
                    record = {**raw, **_reject_columns(errors)}
                    handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            else:
                columns: dict[str, None] = {}
                for _errors, raw in rejected:
                    columns.update(dict.fromkeys(raw))
                writer = csv.DictWriter(handle, fieldnames=["error", "source", "row", *columns])
                writer.writeheader()
                for errors, raw in rejected:
                    writer.writerow({**raw, **_reject_columns(errors)})
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ImportFailed(f"{path}: cannot write the rejected rows ({error.strerror}).") from None


def _reject_columns(errors: list[RowError]) -> dict[str, Any]:
    first = errors[0]
    reasons = "; ".join(str(error).split(": ", 1)[1] for error in errors)
    return {"error": reasons, "source": first.source, "row": first.row}
