"""The learned churn model: fitted on the book's own history (`fit_churn`), fitted afresh by the nightly run
and the demo when due (`refit_when_due`), shown (`latest_fit`), and chosen for a scoring run by `churn.mode`
(`scoring_model`).

A fit reads the book as of every snapshot day at once (`store.churn.SnapshotFacts`), turns each account's
facts into the model's inputs (`scoring.learned.account_inputs`) and labels them by whether the account
churned within the horizon after the day; the holdout day's accounts are scored by the rules as well, to
measure both on the same rows. Health and the rules' signals read each day's facts with what the book held
as of that day (`book_coverage`), as a scoring run as of that day does, and the inputs the book could not
tell then stand at the mean. `scoring.learned_fit` then fits and measures, and the run is stored whole
(`churn_models`). See docs/churn.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from cockpit.clock import Clock, stamp
from cockpit.config import Settings
from cockpit.scoring import churn
from cockpit.scoring.churn import book_norms
from cockpit.scoring.common import RECENT_DAYS, cyclic_gc_paused
from cockpit.scoring.learned import account_inputs, renewal_as_of, unknown_inputs
from cockpit.scoring.learned_fit import NotEnoughHistory, SnapshotRows, fit_churn_model, snapshot_days
from cockpit.scoring.rules import grounds, health_and_churn
from cockpit.services import events
from cockpit.services.scoring import AutoVerdict, NoChurnModel, auto_verdict, windows
from cockpit.store import Store
from cockpit.store.churn import (
    ChurnModelRun,
    SnapshotFacts,
    churned_accounts,
    history,
    latest_churn_model,
    save_churn_model,
)
from cockpit.store.scoring import book_coverage, contracts_on, customers_on, tickets_within


@dataclass(frozen=True)
class ChurnFit:
    """A stored fit with what `churn.mode = "auto"` makes of it."""

    run: ChurnModelRun
    verdict: AutoVerdict
    seconds: float | None = None
    """How long the fit took (a fresh fit only)."""

    def to_json(self) -> dict[str, Any]:
        run = self.run
        return {
            "model_id": run.id,
            "as_of": run.as_of,
            "horizon_days": run.horizon_days,
            "fitted_at": run.fitted_at,
            "snapshots": run.snapshots,
            "accounts": run.accounts,
            "churned": run.churned,
            "auto_uses_it": self.verdict.uses,
            "auto_reason": self.verdict.reason,
            **({} if self.seconds is None else {"seconds": round(self.seconds, 2)}),
            "metrics": run.metrics,
            "model": run.model,
        }


def fit_churn(
    store: Store,
    settings: Settings,
    as_of: date,
    *,
    horizon_days: int | None = None,
    since: date | None = None,
    clock: Clock,
) -> ChurnFit:
    """Fit the learned model as of `as_of` on the book's history (from `since`, or from the first day of
    activity the book holds), measure it on the holdout beside the rules, and store the run."""
    timer = time.perf_counter()
    learned = settings.churn.learned
    horizon = horizon_days or learned.horizon_days
    db = store.db
    window = settings.adoption.window_days
    with events.opened(settings.events) as source:
        accounts = None if source is None else events.Accounts(db, settings.events)
        held = history(db, None if source is None else events.spans(source))
        days = snapshot_days(as_of, horizon, since or held.first, learned.max_snapshots, held.last)
        if not days:
            raise NotEnoughHistory(
                f"the book's history as of {as_of} holds no day to learn from with a whole {horizon}-day "
                f"horizon after it and {RECENT_DAYS} days of activity before it ({churned_accounts(db)} "
                "churned accounts found in the book).",
                hint="Fit as of a later day (--as-of) or with a shorter --horizon; import the book's history "
                "(usage, signals, start and churn days) first.",
            )
        if source is None or accounts is None:
            prefetched = None
            coverage = [book_coverage(db, day, window) for day in days]
            tickets = [tickets_within(db, day, settings.churn.horizon_days) for day in days]
        else:
            prefetched = events.snapshot_buckets(source, accounts, days, windows(settings))
            coverage = [events.coverage(source, day, window) for day in days]
            tickets = [
                events.tickets_within(
                    source, accounts, customers_on(db, day), day, settings.churn.horizon_days
                )
                for day in days
            ]
    rows = SnapshotRows()
    norms = [
        book_norms(contracts_on(db, day), held_tickets, day, settings.churn)
        for day, held_tickets in zip(days, tickets, strict=True)
    ]
    for index, held_then in enumerate(coverage):
        rows.unknown(index, unknown_inputs(held_then))
    reader = store if store.reads_beside_writes() else None
    with (
        cyclic_gc_paused(),
        SnapshotFacts(db, days, windows(settings), reader=reader, prefetched=prefetched) as snapshots,
    ):
        for day, as_stored, traits in snapshots:
            facts = renewal_as_of(as_stored)
            found = grounds(facts, settings)
            health, by_rules = health_and_churn(facts, found, settings, coverage[day], norms[day])
            inputs = account_inputs(
                facts,
                traits,
                found.timeline,
                found.mail,
                found.adoption.share,
                health.score,
                by_rules.part,
                settings.churn,
            )
            churned_on = facts.churned_on
            churned = churned_on is not None and 0 < (churned_on - facts.as_of).days <= horizon
            rows.add(inputs, churned, day, facts.account_id, by_rules.risk if day == 0 else None)
    fit = fit_churn_model(
        rows.dataset(), days, horizon, learned, lambda risk: churn.tier(risk, settings.churn)
    )
    with store.write() as db:
        model_id = save_churn_model(
            db,
            as_of=as_of,
            horizon_days=horizon,
            fitted_at=stamp(clock()),
            snapshots=len(days),
            accounts=fit.accounts,
            churned=fit.churned,
            model=fit.model.to_json(),
            metrics={**fit.metrics, "activity": {"first": _day(held.first), "last": _day(held.last)}},
            settings=settings.churn.model_dump(),
        )
        run = latest_churn_model(db)
    assert run is not None and run.id == model_id
    return ChurnFit(run, auto_verdict(run, settings), time.perf_counter() - timer)


def latest_fit(store: Store, settings: Settings) -> ChurnFit:
    run = latest_churn_model(store.db)
    if run is None:
        raise NoChurnModel("no churn model has been fitted yet.", hint="Fit one with `cockpit churn fit`.")
    return ChurnFit(run, auto_verdict(run, settings))


RefitAction = Literal["fitted", "kept", "not fitted"]


@dataclass(frozen=True)
class Refit:
    """What a nightly run made of the learned model, and why."""

    action: RefitAction
    reason: str
    fit: ChurnFit | None = None
    """The fresh fit, or the one kept."""

    def line(self) -> str:
        """`fitted: no model had been fitted (model 3, holdout AUC 0.812; churn.mode "auto" uses it)`."""
        if self.fit is None:
            return f"{self.action}: {self.reason}"
        run, verdict = self.fit.run, self.fit.verdict
        auc = run.metrics["holdout"]["learned"]["auc"]
        quality = "no holdout AUC" if auc is None else f"holdout AUC {auc:.3f}"
        uses = "uses" if verdict.uses else "does not use"
        return f'{self.action}: {self.reason} (model {run.id}, {quality}; churn.mode "auto" {uses} it)'

    def to_json(self) -> dict[str, Any]:
        fit = self.fit
        return {
            "action": self.action,
            "reason": self.reason,
            "model_id": None if fit is None else fit.run.id,
            "as_of": None if fit is None else fit.run.as_of,
            "auto_uses_it": None if fit is None else fit.verdict.uses,
        }


def refit_when_due(store: Store, settings: Settings, today: date, *, clock: Clock) -> Refit:
    """Fit the learned model as of `today` when none has been fitted or the latest was fitted as of
    `churn.learned.refit_after_days` or more before, and the book holds enough churn history for the mode
    (auto: `min_churned` churned accounts; learned: whatever a fit needs; rules: no fit). A fit the history
    cannot support is reported, not raised."""
    learned, mode = settings.churn.learned, settings.churn.mode
    if mode == "rules":
        return Refit("not fitted", 'churn.mode is "rules"')
    run = latest_churn_model(store.db)
    if run is None:
        due = "no model had been fitted"
    else:
        age = (today - date.fromisoformat(run.as_of)).days
        due = f"model {run.id} was fitted as of {run.as_of}, {age} days before (refit after {learned.refit_after_days})"
        if age < learned.refit_after_days:
            return Refit("kept", due, ChurnFit(run, auto_verdict(run, settings)))
    churned = churned_accounts(store.db)
    if mode == "auto" and churned < learned.min_churned:
        return Refit(
            "not fitted",
            f"{due}, but the book holds {churned} churned accounts, fewer than min_churned {learned.min_churned}",
        )
    try:
        fit = fit_churn(store, settings, today, clock=clock)
    except NotEnoughHistory as error:
        return Refit("not fitted", f"{due}, but {error.message}")
    return Refit("fitted", due, fit)


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
