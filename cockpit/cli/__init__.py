"""The `cockpit` command. Each command turns its options into one call of a service and prints the result.

Data goes to stdout, diagnostics to stderr. Exit codes: 0 success, 1 a check or operation failed,
2 bad usage or configuration, 3 a database problem. Textual is imported only when the TUI opens.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cockpit import __version__, paths
from cockpit.cli.accounts import accounts_app
from cockpit.cli.book import book_command
from cockpit.cli.churn import churn_app
from cockpit.cli.clv import clv_app
from cockpit.cli.common import (
    CockpitGroup,
    ConfigOption,
    DbOption,
    JsonOption,
    db_path_for,
    global_options,
    open_user_store,
    progress_bar,
    settings_for,
)
from cockpit.cli.database import db_app
from cockpit.cli.exporting import export_command
from cockpit.cli.importing import import_command
from cockpit.cli.journeys import journeys_command
from cockpit.cli.outreach import outreach_app
from cockpit.cli.scoring import explain_command, score_app
from cockpit.cli.sync import sync_app
from cockpit.cli.today import today_command
from cockpit.clock import system_clock
from cockpit.domain.display import visible
from cockpit.errors import CockpitError

if TYPE_CHECKING:
    from cockpit.config import Settings
    from cockpit.store import Store

app = typer.Typer(
    cls=CockpitGroup,
    name="cockpit",
    help="A terminal-native customer-success cockpit. Run with no command to open your book.",
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cockpit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: DbOption = None,
    config: ConfigOption = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Open the cockpit on your book, or run one of the commands below."""
    options = global_options(ctx)
    options.db, options.config = db, config
    if ctx.invoked_subcommand is None:
        settings = settings_for(ctx, None)
        open_tui(open_user_store(ctx, None, settings), settings)


def open_tui(store: Store, settings: Settings, *, label: str | None = None) -> None:
    """Run the TUI on `store` until the user quits. Needs a terminal."""
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CockpitError(
            "the cockpit needs a terminal to open its screen, and this is not one.",
            hint="Run it in a terminal; in scripts use the commands (see `cockpit --help`).",
        )
    from cockpit.tui.app import CockpitApp

    try:
        CockpitApp(store, settings, clock=system_clock(), db_label=label or str(store.path)).run()
    finally:
        store.close()


@app.command()
def init(ctx: typer.Context, db: DbOption = None, config: ConfigOption = None) -> None:
    """Create the database (or bring an existing one up to the current schema)."""
    from cockpit.store import open_store

    settings = settings_for(ctx, config)
    path = db_path_for(ctx, db)
    existed = path.exists()
    store = open_store(path, create=True, busy_timeout_ms=settings.database.busy_timeout_ms)
    store.close()
    if not existed:
        typer.echo(f"Created {path}", err=True)
    elif store.applied_on_open:
        typer.echo(f"Upgraded {path}: applied {', '.join(store.applied_on_open)}", err=True)
    else:
        typer.echo(f"{path} is up to date", err=True)
    typer.echo(str(path))


@app.command()
def demo(
    ctx: typer.Context,
    accounts: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Generate a book of this many accounts (about 190 usage events each) instead of the demo book.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generator: the same seed gives the same book.")] = 7,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", dir_okay=False, help="Where to write the demo database. Default: the demo file."
        ),
    ] = None,
    replace: Annotated[bool, typer.Option(help="Overwrite the file named by --db if it exists.")] = False,
    score: Annotated[
        bool | None,
        typer.Option(
            "--score/--no-score",
            help="Score the book monthly over the last four months. Default: yes for the demo book, no for --accounts.",
        ),
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the cockpit on it when ready.")
    ] = True,
    config: ConfigOption = None,
) -> None:
    """Load the demo book into a fresh database of its own and open it. Never touches your own database."""
    from cockpit.services.demo import build_demo
    from cockpit.store import open_store

    settings = settings_for(ctx, config)
    target = db or paths.demo_db_path()
    if accounts is not None:
        typer.echo(f"Generating {accounts:,} accounts into {target} ...", err=True)
    with progress_bar("generating", "accounts") as progress:
        counts = build_demo(
            target,
            settings,
            clock=system_clock(),
            accounts=accounts,
            seed=seed,
            score=accounts is None if score is None else score,
            replace=replace or db is None,
            progress=lambda done: progress(done, accounts),
        )
    summary = ", ".join(f"{count:,} {table}" for table, count in counts.items() if count)
    typer.echo(f"Demo book ready in {target}: {summary}", err=True)
    if open_:
        open_tui(
            open_store(target, busy_timeout_ms=settings.database.busy_timeout_ms),
            settings,
            label=f"demo: {target}",
        )


@app.command()
def doctor(
    ctx: typer.Context, db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Check the config, the database, the CRM credentials and the events source; say what is wrong and how."""
    from cockpit.services.doctor import exit_code, run_checks

    checks = run_checks(config or global_options(ctx).config, db_path_for(ctx, db), system_clock().today())
    if as_json:
        typer.echo(json.dumps([asdict(check) for check in checks], indent=2))
        raise typer.Exit(exit_code(checks))
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    colours = {"ok": "green", "warn": "yellow", "fail": "red"}
    for check in checks:
        detail = visible(check.detail, lines=True)
        typer.secho(f"{marks[check.status]}  {check.name:<12} {detail}", fg=colours[check.status])
        if check.fix:
            typer.echo(f"      {'':<12} fix: {check.fix}")
    failed = [check for check in checks if check.status == "fail"]
    if failed:
        typer.echo(f"{len(failed)} problem(s) found.", err=True)
        raise typer.Exit(exit_code(checks))


app.command(name="import", no_args_is_help=True)(import_command)
app.add_typer(score_app, name="score")
app.add_typer(accounts_app, name="accounts")
app.add_typer(outreach_app, name="outreach")
app.add_typer(clv_app, name="clv")
app.add_typer(churn_app, name="churn")
app.add_typer(sync_app, name="sync")
app.add_typer(db_app, name="db")
app.command(name="export", no_args_is_help=True)(export_command)
app.command(name="explain", no_args_is_help=True)(explain_command)
app.command(name="book")(book_command)
app.command(name="journeys")(journeys_command)
app.command(name="today")(today_command)


def main() -> None:
    """Run the command line. `NO_COLOR` (set, not empty: no-color.org) leaves out every colour and style:
    click's (`secho`) and the help's (Rich)."""
    if os.environ.get("NO_COLOR"):
        from typer import rich_utils

        rich_utils.COLOR_SYSTEM = None
        app(color=False)
    else:
        app()
