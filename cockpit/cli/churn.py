"""`cockpit churn fit` and `cockpit churn show`: the learned churn model, fitted on the book's own history."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cockpit.cli.common import ConfigOption, DbOption, FitAsOfOption, JsonOption, day_or_today, user_store
from cockpit.clock import system_clock
from cockpit.domain.display import visible

if TYPE_CHECKING:  # the fit loads NumPy and SciPy: only when a churn command runs
    from cockpit.services.churn import ChurnFit

churn_app = typer.Typer(
    help="The learned churn model: fit it on the book's own history, and show the latest fit.",
    no_args_is_help=True,
)


@churn_app.command("fit")
def fit_command(
    ctx: typer.Context,
    as_of: FitAsOfOption = None,
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon",
            min=1,
            help="Days ahead the chance of churn is for. Default: churn.learned.horizon_days.",
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            formats=["%Y-%m-%d"],
            help="Learn from the history from this day on. Default: the first day of activity the book holds.",
        ),
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Learn the chance of churn from the book's history, check it beside the rules, and keep the model."""
    from cockpit.services.churn import fit_churn

    with user_store(ctx, db, config) as (store, settings):
        clock = system_clock()
        fit = fit_churn(
            store,
            settings,
            day_or_today(as_of, clock),
            horizon_days=horizon,
            since=since.date() if since else None,
            clock=clock,
        )
    typer.echo(json.dumps(fit.to_json(), indent=2) if as_json else visible(render(fit), lines=True))


@churn_app.command("show")
def show_command(
    ctx: typer.Context,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Show the latest fit: how it did on its holdout beside the rules, and whether mode "auto" uses it."""
    from cockpit.services.churn import latest_fit

    with user_store(ctx, db, config) as (store, settings):
        fit = latest_fit(store, settings)
    typer.echo(json.dumps(fit.to_json(), indent=2) if as_json else visible(render(fit), lines=True))


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _figure(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _tiers(found: dict[str, Any]) -> str:
    tiers = found["tiers"]
    return "  ".join(
        f"{name} {tiers[name]['accounts']:,} ({_share(tiers[name]['rate'])})"
        if name in tiers
        else f"{name} 0"
        for name in ("high", "medium", "low")
    )


def render(fit: ChurnFit) -> str:
    """A fit as a person reads it."""
    run, metrics = fit.run, fit.run.metrics
    holdout, training, penalty = metrics["holdout"], metrics["training"], metrics["penalty"]
    snapshots = metrics["snapshots"]
    took = "" if fit.seconds is None else f" in {fit.seconds:.1f} s"
    if holdout.get("by") == "accounts":
        checked = f"one account in 4 (by id) as of {holdout['as_of']}, the only snapshot"
        learned_from = "the others"
    else:
        checked = f"the latest, {holdout['as_of']}"
        learned_from = f"the {len(training['as_of'])} snapshots whose horizon had passed by then"
    lines = [
        f"Learned churn model {run.id}: the chance of churning within {run.horizon_days} days, fitted as of "
        f"{run.as_of}{took}",
        f"  learned from {run.snapshots} snapshots ({snapshots[-1]} to {snapshots[0]}, every 30 days): "
        f"{metrics['final']['rows']:,} rows of {run.accounts:,} accounts, {run.churned:,} of them churned",
        f"  checked on {checked}: {holdout['accounts']:,} accounts, {holdout['churned']:,} churned "
        f"({_share(holdout['base_rate'])}), by a model that learned from {learned_from}",
        f"  {'':<8} {'AUC':>6} {'Brier':>7} {'lift':>6}  churn rate per tier",
    ]
    for name in ("learned", "rules"):
        found = holdout[name]
        lift = found["lift_high_over_low"]
        lines.append(
            f"  {name:<8} {_figure(found['auc']):>6} {_figure(found['brier'], 4):>7} "
            f"{_figure(lift, 1) if lift is not None else '-':>6}  {_tiers(found)}"
        )
    lines.append(f"  Brier of the training churn rate alone: {_figure(holdout['brier_of_training_rate'], 4)}")
    lines.append("  calibration of the learned model on the holdout (predicted against observed churn):")
    for found in holdout["learned"]["reliability"]:
        lines.append(
            f"    {found['low']:.0%}-{found['high']:.0%}  {found['accounts']:>8,} accounts  predicted "
            f"{_share(found['predicted']):>6}  observed {_share(found['observed']):>6}"
        )
    chosen_on = penalty["validation_as_of"]
    lines.append(
        f"  L2 penalty {penalty['chosen']:g}"
        + (f", the least log-loss on {chosen_on}" if chosen_on else " (too few snapshots to choose one)")
    )
    columns = sorted(run.model["columns"], key=lambda column: -abs(column[5]))
    lines.append("  strongest columns (log-odds per standard deviation):")
    for name, kind, level, _mean, _scale, coefficient in columns[:8]:
        label = (
            name
            if kind == "value"
            else f"{name} missing"
            if kind == "missing"
            else f"{name} {level or 'other'}"
        )
        lines.append(f"    {coefficient:+.3f}  {label}")
    ends = metrics.get("activity", {}).get("last")
    if ends is not None and date.fromisoformat(snapshots[0]) >= date.fromisoformat(ends) - timedelta(days=1):
        lines.append(
            f"  note: the book's activity ends on {ends}, so the snapshots end the day before; scores as of "
            "later days see no activity since"
        )
    verdict = "uses it" if fit.verdict.uses else "does not use it"
    lines.append(f'  churn.mode "auto" {verdict}: {fit.verdict.reason}')
    return "\n".join(lines)
