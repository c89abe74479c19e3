"""Journey patterns as of a day: the event sequences that preceded churn (or renewal) over the look-back, and
the accounts on each path now. The rules are `cockpit.scoring.journeys`; the rows come from
`cockpit.store.journeys` (and the usage and signals from the events source, when they are not the store's:
`cockpit.services.events`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Any

import numpy as np

from cockpit.config import Settings
from cockpit.errors import CockpitError
from cockpit.scoring import journeys as rules
from cockpit.services import events
from cockpit.store import Store
from cockpit.store import journeys as rows
from cockpit.store.journeys import PathAccount


class WindowTooLong(CockpitError):
    title = "Journey window too long"
    exit_code = 2


@dataclass(frozen=True)
class JourneyPath:
    pattern: rules.Pattern
    on_path: tuple[str, ...]
    """The accounts still customers whose last `window_days` show the pattern now, by id."""


@dataclass(frozen=True)
class JourneyReport:
    as_of: date
    outcome: rules.Outcome
    window_days: int
    lookback_days: int
    decided: int
    """Accounts whose churn or renewal fell within the look-back: the timelines learned from."""
    churned: int
    tested: int
    """Patterns held by at least `min_accounts` of them, each tested."""
    customers: int
    """Accounts still customers, whose timelines up to `as_of` were matched against the patterns."""
    paths: tuple[JourneyPath, ...]
    seconds: float

    @property
    def base_rate(self) -> float | None:
        """The book's rate of the outcome among the decided accounts."""
        if not self.decided:
            return None
        churn = self.churned / self.decided
        return churn if self.outcome == "churn" else 1 - churn

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "outcome": self.outcome,
            "window_days": self.window_days,
            "lookback_days": self.lookback_days,
            "decided": self.decided,
            "churned": self.churned,
            "base_rate": self.base_rate,
            "tested": self.tested,
            "customers": self.customers,
            "patterns": [
                {
                    "steps": list(path.pattern.steps),
                    "accounts": path.pattern.accounts,
                    "churned": path.pattern.churned,
                    "churn_rate": path.pattern.churn_rate,
                    "outcome_rate": path.pattern.outcome_rate,
                    "outcome_interval": [path.pattern.outcome_low, path.pattern.outcome_high],
                    "lift": path.pattern.lift,
                    "share_of_outcome": path.pattern.share_of_outcome,
                    "q_value": path.pattern.q_value,
                    "lead_days": path.pattern.lead_days,
                    "on_path": list(path.on_path),
                }
                for path in self.paths
            ],
        }


@dataclass(frozen=True)
class Learned:
    """The timelines learned from (one per account whose churn or renewal fell within the look-back), their
    outcomes, and the timelines of the accounts still customers, up to the day mined."""

    journey_rules: rules.JourneyRules
    timelines: rules.Timelines
    churned: np.ndarray[Any, np.dtype[np.bool_]]
    now: rules.Timelines
    account_ids: tuple[str, ...]
    """Account ids by index (`Timelines.account`)."""


def read_timelines(
    store: Store, settings: Settings, as_of: date, *, window_days: int | None = None
) -> Learned:
    """The book's timelines as of `as_of`. `window_days` (default `journeys.window_days`) is checked as the
    config's is: at most 32 periods."""
    config = settings.journeys
    window = config.window_days if window_days is None else window_days
    journey_rules = rules.JourneyRules(
        window, config.period_days, settings.churn.falling_usage_drop, config.burst_tickets
    )
    if journey_rules.periods > rules.MAX_PERIODS:
        raise WindowTooLong(
            f"--window {window} makes {journey_rules.periods} periods of {config.period_days} days; "
            f"at most {rules.MAX_PERIODS}",
            hint=f"Use a window of at most {rules.MAX_PERIODS * config.period_days} days.",
        )
    db = store.db
    accounts = [
        rules.AccountDates(account_id, _day(start), _day(renewal), _day(churned), months)
        for account_id, start, renewal, churned, months in rows.account_dates(db)
    ]
    index = {account.id: position for position, account in enumerate(accounts)}
    decided = rules.decisions(accounts, as_of, config.lookback_days)
    # Every row a timeline can reach: the look-back and a window before it, and the two whole periods of use
    # before that which its first usage drop compares with (the oldest period read may be cut short).
    days = config.lookback_days + window + 3 * config.period_days
    with events.opened(settings.events) as source:
        if source is None:
            book = rules.book_events(
                rows.events(db, as_of, days, rules.SIGNAL_KINDS),
                rows.usage(db, as_of, days, config.period_days),
                index,
            )
        else:
            keys = events.Accounts(db, settings.events)
            book = rules.book_events(
                chain(
                    rows.events(db, as_of, days, None),
                    events.journey_signals(source, keys, as_of, days, rules.SIGNAL_KINDS),
                ),
                events.usage_periods(source, keys, as_of, days, config.period_days),
                index,
            )
    learned = rules.timelines(
        book,
        np.array([d.account for d in decided], dtype=np.int64),
        np.array([(as_of - d.on).days for d in decided], dtype=np.int64),
        journey_rules,
    )
    customers = np.array(
        [i for i, account in enumerate(accounts) if account.churned is None or account.churned > as_of],
        dtype=np.int64,
    )
    # A customer's timeline ends with the day mined itself (an end of -1 days ago): what its use did in the
    # period up to today is dated today.
    now = rules.timelines(book, customers, np.full(len(customers), -1, dtype=np.int64), journey_rules)
    churned = np.array([d.churned for d in decided], dtype=bool)
    return Learned(journey_rules, learned, churned, now, tuple(account.id for account in accounts))


def find_journeys(
    store: Store,
    settings: Settings,
    as_of: date,
    *,
    outcome: rules.Outcome = "churn",
    window_days: int | None = None,
) -> JourneyReport:
    """The patterns that preceded `outcome` within the look-back before `as_of`, with the accounts on each now."""
    started = time.perf_counter()
    learned = read_timelines(store, settings, as_of, window_days=window_days)
    candidates = _candidates(learned, settings)
    return JourneyReport(
        as_of,
        outcome,
        learned.journey_rules.window_days,
        settings.journeys.lookback_days,
        len(learned.churned),
        int(learned.churned.sum()),
        len(candidates),
        len(learned.now.account),
        _paths(learned, candidates, outcome, settings),
        time.perf_counter() - started,
    )


def paths_now(store: Store, settings: Settings, as_of: date) -> dict[str, tuple[str, ...]]:
    """Account id -> the paths to churn and to renewal it is on now (`Pattern.text`), for the accounts on
    any: the `journey_patterns` fact of playbook triggers."""
    learned = read_timelines(store, settings, as_of)
    candidates = _candidates(learned, settings)
    found: dict[str, list[str]] = {}
    for outcome in rules.OUTCOMES:
        for path in _paths(learned, candidates, outcome, settings):
            for account_id in path.on_path:
                found.setdefault(account_id, []).append(path.pattern.text)
    return {account_id: tuple(texts) for account_id, texts in found.items()}


def _candidates(learned: Learned, settings: Settings) -> list[rules.Candidate]:
    config = settings.journeys
    return rules.mine(
        learned.timelines, learned.churned, min_accounts=config.min_accounts, max_steps=config.max_steps
    )


def _paths(
    learned: Learned, candidates: list[rules.Candidate], outcome: rules.Outcome, settings: Settings
) -> tuple[JourneyPath, ...]:
    """The significant patterns to `outcome`, each with the customers on it now."""
    config = settings.journeys
    patterns = rules.significant(
        candidates,
        learned.churned,
        outcome,
        false_discovery_rate=config.false_discovery_rate,
        period_days=config.period_days,
    )
    now = learned.now
    return tuple(
        JourneyPath(
            pattern,
            tuple(
                learned.account_ids[i] for i in now.account[rules.holding(now, rules.codes(pattern.steps))]
            ),
        )
        for pattern in patterns
    )


def path_accounts(store: Store, path: JourneyPath) -> list[PathAccount]:
    """The accounts on a path now, with what a list of them shows: the most MRR first."""
    return sorted(rows.path_accounts(store.db, path.on_path), key=lambda account: -(account.mrr or 0))


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def describe(path: JourneyPath, outcome: rules.Outcome, lookback_days: int) -> str:
    """One sentence: how many accounts are on the path, and what share of the outcome it preceded."""
    pattern = path.pattern
    what = "churn" if outcome == "churn" else "renewals"
    accounts = len(path.on_path)
    return (
        f"{accounts:,} account{'' if accounts == 1 else 's'} on the path that preceded "
        f"{pattern.share_of_outcome:.0%} of the {what} of the last {lookback_days} days"
    )
