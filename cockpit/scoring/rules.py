"""Scores for accounts from their facts: pure functions, no I/O, no clock (the day comes in the facts).

Each account is assessed on its own (adoption, health, churn, cross-sell, advocacy); the value tier is relative
to the book, so `score_book` ranks all the accounts' values before it names each account's tier and priority.
The rules live in the modules named below, each with its decisions in its docstring:
`adoption`, `health`, `emails`, `churn`, `value`, `cross_sell`, `advocacy`. Each keeps its part of the
explanation unworded, and `explain` words them when the explanation is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import NamedTuple

from cockpit.config import AdoptionStatus, Advocacy, ChurnTier, HealthBand, Settings, ValueTier
from cockpit.domain.names import SignalKindName
from cockpit.scoring.adoption import Adoption, assess_adoption, feature_statuses, stalled_features
from cockpit.scoring.advocacy import assess_advocacy
from cockpit.scoring.churn import BookNorms, Churn, Context, assess_churn, norms_of
from cockpit.scoring.common import RECENT_DAYS, JsonDict, Timeline, cyclic_gc_paused
from cockpit.scoring.cross_sell import CrossSell, assess_cross_sell
from cockpit.scoring.emails import Mail, tally_mail
from cockpit.scoring.explain import Body, Terms, explain, terms
from cockpit.scoring.facts import FULL_COVERAGE, AccountFacts, BookCoverage
from cockpit.scoring.health import COMPONENTS, Health, assess_health
from cockpit.scoring.learned import LONG_DAYS, LearnedAssessment, LearnedChurn
from cockpit.scoring.value import Ranked, ValuePart, value_tiers


class AccountScore(NamedTuple):
    """Everything scored about one account as of a day; `explanation` says why, as JSON-ready data."""

    account_id: str
    as_of: date
    health: float | None
    """0-100; None when it rests on fewer components than `health.min_evidence` (band "insufficient")."""
    health_band: HealthBand
    adoption_status: AdoptionStatus
    adoption_share: float | None
    """Share of entitled features adopted or power; None without entitled features."""
    churn_risk: float
    churn_tier: ChurnTier
    value: float
    """What the value tier ranked: ARR (mrr x 12) unless `score_book` was given values."""
    value_tier: ValueTier
    priority: str
    cross_sell: CrossSell
    advocacy: Advocacy
    terms: Terms
    """The settings the explanation quotes, shared by the book."""
    body: Body
    """The explanation's parts, unworded (`cockpit.scoring.explain`)."""

    @property
    def components(self) -> dict[str, float]:
        """Each health component computed: its name -> its 0-100 score (missing ones are left out)."""
        scores = self.body.health.scores
        return {name: score for name, score in zip(COMPONENTS, scores, strict=True) if score is not None}

    @property
    def feature_status(self) -> dict[str, AdoptionStatus]:
        """Feature id -> status, for every entitled feature."""
        return feature_statuses(self.body.adoption)

    @property
    def stalled_features(self) -> tuple[str, ...]:
        """Feature ids stalled in onboarding (see `cockpit.scoring.adoption`)."""
        return stalled_features(self.body.adoption)

    @property
    def cross_sell_ready(self) -> bool:
        return self.cross_sell.ready

    @property
    def cross_sell_product(self) -> str | None:
        return self.cross_sell.product

    @property
    def cross_sell_reason(self) -> str:
        """When ready, the product, what it builds on and why; otherwise every condition not met."""
        return self.cross_sell.reason

    @property
    def explanation(self) -> JsonDict:
        """Keys as_of, health, churn, adoption, value, priority, cross_sell, advocacy: each score's inputs
        and their contributions, with the words a person reads them in ("detail", "why", "reason"). Dates
        are ISO strings; only str, int, float, bool, None, list and dict, so json.dumps takes it as it is."""
        return explain(self.terms, self.body)


def event_windows(settings: Settings) -> dict[SignalKindName, int]:
    """How far back each kind of event matters, in days before as_of (events of age 0 up to the days
    given, not included): the longest window any rule reads that kind over (`Timeline.within`), so that the
    facts need hold no other events; the learned churn model counts some kinds over `learned.LONG_DAYS`.
    Logins are read by no rule."""
    thresholds, advocacy = settings.health.thresholds, settings.advocacy.window_days
    # Churn reads its horizon's last day too.
    counted = max(settings.churn.horizon_days + 1, RECENT_DAYS, LONG_DAYS)
    return {
        "cancel_page_visit": counted,
        "cancel_click": counted,
        "support_ticket": counted,
        "escalation": counted,
        "email_sent": thresholds.email_window_days,
        "email_opened": thresholds.email_window_days,
        "email_clicked": thresholds.email_window_days,
        "nps": max(thresholds.sentiment_window_days, advocacy),
        "csat": thresholds.sentiment_window_days,
        "referral": advocacy,
        "review": advocacy,
    }


class Grounds(NamedTuple):
    """What several scores read of an account besides its facts: its events by kind and age, its adoption
    and the tally of its emails."""

    timeline: Timeline
    adoption: Adoption
    mail: Mail


def grounds(facts: AccountFacts, settings: Settings) -> Grounds:
    timeline = Timeline(facts)
    return Grounds(
        timeline,
        assess_adoption(facts, settings.adoption),
        tally_mail(timeline, settings.health.thresholds.email_window_days),
    )


def health_and_churn(
    facts: AccountFacts,
    found: Grounds,
    settings: Settings,
    coverage: BookCoverage = FULL_COVERAGE,
    norms: BookNorms | None = None,
) -> tuple[Health, Churn]:
    """Health, and churn by the rules (which read health); `coverage`: what data the book holds at all;
    `norms`: what is usual in it (None: unknown, as for an account alone)."""
    health = assess_health(facts, found.timeline, settings.health, found.adoption, found.mail, coverage)
    return health, assess_churn(
        facts, found.timeline, settings.churn, Context(health.score, found.mail, coverage, norms)
    )


def score_account(
    facts: AccountFacts, settings: Settings, coverage: BookCoverage = FULL_COVERAGE
) -> AccountScore:
    """One account scored alone: its value tier is high whenever its value is positive, and the churn rules
    have no book to weigh it against (`BookNorms`).

    Value tiers and book norms only mean something across a book; use `score_book` for those.
    """
    return next(score_accounts((facts,), [(facts.account_id, facts.mrr)], settings, coverage, norms=None))


def score_book(
    facts: Iterable[AccountFacts],
    settings: Settings,
    *,
    values: Mapping[str, float] | None = None,
    coverage: BookCoverage = FULL_COVERAGE,
    learned: LearnedChurn | None = None,
) -> list[AccountScore]:
    """Score every account, then rank the book's values for value tiers and priorities.

    `values` replaces the value of the accounts it names (e.g. CLV when `settings.value.basis` is "clv");
    the others keep their ARR, mrr x 12. `coverage`: what data the book holds at all (by default a book that
    records usage and tickets); the churn rules weigh each account against the norms of these facts. Given a
    `learned` model, it gives churn risk and tier.
    """
    with cyclic_gc_paused():
        book = list(facts)
        return list(
            score_accounts(
                book,
                [(account.account_id, account.mrr) for account in book],
                settings,
                coverage,
                values=values,
                learned=learned,
                norms=norms_of(book, settings.churn),
            )
        )


def score_accounts(
    facts: Iterable[AccountFacts],
    book: Sequence[tuple[str, float]],
    settings: Settings,
    coverage: BookCoverage,
    *,
    values: Mapping[str, float] | None = None,
    learned: LearnedChurn | None = None,
    norms: BookNorms | None,
) -> Iterator[AccountScore]:
    """`score_book` for facts that come one by one: each account is scored as it comes.

    `book` holds (account id, MRR) of every account, in the order their facts will come: value tiers rank
    the whole book, so they are known before the first account is scored; so are `coverage`, the data the
    book holds at all (`cockpit.store.scoring.book_coverage`), and `norms`, what is usual in it
    (`churn.book_norms`).
    """
    given = values or {}
    valued = [(account_id, given.get(account_id, mrr * 12.0)) for account_id, mrr in book]
    ranked = value_tiers(valued, settings.value)
    shared = terms(settings)
    for account, (account_id, value), rank in zip(facts, valued, ranked, strict=True):
        if account.account_id != account_id:
            raise ValueError(f"facts of {account.account_id} came where the book has {account_id}")
        yield _score(
            account,
            settings,
            (coverage, norms),
            value,
            rank,
            account_id in given,
            len(valued),
            shared,
            learned,
        )


def _score(
    facts: AccountFacts,
    settings: Settings,
    book: tuple[BookCoverage, BookNorms | None],
    value: float,
    ranked: Ranked,
    given: bool,
    book_size: int,
    shared: Terms,
    learned: LearnedChurn | None,
) -> AccountScore:
    found = grounds(facts, settings)
    timeline, adoption, mail = found
    health, by_rules = health_and_churn(facts, found, settings, *book)
    churn: Churn | LearnedAssessment = by_rules
    if learned is not None:
        churn = learned.assess(facts, timeline, mail, adoption.share, health.score, by_rules, settings.churn)
    cross_sell = assess_cross_sell(
        adoption.status, health.band, churn.tier, facts.complements, settings.cross_sell
    )
    advocacy = assess_advocacy(timeline, settings.advocacy)
    priority = settings.priority.label(churn.tier, ranked.tier)
    basis = settings.value.basis if given else "arr"
    body = Body(
        facts.as_of.isoformat(),
        health.part,
        churn.part,
        adoption.part,
        ValuePart(value, basis, ranked.tier, ranked.rank, book_size, ranked.cumulative_share),
        priority,
        cross_sell.part,
        advocacy.part,
    )
    return AccountScore(
        facts.account_id,
        facts.as_of,
        health.score,
        health.band,
        adoption.status,
        adoption.share,
        churn.risk,
        churn.tier,
        value,
        ranked.tier,
        priority,
        cross_sell,
        advocacy.segment,
        shared,
        body,
    )
