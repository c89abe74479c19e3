"""`cockpit score`, `cockpit score evaluate` and `cockpit explain ACCOUNT`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from cockpit.cli.common import ConfigOption, DbOption, JsonOption, day_or_today, progress_bar, user_store
from cockpit.clock import system_clock
from cockpit.domain.display import visible

AsOfOption = Annotated[
    datetime | None,
    typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="Score the book as it stood on this day (YYYY-MM-DD)."
    ),
]

score_app = typer.Typer(
    help="Score every account and keep the run; `cockpit score evaluate` judges past runs.",
    invoke_without_command=True,
)


@score_app.callback()
def score_command(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Score every account (health, adoption, churn, value, cross-sell, advocacy) and keep the run."""
    if ctx.invoked_subcommand is not None:
        if (as_of, db, config) != (None, None, None) or as_json:
            raise typer.BadParameter(
                f"put the options after the command: cockpit score {ctx.invoked_subcommand} [OPTIONS]"
            )
        return
    from cockpit.config import band_words
    from cockpit.services.scoring import run_scoring

    with (
        user_store(ctx, db, config) as (store, settings),
        progress_bar("scoring", "accounts", as_json=as_json) as progress,
    ):
        clock = system_clock()
        summary = run_scoring(store, settings, day_or_today(as_of, clock), clock=clock, progress=progress)
    if as_json:
        typer.echo(json.dumps(summary.to_json(), indent=2))
        return
    counts = summary.counts
    typer.echo(
        f"Scored {summary.accounts:,} accounts as of {summary.as_of} in {summary.seconds:.1f} s (run {summary.run_id})"
    )
    for label, key, order in (
        ("health", "health_band", ("green", "yellow", "red", "insufficient", "None")),
        ("churn risk", "churn_tier", ("high", "medium", "low")),
        ("value", "value_tier", ("high", "medium", "other")),
        ("adoption", "adoption_status", ("power", "adopted", "onboarding", "not started", "None")),
        ("advocacy", "advocacy", ("lover", "liker", "lurker")),
    ):
        shown = ", ".join(
            f"{counts[key][name]:,} {band_words(name) if key == 'health_band' else name}"
            for name in order
            if counts[key].get(name)
        )
        typer.echo(f"  {label:<11} {shown}")
    typer.echo(f"  cross-sell  {counts['cross_sell_ready']['ready']:,} ready")
    if summary.events is not None:
        typer.echo(f"  {summary.events}")
    if not summary.coverage.usage:
        typer.echo("  no usage in the book: adoption (in health) and inactivity are not scored")
    if not summary.coverage.tickets:
        typer.echo("  no tickets in the book: support (in health) is not scored")


@score_app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    first: Annotated[
        datetime | None,
        typer.Option(
            "--from", formats=["%Y-%m-%d"], metavar="DAY", help="Judge runs as of this day or later."
        ),
    ] = None,
    last: Annotated[
        datetime | None,
        typer.Option(
            "--to", formats=["%Y-%m-%d"], metavar="DAY", help="Judge runs as of this day or earlier."
        ),
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="DAYS",
            help="Churn within this many days of a run counts. Default: churn.evaluate_horizon_days.",
        ),
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """How good are these scores: for each past score run whose horizon is over, the churn rate per churn tier
    and health band, the AUC of churn risk and of health, and the lift of high over low; pooled and per run.
    Exits 1 when no run can be judged yet."""
    from cockpit.services.evaluate import (
        auc_text,
        evaluate_scores,
        headline,
        lift_text,
        percent,
        rates_text,
    )

    with user_store(ctx, db, config) as (store, settings):
        evaluation = evaluate_scores(
            store,
            settings,
            today=system_clock().today(),
            first=first.date() if first else None,
            last=last.date() if last else None,
            horizon_days=horizon,
        )
    if as_json:
        typer.echo(json.dumps(evaluation.to_json(), indent=2))
    elif evaluation.pooled is not None:
        runs = evaluation.runs
        typer.echo(
            f"How good are these scores: churn within {evaluation.horizon_days} days of each run, "
            f"{len(runs)} run(s) as of {runs[0].as_of} to {runs[-1].as_of}, pooled:"
        )
        for line in headline(evaluation.pooled):
            typer.echo(f"  {line}")
        typer.echo(f"  Churn tiers: {rates_text(evaluation.pooled.tiers)}")
        typer.echo(f"  Health bands: {rates_text(evaluation.pooled.bands)}")
        typer.echo("")
        typer.echo(
            f"  {'as of':<10}  {'scores':>7}  {'churned':>14}  {'AUC risk':>8}  {'AUC health':>10}  {'lift':>6}"
        )
        for run in runs:
            quality = run.quality
            churned = f"{quality.churned:,} ({percent(quality.churn_rate)})"
            typer.echo(
                f"  {run.as_of.isoformat():<10}  {quality.accounts:>7,}  {churned:>14}  "
                f"{auc_text(quality.auc_churn_risk):>8}  {auc_text(quality.auc_health):>10}  "
                f"{lift_text(quality.lift_tiers):>6}"
            )
    if evaluation.runs and evaluation.unobserved and not as_json:
        days = ", ".join(run.as_of.isoformat() for run in evaluation.unobserved)
        typer.echo(f"Not judged yet (their {evaluation.horizon_days} days are not over): {days}", err=True)
    if evaluation.message and not as_json:
        typer.echo(evaluation.message, err=True)
    if not evaluation.runs:
        raise typer.Exit(1)


def explain_command(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="The account: its id, CRM id, domain or exact name.")],
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Show why an account scores as it does: each score's inputs, their contributions, the signals that fired."""
    from cockpit.services.scoring import explanation_for

    with user_store(ctx, db, config) as (store, _settings):
        explanation = explanation_for(store, account, as_of.date() if as_of else None)
    if as_json:
        typer.echo(json.dumps(explanation, indent=2))
    else:
        typer.echo(visible(render_explanation(explanation), lines=True))


def render_explanation(explanation: dict[str, Any]) -> str:
    """The explanation as a person reads it: one section per score, one line per input."""
    lines = [
        f"{explanation.get('account_id')}  as of {explanation.get('as_of')}  (score run {explanation.get('run_id')})"
    ]
    for section, body in explanation.items():
        if not isinstance(body, dict):
            continue
        headline = ", ".join(
            f"{key} {_plain(value)}" for key, value in body.items() if not isinstance(value, list | dict)
        )
        lines += ["", f"{section.replace('_', ' ').upper()}  {headline}"]
        for key, value in body.items():
            if isinstance(value, list) and value:
                lines.append(f"  {key}:")
                lines += [f"    {_item(item)}" for item in value]
            elif isinstance(value, dict) and value:
                lines.append(f"  {key}: {_item(value)}")
    return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _item(item: Any) -> str:
    if not isinstance(item, dict):
        return _plain(item)
    detail = item.get("detail") or item.get("why") or item.get("reason")
    named = item.get("name") or item.get("feature") or item.get("kind") or ""
    rest = ", ".join(
        f"{key} {_plain(value)}"
        for key, value in item.items()
        if key not in {"detail", "why", "reason", "name", "feature", "kind"}
        and not isinstance(value, list | dict)
    )
    return " ".join(
        part for part in (str(named), f"({rest})" if rest else "", f"- {detail}" if detail else "") if part
    )
