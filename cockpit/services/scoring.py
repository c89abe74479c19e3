"""Scoring runs: the facts of the book from the store, scores from the rules, kept as one run.

Each run stores one row per account (`scores`), so any account can be compared with a month or a year ago
(older runs are later kept compact: `cockpit.store.compact_scores`), and a past day can be scored again
(`as_of`) from the data up to that day.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any, Final

from cockpit.clock import Clock, stamp
from cockpit.config import Settings
from cockpit.domain.touches import CSM_TOUCHES
from cockpit.errors import CockpitError
from cockpit.scoring import explain
from cockpit.scoring.churn import book_norms
from cockpit.scoring.common import cyclic_gc_paused
from cockpit.scoring.facts import AccountFacts, BookCoverage
from cockpit.scoring.learned import ChurnModel, LearnedChurn, renewal_as_of, unknown_inputs
from cockpit.scoring.rules import AccountScore, event_windows, score_accounts
from cockpit.services.events import read_source_book
from cockpit.services.progress import Progress
from cockpit.store import Store
from cockpit.store.book import stage_of
from cockpit.store.churn import ChurnModelRun, account_traits, latest_churn_model
from cockpit.store.clv import latest_clv
from cockpit.store.imports import AmbiguousReference, References, accounts_named
from cockpit.store.scoring import (
    BookFacts,
    Windows,
    book_coverage,
    finish_score_run,
    insert_scores,
    latest_score,
    stage_fields,
    start_score_run,
    tickets_within,
)
from cockpit.store.sqlite import Database


class AccountNotFound(CockpitError):
    title = "No such account"


@dataclass
class RunSummary:
    run_id: int
    as_of: date
    accounts: int
    seconds: float
    coverage: BookCoverage
    """What data the book held at all: without usage or tickets, the scores that need them stand aside."""
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    events: str | None = None
    """With an events source: what it computed and what came back (`SourceBook.crossed`)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "accounts": self.accounts,
            "seconds": round(self.seconds, 2),
            "coverage": self.coverage._asdict(),
            "counts": self.counts,
            **({} if self.events is None else {"events": self.events}),
        }


def windows(settings: Settings) -> Windows:
    return Windows(
        adoption_days=settings.adoption.window_days, events=event_windows(settings), csm_touches=CSM_TOUCHES
    )


def score_row(
    score: AccountScore, run_id: int, terms_json: str, fields: tuple[str | None, str | None]
) -> tuple[Any, ...]:
    """A score as a row of the `scores` table (SCORE_COLUMNS); its explanation's terms are its run's
    (`explain.RUN_TERMS`, stored with the run), or `terms_json` (`explain.encode_terms(score.terms)`); its
    lifecycle stage read with the account's `fields` (`store.scoring.stage_fields`)."""
    given, start = fields
    return (
        run_id,
        score.account_id,
        score.as_of.isoformat(),
        score.health,
        score.health_band,
        explain.compact_json(score.components),
        score.adoption_status,
        score.adoption_share,
        score.churn_risk,
        score.churn_tier,
        score.value_tier,
        score.priority,
        int(score.cross_sell_ready),
        score.cross_sell_product,
        score.advocacy,
        score.value,
        stage_of(given, start, score.as_of, score.adoption_status, score.cross_sell_ready, score.advocacy),
        explain.encode(terms_json, score.body),
    )


COUNTED = ("health_band", "churn_tier", "value_tier", "adoption_status", "advocacy", "priority")
"""The scores a run summary counts by value (and cross-sell readiness)."""


class NoLifetimeValues(CockpitError):
    title = "No lifetime values"


def _lifetime_values(db: Database, settings: Settings) -> dict[str, float] | None:
    """The values that rank the book when `value.basis` is "clv": the latest `cockpit clv fit`'s."""
    if settings.value.basis != "clv":
        return None
    values = {account: value.clv for account, value in latest_clv(db).items() if value.clv is not None}
    if not values:
        raise NoLifetimeValues(
            'value.basis is "clv" but no account has a lifetime value yet.',
            hint='Run `cockpit clv fit` first, or set value.basis = "arr".',
        )
    return values


class NoChurnModel(CockpitError):
    title = "No churn model"


@dataclass(frozen=True)
class AutoVerdict:
    """Whether mode "auto" scores with a fitted model, and why."""

    uses: bool
    reason: str


def auto_verdict(run: ChurnModelRun, settings: Settings) -> AutoVerdict:
    """Mode "auto" scores with a fitted model when it learned from at least `churn.learned.min_churned`
    churned accounts, and on its holdout it ranked churners better than the rules did and better than chance
    by more than twice its AUC's standard error (a win by noise is no win)."""
    needed = settings.churn.learned.min_churned
    holdout = run.metrics["holdout"]
    learned, rules = holdout["learned"], holdout["rules"]["auc"]
    auc, error = learned["auc"], learned["auc_se"]
    against = f"AUC {_auc(auc)} against the rules' {_auc(rules)}"
    if run.churned < needed:
        return AutoVerdict(
            False, f"it learned from {run.churned} churned accounts, fewer than min_churned {needed}"
        )
    if auc is None or auc <= (0.5 if rules is None else rules):
        return AutoVerdict(False, f"on its holdout it ranked churners no better than the rules ({against})")
    if auc - 2 * error <= 0.5:
        return AutoVerdict(
            False,
            f"on its holdout it ranked churners no better than chance for sure ({against}, give or take {error:.3f})",
        )
    return AutoVerdict(
        True,
        f"it learned from {run.churned} churned accounts (min_churned {needed}) and beat the rules on its "
        f"holdout ({against})",
    )


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def scoring_model(
    db: Database, settings: Settings, as_of: date, coverage: BookCoverage
) -> LearnedChurn | None:
    """The learned model a scoring run as of `as_of` uses, per `churn.mode`: the latest fit, blind to what
    the book does not hold (`coverage`); None: the rules score. Whatever day is scored: to backtest the
    model on a past period, fit it as of the period's start."""
    mode = settings.churn.mode
    if mode == "rules":
        return None
    run = latest_churn_model(db)
    if run is None:
        if mode == "learned":
            raise NoChurnModel(
                'churn.mode is "learned", but no churn model has been fitted.',
                hint='Fit one with `cockpit churn fit`, or set churn.mode to "auto" or "rules".',
            )
        return None
    if mode == "auto" and not auto_verdict(run, settings).uses:
        return None
    return LearnedChurn(
        ChurnModel.from_json(run.model).blind_to(unknown_inputs(coverage)),
        run.id,
        run.horizon_days,
        run.metrics["holdout"]["learned"]["auc"],
        settings.churn.learned,
        account_traits(db, as_of),
    )


PROGRESS_EVERY: Final = 500
"""Accounts scored between two progress reports."""


def run_scoring(
    store: Store, settings: Settings, as_of: date, *, clock: Clock, progress: Progress | None = None
) -> RunSummary:
    """Score every account as of `as_of` and store the run; one transaction.

    The facts stream from the store into the rules and the rows into the `scores` table, so the run holds
    a few ranges of accounts at a time. Usage and signals are read by a thread of their own (`BookFacts`)
    and the rows inserted by another (`insert_scores`), beside this one's scoring; unless the store's
    connection is inside a transaction already, whose changes the reader's connection could not see (or the
    database is not in WAL mode): then this thread does it all.

    A past day is scored from the book as it stood then: the account fields whose history is kept as of
    that day (`BookFacts`), and each renewal on its own cycle as of the day (`renewal_as_of`, as a churn fit
    reads its snapshots), not today's renewal date, which would tell the renewals of the stayers from those
    that stopped at a churn.
    """
    started = clock()
    timer = time.perf_counter()
    # Another connection reads beside this one's writing only in WAL mode (the store's), and sees only
    # what is committed.
    alone = not store.reads_beside_writes()
    reader = None if alone else store
    tallied: list[tuple[object, ...]] = []
    tally = attrgetter(*COUNTED, "cross_sell_ready")
    horizon = settings.churn.horizon_days

    def rows(scores: Iterable[AccountScore], run_id: int, total: int) -> Iterator[tuple[Any, ...]]:
        for score in scores:
            tallied.append(tally(score))
            if progress is not None and len(tallied) % PROGRESS_EVERY == 0:
                progress(len(tallied), total)
            yield score_row(score, run_id, explain.RUN_TERMS, fields.get(score.account_id, (None, None)))
        if progress is not None:
            progress(len(tallied), total)

    # An events source computes its aggregates first, so that the write does not wait for its engine.
    external = read_source_book(
        store.db, settings.events, as_of, windows(settings), settings.adoption.window_days, horizon
    )
    with (
        cyclic_gc_paused(),
        store.write() as db,
        BookFacts(
            db,
            as_of,
            windows(settings),
            reader=reader,
            prefetched=None if external is None else external.prefetched,
        ) as book,
    ):
        terms_json = explain.encode_terms(explain.terms(settings))
        fields = stage_fields(db)
        run_id = start_score_run(db, as_of, stamp(started), settings.model_dump_json(), terms_json)
        if external is None:
            coverage = book_coverage(db, as_of, settings.adoption.window_days)
            tickets = tickets_within(db, as_of, horizon)
        else:
            coverage, tickets = external.coverage, external.tickets
        facts: Iterable[AccountFacts] = book if as_of >= clock.today() else map(renewal_as_of, book)
        norms = book_norms(book.contracts, tickets, as_of, settings.churn)
        scores = score_accounts(
            facts,
            book.book,
            settings,
            coverage,
            values=_lifetime_values(db, settings),
            learned=scoring_model(db, settings, as_of, coverage),
            norms=norms,
        )
        # The writer thread inserts through `db`, which this thread leaves alone meanwhile: it reads through
        # the reader's connection.
        stored = insert_scores(db, rows(scores, run_id, len(book.book)), beside=reader is not None)
        finish_score_run(db, run_id, stamp(clock()), stored)
    summary = RunSummary(
        run_id,
        as_of,
        stored,
        time.perf_counter() - timer,
        coverage,
        events=None if external is None else external.crossed,
    )
    for index, name in enumerate(COUNTED):
        summary.counts[name] = dict(Counter(str(values[index]) for values in tallied))
    summary.counts["cross_sell_ready"] = {"ready": sum(bool(values[-1]) for values in tallied)}
    return summary


def find_account(store: Store, ref: str) -> str:
    """An account's id from its id, CRM id, domain or exact name."""
    try:
        found = References(store.db).find("account", ref)
    except AmbiguousReference as ambiguous:
        raise AccountNotFound(f"{ref!r} {ambiguous.problem}.", hint="Give the account's id.") from None
    if found is None:
        named = accounts_named(store.db, ref)
        if len(named) == 1:
            found = named[0]
    if found is None:
        raise AccountNotFound(
            f"no account matches {ref!r}.", hint="Give its id, CRM id, domain or exact name."
        )
    return found


def explanation_for(store: Store, ref: str, as_of: date | None) -> dict[str, Any]:
    """The stored explanation of the account's latest score (of a run as of `as_of` or before)."""
    account_id = find_account(store, ref)
    stored = latest_score(store.db, account_id, as_of)
    if stored is None:
        when = f" as of {as_of.isoformat()} or before" if as_of else ""
        raise AccountNotFound(
            f"{ref!r} has not been scored{when}.",
            hint="Score the book with `cockpit score`."
            + (
                " Only the latest run keeps its explanations; older runs keep their scores alone."
                if as_of
                else ""
            ),
        )
    return stored
