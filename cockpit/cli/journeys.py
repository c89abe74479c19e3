"""`cockpit journeys`: the event sequences that preceded churn (or renewal), and the accounts on each path now."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from cockpit.cli.common import ConfigOption, DbOption, JsonOption, day_or_today, user_store
from cockpit.clock import system_clock
from cockpit.domain.display import visible

if TYPE_CHECKING:  # the mining loads NumPy and SciPy: only when the command runs
    from cockpit.services.journeys import JourneyReport


class OutcomeChoice(StrEnum):
    churn = "churn"
    renewal = "renewal"


def journeys_command(
    ctx: typer.Context,
    outcome: Annotated[
        OutcomeChoice, typer.Option("--outcome", help="The patterns that preceded churn, or renewal.")
    ] = OutcomeChoice.churn,
    window: Annotated[
        int | None,
        typer.Option(
            "--window", min=1, help="Days of each timeline before its outcome. Default: journeys.window_days."
        ),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="Mine the book as it stood on this day (YYYY-MM-DD)."
        ),
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The event sequences that preceded churn (or renewal), each with its accounts, churn rate, lift, the
    interval of its rate and how long before the outcome it appears; and how many customers are on it now."""
    from cockpit.services.journeys import find_journeys

    with user_store(ctx, db, config) as (store, settings):
        report = find_journeys(
            store,
            settings,
            day_or_today(as_of, system_clock()),
            outcome=outcome.value,
            window_days=window,
        )
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    typer.echo(visible(render(report), lines=True))


def render(report: JourneyReport) -> str:
    """The report as a person reads it: a sentence on what was learned from, then one line per pattern."""
    what = "churn" if report.outcome == "churn" else "renewal"
    base = report.base_rate
    lines = [
        f"Journeys that preceded {what}, as of {report.as_of}: {report.decided:,} accounts churned or renewed "
        f"in the last {report.lookback_days} days, {report.churned:,} churned"
        + ("" if base is None else f"; {what} rate {base:.0%}")
        + f". Timelines of the {report.window_days} days before each outcome; {report.tested:,} patterns "
        f"tested, {len(report.paths)} significant.",
    ]
    if not report.paths:
        lines.append("No pattern stands out from the base rate.")
        return "\n".join(lines)
    lines.append(
        f"{'lift':>5} {what:>8} {'interval':>11} {'accounts':>8} {'of ' + what:>10} {'lead':>6} {'now':>5}  pattern"
    )
    for path in report.paths:
        pattern = path.pattern
        lines.append(
            f"{pattern.lift:5.2f} {pattern.outcome_rate:8.0%} "
            f"{f'{pattern.outcome_low:.0%}-{pattern.outcome_high:.0%}':>11} {pattern.accounts:8,} "
            f"{pattern.share_of_outcome:10.0%} {f'{pattern.lead_days}d':>6} {len(path.on_path):5,}  {pattern.text}"
        )
    lines.append(
        "lift: the rate over the book's; interval: of the rate; of "
        f"{what}: the share of the {what} it preceded; lead: typical days before the outcome; now: customers on it"
    )
    return "\n".join(lines)
