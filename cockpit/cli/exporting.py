"""`cockpit export KIND`: a table out as CSV (safe to open in a spreadsheet) or JSON Lines."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from cockpit.cli.common import ConfigOption, DbOption, note_events_elsewhere, user_store
from cockpit.store.export import EXPORT_TABLES, RUN_TABLES, table_rows

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def spreadsheet_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (`=cmd|...`, `+`, `-`, `@`) gets a leading quote, as
    OWASP advises against CSV injection; numbers and other text are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_rows(handle: IO[str], columns: list[str], rows: Any, fmt: ExportFormat) -> int:
    count = 0
    if fmt is ExportFormat.csv:
        writer = csv.writer(handle, lineterminator="\n")
        # The csv module quotes a field for the characters of the line terminator only: a bare carriage return
        # would end the row for a reader, so a row that holds one is written with every field quoted.
        quoting = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(columns)
        for row in rows:
            cells = ["" if value is None else spreadsheet_safe(value) for value in row]
            (quoting if any(isinstance(cell, str) and "\r" in cell for cell in cells) else writer).writerow(
                cells
            )
            count += 1
    else:
        for row in rows:
            handle.write(json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False) + "\n")
            count += 1
    return count


def export_command(
    ctx: typer.Context,
    kind: Annotated[
        str, typer.Argument(help=f"What to export: {', '.join(EXPORT_TABLES)}.", show_default=False)
    ],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="csv (spreadsheet-safe) or jsonl (exact).")
    ] = ExportFormat.csv,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write here instead of stdout.")
    ] = None,
    latest: Annotated[
        bool,
        typer.Option("--latest", help="Scores: only the latest score run's (the book's current scores)."),
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Export a table. CSV cells that a spreadsheet would run as formulas are quoted; JSON Lines is exact."""
    if kind not in EXPORT_TABLES:
        raise typer.BadParameter(f"{kind!r} is not one of {', '.join(EXPORT_TABLES)}", param_hint="KIND")
    if latest and EXPORT_TABLES[kind] not in RUN_TABLES:
        runs = ", ".join(name for name, table in EXPORT_TABLES.items() if table in RUN_TABLES)
        raise typer.BadParameter(f"only {runs} come in runs, not {kind}", param_hint="--latest")
    with user_store(ctx, db, config) as (store, settings):
        columns, rows = table_rows(store.db, EXPORT_TABLES[kind], latest_run=latest)
        if output is None:
            count = write_rows(sys.stdout, columns, rows, fmt)
        else:
            # Written beside the target and renamed at the end: the file appears whole or not at all.
            temporary = output.with_name(f".{output.name}.writing")
            try:
                with temporary.open("w", encoding="utf-8", newline="") as handle:
                    count = write_rows(handle, columns, rows, fmt)
                temporary.replace(output)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
    typer.echo(f"Exported {count:,} {kind}", err=True)
    note_events_elsewhere(settings, kind)
