"""The reads of `cockpit score evaluate`: past score runs, and what each said about its accounts beside
whether they churned in the days that followed."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from sqlite_utils import Database


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
    """Every account the run scored, with its scores and whether its churn day falls after the run's day and
    on or before `until`."""
    rows = db.execute(
        """
        SELECT s.churn_tier, s.churn_risk, s.health_band, s.health,
            coalesce(a.churned_on > :as_of AND a.churned_on <= :until, 0)
        FROM scores s JOIN accounts a ON a.id = s.account_id
        WHERE s.run_id = :run
        """,
        {"run": run.run_id, "as_of": run.as_of.isoformat(), "until": until.isoformat()},
    ).fetchall()
    return [Outcome(tier, risk, band, health, bool(churned)) for tier, risk, band, health, churned in rows]
