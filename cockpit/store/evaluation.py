"""The reads of `cockpit score evaluate`: past score runs, and what each said about its accounts beside
whether they churned in the days that followed."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from cockpit.store.compact_scores import run_scores
from cockpit.store.sqlite import Database


class PastRun(NamedTuple):
    run_id: int
    as_of: date


class Outcome(NamedTuple):
    """An account as a run scored it, and whether it churned in the window after the run."""

    churn_tier: str | None
    churn_risk: float | None
    health_band: str | None
    health: float | None
    churned: bool


def finished_runs(db: Database, first: date | None = None, last: date | None = None) -> list[PastRun]:
    """The finished score runs as of `first` to `last` (each bound optional), oldest first; of a day scored
    more than once, its latest run."""
    rows = db.execute(
        "SELECT max(id), as_of FROM score_runs WHERE finished_at IS NOT NULL AND as_of >= ? AND as_of <= ? "
        "GROUP BY as_of ORDER BY as_of",
        [(first or date.min).isoformat(), (last or date.max).isoformat()],
    ).fetchall()
    return [PastRun(run_id, date.fromisoformat(as_of)) for run_id, as_of in rows]


def run_outcomes(db: Database, run: PastRun, until: date) -> list[Outcome]:
    """Every account the run scored (in full rows or compact), by id, with its scores and whether its churn
    day falls after the run's day and on or before `until`."""
    churned = {
        account_id
        for (account_id,) in db.execute(
            "SELECT id FROM accounts WHERE churned_on > ? AND churned_on <= ?",
            [run.as_of.isoformat(), until.isoformat()],
        )
    }
    return [
        Outcome(tier, risk, band, health, account_id in churned)
        for account_id, tier, risk, band, health in run_scores(
            db, run.run_id, ("churn_tier", "churn_risk", "health_band", "health")
        )
    ]
