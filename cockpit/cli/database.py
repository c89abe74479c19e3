"""`cockpit db`: the database file itself (its size, and compacting the score history)."""

from __future__ import annotations

import json

import typer

from cockpit.cli.common import ConfigOption, DbOption, JsonOption, user_store
from cockpit.clock import system_clock

db_app = typer.Typer(help="The database file: its size and the score history kept in it.")


@db_app.command("compact")
def compact_command(
    ctx: typer.Context,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what would be dropped and freed; change nothing."
    ),
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Drop the score runs the [history] policy does not keep, then VACUUM the file."""
    from cockpit.services.history import compact

    with user_store(ctx, db, config) as (store, settings):
        report = compact(store, settings, system_clock().today(), dry_run=dry_run)
    typer.echo(json.dumps(report.to_json(), indent=2) if as_json else report.line())
