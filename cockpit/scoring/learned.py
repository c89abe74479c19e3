"""The learned churn model: the chance that an account churns within a horizon, as learned from the book's own
history by `cockpit churn fit` (`learned_fit` fits it; this module reads it, with no NumPy).

Inputs (`Inputs`, built by `account_inputs` from the same facts the rules read, and from what the rules make
of them): usage in the last 30 days and the 30 before and its trend, days since the last use, active days
and users in the adoption window (summed over the features), the adoption share, tickets and escalations in
the last 30 and 90 days, the latest NPS and CSAT answers, emails sent and the share opened, days since the
last CSM touch, cancel-page visits and cancel clicks in the last 30 and 90 days, health, and each of the
rules' churn signals (how recently it fired, so the model weighs the rules' own thresholds as this book
bears them out); and the account's MRR, seats, tenure, days to its next renewal, contract term, plan and
segment (`AccountTraits`).

Missing is never evidence by itself: a missing number stands at the training mean (so it adds nothing).
Where an absence is a fact about the account's behaviour ("never used", "no NPS answer", "never touched"), a
missing-indicator column learns what that absence is worth in this book (the other usage numbers of an
account that never used the product leave it to "days since the last use"). The account's own fields
(MRR, seats, renewal date, contract term, plan, segment) are read as they stood on the day where the book's
history of them tells (`cockpit.store.history`), else as they are now (so is its start), and a book
often clears one when the account churns (its renewal date, say): were their absence a column, the model
would learn "no renewal date" as "churned", which no live account shows. So a missing field, or a missing
plan or segment, only stands at the mean. The renewal date the book holds is the next one, so as of a past
day the next renewal is that date moved back by whole contract terms (where the account states no term, the
longest of 12, 6, 3 and 1 months its start and renewal dates are a whole number of): a past day sees the
renewal it had then, not today's.

What the book does not hold at all as of a day (no usage, or no support ticket, in the whole book:
`BookCoverage`) is not known of any account: the inputs read from it (`UNKNOWN_WITHOUT`) stand at the mean,
missing indicators included, in a fit (on the snapshot days without it) and in a scoring run (`blind_to`),
so "no usage imported" is never read as "never used".

The model (`ChurnModel`) is a logistic regression on standardised columns: log-odds = intercept + sum of
coefficient x (column value - mean) / scale. Counts and money enter as log(1 + x). An input's contribution
is the sum over its columns (its value, its missing indicator, or its level among the plans or segments seen
in training, "other" for those seen too rarely or not at all): how far it moves this account's log-odds from
those of the average account of the training snapshots. The contributions plus the intercept are the
log-odds, so the explanation adds up. The tier comes from the chance itself (`tier`): high means at least
`high_min`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from typing import Any, Final, Literal, NamedTuple

from cockpit.config import ChurnSettings, ChurnTier, LearnedChurnSettings
from cockpit.domain.contracts import infer_period
from cockpit.domain.dates import add_months
from cockpit.domain.names import SignalKindName
from cockpit.scoring.churn import SIGNALS, Churn, ChurnPart, explain_churn
from cockpit.scoring.common import RECENT_DAYS, JsonDict, Timeline, read_record
from cockpit.scoring.emails import Mail
from cockpit.scoring.facts import AccountFacts, BookCoverage

LONG_DAYS: Final = 90
"""The longer window of the event counts (tickets, escalations, cancel signals): the last 90 days."""
DAYS_CAP: Final = 365
"""Days since the last use or touch count up to this; longer is as long."""
MODEL_VERSION: Final = 1
"""The layout of a stored model (`ChurnModel.to_json`)."""


class AccountTraits(NamedTuple):
    """What the model reads of an account besides its facts (as of the facts' day)."""

    plan: str | None = None
    seats: int | None = None


class Inputs(NamedTuple):
    """One account's inputs as of a day; None where unknown. Every field is a number but the last two."""

    usage_last_30: float | None
    usage_prior_30: float | None
    usage_trend: float | None
    days_since_use: float | None
    active_days: float | None
    active_users: float | None
    adoption_share: float | None
    tickets_30: float
    tickets_90: float
    escalations_30: float
    escalations_90: float
    nps: float | None
    csat: float | None
    emails_sent: float
    email_open_share: float | None
    days_since_touch: float | None
    cancel_visits_30: float
    cancel_visits_90: float
    cancel_clicks_30: float
    cancel_clicks_90: float
    health: float | None
    cancel_page_visit: float
    cancel_click: float
    support_burst: float
    escalation: float
    inactivity: float
    unopened_email: float
    falling_usage: float
    low_health: float
    mrr: float
    seats: float | None
    tenure_days: float | None
    days_to_renewal: float | None
    contract_months: float | None
    plan: str | None
    segment: str | None


SIGNAL_INPUTS: Final = tuple(
    name for name in SIGNALS if name not in ("renewal_near", "month_to_month", "support_load", "early_life")
)
"""The inputs that are the rules' signals (`churn.SIGNALS`, in its order): how recently each fired, as the
rules weigh a signal's age (0.5 ** (age / half_life_days)), the most recent if it fired more than once; 0
when it did not fire within the rules' horizon. Not renewal_near: the days to the next renewal say it, read
the same way in a fit and in a run (the rules read the renewal date as the book holds it, which as of a past
day is near only for the accounts whose renewal date stopped at their churn); nor month_to_month nor
early_life (the contract term and the tenure are inputs of their own); nor support_load (the tickets of the
last 30 and 90 days are, and the model weighs them by this book's churn, not by its average)."""
CATEGORIES: Final = ("plan", "segment")
"""The inputs that are levels rather than numbers (the last fields of `Inputs`)."""
NUMBERS: Final = Inputs._fields[: -len(CATEGORIES)]


class Input(NamedTuple):
    """How a number enters the model and reads in an explanation."""

    label: str
    log: bool = False
    """Enters as log(1 + value): counts and money, whose effect grows by ratios."""
    missing: str | None = None
    """The words for a missing value that gets a missing-indicator column ("never used"); None: a missing
    value only stands at the mean."""


INPUTS: Final[Mapping[str, Input]] = {
    "usage_last_30": Input("usage in the last 30 days", log=True),
    "usage_prior_30": Input("usage in the 30 days before", log=True),
    "usage_trend": Input("usage trend (log change, last 30 days against the 30 before)"),
    "days_since_use": Input("days since the last use", missing="never used"),
    "active_days": Input("active days in the adoption window, over all features", log=True),
    "active_users": Input("active users in the adoption window, over all features", log=True),
    "adoption_share": Input("share of entitled features adopted", missing="no entitled features"),
    "tickets_30": Input("tickets in the last 30 days", log=True),
    "tickets_90": Input("tickets in the last 90 days", log=True),
    "escalations_30": Input("escalations in the last 30 days", log=True),
    "escalations_90": Input("escalations in the last 90 days", log=True),
    "nps": Input("latest NPS answer (0-10)", missing="no NPS answer"),
    "csat": Input("latest CSAT answer (1-5)", missing="no CSAT answer"),
    "emails_sent": Input("emails sent in the email window", log=True),
    "email_open_share": Input("share of those emails opened"),
    "days_since_touch": Input("days since the last CSM touch", missing="never touched"),
    "cancel_visits_30": Input("cancel-page visits in the last 30 days", log=True),
    "cancel_visits_90": Input("cancel-page visits in the last 90 days", log=True),
    "cancel_clicks_30": Input("cancel clicks in the last 30 days", log=True),
    "cancel_clicks_90": Input("cancel clicks in the last 90 days", log=True),
    "health": Input("health (0-100)", missing="no health score"),
    **{
        name: Input(
            f"rules' signal {name.replace('_signal', '').replace('_', ' ')} (1 today, halving with age)"
        )
        for name in SIGNAL_INPUTS
    },
    "mrr": Input("MRR", log=True),
    "seats": Input("seats", log=True),
    "tenure_days": Input("days since the start", log=True),
    "days_to_renewal": Input("days to the next renewal"),
    "contract_months": Input("contract term in months"),
}
"""Every number of `Inputs`, in its order."""

UNKNOWN_WITHOUT: Final[Mapping[str, tuple[str, ...]]] = {
    "usage": (
        "usage_last_30",
        "usage_prior_30",
        "usage_trend",
        "days_since_use",
        "active_days",
        "active_users",
        "adoption_share",
        "inactivity",
        "falling_usage",
    ),
    "tickets": ("tickets_30", "tickets_90", "support_burst"),
}
"""The inputs read from each kind of data a book may hold none of (by `BookCoverage` field)."""


def unknown_inputs(coverage: BookCoverage) -> frozenset[str]:
    """The inputs no account's data can tell in a book that holds what `coverage` says."""
    return frozenset(
        name for kind, names in UNKNOWN_WITHOUT.items() if not getattr(coverage, kind) for name in names
    )


LABELS: Final[Mapping[str, str]] = {
    **{name: spec.label for name, spec in INPUTS.items()},
    "plan": "plan",
    "segment": "segment",
}


@lru_cache(maxsize=1 << 16)
def next_renewal(renewal: date, as_of: date, term_months: int) -> date:
    """The renewal on or after `as_of` on the account's renewal cycle: `renewal` moved by whole terms. Kept
    once worked out: a book has few distinct renewal days, and a fit asks for each on a dozen days."""
    months = (renewal.year - as_of.year) * 12 + renewal.month - as_of.month
    back = months // term_months  # terms to move back (forward when negative), give or take one
    while add_months(renewal, -back * term_months) < as_of:
        back -= 1
    while add_months(renewal, -(back + 1) * term_months) >= as_of:
        back += 1
    return add_months(renewal, -back * term_months)


def term_months(facts: AccountFacts) -> int:
    """The account's contract term: as it states it, or the longest of 12, 6, 3 and 1 months that its start
    and renewal dates are a whole number of (`infer_period`)."""
    return facts.contract_months or _spanned_term(facts.start_date, facts.renewal_date)


@lru_cache(maxsize=1 << 16)
def _spanned_term(start: date | None, renewal: date | None) -> int:
    """Kept once worked out: a fit asks for each account's on every snapshot day."""
    return infer_period([(start, renewal)] if start is not None and renewal is not None else [])


def renewal_as_of(facts: AccountFacts) -> AccountFacts:
    """The facts with the renewal of their own day (`next_renewal`): what a fit reads the past with, the
    rules included, whose renewal signal would otherwise fire, as of a past day, only for the accounts whose
    renewal date stopped at their churn."""
    renewal = facts.renewal_date
    if renewal is None:
        return facts
    return facts._replace(renewal_date=next_renewal(renewal, facts.as_of, term_months(facts)))


_COUNTED: Final[tuple[SignalKindName, ...]] = (
    "support_ticket",
    "escalation",
    "cancel_page_visit",
    "cancel_click",
)
_SURVEYS: Final[tuple[SignalKindName, ...]] = ("nps", "csat")


def account_inputs(
    facts: AccountFacts,
    traits: AccountTraits,
    timeline: Timeline,
    mail: Mail,
    adoption_share: float | None,
    health: float | None,
    rules: ChurnPart,
    settings: ChurnSettings,
) -> Inputs:
    """The inputs of one account from its facts and what the rules already made of them: the timeline, the
    mail tally, the adoption share, health and the churn signals that fired."""
    as_of, half_life = facts.as_of, settings.half_life_days
    signals = dict.fromkeys(SIGNAL_INPUTS, 0.0)
    for signal in rules.signals:
        name = signal.name
        if name in signals:
            recency = 0.5 ** (signal.age / half_life)
            if recency > signals[name]:
                signals[name] = recency
    counts: dict[str, tuple[int, int]] = {}
    for kind in _COUNTED:
        recent = long = 0
        for age, _ in timeline.ages(kind):
            if age < LONG_DAYS:
                long += 1
                recent += age < RECENT_DAYS
        counts[kind] = (recent, long)
    latest: dict[str, float | None] = dict.fromkeys(_SURVEYS)
    for kind in _SURVEYS:
        for age, event in timeline.ages(kind):  # newest first
            if age < DAYS_CAP and event.value is not None:
                latest[kind] = event.value
                break
    last_use = facts.last_usage
    used = last_use is not None
    last_30, prior_30 = facts.usage_last_30, facts.usage_prior_30
    active_days = active_users = 0
    if used:
        for use in facts.features:
            active_days += use.active_days
            active_users += use.active_users
    touch = facts.last_csm_touch
    renewal = facts.renewal_date
    term = facts.contract_months
    return Inputs(
        usage_last_30=last_30 if used else None,
        usage_prior_30=prior_30 if used else None,
        usage_trend=math.log1p(last_30) - math.log1p(prior_30) if used else None,
        days_since_use=min((as_of - last_use).days, DAYS_CAP) if last_use is not None else None,
        active_days=active_days if used else None,
        active_users=active_users if used else None,
        adoption_share=adoption_share,
        tickets_30=counts["support_ticket"][0],
        tickets_90=counts["support_ticket"][1],
        escalations_30=counts["escalation"][0],
        escalations_90=counts["escalation"][1],
        nps=latest["nps"],
        csat=latest["csat"],
        emails_sent=mail.sent,
        email_open_share=mail.opened / mail.sent if mail.sent else None,
        days_since_touch=min((as_of - touch).days, DAYS_CAP) if touch is not None else None,
        cancel_visits_30=counts["cancel_page_visit"][0],
        cancel_visits_90=counts["cancel_page_visit"][1],
        cancel_clicks_30=counts["cancel_click"][0],
        cancel_clicks_90=counts["cancel_click"][1],
        health=health,
        **signals,
        mrr=facts.mrr,
        seats=traits.seats,
        tenure_days=(as_of - facts.start_date).days if facts.start_date is not None else None,
        days_to_renewal=(
            (next_renewal(renewal, as_of, term_months(facts)) - as_of).days if renewal is not None else None
        ),
        contract_months=term,
        plan=traits.plan,
        segment=facts.segment,
    )


ColumnKind = Literal["value", "missing", "level"]


class Column(NamedTuple):
    """One column of the model: an input's value, its missing indicator, or one of its levels."""

    input: str
    kind: ColumnKind
    level: str | None
    """For a level column: the level, or None for "other" (a level seen too rarely in training, or not at
    all)."""
    mean: float
    scale: float
    coefficient: float
    """Per standard deviation of the column."""


class Contribution(NamedTuple):
    """How far one input moves an account's log-odds of churn from the average account's."""

    input: str
    value: float | str | None
    """The input's value (a plan or segment is its name); None: missing."""
    log_odds: float


class _Terms(NamedTuple):
    """A number's columns, folded: contribution = slope x value (as it enters) + offset when present,
    `absent` when missing."""

    position: int
    """In `Inputs`."""
    log: bool
    slope: float
    offset: float
    absent: float


@dataclass(frozen=True)
class ChurnModel:
    """A fitted model: its columns with their standardisation and coefficients, and the intercept (the
    log-odds of the average account)."""

    columns: tuple[Column, ...]
    intercept: float
    penalty: float
    """The L2 penalty it was fitted with."""

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MODEL_VERSION,
            "intercept": self.intercept,
            "penalty": self.penalty,
            "columns": [list(column) for column in self.columns],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChurnModel:
        if data.get("version") != MODEL_VERSION:
            raise ValueError(f"a churn model of version {data.get('version')}, not {MODEL_VERSION}")
        return cls(
            columns=tuple(Column(*column) for column in data["columns"]),
            intercept=float(data["intercept"]),
            penalty=float(data["penalty"]),
        )

    @cached_property
    def _numbers(self) -> tuple[_Terms, ...]:
        folded: dict[str, list[float]] = {}  # input -> [slope, offset, absent]
        for column in self.columns:
            if column.kind == "level":
                continue
            terms = folded.setdefault(column.input, [0.0, 0.0, 0.0])
            weight = column.coefficient / column.scale
            if column.kind == "value":
                terms[0] += weight
                terms[1] -= weight * column.mean
            else:  # a missing indicator: 0 when present, 1 when missing
                terms[1] -= weight * column.mean
                terms[2] += weight * (1.0 - column.mean)
        return tuple(
            _Terms(NUMBERS.index(name), INPUTS[name].log, slope, offset, absent)
            for name, (slope, offset, absent) in folded.items()
        )

    @cached_property
    def _levels(self) -> tuple[tuple[int, str, dict[str, float], float], ...]:
        """For each category the model reads: its index in Inputs, its name, level -> contribution, and the
        contribution of any other level (a missing one contributes nothing)."""
        columns: dict[str, list[Column]] = {}
        for column in self.columns:
            if column.kind == "level":
                columns.setdefault(column.input, []).append(column)
        found = []
        for name, levels in columns.items():
            base = sum(-column.coefficient * column.mean / column.scale for column in levels)
            effects = {
                column.level: base + column.coefficient / column.scale
                for column in levels
                if column.level is not None
            }
            other = [base + column.coefficient / column.scale for column in levels if column.level is None]
            found.append((Inputs._fields.index(name), name, effects, other[0] if other else base))
        return tuple(found)

    def _effects(self, inputs: Inputs) -> list[float]:
        """Each input's contribution, numbers first (in `_numbers` order), then categories."""
        row: Sequence[Any] = inputs
        log1p = math.log1p
        effects = [
            absent
            if (value := row[index]) is None
            else slope * (log1p(value if value > 0.0 else 0.0) if log else value) + offset
            for index, log, slope, offset, absent in self._numbers
        ]
        effects += [
            0.0 if (level := row[index]) is None else levels.get(level, other)
            for index, _, levels, other in self._levels
        ]
        return effects

    @cached_property
    def _read(self) -> tuple[tuple[str, int], ...]:
        """The input of each effect (`_effects`), and its index in Inputs."""
        return tuple((NUMBERS[terms.position], terms.position) for terms in self._numbers) + tuple(
            (name, index) for index, name, _, _ in self._levels
        )

    def explained(self, inputs: Inputs, most: int | None = None) -> tuple[float, list[Contribution]]:
        """The log-odds, and each input the model reads with its value and contribution, the largest effect
        first (the `most` largest only, if given)."""
        effects = self._effects(inputs)
        sizes = list(map(abs, effects))
        ranked = sorted(range(len(effects)), key=sizes.__getitem__, reverse=True)  # a stable sort
        row: Sequence[Any] = inputs
        read = self._read
        return self.intercept + sum(effects), [
            Contribution(read[at][0], row[read[at][1]], effects[at]) for at in ranked[:most]
        ]

    def blind_to(self, unknown: Collection[str]) -> ChurnModel:
        """The model without the columns of the `unknown` inputs: each stands at its training mean, so it
        moves no account's odds (a standardised column at its mean adds nothing)."""
        if not unknown:
            return self
        kept = tuple(column for column in self.columns if column.input not in unknown)
        return ChurnModel(kept, self.intercept, self.penalty)

    def contributions(self, inputs: Inputs) -> list[Contribution]:
        """Each input the model reads, with its value and contribution, largest effect first."""
        return self.explained(inputs)[1]

    def log_odds(self, inputs: Inputs) -> float:
        return self.intercept + sum(self._effects(inputs))

    def predict(self, inputs: Inputs) -> float:
        """The chance of churn within the horizon."""
        return sigmoid(self.log_odds(inputs))


def sigmoid(log_odds: float) -> float:
    if log_odds >= 0:
        return 1.0 / (1.0 + math.exp(-log_odds))
    odds = math.exp(log_odds)
    return odds / (1.0 + odds)


def tier(chance: float, settings: LearnedChurnSettings) -> ChurnTier:
    if chance >= settings.high_min:
        return "high"
    return "medium" if chance >= settings.medium_min else "low"


def describe(contribution: Contribution) -> str:
    """A contribution in words: "days since the last use 45: raises the odds of churn x2.20"."""
    name, value, log_odds = contribution
    label, spec = LABELS[name], INPUTS.get(name)
    if value is None:
        shown = spec.missing if spec is not None and spec.missing else f"{label} unknown"
    elif isinstance(value, str):
        shown = f"{label} {value}"
    else:
        shown = f"{label} {value:,.2f}".rstrip("0").rstrip(".")
    direction = "raises" if log_odds >= 0 else "lowers"
    return f"{shown}: {direction} the odds of churn x{math.exp(log_odds):.2f}"


TOP_CONTRIBUTIONS: Final = 5
"""The contributions an explanation keeps: the largest effects."""


class LearnedChurnPart(NamedTuple):
    """What the explanation words when the learned model scored (`explain_learned_churn`), stored as a JSON
    array of these fields in this order (its first, "learned", tells it from the rules' `ChurnPart`)."""

    model: str
    """Always "learned"."""
    risk: float
    """The chance of churn within the horizon."""
    tier: ChurnTier
    model_id: int
    horizon_days: int
    holdout_auc: float | None
    high_min: float
    medium_min: float
    contributions: list[Contribution]
    """The largest, largest first."""
    rules: ChurnPart
    """What the rules made of the same facts: their risk, tier and the signals that fired."""

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> LearnedChurnPart:
        """The part from its stored JSON array."""
        fields = list(row)
        fields[_CONTRIBUTIONS] = [read_record(Contribution, item) for item in row[_CONTRIBUTIONS]]
        fields[_RULES] = ChurnPart.from_json(row[_RULES])
        return read_record(cls, fields)


_CONTRIBUTIONS: Final = LearnedChurnPart._fields.index("contributions")
_RULES: Final = LearnedChurnPart._fields.index("rules")


class LearnedAssessment(NamedTuple):
    risk: float
    tier: ChurnTier
    part: LearnedChurnPart


def read_churn_part(row: Sequence[Any]) -> ChurnPart | LearnedChurnPart:
    """The churn part of a stored explanation, of either model."""
    return LearnedChurnPart.from_json(row) if row and row[0] == "learned" else ChurnPart.from_json(row)


class LearnedChurn:
    """The learned model as a scoring run uses it: loaded once, with what its explanation quotes and the
    traits of the book's accounts."""

    def __init__(
        self,
        model: ChurnModel,
        model_id: int,
        horizon_days: int,
        holdout_auc: float | None,
        settings: LearnedChurnSettings,
        traits: Mapping[str, AccountTraits],
    ) -> None:
        self.model, self.model_id, self.horizon_days, self.holdout_auc = (
            model,
            model_id,
            horizon_days,
            holdout_auc,
        )
        self.settings, self.traits = settings, traits

    def assess(
        self,
        facts: AccountFacts,
        timeline: Timeline,
        mail: Mail,
        adoption_share: float | None,
        health: float | None,
        rules: Churn,
        settings: ChurnSettings,
    ) -> LearnedAssessment:
        """The account's churn by the model, the rules' own kept in its part."""
        traits = self.traits.get(facts.account_id, NO_TRAITS)
        inputs = account_inputs(facts, traits, timeline, mail, adoption_share, health, rules.part, settings)
        log_odds, contributions = self.model.explained(inputs, TOP_CONTRIBUTIONS)
        chance = sigmoid(log_odds)
        churn_tier = tier(chance, self.settings)
        part = LearnedChurnPart(
            "learned",
            chance,
            churn_tier,
            self.model_id,
            self.horizon_days,
            self.holdout_auc,
            self.settings.high_min,
            self.settings.medium_min,
            contributions,
            rules.part,
        )
        return LearnedAssessment(chance, churn_tier, part)


NO_TRAITS: Final = AccountTraits()


def explain_learned_churn(
    part: LearnedChurnPart,
    as_of: date,
    weights: Sequence[float],
    rules_high_min: float,
    rules_medium_min: float,
    half_life_days: int,
    low_health_below: float,
) -> JsonDict:
    """The churn section when the learned model scored: its chance and tier, which model and how well it did
    on its holdout, the largest contributions in words, and what the rules said, with their signals."""
    rules = explain_churn(
        part.rules, as_of, weights, rules_high_min, rules_medium_min, half_life_days, low_health_below
    )
    quality = "no holdout AUC" if part.holdout_auc is None else f"holdout AUC {part.holdout_auc:.2f}"
    return {
        "model": "learned",
        "risk": part.risk,
        "tier": part.tier,
        "high_min": part.high_min,
        "medium_min": part.medium_min,
        "model_id": part.model_id,
        "holdout_auc": part.holdout_auc,
        "horizon_days": part.horizon_days,
        "detail": (
            f"learned model {part.model_id} ({quality}): a {part.risk:.0%} chance of churning within "
            f"{part.horizon_days} days (high from {part.high_min:.0%}, medium from {part.medium_min:.0%})"
        ),
        "contributions": [
            {
                "name": contribution.input,
                "label": LABELS[contribution.input],
                "value": contribution.value,
                "log_odds": contribution.log_odds,
                "detail": describe(contribution),
            }
            for contribution in part.contributions
        ],
        "rules": {"risk": part.rules.risk, "tier": part.rules.tier},
        "signals": rules["signals"],
    }
