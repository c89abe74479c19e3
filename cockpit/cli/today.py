"""`cockpit today`: the CSM's day on stdout, what the Today screen shows (`cockpit.services.today`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cockpit.cli.common import ConfigOption, DbOption, JsonOption, user_store
from cockpit.clock import system_clock
from cockpit.domain.display import clipped, visible


def today_command(
    ctx: typer.Context,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    show_all: Annotated[
        bool,
        typer.Option(
            "--all",
            help="List each follow-up long overdue instead of one line for them "
            "([today] fold_overdue_after_days); --json always lists them.",
        ),
    ] = False,
) -> None:
    """What is due today: follow-ups, call tasks and to-dos, renewals this month, accounts the latest score
    run moved into save now or to another churn tier (and why)."""
    from cockpit.domain.today import LongOverdue, fold_long_overdue, when
    from cockpit.services.today import today_list

    clock = system_clock()
    with user_store(ctx, db, config) as (store, settings):
        day = today_list(store, settings, clock=clock, limit=None)
    fold_after = settings.today.fold_overdue_after_days
    if as_json:
        typer.echo(json.dumps(day.to_json(), indent=2, ensure_ascii=False))
        return
    typer.secho(f"Today, {day.day}", bold=True)
    for section in day.sections:
        typer.echo("")
        typer.secho(f"{section.heading} ({section.total})", bold=True)
        if section.kind == "score_change" and day.compared_runs is not None:
            before, after = day.compared_runs
            typer.echo(f"  the score run of {after} against that of {before}")
        if not section.items:
            typer.echo("  nothing")
        rows = section.items if show_all else fold_long_overdue(section.items, day.day, days=fold_after)
        for item in rows:
            if isinstance(item, LongOverdue):
                oldest = item.oldest
                typer.secho(
                    f"  {item.title}, the oldest {(day.day - oldest.day).days:,} days late "
                    f"({visible(oldest.account_name)})",
                    fg="red",
                )
                continue
            due = when(item.day, day.day) if section.kind in ("follow_up", "task") else str(item.day)
            late = item.day < day.day and section.kind in ("follow_up", "task")
            typer.secho(f"  {due:<14}", fg="red" if late else None, nl=False)
            typer.echo(f" {clipped(item.account_name, 32):<32} {visible(item.title)}")
            typer.echo(f"  {'':<14} {'':<32} {visible(item.detail)}")
