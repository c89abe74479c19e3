"""What every command shares: the --db and --config options, error reporting and opening the store.

The command modules import only Typer, the standard library and light parts of cockpit when they load: the
config models (pydantic), the store (sqlite-utils) and the services load in the command that runs, so that
`--version`, `--help` and Tab completion answer at once (`tests/test_cli.py` checks it).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from typer.core import TyperGroup

from cockpit import paths
from cockpit.clock import Clock
from cockpit.domain.display import visible
from cockpit.errors import CockpitError

if TYPE_CHECKING:
    from cockpit.config import Settings
    from cockpit.store import Store

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help=f"Database file. Default: ${paths.DB_ENV}, else the platform data folder.",
        dir_okay=False,
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
FitAsOfOption = Annotated[
    datetime | None,
    typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="Fit on the book as it stood on this day (YYYY-MM-DD)."
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help=f"Your config file, laid over the defaults. Default: ${paths.CONFIG_ENV}, else the platform config folder.",
        dir_okay=False,
        show_default=False,
    ),
]


def report_error(error: CockpitError) -> None:
    """Print a user error to stderr: what is wrong, then how to fix it. Never a traceback; values it quotes
    from data are shown, never acted on."""
    typer.secho(f"error: {visible(error.message, lines=True)}", err=True, fg="red")
    if error.hint:
        typer.echo(visible(error.hint, lines=True), err=True)


class CockpitGroup(TyperGroup):
    """Turns every foreseeable error raised by a command into a message and its exit code: a `CockpitError`,
    and a SQLite error that comes from the database file or its disk (full, failing, read-only) wherever it
    surfaced, named by the database the command opened."""

    def invoke(self, ctx: Any) -> Any:  # Typer's own (vendored) click.Context
        try:
            return super().invoke(ctx)
        except CockpitError as error:
            report_error(error)
            raise typer.Exit(error.exit_code) from None
        except sqlite3.Error as error:
            from cockpit.store.db import recognise_sqlite_error

            problem = recognise_sqlite_error(error, ctx.meta.get(DATABASE_KEY) or db_path_for(ctx, None))
            if problem is None:
                raise
            report_error(problem)
            raise typer.Exit(problem.exit_code) from None


_interrupt_note: str | None = None


def say_when_interrupted(note: str) -> None:
    """What Ctrl-C leaves behind, in the running command's words, for when it stops the command after a
    transaction has committed (`cockpit.__main__` says it; when nothing was committed, it says so)."""
    global _interrupt_note
    _interrupt_note = note


def interrupt_note() -> str | None:
    return _interrupt_note


@dataclass
class GlobalOptions:
    """Options given before the command (`cockpit --db X demo`); a command's own options win."""

    db: Path | None = None
    config: Path | None = None


def global_options(ctx: typer.Context) -> GlobalOptions:
    root = ctx.find_root()
    if not isinstance(root.obj, GlobalOptions):
        root.obj = GlobalOptions()
    return root.obj


def settings_for(ctx: typer.Context, config: Path | None) -> Settings:
    from cockpit.config import load_user_settings

    return load_user_settings(config or global_options(ctx).config)


def note_events_elsewhere(settings: Settings, kind: str) -> None:
    """Say (on stderr) that this database's `kind` table is not what cockpit reads, when [events] names
    another source and `kind` is one of its tables (usage, signals)."""
    source = settings.events.source
    if source != "local" and kind in ("usage", "signals"):
        typer.echo(
            f"Note: events.source is {source!r}: scoring, outreach and the journey read the {kind} there, "
            f"not this database's own {kind}.",
            err=True,
        )


DATABASE_KEY = "cockpit.database"
"""Where in the command's context (`ctx.meta`, shared by every level) the database it opened is noted."""


def db_path_for(ctx: typer.Context, db: Path | None) -> Path:
    path = paths.resolve_db_path(db or global_options(ctx).db)
    ctx.meta[DATABASE_KEY] = path
    return path


@contextmanager
def user_store(
    ctx: typer.Context, db: Path | None, config: Path | None, *, fills: bool = False
) -> Iterator[tuple[Store, Settings]]:
    """The user's settings and database for one command, closed when it ends (see `open_user_store`)."""
    settings = settings_for(ctx, config)
    store = open_user_store(ctx, db, settings, fills=fills)
    try:
        yield store, settings
    finally:
        store.close()


def open_user_store(ctx: typer.Context, db: Path | None, settings: Settings, *, fills: bool = False) -> Store:
    """Open the user's database. A command that `fills` a book (an import, a sync) creates the platform
    default on first use; every other command, and any command given a file by name, needs an existing
    database."""
    from cockpit.store import open_store

    explicit = db or global_options(ctx).db
    path = db_path_for(ctx, db)
    named = explicit is not None or bool(os.environ.get(paths.DB_ENV))
    return open_store(
        path,
        create=fills and not named,
        busy_timeout_ms=settings.database.busy_timeout_ms,
        write_wait_seconds=settings.database.write_wait_seconds,
        on_wait=WaitNotice(),
    )


class WaitNotice:
    """Says on stderr, once per command, that a write waits for another cockpit process."""

    def __init__(self) -> None:
        self.said = False

    def __call__(self, what: str | None) -> None:
        if not self.said:
            self.said = True
            typer.echo(
                f"waiting for another cockpit process{f' ({what})' if what else ''} to finish writing…",
                err=True,
            )


class ProgressBar:
    """Long work's progress on stderr: a bar with done of total and the time left (or, with no total, the
    count and the rate), redrawn at most five times a second, then cleared for the command's summary line.
    Only on a terminal: nothing when stdout or stderr is not one (piped, redirected) or the output is JSON.
    A service takes it as its `progress` callback (`cockpit.services.progress`)."""

    WIDTH = 24
    """Cells of the bar itself."""

    def __init__(self, label: str, unit: str, *, as_json: bool = False, stream: TextIO | None = None) -> None:
        self.label, self.unit = label, unit
        self.stream = stream or sys.stderr
        self.enabled = not as_json and self.stream.isatty() and sys.stdout.isatty()
        self.started = time.monotonic()
        self.drawn = 0.0
        self.shown = 0

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.drawn < 0.2 and done != total):
            return
        self.drawn = now
        elapsed = max(now - self.started, 1e-6)
        if total:
            share = min(done / total, 1.0)
            filled = round(share * self.WIDTH)
            left = elapsed / done * (total - done) if done else None
            line = (
                f"  {self.label} [{'#' * filled}{'-' * (self.WIDTH - filled)}] {done:,}/{total:,} {self.unit}"
                f" {share:4.0%}  {'…' if left is None else f'{left:,.0f} s left'}"
            )
        else:
            line = f"  {self.label} {done:,} {self.unit}  {done / elapsed:,.0f} {self.unit}/s"
        self.stream.write("\r" + line.ljust(self.shown))
        self.stream.flush()
        self.shown = len(line)

    def finish(self) -> None:
        """Clear the bar, if one was drawn."""
        if self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0


@contextmanager
def progress_bar(label: str, unit: str, *, as_json: bool = False) -> Iterator[ProgressBar]:
    """A `ProgressBar` cleared when the work ends, however it ends."""
    bar = ProgressBar(label, unit, as_json=as_json)
    try:
        yield bar
    finally:
        bar.finish()


def day_or_today(as_of: datetime | None, clock: Clock) -> date:
    """The day an `--as-of` option names, or today where the CSM is."""
    return as_of.date() if as_of is not None else clock.today()
