"""`cockpit accounts list`: the book on stdout, as a table for people or JSON Lines for scripts."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Annotated

import typer

from cockpit.cli.common import ConfigOption, DbOption, user_store
from cockpit.clock import system_clock
from cockpit.store.book import SORT_KEYS, BookQuery, BookRow, fetch_book_page

if TYPE_CHECKING:
    from sqlite_utils import Database

accounts_app = typer.Typer(help="The accounts of the book.", no_args_is_help=True)
PAGE = 1000


@accounts_app.command("list")
def list_accounts(
    ctx: typer.Context,
    view: Annotated[str | None, typer.Option(help="A saved view of [[ui.views]], e.g. 'Save now'.")] = None,
    sort: Annotated[
        str | None, typer.Option(help=f"Sort key ({', '.join(SORT_KEYS)}); a leading - sorts descending.")
    ] = None,
    search: Annotated[str, typer.Option(help="Only accounts whose name or domain contains this.")] = "",
    churn: Annotated[
        list[str] | None, typer.Option(help="Churn tier: high, medium, low (repeatable).")
    ] = None,
    value: Annotated[
        list[str] | None, typer.Option(help="Value tier: high, medium, other (repeatable).")
    ] = None,
    band: Annotated[
        list[str] | None,
        typer.Option(help="Health band: green, yellow, red, insufficient (not enough data) (repeatable)."),
    ] = None,
    advocacy: Annotated[
        list[str] | None, typer.Option(help="Advocacy segment: lover, liker, lurker (repeatable).")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Accounts of this owner; 'me' is general.me.")] = None,
    segment: Annotated[list[str] | None, typer.Option(help="Accounts of this segment (repeatable).")] = None,
    cross_sell: Annotated[
        bool | None,
        typer.Option("--cross-sell/--no-cross-sell", help="Only (or no) cross-sell-ready accounts."),
    ] = None,
    renewal_within: Annotated[
        int | None, typer.Option(min=0, metavar="DAYS", help="Accounts renewing within this many days.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many accounts.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per account (JSON Lines).")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """List the accounts with their scores, in the order and filter of a view; filter options replace the
    view's setting of the same key."""
    from cockpit.services.views import filter_fields, refine, view_query

    with user_store(ctx, db, config) as (store, settings):
        index = settings.ui.view_index(view or settings.ui.default_view)
        if index is None:
            raise typer.BadParameter(
                f"no view named {view!r}; views: {', '.join(v.name for v in settings.ui.views)}"
            )
        chosen = settings.ui.views[index]
        today = system_clock().today()
        given = {
            "churn": churn,
            "value": value,
            "band": band,
            "advocacy": advocacy,
            "owner": None if owner is None else [owner],
            "segment": segment,
            "xsell": None if cross_sell is None else ["yes" if cross_sell else "no"],
            "renewal": None if renewal_within is None else [str(renewal_within)],
        }
        fields = filter_fields({key: values for key, values in given.items() if values}, settings, today)
        query = replace(refine(view_query(chosen, settings, today), fields), search=search)
        if sort is not None:
            key = sort.removeprefix("-")
            if key not in SORT_KEYS:
                raise typer.BadParameter(f"{key!r} is not one of {', '.join(SORT_KEYS)}", param_hint="--sort")
            query = replace(query, sort=key, descending=sort.startswith("-"))
        _print(store.db, query, limit, as_json=as_json)


def clv_text(row: BookRow) -> str:
    if row.clv is None:
        return ""
    if row.clv_low is None or row.clv_high is None:
        return f"{row.clv:,.0f}"
    return f"{row.clv:,.0f} ({row.clv_low:,.0f}-{row.clv_high:,.0f})"


def _print(db: Database, query: BookQuery, limit: int | None, *, as_json: bool) -> None:
    if not as_json:
        typer.echo(
            f"{'id':<14} {'name':<32} {'health':>6} {'churn':<6} {'value':<6} {'priority':<9} {'mrr':>10}  "
            f"{'renewal':<10}  {'clv (interval)':>32}  ltv:cac"
        )
    offset = 0
    while limit is None or offset < limit:
        size = PAGE if limit is None else min(PAGE, limit - offset)
        rows = fetch_book_page(db, query, offset=offset, limit=size)
        for row in rows:
            if as_json:
                record = asdict(row)
                for key in ("health", "health_month_before", "ltv_cac"):
                    record[key] = None if record[key] is None else round(record[key], 1)
                for key in ("clv", "clv_low", "clv_high"):
                    record[key] = None if record[key] is None else round(record[key])
                typer.echo(json.dumps(record))
            else:
                health = (
                    "n/a"
                    if row.health_band == "insufficient"
                    else ""
                    if row.health is None
                    else f"{row.health:.0f}"
                )
                typer.echo(
                    f"{row.id:<14} {row.name[:32]:<32} {health:>6} {row.churn_tier or '':<6} {row.value_tier or '':<6} "
                    f"{row.priority or '':<9} {row.mrr:>10,.0f}  {row.renewal_date or '':<10}  {clv_text(row):>32}  "
                    f"{'' if row.ltv_cac is None else f'{row.ltv_cac:.1f}'}"
                )
        if len(rows) < size:
            break
        offset += size
