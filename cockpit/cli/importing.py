"""`cockpit import KIND FILE...`: the shell around `cockpit.services.importing.run_import`."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cockpit.cli.common import (
    ConfigOption,
    DbOption,
    note_events_elsewhere,
    open_user_store,
    progress_bar,
    settings_for,
)
from cockpit.clock import system_clock
from cockpit.domain.display import visible
from cockpit.importer.kind_names import KIND_SUMMARIES, KindName

if TYPE_CHECKING:
    from cockpit.services.importing import BundleResult, ImportResult

_KIND_HELP = "What the files hold: " + "; ".join(
    f"[b]{name}[/b] ({summary})" for name, summary in KIND_SUMMARIES.items()
)


class FileFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


class DateOrderChoice(StrEnum):
    mdy = "mdy"
    dmy = "dmy"


_DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


_NEW_FEATURES_PRODUCT = "uncatalogued"
"""The product `--create-missing features` adds features under when it names none."""


def _new_features_product(option: str | None) -> str | None:
    """`--create-missing features[:PRODUCT]`: the product new features go under (None: the option not given)."""
    if option is None:
        return None
    kind, _, product = option.partition(":")
    if kind.strip() != "features":
        raise typer.BadParameter(
            f"{option!r}: only features can be created (features or features:PRODUCT)",
            param_hint="--create-missing",
        )
    return product.strip() or _NEW_FEATURES_PRODUCT


def import_command(
    ctx: typer.Context,
    kind: Annotated[KindName, typer.Argument(help=_KIND_HELP, show_default=False)],
    files: Annotated[
        list[str],
        typer.Argument(help="CSV or JSON Lines files, plain or .gz; - reads stdin. For bundle: the folder."),
    ],
    format_: Annotated[
        FileFormat | None, typer.Option("--format", help="Force the format (default: detect).")
    ] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of the files.")] = "utf-8-sig",
    delimiter: Annotated[
        str, typer.Option(help="CSV delimiter: a character, or tab / semicolon / pipe.")
    ] = ",",
    dayfirst: Annotated[
        bool, typer.Option("--dayfirst", help="Read 01/02/2026 as 1 February (--date-order dmy).")
    ] = False,
    date_order: Annotated[
        DateOrderChoice | None,
        typer.Option(
            "--date-order",
            help="How dates with the year last are written: mdy or dmy. Default: decided for each column "
            "from its values (month first where every value reads either way).",
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help=r"A column-mapping profile (see \[import.profiles]).")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=FIELD: read COLUMN as FIELD (COLUMN= ignores it). Repeatable."),
    ] = None,
    values: Annotated[
        list[str] | None,
        typer.Option(
            "--values",
            help="FIELD:VALUE=NEW,VALUE=NEW: read the file's own values as the field's (NEW empty: not "
            "given), e.g. status:new=open,hold=pending. Repeatable.",
        ),
    ] = None,
    constants: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="FIELD=VALUE: give every row this value for a field the file lacks. Repeatable."
        ),
    ] = None,
    create_missing: Annotated[
        str | None,
        typer.Option(
            "--create-missing",
            metavar="features[:PRODUCT]",
            help="features: add the features the rows name that do not exist, under PRODUCT (default "
            f"{_NEW_FEATURES_PRODUCT!r}; added if missing).",
        ),
    ] = None,
    max_errors: Annotated[
        int | None,
        typer.Option(
            min=0, help="Stop after this many errors (0: no limit; a missing record is one). Default: config."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything, write nothing.")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Land the good rows even if some are rejected.")
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="Write rejected rows with their reasons here (CSV, or JSON Lines for .jsonl).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import records from CSV or JSON Lines exports. All files land in one transaction, or none do.

    Re-importing a file changes nothing; a changed row updates its record. Exit code 0 only if every row
    was accepted. `cockpit import bundle DIR` imports every file of an export folder whose kind its name
    says (accounts.csv, hubspot-companies.csv, ravenstack_feature_usage.csv...), kind after kind.
    """
    from cockpit.importer.mapping import parse_constants, parse_overrides, parse_values
    from cockpit.services.importing import ImportOptions, run_bundle, run_import

    settings = settings_for(ctx, config)
    options = ImportOptions(
        kind=kind.value,
        format=format_.value if format_ else None,
        encoding=encoding,
        delimiter=_DELIMITERS.get(delimiter.lower(), delimiter),
        date_order="dmy" if dayfirst else (date_order.value if date_order else None),
        profile=profile,
        overrides=parse_overrides(mapping or []),
        values=parse_values(values or []),
        constants=parse_constants(constants or []),
        max_errors=max_errors,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        rejects=rejects,
        new_features_product=_new_features_product(create_missing),
    )
    if dayfirst and date_order == DateOrderChoice.mdy:
        raise typer.BadParameter("--dayfirst means --date-order dmy", param_hint="--date-order")
    if len(options.delimiter) != 1:
        raise typer.BadParameter(f"{delimiter!r} is not one character", param_hint="--delimiter")
    if kind == KindName.bundle and (
        len(files) != 1 or mapping or profile or values or constants or create_missing
    ):
        raise typer.BadParameter(
            "bundle takes one folder, and no --map, --profile, --values, --set or --create-missing (name a "
            "profile and columns per file in cockpit-bundle.toml; a profile carries value maps and constants)",
            param_hint="FILES",
        )
    store = open_user_store(ctx, db, settings, fills=True)
    try:
        with progress_bar(f"importing {kind.value}", "rows", as_json=as_json) as progress:
            if kind == KindName.bundle:
                bundle = run_bundle(
                    store, settings, Path(files[0]), options, clock=system_clock(), progress=progress
                )
            else:
                result = run_import(store, settings, files, options, clock=system_clock(), progress=progress)
    finally:
        store.close()
    if kind == KindName.bundle:
        _report_bundle(bundle, as_json=as_json)
        for imported in dict.fromkeys(result.kind for result in bundle.imports):
            note_events_elsewhere(settings, imported)
        if bundle.errors or not (bundle.committed or bundle.dry_run):
            raise typer.Exit(1)
        return
    _report(result, as_json=as_json)
    note_events_elsewhere(settings, kind.value)
    if result.errors or not (result.committed or result.dry_run):
        raise typer.Exit(1)


_MISSING_SHOWN = 10
"""Missing references named in the summary line; the rest are counted."""


def _listed(names: list[str]) -> str:
    """The first names, and how many more."""
    rest = len(names) - _MISSING_SHOWN
    return ", ".join(names[:_MISSING_SHOWN]) + (f" and {rest:,} more" if rest > 0 else "")


def _missing_line(kind: str, references: list[str]) -> str:
    """One line for every row naming a record that does not exist: which ones, and how to add them."""
    first = f"cockpit import {kind}s FILE"
    if kind == "feature":
        first += " (after their products: cockpit import products FILE)"
    line = (
        f"No such {kind} for {len(references):,} reference(s): {_listed(references)}. "
        f"Import them first ({first}), then this file again"
    )
    if kind == "feature":
        return line + "; or add them with this import: --create-missing features[:PRODUCT]."
    return line + "."


def _report_bundle(bundle: BundleResult, *, as_json: bool) -> None:
    """Each kind's files with their counts, as a single import reports them, then what was not recognised
    and whether the bundle landed."""
    for result in bundle.imports:
        typer.secho(f"{result.kind}:", err=True, bold=True)
        _report_files(result)
    for path in bundle.unrecognised:
        typer.secho(f"{path}: not imported: no kind recognised by its name", err=True, fg="yellow")
    errors = len(bundle.errors)
    if bundle.stopped_early:
        typer.secho(f"Stopped after {errors:,} errors; nothing was written.", err=True, fg="red")
    elif bundle.dry_run:
        typer.echo("Dry run: nothing was written.", err=True)
    elif not bundle.committed:
        typer.secho(f"{errors:,} error(s); nothing of the bundle was written.", err=True, fg="red")
    if as_json:
        typer.echo(json.dumps(bundle.to_json(), indent=2))


def _report(result: ImportResult, *, as_json: bool) -> None:
    _report_files(result)
    totals = result.totals
    if result.stopped_early:
        typer.secho(
            f"Stopped after {len(result.errors):,} errors; nothing was written. Raise --max-errors to see more.",
            err=True,
            fg="red",
        )
    elif result.dry_run:
        typer.echo("Dry run: nothing was written.", err=True)
    elif not result.committed:
        typer.secho(
            f"{totals['rejected']:,} row(s) rejected; nothing was written. Fix them, or pass --skip-invalid "
            "to land the rest.",
            err=True,
            fg="red",
        )
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))


def _report_files(result: ImportResult) -> None:
    """The errors, what each file's columns were read as, the missing records, the features added, and
    each file's counts."""
    for error in result.errors:
        typer.echo(visible(str(error), lines=True), err=True)
    for summary in result.files:
        if summary.ignored_columns:
            shown = ", ".join(repr(column) for column in summary.ignored_columns)
            typer.secho(
                f"{summary.source}: ignored columns {shown} (no matching field)", err=True, fg="yellow"
            )
        if summary.kept_columns:
            shown = ", ".join(repr(column) for column in summary.kept_columns)
            typer.echo(f"{summary.source}: kept columns {shown} as custom fields", err=True)
        for note in summary.notes:
            typer.secho(f"{summary.source}: {note}", err=True, fg="yellow")
    for kind, references in result.missing.items():
        typer.secho(_missing_line(kind, references), err=True, fg="red")
    if result.added_features:
        verb = "Added" if result.committed else "Would add"
        typer.secho(
            f"{verb} {len(result.added_features):,} feature(s) the rows name: {_listed(result.added_features)}. "
            "Put them under their products with cockpit import features FILE.",
            err=True,
            fg="yellow",
        )
    verb = "" if result.committed else "would be "  # a dry run, or an import refused for its rejected rows
    for summary in result.files:
        typer.echo(
            f"{summary.source}: {summary.rows:,} rows: {summary.inserted:,} {verb}inserted, "
            f"{summary.updated:,} {verb}updated, {summary.unchanged:,} unchanged, {summary.rejected:,} rejected"
            + (f", {summary.merged:,} merged into an event given earlier" if summary.merged else "")
            + (f", {summary.skipped:,} skipped" if summary.skipped else ""),
            err=True,
        )
