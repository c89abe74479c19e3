"""Scores for accounts from their facts: pure functions, no I/O, no clock (the day comes in the facts).

Each account is assessed on its own (adoption, health, churn, cross-sell, advocacy); the value tier is relative
to the book, so `score_book` ranks all the accounts' values before it names each account's tier and priority.
The rules live in the modules named below, each with its decisions in its docstring:
`adoption`, `health`, `emails`, `churn`, `value`, `cross_sell`, `advocacy`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from cockpit.config import AdoptionStatus, Advocacy, ChurnTier, HealthBand, Settings, ValueTier
from cockpit.scoring.adoption import Adoption, assess_adoption
from cockpit.scoring.advocacy import Advocate, assess_advocacy
from cockpit.scoring.churn import Churn, assess_churn
from cockpit.scoring.common import JsonDict, Timeline
from cockpit.scoring.cross_sell import CrossSell, assess_cross_sell
from cockpit.scoring.emails import tally_mail
from cockpit.scoring.facts import AccountFacts
from cockpit.scoring.health import Health, assess_health
from cockpit.scoring.value import Ranked, value_tiers


@dataclass(frozen=True, slots=True)
class AccountScore:
    """Everything scored about one account as of a day; `explanation` says why, as JSON-ready data."""

    account_id: str
    as_of: date
    health: float | None
    """0-100; None when no component could be computed."""
    health_band: HealthBand | None
    adoption_status: AdoptionStatus
    adoption_share: float | None
    """Share of entitled features adopted or power; None without entitled features."""
    feature_status: Mapping[str, AdoptionStatus]
    """Feature id -> status, for every entitled feature."""
    stalled_features: tuple[str, ...]
    """Feature ids stalled in onboarding (see `cockpit.scoring.adoption`)."""
    churn_risk: float
    churn_tier: ChurnTier
    value: float
    """What the value tier ranked: ARR (mrr x 12) unless `score_book` was given values."""
    value_tier: ValueTier
    priority: str
    cross_sell_ready: bool
    cross_sell_product: str | None
    cross_sell_reason: str
    """When ready, the product, what it builds on and why; otherwise every condition not met."""
    advocacy: Advocacy
    explanation: JsonDict
    """Keys as_of, health, churn, adoption, value, priority, cross_sell, advocacy: each score's inputs and
    their contributions, with the words a person reads them in ("detail", "why", "reason"). Dates are ISO
    strings; only str, int, float, bool, None, list and dict, so json.dumps takes it as it is."""


class _Assessed(NamedTuple):
    """An account scored on its own, waiting for its value tier."""

    facts: AccountFacts
    adoption: Adoption
    health: Health
    churn: Churn
    cross_sell: CrossSell
    advocacy: Advocate


def score_account(facts: AccountFacts, settings: Settings) -> AccountScore:
    """One account scored as a book of one: its value tier is high whenever its value is positive.

    Value tiers only mean something across a book; use `score_book` for those.
    """
    return score_book((facts,), settings)[0]


def score_book(
    facts: Iterable[AccountFacts], settings: Settings, *, values: Mapping[str, float] | None = None
) -> list[AccountScore]:
    """Score every account, then rank the book's values for value tiers and priorities.

    `values` replaces the value of the accounts it names (e.g. CLV when `settings.value.basis` is "clv");
    the others keep their ARR, mrr x 12.
    """
    with _cyclic_gc_paused():
        assessed = [_assess(account, settings) for account in facts]
        given = values or {}
        book = [
            (item.facts.account_id, given.get(item.facts.account_id, item.facts.mrr * 12.0))
            for item in assessed
        ]
        ranked = value_tiers(book, settings.value)
        return [
            _finish(item, value, rank, account_id in given, len(book), settings)
            for item, (account_id, value), rank in zip(assessed, book, ranked, strict=True)
        ]


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while a book is scored.

    Scoring builds millions of small containers and keeps them, none in a cycle (reference counting frees
    the rest); the collector would walk the growing heap again and again for nothing, about a third of the
    run time on a large book. It is switched back on at the end, unless it was off to begin with.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _assess(facts: AccountFacts, settings: Settings) -> _Assessed:
    timeline = Timeline(facts)
    adoption = assess_adoption(facts, settings.adoption)
    mail = tally_mail(timeline, settings.health.thresholds.email_window_days)
    health = assess_health(facts, timeline, settings.health, adoption, mail)
    churn = assess_churn(facts, timeline, settings.churn, health.score, mail)
    cross_sell = assess_cross_sell(
        adoption.status, health.band, churn.tier, facts.complements, settings.cross_sell
    )
    return _Assessed(facts, adoption, health, churn, cross_sell, assess_advocacy(timeline, settings.advocacy))


def _finish(
    item: _Assessed, value: float, ranked: Ranked, given: bool, book_size: int, settings: Settings
) -> AccountScore:
    facts, churn = item.facts, item.churn
    priority = settings.priority.label(churn.tier, ranked.tier)
    basis = settings.value.basis if given else "arr"
    explanation: JsonDict = {
        "as_of": facts.as_of.isoformat(),
        "health": item.health.explanation,
        "churn": churn.explanation,
        "adoption": item.adoption.explanation,
        "value": {
            "value": value,
            "basis": basis,
            "tier": ranked.tier,
            "rank": ranked.rank,
            "of": book_size,
            "cumulative_share": ranked.cumulative_share,
            "detail": (
                f"{basis.upper()} {value:,.0f}, rank {ranked.rank} of {book_size}: with the accounts above it, "
                f"{ranked.cumulative_share:.1%} of the book (high up to "
                f"{settings.value.high_cumulative_share:.0%}, medium up to "
                f"{settings.value.medium_cumulative_share:.0%})"
            ),
        },
        "priority": {"label": priority, "churn_tier": churn.tier, "value_tier": ranked.tier},
        "cross_sell": item.cross_sell.explanation,
        "advocacy": item.advocacy.explanation,
    }
    return AccountScore(
        account_id=facts.account_id,
        as_of=facts.as_of,
        health=item.health.score,
        health_band=item.health.band,
        adoption_status=item.adoption.status,
        adoption_share=item.adoption.share,
        feature_status=item.adoption.feature_status,
        stalled_features=item.adoption.stalled,
        churn_risk=churn.risk,
        churn_tier=churn.tier,
        value=value,
        value_tier=ranked.tier,
        priority=priority,
        cross_sell_ready=item.cross_sell.ready,
        cross_sell_product=item.cross_sell.product,
        cross_sell_reason=item.cross_sell.reason,
        advocacy=item.advocacy.segment,
        explanation=explanation,
    )
