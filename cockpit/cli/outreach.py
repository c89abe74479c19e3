"""`cockpit outreach`: plan drafts from the playbooks, and review the queue (list, show, approve, snooze,
cancel, edit), one by one or by filter. Each command is one call of `cockpit.services.outreach`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack, nullcontext
from datetime import datetime
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cockpit.cli.common import ConfigOption, DbOption, JsonOption, day_or_today, progress_bar, user_store
from cockpit.clock import system_clock
from cockpit.domain.display import clipped, visible
from cockpit.outreach.items import (
    ITEM_STATUSES,
    OPEN_STATUSES,
    ItemFilter,
    ItemStatus,
    OutreachItem,
    ReviewResult,
)

if TYPE_CHECKING:
    from cockpit.config import Settings
    from cockpit.services.outreach import PlanReport
    from cockpit.store import Store

# The service (and Jinja2 with it) is imported by the commands that use it, so that every other command
# starts without it.
outreach_app = typer.Typer(
    help="Outreach: drafts queued by the playbooks, reviewed before they go to the CRM.", no_args_is_help=True
)

DAY_FORMATS = ["%Y-%m-%d"]
IdsArgument = Annotated[
    list[str] | None, typer.Argument(help="Item ids (out-00042 ...).", show_default=False)
]
PlaybookOption = Annotated[
    list[str] | None, typer.Option("--playbook", help="Only items of this playbook (repeatable).")
]
AccountOption = Annotated[
    str | None,
    typer.Option("--account", help="Only items of this account (id, CRM id, domain or exact name)."),
]
OwnerOption = Annotated[
    str | None, typer.Option("--owner", help="Only items of accounts this CSM owns; 'me' is general.me.")
]
DueByOption = Annotated[
    datetime | None,
    typer.Option("--due-by", formats=DAY_FORMATS, help="Only items due on or before this day."),
]


@outreach_app.command("plan")
def plan_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be queued; change nothing.")
    ] = False,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=DAY_FORMATS, help="Plan as if today were this day (YYYY-MM-DD)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every decision, not only news.")
    ] = False,
    full: Annotated[
        bool,
        typer.Option("--full", help="Plan every account, also those unchanged since the last plan."),
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Evaluate every playbook on the latest scores and queue drafts (also run by the nightly sync)."""
    from cockpit.services import outreach as service

    with (
        user_store(ctx, db, config) as (store, settings),
        progress_bar("planning", "accounts", as_json=as_json) as progress,
        _JsonPlan() if as_json else nullcontext() as document,
    ):
        clock = system_clock()
        report = service.plan(
            store,
            settings,
            as_of=day_or_today(as_of, clock),
            clock=clock,
            dry_run=dry_run,
            full=full,
            progress=progress,
            keep=0 if as_json else None if verbose else SHOWN,
            sink=None if document is None else document.add,
        )
        if document is not None:
            document.finish(report)
            return
    _print_plan(report, verbose=verbose)


class _JsonPlan:
    """The plan's JSON document: one object with an array of each kind of decision
    (`service.JSON_DECISIONS`) and the report's figures. The decisions are written as the plan makes them,
    into temporary files (in memory while small), so that the plan's memory does not grow with the book;
    the document goes out only once the plan has landed, so a plan that fails leaves nothing on the
    standard output (and the database as it was)."""

    def __init__(self) -> None:
        from cockpit.services.outreach import JSON_DECISIONS

        self.files = ExitStack()
        self.spools = {
            kind: self.files.enter_context(SpooledTemporaryFile(1 << 20, mode="w+", encoding="utf-8"))  # noqa: SIM115 - closed by the stack
            for kind in JSON_DECISIONS
        }
        self.written = dict.fromkeys(JSON_DECISIONS, 0)

    def __enter__(self) -> _JsonPlan:
        return self

    def __exit__(self, *_: object) -> None:
        self.files.close()

    def add(self, kind: str, decisions: Sequence[Any]) -> None:
        from cockpit.services.outreach import decision_json

        if kind not in self.written:
            return
        start = ",\n    " if self.written[kind] else "\n    "
        self.spools[kind].write(start + ",\n    ".join(json.dumps(decision_json(d)) for d in decisions))
        self.written[kind] += len(decisions)

    def finish(self, report: PlanReport) -> None:
        for n, (kind, spool) in enumerate(self.spools.items()):
            opening = "{" if n == 0 else ","
            typer.echo(f'{opening}\n  "{kind}": [', nl=False)
            spool.seek(0)
            while chunk := spool.read(1 << 16):
                typer.echo(chunk, nl=False)
            typer.echo("\n  ]" if self.written[kind] else "]", nl=False)
        figures = json.dumps(report.to_json(decisions=False), indent=2)
        typer.echo(",\n" + figures[2:])


SHOWN = 40
"""Decisions listed per section unless --verbose: a large book queues thousands."""


def _print_plan(report: PlanReport, *, verbose: bool) -> None:
    counts = report.counts()
    verb = "would queue" if report.dry_run else "queued"
    typer.echo(
        f"Planned {report.as_of} from score run {report.score_run} (as of {report.scored_as_of}): "
        f"{report.fired:,} rules fired on {report.accounts:,} accounts in {report.seconds:.2f} s"
        + ("  [dry run: nothing written]" if report.dry_run else "")
    )
    if report.unchanged:
        typer.echo(
            f"  {report.unchanged:,} accounts unchanged since the last plan: not planned again (--full does)"
        )
    typer.echo(
        f"  {verb} {counts['queued']:,}, updated {counts['updated']:,}, kept {counts['kept']:,}, "
        f"cancelled {counts['cancelled']:,}, skipped {counts['skipped']:,}"
    )
    for playbook, by in report.by_playbook().items():
        typer.echo(f"    {playbook:<22} " + ", ".join(f"{count:,} {name}" for name, count in by.items()))
    for playbook in report.muted:
        typer.echo(f"    {playbook:<22} muted: queues nothing (cockpit outreach unmute {playbook})")
    sections: list[tuple[str, list[str], int]] = [
        (
            verb.capitalize(),
            [
                f"{d.item_id or '-':<10} {d.due_on}  {d.playbook:<20} {d.account_id:<12} {d.contact_id or '':<12} "
                f"{d.subject[:60]}"
                for d in report.queued
            ],
            counts["queued"],
        ),
        (
            "Cancelled",
            [f"{c.item_id:<10} {c.playbook:<20} {c.account_id:<12} {c.why}" for c in report.cancelled],
            counts["cancelled"],
        ),
        (
            "Skipped (fired, nothing queued)",
            [f"{s.playbook:<20} {s.account_id:<12} {s.why}" for s in report.skipped],
            counts["skipped"],
        ),
    ]
    if verbose:
        sections += [
            (
                "Updated",
                [f"{d.item_id:<10} {d.due_on}  {d.playbook:<20} {d.subject[:60]}" for d in report.updated],
                counts["updated"],
            ),
            (
                "Kept",
                [f"{k.item_id:<10} {k.playbook:<20} {k.account_id:<12} {k.why}" for k in report.kept],
                counts["kept"],
            ),
        ]
    for title, lines, count in sections:
        if not lines:
            continue
        typer.echo(f"\n{title}:")
        shown = lines if verbose else lines[:SHOWN]
        for line in shown:
            typer.echo(f"  {visible(line)}")
        if len(shown) < count:
            typer.echo(f"  ... and {count - len(shown):,} more (--verbose lists them all, --json too)")


def _selection(
    store: Store,
    settings: Settings,
    *,
    statuses: tuple[ItemStatus, ...] = (),
    playbooks: list[str] | None = None,
    account: str | None = None,
    owner: str | None = None,
    due_by: datetime | None = None,
    limit: int | None = None,
) -> ItemFilter:
    from cockpit.services.scoring import find_account

    return ItemFilter(
        statuses=statuses,
        playbooks=tuple(playbooks or ()),
        account_id=None if account is None else find_account(store, account),
        owner=(settings.general.me or None) if owner == "me" else owner,
        due_by=None if due_by is None else due_by.date(),
        limit=limit,
    )


def _statuses(given: list[str] | None, every: bool) -> tuple[ItemStatus, ...]:
    if every:
        return ()
    if not given:
        return OPEN_STATUSES
    known: dict[str, ItemStatus] = {status: status for status in ITEM_STATUSES}
    unknown = [status for status in given if status not in known]
    if unknown:
        raise typer.BadParameter(
            f"{unknown[0]!r} is not one of {', '.join(ITEM_STATUSES)}", param_hint="--status"
        )
    return tuple(known[status] for status in given)


@outreach_app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help=f"Only items in this status (repeatable): {', '.join(ITEM_STATUSES)}."),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Items in every status (default: open ones).")] = False,
    playbook: PlaybookOption = None,
    account: AccountOption = None,
    owner: OwnerOption = None,
    due_by: DueByOption = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many items.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per item (JSON Lines).")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """List the queue: drafts first, then snoozed and approved items, by due day (open items unless --all)."""
    from cockpit.services import outreach as service

    with user_store(ctx, db, config) as (store, settings):
        selection = _selection(
            store,
            settings,
            statuses=_statuses(status, every),
            playbooks=playbook,
            account=account,
            owner=owner,
            due_by=due_by,
            limit=limit,
        )
        items = service.list_items(store, selection)
    if as_json:
        for item in items:
            typer.echo(json.dumps(item.to_json()))
        return
    typer.echo(
        f"{'id':<10} {'status':<9} {'due':<10} {'playbook':<20} {'account':<26} {'contact':<20} subject"
    )
    for item in items:
        typer.echo(
            f"{item.id:<10} {item.status:<9} {item.due_on!s:<10} {item.playbook[:20]:<20} "
            f"{clipped(item.account_name, 26):<26} {clipped(item.contact_name or '', 20):<20} "
            f"{clipped(item.subject, 60)}"
        )


@outreach_app.command("show")
def show_command(
    ctx: typer.Context,
    item_id: Annotated[str, typer.Argument(help="The item's id.")],
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Show one item: the message as it will go, and why it was queued."""
    from cockpit.services import outreach as service

    with user_store(ctx, db, config) as (store, _settings):
        item = service.get_item(store, item_id)
    if as_json:
        typer.echo(json.dumps(item.to_json(), indent=2))
        return
    typer.echo(render_item(item))


def render_item(item: OutreachItem) -> str:
    """An item as a person reads it: header, message, then why; data shown, never acted on (`visible`)."""
    reason = item.reason
    contact = (
        f"{item.contact_name} <{item.contact_email}>" if item.contact_name else "(none: a task for the CSM)"
    )
    lines = [
        f"{item.id}  {item.status}  due {item.due_on}"
        + (f"  snoozed until {item.snoozed_until}" if item.snoozed_until else "")
        + ("  (edited)" if item.edited_at else ""),
        f"playbook  {item.playbook} ({item.channel}, priority {item.priority})",
        f"account   {item.account_name} ({item.account_id}), owner {item.owner or '-'}",
        f"contact   {contact}",
        "",
        f"Subject: {item.subject}",
        "",
        item.body,
        "",
        "Why:",
    ]
    if reason.get("trigger"):
        values = ", ".join(f"{name} = {value!r}" for name, value in (reason.get("values") or {}).items())
        lines.append(f"  rule      {reason.get('title') or reason.get('playbook')}: {reason['trigger']}")
        lines.append(f"  fired on  {values}")
    for key, label in (
        ("about", "about"),
        ("contact", "contact"),
        ("due", "due"),
        ("score_run", "score run"),
    ):
        value = reason.get(key)
        if key == "contact" and isinstance(value, dict):
            value = f"{value.get('name')}: {value.get('why')}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        if value:
            lines.append(f"  {label:<9} {value}")
    closed = reason.get("closed")
    if isinstance(closed, dict):
        lines.append(f"  closed    by {closed.get('by')} on {closed.get('on')}: {closed.get('why')}")
    extra = {k: v for k, v in reason.items() if k not in {"trigger", "values", "title", "playbook", "about",
                                                          "contact", "due", "score_run", "closed"}}  # fmt: skip
    lines += [f"  {key:<9} {value}" for key, value in extra.items()]
    if item.sync_error:
        lines.append(f"  sync      {item.sync_error}")
    return visible("\n".join(lines), lines=True)


def _chosen_ids(
    store: Store,
    settings: Settings,
    ids: list[str] | None,
    statuses: tuple[ItemStatus, ...],
    playbook: list[str] | None,
    account: str | None,
    owner: str | None,
    due_by: datetime | None,
) -> list[str]:
    """The ids given, or those of the open items the filter selects; one or the other is needed."""
    from cockpit.services import outreach as service

    has_filter = bool(playbook or account or owner or due_by)
    if ids and has_filter:
        raise typer.BadParameter(
            "give item ids or a filter (--playbook, --account, --owner, --due-by), not both"
        )
    if ids:
        return list(ids)
    if not has_filter:
        raise typer.BadParameter("give item ids, or a filter: --playbook, --account, --owner, --due-by")
    selection = _selection(
        store, settings, statuses=statuses, playbooks=playbook, account=account, owner=owner, due_by=due_by
    )
    return [item.id for item in service.list_items(store, selection)]


def _print_result(result: ReviewResult, verb: str, *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        for item in result.changed:
            note = result.notes.get(item.id)
            typer.echo(
                f"{verb} {item.id}  due {item.due_on}  {clipped(item.subject, 60)}"
                + (f"  ({visible(note)})" if note else "")
            )
        for item_id, note in result.notes.items():
            if item_id not in {item.id for item in result.changed}:
                typer.echo(f"{visible(item_id)}: {visible(note)}")
        for refusal in result.refused:
            typer.secho(f"refused {visible(refusal.item_id)}: {visible(refusal.why)}", err=True, fg="yellow")
        if not (result.changed or result.refused or result.notes):
            typer.echo("no items matched", err=True)
    if result.refused:
        raise typer.Exit(1)


@outreach_app.command("approve")
def approve_command(
    ctx: typer.Context,
    ids: IdsArgument = None,
    playbook: PlaybookOption = None,
    account: AccountOption = None,
    owner: OwnerOption = None,
    due_by: DueByOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Approve drafts for the CRM outbox, by id or by filter; the contact policy is checked again.

    Exits 1 if any item was refused (each refusal says why); the others are approved."""
    from cockpit.services import outreach as service

    with user_store(ctx, db, config) as (store, settings):
        chosen = _chosen_ids(store, settings, ids, ("draft", "snoozed"), playbook, account, owner, due_by)
        result = service.approve(store, settings, chosen, clock=system_clock())
    _print_result(result, "approved", as_json=as_json)


@outreach_app.command("snooze")
def snooze_command(
    ctx: typer.Context,
    until: Annotated[
        datetime,
        typer.Option("--until", formats=DAY_FORMATS, help="Hold the items until this day (YYYY-MM-DD)."),
    ],
    ids: IdsArgument = None,
    playbook: PlaybookOption = None,
    account: AccountOption = None,
    owner: OwnerOption = None,
    due_by: DueByOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Snooze open items until a day: their rule is held until then, and they come back as drafts."""
    from cockpit.services import outreach as service

    with user_store(ctx, db, config) as (store, settings):
        chosen = _chosen_ids(store, settings, ids, OPEN_STATUSES, playbook, account, owner, due_by)
        result = service.snooze(store, chosen, until.date(), clock=system_clock())
    _print_result(result, "snoozed", as_json=as_json)


@outreach_app.command("cancel")
def cancel_command(
    ctx: typer.Context,
    ids: IdsArgument = None,
    playbook: PlaybookOption = None,
    account: AccountOption = None,
    owner: OwnerOption = None,
    due_by: DueByOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Cancel open items; their rule rests for its cooldown before it queues the same message again."""
    from cockpit.services import outreach as service

    with user_store(ctx, db, config) as (store, settings):
        chosen = _chosen_ids(store, settings, ids, OPEN_STATUSES, playbook, account, owner, due_by)
        result = service.cancel(store, chosen, clock=system_clock())
    _print_result(result, "cancelled", as_json=as_json)


@outreach_app.command("edit")
def edit_command(
    ctx: typer.Context,
    item_id: Annotated[str, typer.Argument(help="The item's id.")],
    subject: Annotated[str | None, typer.Option(help="The new subject (default: keep it).")] = None,
    body_file: Annotated[
        Path | None,
        typer.Option(
            "--body-file", dir_okay=False, help="A file with the new body; - reads stdin (default: keep it)."
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Edit a draft's text before approval; the planner then leaves the text as you wrote it."""
    from cockpit.services import outreach as service

    with user_store(ctx, db, config) as (store, settings):
        item = service.get_item(store, item_id)
        body = item.body
        if body_file is not None:
            body = typer.get_text_stream("stdin").read() if str(body_file) == "-" else _read(body_file)
        subject = subject if subject is not None else item.subject
        edited = service.update_draft(store, settings, item_id, subject, body, clock=system_clock())
    typer.echo(render_item(edited))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"{path}: cannot read it ({error})", param_hint="--body-file") from None


@outreach_app.command("skipped")
def skipped_command(
    ctx: typer.Context,
    account: AccountOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per skip (JSON Lines).")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Why the latest plan queued nothing for rules that fired: cooldowns, the contact policy, empty tokens."""
    from cockpit.services import outreach as service
    from cockpit.services.scoring import find_account

    with user_store(ctx, db, config) as (store, _settings):
        skips = service.skipped(store, None if account is None else find_account(store, account))
    for skip in skips:
        if as_json:
            record: dict[str, Any] = vars(skip)
            typer.echo(json.dumps(record))
        else:
            typer.echo(
                f"{skip.playbook:<20} {visible(skip.account_id):<12} {clipped(skip.account_name, 24):<24} "
                f"{visible(skip.why)}"
            )


def _mute(ctx: typer.Context, playbook: str, muted: bool, db: Path | None, config: Path | None) -> None:
    from cockpit.services import outreach as service

    with user_store(ctx, db, config) as (store, settings):
        changed = service.set_muted(store, settings, playbook, muted, clock=system_clock())
        now_muted = sorted(service.muted_playbooks(store))
    state = "muted" if muted else "unmuted"
    typer.echo(f"{visible(playbook)} {state}" if changed else f"{visible(playbook)} was already {state}")
    typer.echo(f"muted playbooks: {visible(', '.join(now_muted)) if now_muted else 'none'}")


PlaybookArgument = Annotated[
    str, typer.Argument(help="The playbook's id (outreach.playbooks in the config).")
]


@outreach_app.command("mute")
def mute_command(
    ctx: typer.Context, playbook: PlaybookArgument, db: DbOption = None, config: ConfigOption = None
) -> None:
    """Mute a playbook for your book: the next plan queues nothing for it and withdraws its untouched drafts."""
    _mute(ctx, playbook, True, db, config)


@outreach_app.command("unmute")
def unmute_command(
    ctx: typer.Context, playbook: PlaybookArgument, db: DbOption = None, config: ConfigOption = None
) -> None:
    """Unmute a playbook: the next plan queues its drafts again."""
    _mute(ctx, playbook, False, db, config)
