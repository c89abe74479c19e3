"""`cockpit clv fit` and `cockpit clv show ACCOUNT`: lifetime values with their intervals."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer

from cockpit.cli.common import (
    ConfigOption,
    DbOption,
    FitAsOfOption,
    JsonOption,
    day_or_today,
    progress_bar,
    user_store,
)
from cockpit.clock import system_clock
from cockpit.domain.display import visible

if TYPE_CHECKING:  # the models load NumPy and SciPy: only when a clv command runs
    from cockpit.services.clv import AccountLifetimeValue

clv_app = typer.Typer(
    help="Lifetime value: fit the models, and show an account's value.", no_args_is_help=True
)


@clv_app.command("fit")
def fit_command(
    ctx: typer.Context,
    as_of: FitAsOfOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Fit the lifetime-value models (per segment where large enough), value every account and keep the run."""
    from cockpit.services.clv import run_clv

    with (
        user_store(ctx, db, config) as (store, settings),
        progress_bar("fitting", "steps", as_json=as_json) as progress,
    ):
        clock = system_clock()
        summary = run_clv(store, settings, day_or_today(as_of, clock), clock=clock, progress=progress)
    if as_json:
        typer.echo(json.dumps(summary.to_json(), indent=2))
        return
    counts = summary.counts
    valued = sum(count for model, count in counts.items() if model not in ("churned", "none"))
    typer.echo(
        f"Valued {valued:,} accounts as of {summary.as_of} in {summary.seconds:.1f} s (clv run {summary.run_id}); "
        f"{counts.get('churned', 0):,} churned, {counts.get('none', 0):,} without subscription or orders"
    )
    typer.echo(f"  {'model':<18} {'segment':<14} {'n':>7} {'log-lik':>11}  parameters (standard error)")
    for fit in summary.fits:
        typer.echo(
            f"  {fit['model']:<18} {visible(fit['segment'] or '(book)'):<14} {fit['n']:>7,} {fit['log_likelihood']:>11.2f}  "
            f"{_parameters(fit['params'], fit['std_errors'])}"
        )
    for warning in summary.warnings:
        typer.echo(f"  warning: {visible(warning)}")
    for note in summary.notes:
        typer.echo(f"  note: {visible(note)}")


@clv_app.command("show", no_args_is_help=True)
def show_command(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="The account: its id, CRM id, domain or exact name.")],
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Show an account's lifetime value with its interval, the model and parameters behind it, and LTV:CAC."""
    from cockpit.services.clv import account_value

    with user_store(ctx, db, config) as (store, settings):
        found = account_value(store, account, settings)
    if as_json:
        typer.echo(json.dumps(found.to_json(), indent=2))
    else:
        typer.echo(visible(render(found, settings.general.currency), lines=True))


def _parameters(params: Mapping[str, float], errors: Mapping[str, float]) -> str:
    return ", ".join(
        f"{name} {_figures(value, 3)} ({_figures(errors[name], 2)})" for name, value in params.items()
    )


def _figures(value: float, digits: int) -> str:
    """`value` to about `digits` significant figures, without an exponent."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    return f"{value:,.{decimals}f}"


def _money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def render(found: AccountLifetimeValue, currency: str) -> str:
    """An account's value as a person reads it."""
    from cockpit.clv.reading import p_alive_note

    value, run, settings = found.value, found.run, found.run.settings
    lines = [f"{found.name} ({value.account_id})  lifetime value as of {run.as_of} (clv run {run.id})"]
    if value.model == "none":
        lines.append("  no model applies: no subscription (MRR 0 or no start date) and no orders")
        return "\n".join(lines)
    if value.model == "churned":
        lines.append("  churned: no residual value")
    elif value.clv is not None and value.clv_low is not None and value.clv_high is not None:
        coverage = round(100 * float(settings.get("interval", 0.9)))
        lines.append(
            f"  {'CLV':<13} {_money(value.clv, currency)}  ({coverage}% interval "
            f"{_money(value.clv_low, currency)} to {_money(value.clv_high, currency)})"
        )
        lines.append(f"  {'model':<13} {value.model}")
    if found.cancel_clicked is not None:
        lines.append(
            f"  {'cancel':<13} clicked on {found.cancel_clicked}: this value assumes the subscription "
            "goes on as the book's do; once it ends, record its churn date and fit again"
        )
    if (
        value.subscription_clv is not None
        and value.derl is not None
        and value.renewal_probability is not None
    ):
        lines.append(
            f"  {'subscription':<13} {_money(value.subscription_clv, currency)}: {value.renewals} renewals made, "
            f"renews next time with probability {value.renewal_probability:.3f}, "
            f"discounted expected residual lifetime {value.derl:.2f} periods of {settings.get('period_months')} months"
        )
    if value.orders_clv is not None and value.p_buy_again is not None:
        horizon = f"{settings.get('horizon_periods')} periods of {settings.get('purchase_period_days')} days"
        lines.append(
            f"  {'orders':<13} {_money(value.orders_clv, currency)}: P(buy again in the next {horizon}) "
            f"{value.p_buy_again:.2f}, {value.expected_purchases:.2f} purchases expected in them, "
            f"{_money(value.expected_spend or 0, currency)} expected per purchase; P(alive) {value.p_alive:.2f}"
        )
        note = p_alive_note(value.model, value.p_alive, found.repeat_purchases)
        if note is not None:
            lines.append(f"  {'':<13} {note}")
    if value.realised is not None:
        ratio = (
            f"{value.ltv_cac:.1f} ({_money(value.realised, currency)} realised + "
            f"{_money(value.clv or 0, currency)} expected, over a CAC of {_money(found.cac or 0, currency)})"
            if value.ltv_cac is not None
            else "unknown (no CAC recorded)"
        )
        lines.append(f"  {'LTV:CAC':<13} {ratio}")
    for role, fit in found.fits.items():
        label = {"sbg": "renewals", "bgnbd": "purchases", "gamma_gamma": "spend"}[role]
        lines.append(
            f"  {label + ' fit':<13} {fit.model} on {fit.segment or 'the book'} (n {fit.n:,}): "
            f"{_parameters(fit.params, fit.std_errors)}"
        )
    return "\n".join(lines)
