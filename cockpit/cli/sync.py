"""`cockpit sync`: the nightly CRM run, its setup, its status, and settling what it left for the CSM."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from cockpit.cli.common import (
    ConfigOption,
    DbOption,
    JsonOption,
    progress_bar,
    say_when_interrupted,
    user_store,
)
from cockpit.clock import system_clock
from cockpit.crm import CRM_NAMES
from cockpit.domain.display import visible

if TYPE_CHECKING:
    from cockpit.services.sync.report import CrmRun, SyncReport

# The sync engine (httpx, scoring) is imported by the commands that run it, so that every other command
# starts fast.

sync_app = typer.Typer(
    help="Keep the cockpit and the CRM in step: pull accounts and contacts, score, push interactions and approved outreach.",
    invoke_without_command=True,
)

CrmOption = Annotated[
    str | None,
    typer.Option("--crm", help=f"Only this CRM ({', '.join(CRM_NAMES)}). Default: every enabled one."),
]


@sync_app.callback()
def sync(
    ctx: typer.Context,
    crm: CrmOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Read from the CRMs and print every change, field by field; write nothing."
        ),
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Pull, import, score and push. Exit code 0 only if everything went: 1 if anything did not, 4 if a
    daily API limit stopped the run (the next run carries on), 5 if another sync is running."""
    if ctx.invoked_subcommand is not None:
        return
    from cockpit.services.sync import run_sync

    say_when_interrupted(
        "the sync stopped part way. What it pulled and pushed is recorded; the next `cockpit sync` carries "
        "on from there (an item sent as it stopped is sent again, and the CRM takes it as an update, not a "
        "second copy)."
    )
    with (
        user_store(ctx, db, config, fills=True) as (store, settings),
        progress_bar("syncing", "steps", as_json=as_json) as progress,
    ):
        report = run_sync(store, settings, clock=system_clock(), crm=crm, dry_run=dry_run, progress=progress)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        typer.echo(visible(render_report(report), lines=True))
    raise typer.Exit(report.exit_code)


@sync_app.command("setup")
def setup(
    ctx: typer.Context, crm: CrmOption = None, db: DbOption = None, config: ConfigOption = None
) -> None:
    """Create the external-id property on HubSpot's engagements, or check Salesforce's field (idempotent)."""
    from cockpit.services.sync import setup_crms

    with user_store(ctx, db, config) as (store, settings):
        found = setup_crms(settings, store, crm, clock=system_clock())
    for name, state in found.items():
        details = ", ".join(f"{key} {value}" for key, value in sorted(state.items()))
        typer.echo(f"{name}: ready ({details})")


@sync_app.command("status")
def status(
    ctx: typer.Context, as_json: JsonOption = False, db: DbOption = None, config: ConfigOption = None
) -> None:
    """The last runs, the items waiting to be pushed, the items a CRM refused, and open conflicts."""
    from cockpit.services.sync import sync_status

    with user_store(ctx, db, config) as (store, settings):
        found = sync_status(store, settings)
    if as_json:
        typer.echo(json.dumps(found.to_json(), indent=2, default=str))
        return
    typer.echo("Last runs:" if found.runs else "No sync has run yet.")
    for run in found.runs:
        dry = " (dry run)" if run.dry_run else ""
        counts = ", ".join(f"{value} {name}" for name, value in sorted(run.counts.items()) if value)
        typer.echo(f"  {run.id:>5}  {run.crm:<10} {run.started_at}  {run.status:<8}{dry}  {counts}")
        for error in run.errors[:3]:
            typer.echo(f"         {visible(error)}")
    for crm, waiting in found.pending.items():
        follow_ups = f", {waiting['follow_up']:,} follow-ups" if "follow_up" in waiting else ""
        typer.echo(
            f"Pending for {crm}: {waiting['interaction']:,} interactions, {waiting['outreach']:,} outreach items"
            f"{follow_ups}"
        )
    if found.problems:
        typer.echo("Refused by a CRM:")
        for problem in found.problems:
            typer.echo(
                f"  {problem.crm:<10} {problem.item_type} {problem.local_id}  {problem.state} "
                f"({problem.attempts} refusals): {visible(problem.error)}"
            )
    if found.conflicts:
        typer.echo("Conflicts (settle with `cockpit sync resolve ID --keep local|crm`):")
        for clash in found.conflicts:
            typer.echo(
                visible(
                    f"  {clash.id:>5}  {clash.crm} {clash.record} {clash.field}: "
                    f"last synced {clash.base_value!r}, cockpit {clash.local_value!r}, {clash.crm} {clash.crm_value!r}"
                )
            )


@sync_app.command("resolve")
def resolve(
    ctx: typer.Context,
    conflict_id: Annotated[int, typer.Argument(help="The conflict's number (see `cockpit sync status`).")],
    keep: Annotated[
        Literal["local", "crm"], typer.Option(help="Keep cockpit's value (local) or take the CRM's (crm).")
    ],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Settle a field changed on both sides since the last sync."""
    from cockpit.services.sync import resolve_conflict

    with user_store(ctx, db, config) as (store, _settings):
        settled = resolve_conflict(store, conflict_id, keep, clock=system_clock())
    typer.echo(
        f"Conflict {settled.id} settled: {visible(settled.record)} {settled.field} keeps the {keep} value."
    )


@sync_app.command("retry")
def retry(
    ctx: typer.Context, crm: CrmOption = None, db: DbOption = None, config: ConfigOption = None
) -> None:
    """Put the items a CRM refused too often back in the outbox for the next run."""
    from cockpit.services.sync import retry_failed

    with user_store(ctx, db, config) as (store, _settings):
        count = retry_failed(store, crm)
    typer.echo(f"{count:,} item(s) back in the outbox.")


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def render_run(run: CrmRun) -> list[str]:
    counts = run.counts
    label = f"run {run.run_id}" if run.run_id is not None else "dry run"
    seconds = sum(value for name, value in run.durations.items() if name != "waited")
    lines = [f"{run.crm}  {label}  {run.status}  {seconds:.1f} s"]
    lines.append(
        f"  pulled    {counts['pulled_accounts']:,} accounts, {counts['pulled_contacts']:,} contacts: "
        f"{counts['inserted']:,} new, {counts['updated']:,} updated, {counts['unchanged']:,} unchanged, "
        f"{counts['skipped']:,} skipped, {counts['deleted']:,} deleted"
    )
    lines.append(
        f"  activity  {counts['pulled_engagements']:,} calls, meetings, emails, notes and tasks: "
        f"{counts['engagements_inserted']:,} new, {counts['engagements_updated']:,} updated, "
        f"{counts['engagements_own']:,} cockpit's own, {counts['engagements_outside_book']:,} outside the book; "
        f"{counts['engagements_deleted']:,} deleted in {run.crm}, out of the journey"
    )
    for label, what in (("follow-up", "follow_ups"), ("outreach ", "outreach")):
        back = [counts[f"{what}_{change}_in_crm"] for change in ("done", "moved", "deleted")]
        if any(back):
            lines.append(
                f"  {label} {back[0]:,} completed, {back[1]:,} moved, {back[2]:,} deleted in {run.crm}: "
                f"made to cockpit's {what.replace('_', '-')}"
            )
    lines.append(
        f"  deletions {counts['deletions_restored']:,} skipped: restored in {run.crm} (kept live), "
        f"{counts['deletions_unconfirmed']:,} not confirmed (asked again next run); "
        f"{counts['merged']:,} merged into another record there (marked deleted)"
    )
    if run.dry_run:
        lines.append(
            f"  to push   {counts['would_push']:,} item(s) ({counts['would_push_follow_ups']:,} follow-up task(s)), "
            f"{counts['blocked']:,} blocked"
        )
    else:
        lines.append(
            f"  pushed    {counts['pushed']:,} item(s) ({counts['pushed_follow_ups']:,} follow-up task(s)); "
            f"{counts['push_errors']:,} refused, "
            f"{counts['push_retries']:,} retried, {counts['blocked']:,} blocked, {counts['failed_items']:,} set aside, "
            f"{counts['held_deleted_accounts']:,} held back (account deleted); "
            f"{counts['resumed']:,} resumed from an interrupted run"
        )
    lines.append(
        f"  requests  {counts['requests']:,} ({counts['retries']:,} retries), waited {run.durations.get('waited', 0):.1f} s"
    )
    for clash in run.conflicts:
        lines.append(
            f"  conflict  {clash.object_type} {clash.local_id} {clash.field}: last synced {_shown(clash.base)}, "
            f"cockpit {_shown(clash.local)}, {run.crm} {_shown(clash.crm)} (kept cockpit's; see `cockpit sync status`)"
        )
    lines += [f"  error     {error}" for error in run.errors]
    if run.unlisted:
        lines.append(f"  error     ... and {run.unlisted:,} more (`cockpit sync status`)")
    lines += [f"  note      {note}" for note in run.notes]
    for change in run.changes:
        lines += ["  " + line for line in change.lines()]
    return lines


def render_report(report: SyncReport) -> str:
    lines: list[str] = []
    for run in report.runs:
        lines += render_run(run)
    if report.churn_model is not None:
        lines.append(f"churn     model {report.churn_model['line']}")
    if report.scoring is not None:
        scoring = report.scoring
        lines.append(
            f"scoring   {scoring['accounts']:,} accounts as of {scoring['as_of']} in {scoring['seconds']:.1f} s "
            f"(run {scoring['run_id']})"
        )
    if report.outreach is not None:
        lines.append("outreach  " + ", ".join(f"{what} {count:,}" for what, count in report.outreach.items()))
    if report.history is not None:
        lines.append(f"history   {report.history['line']}")
    lines += [f"error     {error}" for error in report.errors]
    lines.append(f"exit code {report.exit_code}")
    return "\n".join(lines)
