"""`cockpit accounts`: the book on stdout (a table for people, JSON Lines or CSV for scripts), an account's
churn marked by hand, and the history of what changed about it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cockpit.cli.common import ConfigOption, DbOption, user_store
from cockpit.cli.exporting import ExportFormat, write_rows
from cockpit.clock import system_clock
from cockpit.domain.display import clipped, visible
from cockpit.store.book import SORT_KEYS, BookCursor, BookQuery, BookRow, fetch_book_after

if TYPE_CHECKING:
    from sqlite_utils import Database

accounts_app = typer.Typer(help="The accounts of the book.", no_args_is_help=True)
PAGE = 1000
AccountArgument = Annotated[str, typer.Argument(help="The account: its id, CRM id, domain or exact name.")]


@accounts_app.command("list")
def list_accounts(
    ctx: typer.Context,
    view: Annotated[
        str | None, typer.Option(help=r"A saved view of \[\[ui.views]], e.g. 'Save now'.")
    ] = None,
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
    stage: Annotated[
        list[str] | None,
        typer.Option(
            help="Lifecycle stage: onboarding, adoption, retention, expansion, advocacy (repeatable)."
        ),
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
    custom: Annotated[
        list[str] | None,
        typer.Option(
            "--custom",
            metavar="KEY=VALUE[,VALUE]",
            help="Accounts whose custom field KEY (kept by an import) is one of the values, in any case "
            "(repeatable).",
        ),
    ] = None,
    include_churned: Annotated[
        bool, typer.Option("--include-churned", help="Also the accounts that churned (views show customers).")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many accounts.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per account (JSON Lines).")
    ] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="CSV with the JSON's columns, safe to open in a spreadsheet.")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """List the accounts with their scores, in the order and filter of a view; filter options replace the
    view's setting of the same key."""
    from cockpit.scoring.health import COMPONENTS
    from cockpit.services.views import CUSTOM, filter_fields, refine, view_query

    if as_json and as_csv:
        raise typer.BadParameter("give --json or --csv, not both", param_hint="--csv")

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
            "stage": stage,
            "owner": None if owner is None else [owner],
            "segment": segment,
            "xsell": None if cross_sell is None else ["yes" if cross_sell else "no"],
            "renewal": None if renewal_within is None else [str(renewal_within)],
        }
        for pair in custom or []:
            key, equals, values = pair.partition("=")
            if not equals:
                raise typer.BadParameter(f"{pair!r}: expected KEY=VALUE[,VALUE]", param_hint="--custom")
            given[f"{CUSTOM}{key.strip()}"] = values.split(",")
        fields = filter_fields({key: values for key, values in given.items() if values}, settings, today)
        query = replace(refine(view_query(chosen, settings, today), fields), search=search)
        if sort is not None:
            key = sort.removeprefix("-")
            if key not in SORT_KEYS:
                raise typer.BadParameter(f"{key!r} is not one of {', '.join(SORT_KEYS)}", param_hint="--sort")
            query = replace(query, sort=key, descending=sort.startswith("-"))
        if include_churned:
            query = replace(query, filter=replace(query.filter, customers_on=None))
        if as_json or as_csv:
            records = _records(store.db, query, limit, health_components=len(COMPONENTS))
            if as_json:
                _write_json_lines(records)
            else:
                cells = (tuple(_cell(value) for value in r.values()) for r in records)
                write_rows(sys.stdout, LIST_COLUMNS, cells, ExportFormat.csv)
        else:
            _print_table(store.db, query, limit)


def clv_text(row: BookRow) -> str:
    if row.clv is None:
        return ""
    if row.clv_low is None or row.clv_high is None:
        return f"{row.clv:,.0f}"
    return f"{row.clv:,.0f} ({row.clv_low:,.0f}-{row.clv_high:,.0f})"


LIST_COLUMNS = list(BookRow.__dataclass_fields__)
"""The columns of `accounts list --json` and `--csv`: the book's, with the health's evidence."""


def _rows(db: Database, query: BookQuery, limit: int | None) -> Iterator[BookRow]:
    """The book page by page, each from where the last ended (so the walk costs the same at any depth), for
    the caller to write as it comes."""
    cursor: BookCursor | None = None
    left = limit
    while left is None or left > 0:
        page = fetch_book_after(db, query, cursor, limit=PAGE if left is None else min(PAGE, left))
        yield from page.rows
        if page.next is None:
            return
        cursor = page.next
        left = None if left is None else left - len(page.rows)


def _records(
    db: Database, query: BookQuery, limit: int | None, *, health_components: int
) -> Iterator[dict[str, Any]]:
    """Each account as a JSON-ready record of LIST_COLUMNS; its health evidence is the components it had data
    for, of `health_components`."""
    for row in _rows(db, query, limit):
        record = dict(vars(row))  # its fields in order; `asdict` deep-copied each value (2/3 of the CPU)
        present = record["health_evidence"]
        record["health_evidence"] = None if present is None else {"present": present, "of": health_components}
        for key in ("health", "health_month_before", "ltv_cac"):
            record[key] = None if record[key] is None else round(record[key], 1)
        for key in ("clv", "clv_low", "clv_high"):
            record[key] = None if record[key] is None else round(record[key])
        if record["churn_risk"] is not None:
            record["churn_risk"] = round(record["churn_risk"], 3)
        yield record


def _write_json_lines(records: Iterator[dict[str, Any]]) -> None:
    """Each record as a line of JSON, written a page at a time; one encoder for all (`json.dumps` with
    options makes one per call)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    lines: list[str] = []
    for record in records:
        lines.append(encode(record))
        if len(lines) == PAGE:
            sys.stdout.write("\n".join(lines) + "\n")
            lines.clear()
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")


def _cell(value: Any) -> Any:
    """A CSV cell: the health evidence as `5 of 7` (which no spreadsheet takes for a date or a formula)."""
    return f"{value['present']} of {value['of']}" if isinstance(value, dict) else value


def _print_table(db: Database, query: BookQuery, limit: int | None) -> None:
    typer.echo(
        f"{'id':<14} {'name':<32} {'health':>6} {'churn':<6} {'value':<6} {'priority':<9} {'stage':<10} {'mrr':>10}  "
        f"{'renewal':<10}  {'clv (interval)':>32}  {'ltv:cac':>7}  churned"
    )
    for row in _rows(db, query, limit):
        health = (
            "n/a" if row.health_band == "insufficient" else "" if row.health is None else f"{row.health:.0f}"
        )
        ltv_cac = "" if row.ltv_cac is None else f"{row.ltv_cac:.1f}"
        typer.echo(
            f"{visible(row.id):<14} {clipped(row.name, 32):<32} {health:>6} {row.churn_tier or '':<6} {row.value_tier or '':<6} "
            f"{row.priority or '':<9} {visible(row.lifecycle_stage or ''):<10} {row.mrr:>10,.0f}  "
            f"{row.renewal_date or '':<10}  {clv_text(row):>32}  "
            f"{ltv_cac:>7}  {row.churned_on or ''}".rstrip()
        )


@accounts_app.command("churned")
def churned(
    ctx: typer.Context,
    account: AccountArgument,
    on: Annotated[
        datetime | None,
        typer.Option("--on", formats=["%Y-%m-%d"], help="The day it churned (YYYY-MM-DD). Default: today."),
    ] = None,
    undo: Annotated[
        bool, typer.Option("--undo", help="It did not churn after all: clear its churn day.")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Record that an account churned (the day it stopped being a customer), or undo it. Kept in its history;
    views and scoring leave it out from that day on."""
    from cockpit.services.outcomes import mark_churned

    if undo and on is not None:
        raise typer.BadParameter("give --on DAY or --undo, not both", param_hint="--undo")
    clock = system_clock()
    day = None if undo else (on.date() if on is not None else clock.today())
    with user_store(ctx, db, config) as (store, _settings):
        mark = mark_churned(store, account, day, clock=clock)
    if not mark.changed:
        state = f"churned on {mark.after}" if mark.after else "not marked churned"
        typer.echo(f"{visible(mark.account_id)} is already {state}; nothing changed.", err=True)
    elif mark.after is None:
        typer.echo(
            f"{visible(mark.account_id)} is no longer marked churned (it was on {mark.before}).", err=True
        )
    else:
        was = f" (was {mark.before})" if mark.before else ""
        typer.echo(f"{visible(mark.account_id)} churned on {mark.after}{was}.", err=True)


@accounts_app.command("history")
def history(
    ctx: typer.Context,
    account: AccountArgument,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per change (JSON Lines).")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """What changed about an account and when: its MRR, renewal date, plan, segment, seats, contract term and
    churn day, each with the import, sync run or command that changed it, oldest first."""
    from cockpit.services.outcomes import history_of

    with user_store(ctx, db, config) as (store, _settings):
        account_id, changes = history_of(store, account)
    if as_json:
        for change in changes:
            typer.echo(json.dumps({"account_id": account_id, **asdict(change)}))
        return
    if not changes:
        typer.echo(f"{visible(account_id)}: no recorded changes.", err=True)
        return
    typer.echo(f"{'on':<10}  {'field':<15}  {'value':<20}  source")
    for change in changes:
        value = "(cleared)" if change.value is None else str(change.value)
        if isinstance(change.value, float):
            value = f"{change.value:,.2f}".removesuffix(".00")
        typer.echo(
            f"{change.changed_on:<10}  {change.field:<15}  {visible(value):<20}  {visible(change.source)}"
        )


@accounts_app.command("show")
def show(
    ctx: typer.Context,
    account: AccountArgument,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """An account at a glance: its values, its latest health, and whether a CRM deleted it or merged it
    into another account (`merged into Acme in HubSpot on 2026-11-25`)."""
    from cockpit.services.scoring import find_account
    from cockpit.store.scoring import account_view

    with user_store(ctx, db, config) as (store, _settings):
        view = account_view(store.db, find_account(store, account))
    assert view is not None  # found just now
    if as_json:
        fields = asdict(view)
        del fields["score"], fields["health_history"]
        typer.echo(json.dumps(fields))
        return
    typer.echo(f"{visible(view.name)} ({visible(view.id)})")
    if view.merged is not None:
        typer.echo(
            f"  {visible(view.merged.text)}: marked deleted; its interactions and outreach stay on this "
            f"account (move what you keep to {visible(view.merged.winner_id)} by hand)"
        )
    elif view.deleted_on is not None:
        typer.echo(f"  deleted in its CRM on {view.deleted_on}")
    health = next((value for _as_of, value in reversed(view.health_history) if value is not None), None)
    values = {
        "domain": view.domain,
        "owner": view.owner,
        "segment": view.segment,
        "plan": view.plan,
        "MRR": f"{view.mrr:,.0f}",
        "renews": view.renewal_date,
        "churned on": view.churned_on,
        "stage": view.lifecycle_stage,
        "health": None if health is None else f"{health:.0f}",
    }
    for name, value in values.items():
        if value is not None:
            typer.echo(f"  {name:<11} {visible(str(value))}")


@accounts_app.command("sources")
def sources(
    ctx: typer.Context,
    account: AccountArgument,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per field (JSON Lines).")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Where each of an account's values came from: the system, the source's own time of its change, and the
    import or sync run that wrote it (times in UTC). A value older than the one stored never replaces it."""
    from cockpit.services.scoring import find_account
    from cockpit.store.provenance import field_sources

    with user_store(ctx, db, config) as (store, _settings):
        account_id = find_account(store, account)
        found = field_sources(store.db, account_id)
    if as_json:
        for source in found:
            typer.echo(json.dumps({"account_id": account_id, **asdict(source)}, default=str))
        return
    if not found:
        typer.echo(f"{visible(account_id)}: no value from an import or a CRM pull.", err=True)
        return
    typer.echo(f"{'field':<15}  {'value':<20}  from")
    for source in found:
        value = "(none)" if source.value is None else str(source.value)
        typer.echo(f"{source.field:<15}  {visible(value):<20}  {visible(source.described(_utc_minute))}")


def _utc_minute(moment: str) -> str:
    """A stored moment to the minute (`2026-11-25 15:45`), a date as it is."""
    return moment[:16].replace("T", " ")
