"""`cockpit book`: the book as a whole on a day against a day before (`services/book_view.py`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from cockpit.cli.common import ConfigOption, DbOption, JsonOption, day_or_today, user_store
from cockpit.clock import system_clock
from cockpit.domain.display import visible


def book_command(
    ctx: typer.Context,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="The book as it stood on this day (YYYY-MM-DD)."),
    ] = None,
    compare: Annotated[
        str, typer.Option("--compare", help="Compare with a month (1m) or a year (1y) before, or a day.")
    ] = "1m",
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this owner's accounts; me is general.me.")
    ] = None,
    segment: Annotated[
        list[str] | None, typer.Option("--segment", help="Only this segment (repeatable).")
    ] = None,
    view: Annotated[str | None, typer.Option("--view", help="Only the accounts of this saved view.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """How the book is doing: tiers now against a month and a year ago, who moved, retention (logo churn,
    GRR, NRR) against a year before, LTV:CAC per segment and owner, the renewals of the next 90 days."""
    from cockpit.domain.book_text import book_text
    from cockpit.services.book_view import BookViewRequest, book_view

    with user_store(ctx, db, config) as (store, settings):
        clock = system_clock()
        request = BookViewRequest(
            as_of=day_or_today(as_of, clock),
            compare=compare,
            owner=owner,
            segments=tuple(segment or ()),
            view=view,
        )
        shown = book_view(store, settings, request, clock=clock).view
    if as_json:
        typer.echo(json.dumps(shown.model_dump(mode="json"), indent=2))
        return
    for line in book_text(shown):
        typer.echo(visible(line))
