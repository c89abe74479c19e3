"""`cockpit score evaluate`: how well past score runs told the accounts that churned from those that stayed.

Each finished run (the latest of each day) whose following horizon is over, so that every churn in it is
known, is judged on its own accounts: each account is labelled by whether it churned within `horizon_days`
after the run's day, and the run's churn tiers, churn risk, health bands and health are measured against
that label (`cockpit.scoring.metrics`): the churn rate per tier and per band, the AUC of churn risk and of
100 - health, the lift of the high tier over the low one and of red over green. The runs pooled give the
headline; each run's line shows how the scores held up over time: the book's own "a month or a year ago".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, get_args

from cockpit.config import HealthBand, Settings
from cockpit.scoring.metrics import GroupRate, auc, lift, rates
from cockpit.scoring.order import CHURN_TIER_ORDER
from cockpit.store import Store
from cockpit.store.evaluation import Outcome, PastRun, finished_runs, run_outcomes

NO_BAND = "no health"
"""The group of the accounts a run could not give a health."""


@dataclass(frozen=True)
class Quality:
    """How well one run's scores (or several runs' pooled) foretold churn."""

    accounts: int
    churned: int
    tiers: dict[str, GroupRate]
    """Churn rate per churn tier, high first."""
    bands: dict[str, GroupRate]
    """Churn rate per health band, green first."""
    auc_churn_risk: float | None
    """The chance that a churner had a higher churn risk than a stayer (0.5: no better than chance)."""
    auc_health: float | None
    """The same for 100 - health: a churner had the lower health."""
    lift_tiers: float | None
    """The high tier's churn rate over the low tier's (inf: only the high tier churned)."""
    lift_bands: float | None
    """The red band's churn rate over the green band's."""

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.accounts if self.accounts else None


@dataclass(frozen=True)
class RunQuality:
    run_id: int
    as_of: date
    quality: Quality


@dataclass(frozen=True)
class Evaluation:
    today: date
    horizon_days: int
    runs: list[RunQuality]
    """The runs judged, oldest first."""
    pooled: Quality | None
    unobserved: list[PastRun]
    """Runs in the window left out because their horizon is not over yet."""

    @property
    def message(self) -> str | None:
        """Why there is nothing to judge, or little: no run old enough, or no churn in any horizon."""
        if not self.runs:
            waiting = ""
            if self.unobserved:
                first = self.unobserved[0].as_of
                ready = first + timedelta(days=self.horizon_days)
                waiting = f"; {len(self.unobserved)} are too recent (the first, as of {first}, can be judged from {ready})"
            return (
                f"No score run has a fully observed horizon of {self.horizon_days} days before {self.today}"
                f"{waiting}. Score past days with `cockpit score --as-of DAY` to judge the scores now."
            )
        if self.pooled is not None and self.pooled.churned == 0:
            return (
                f"No account churned within {self.horizon_days} days of any run judged, so nothing tells how well "
                "the scores foretell churn; record churn with `cockpit accounts churned` or a churned_on column."
            )
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "horizon_days": self.horizon_days,
            "pooled": None if self.pooled is None else _quality_json(self.pooled),
            "runs": [
                {"run_id": run.run_id, "as_of": run.as_of.isoformat(), **_quality_json(run.quality)}
                for run in self.runs
            ],
            "unobserved": [{"run_id": run.run_id, "as_of": run.as_of.isoformat()} for run in self.unobserved],
            "message": self.message,
        }


def _number(value: float | None) -> float | None:
    """A figure for JSON: rounded, and None for the infinite lift of a group that never churned."""
    return None if value is None or value == float("inf") else round(value, 4)


def _quality_json(quality: Quality) -> dict[str, Any]:
    def groups(found: dict[str, GroupRate]) -> dict[str, Any]:
        return {
            name: {"accounts": group.accounts, "churned": group.churned, "rate": _number(group.rate)}
            for name, group in found.items()
        }

    return {
        "accounts": quality.accounts,
        "churned": quality.churned,
        "churn_rate": _number(quality.churn_rate),
        "auc_churn_risk": _number(quality.auc_churn_risk),
        "auc_health": _number(quality.auc_health),
        "lift_high_over_low_tier": _number(quality.lift_tiers),
        "lift_red_over_green_band": _number(quality.lift_bands),
        "tiers": groups(quality.tiers),
        "bands": groups(quality.bands),
    }


def _ordered(found: dict[str, GroupRate], order: Sequence[str]) -> dict[str, GroupRate]:
    """The groups in `order`, then any other the runs hold (a band a later cockpit added, no health)."""
    names = [name for name in order if name in found] + sorted(set(found) - set(order))
    return {name: found[name] for name in names}


def judge(outcomes: Sequence[Outcome]) -> Quality:
    """How well the scores of `outcomes` foretold their churn. Pure."""
    tiers = rates((outcome.churn_tier or "unscored", outcome.churned) for outcome in outcomes)
    bands = rates((outcome.health_band or NO_BAND, outcome.churned) for outcome in outcomes)
    risks = [(outcome.churn_risk, outcome.churned) for outcome in outcomes if outcome.churn_risk is not None]
    healths = [
        (100.0 - outcome.health, outcome.churned) for outcome in outcomes if outcome.health is not None
    ]
    return Quality(
        accounts=len(outcomes),
        churned=sum(outcome.churned for outcome in outcomes),
        tiers=_ordered(tiers, CHURN_TIER_ORDER),
        bands=_ordered(bands, get_args(HealthBand)),
        auc_churn_risk=auc([risk for risk, _ in risks], [churned for _, churned in risks]),
        auc_health=auc([sickness for sickness, _ in healths], [churned for _, churned in healths]),
        lift_tiers=lift(tiers.get("high"), tiers.get("low")),
        lift_bands=lift(bands.get("red"), bands.get("green")),
    )


def evaluate_scores(
    store: Store,
    settings: Settings,
    *,
    today: date,
    first: date | None = None,
    last: date | None = None,
    horizon_days: int | None = None,
) -> Evaluation:
    """Judge the finished runs as of `first` to `last` (default: all) whose horizon (default
    `churn.evaluate_horizon_days`) ended by `today`."""
    horizon = horizon_days or settings.churn.evaluate_horizon_days
    db = store.db
    observed: list[RunQuality] = []
    unobserved: list[PastRun] = []
    pooled: list[Outcome] = []
    for run in finished_runs(db, first, last):
        until = run.as_of + timedelta(days=horizon)
        if until > today:
            unobserved.append(run)
            continue
        outcomes = run_outcomes(db, run, until)
        pooled += outcomes
        observed.append(RunQuality(run.run_id, run.as_of, judge(outcomes)))
    return Evaluation(today, horizon, observed, judge(pooled) if observed else None, unobserved)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def auc_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def lift_text(value: float | None) -> str:
    """`3.2x`; `∞` when only the riskier group churned; `—` when it cannot be told."""
    if value is None:
        return "—"
    return "∞" if value == float("inf") else f"{value:.1f}x"


def rates_text(groups: dict[str, GroupRate]) -> str:
    """`high 25.0% (3 of 12) · medium 8.0% (4 of 50) · low 1.0% (1 of 100)`."""
    return " · ".join(
        f"{name} {percent(group.rate)} ({group.churned:,} of {group.accounts:,})"
        for name, group in groups.items()
    )


def headline(quality: Quality) -> list[str]:
    """The figures of a run or of the runs pooled, a line each: the counts, the AUCs, the lifts."""
    return [
        f"{quality.accounts:,} scores, {quality.churned:,} churned ({percent(quality.churn_rate)})",
        f"AUC of churn risk {auc_text(quality.auc_churn_risk)}, of 100 - health {auc_text(quality.auc_health)}"
        " (0.50: chance)",
        f"Lift of high over low churn tier {lift_text(quality.lift_tiers)}, "
        f"of red over green health {lift_text(quality.lift_bands)}",
    ]
