"""Explanations kept compact and worded when read.

A scoring run explains every account, and a book of 100,000 accounts would spend most of its run writing
sentences and JSON keys that few of them will ever show. So each rule module keeps its part of the
explanation as a named tuple of the numbers, dates (as days before as_of) and codes its words need (the
`part` of its result: `HealthPart`, `ChurnPart`, ...; together the `Body`); `explain` words the parts into
the explanation a person reads, in one shape for every reader (the CLI's `cockpit explain`, the TUI's
account screen, the outreach planner):

    {"as_of", "health", "churn", "adoption", "value", "priority", "cross_sell", "advocacy"}

each section with its inputs, contributions and words ("detail", "why", "reason"), as `AccountScore`'s
docstring says.

Stored (`encode`), an explanation is the JSON array [VERSION, terms, as_of, health, churn, adoption, value,
priority, cross_sell, advocacy]: the parts, and the settings the words quote (`Terms`), so that each stored
row reads back however the settings have changed since. The terms are the same for every account of a run,
so a run stores them once (`score_runs.terms`) and each row holds `RUN_TERMS` (0) in their place; rows
stored before that hold their terms themselves, and both read back alike. A named tuple is stored as the JSON array of
its fields, so the layout of each part is its type's fields in order (a record that comes in two forms,
such as `UnusedFeature` beside `FeatureAdoption`, has a type for each); `read_parts` makes them the same
types again. `decode` reads every stored version: version 1 (cockpit 0.1) stored the worded explanation
itself, a JSON object, and comes back as it was; an array of an older layout is brought up to this one, a
version at a time (`UPGRADES`), and then read as any other.

Versions: 2, the parts as arrays; 3, the health part ends with the evidence it needed (`min_evidence`), a
renewal-near signal with the contract term and the share at stake, a support burst with its size in
bursts, and the churn weights with month_to_month's; 4, the churn part may be the learned model's; 5, a fall
in use and a silence with their worth, a month-to-month signal saying whether its term was stated, and the
churn weights with support_load's and early_life's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from datetime import date
from functools import lru_cache
from typing import Any, Final, NamedTuple

from cockpit.config import Settings
from cockpit.errors import DatabaseError, DatabaseFromFuture
from cockpit.scoring import churn, health
from cockpit.scoring.adoption import AdoptionPart, explain_adoption
from cockpit.scoring.advocacy import AdvocacyPart, explain_advocacy
from cockpit.scoring.churn import ChurnPart
from cockpit.scoring.common import Json, JsonDict, read_record
from cockpit.scoring.cross_sell import CrossSellPart, explain_cross_sell, read_cross_sell
from cockpit.scoring.health import HealthPart
from cockpit.scoring.learned import LearnedChurnPart, explain_learned_churn, read_churn_part
from cockpit.scoring.value import ValuePart

VERSION: Final = 5
"""The layout of stored explanations; a change of any part's layout needs a new version, and an entry in
`UPGRADES` that brings the previous one up to it. Version 3 gave health its evidence and the churn signals
their stakes; version 4 let the churn part be the learned model's (`LearnedChurnPart`) instead of the
rules'; version 5 weighed a fall in use and a silence by their size and added two signals."""


class Terms(NamedTuple):
    """The settings an explanation's words quote: the same for every account of a run."""

    health_weights: Sequence[float]
    """In `health.COMPONENTS` order."""
    green_min: float
    yellow_min: float
    sentiment_window_days: int
    email_window_days: int
    churn_weights: Sequence[float]
    """In `churn.SIGNALS` order."""
    high_min: float
    medium_min: float
    half_life_days: int
    low_health_below: float
    account_adopted_share: float
    adoption_window_days: int
    high_cumulative_share: float
    medium_cumulative_share: float
    cross_sell_required: Sequence[str]
    """Adoption, health band and churn tier, in that order."""
    promoter_min_nps: int
    lover_min_advocacy_acts: int
    advocacy_window_days: int


def terms(settings: Settings) -> Terms:
    thresholds, required = settings.health.thresholds, settings.cross_sell
    return Terms(
        health_weights=health.weights(settings.health),
        green_min=settings.health.green_min,
        yellow_min=settings.health.yellow_min,
        sentiment_window_days=thresholds.sentiment_window_days,
        email_window_days=thresholds.email_window_days,
        churn_weights=churn.weights(settings.churn),
        high_min=settings.churn.high_min,
        medium_min=settings.churn.medium_min,
        half_life_days=settings.churn.half_life_days,
        low_health_below=settings.churn.low_health_below,
        account_adopted_share=settings.adoption.account_adopted_share,
        adoption_window_days=settings.adoption.window_days,
        high_cumulative_share=settings.value.high_cumulative_share,
        medium_cumulative_share=settings.value.medium_cumulative_share,
        cross_sell_required=(
            required.required_adoption,
            required.required_band,
            required.required_churn_tier,
        ),
        promoter_min_nps=settings.advocacy.promoter_min_nps,
        lover_min_advocacy_acts=settings.advocacy.lover_min_advocacy_acts,
        advocacy_window_days=settings.advocacy.window_days,
    )


class Body(NamedTuple):
    """One account's explanation unworded: its parts, each kept by the rule module that words it. Stored as
    a JSON array of these fields, in this order, each part a JSON array of its own fields."""

    as_of: str
    """The ISO day scored."""
    health: HealthPart
    churn: ChurnPart | LearnedChurnPart
    """The rules' part, or the learned model's when it scored."""
    adoption: AdoptionPart
    value: ValuePart
    priority: str
    """The priority label."""
    cross_sell: CrossSellPart
    advocacy: AdvocacyPart

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> Body:
        """The body from its stored JSON array."""
        (
            as_of,
            health_part,
            churn_part,
            adoption_part,
            value_part,
            priority,
            cross_sell_part,
            advocacy_part,
        ) = row
        return cls(
            as_of,
            HealthPart.from_json(health_part),
            read_churn_part(churn_part),
            AdoptionPart.from_json(adoption_part),
            read_record(ValuePart, value_part),
            priority,
            read_cross_sell(cross_sell_part),
            AdvocacyPart.from_json(advocacy_part),
        )


SECTIONS: Final = ("as_of", "health", "churn", "adoption", "value", "priority", "cross_sell", "advocacy")
"""The sections of an explanation, in their order."""


def explain(terms: Terms, body: Body, sections: Collection[str] = SECTIONS) -> JsonDict:
    """The worded explanation of one account from its parts (`rules.AccountScore.body`), fresh or read back
    from JSON; only the `sections` asked for (all of them by default), for readers that need few."""
    as_of = date.fromisoformat(body.as_of)
    adoption, value = body.adoption, body.value
    words: dict[str, Callable[[], Json]] = {
        "as_of": lambda: body.as_of,
        "health": lambda: health.explain_health(
            body.health,
            as_of,
            terms.health_weights,
            terms.green_min,
            terms.yellow_min,
            adoption.adopted,
            len(adoption.features),
            terms.sentiment_window_days,
            terms.email_window_days,
        ),
        "churn": lambda: _explain_churn(body.churn, as_of, terms),
        "adoption": lambda: explain_adoption(
            adoption, as_of, terms.account_adopted_share, terms.adoption_window_days
        ),
        "value": lambda: {
            "value": value.value,
            "basis": value.basis,
            "tier": value.tier,
            "rank": value.rank,
            "of": value.book_size,
            "cumulative_share": value.cumulative_share,
            "detail": (
                f"{value.basis.upper()} {value.value:,.0f}, rank {value.rank} of {value.book_size}: with the "
                f"accounts above it, {value.cumulative_share:.1%} of the book (high up to "
                f"{terms.high_cumulative_share:.0%}, medium up to {terms.medium_cumulative_share:.0%})"
            ),
        },
        "priority": lambda: {"label": body.priority, "churn_tier": body.churn.tier, "value_tier": value.tier},
        "cross_sell": lambda: explain_cross_sell(
            body.cross_sell, adoption.status, body.health.band, body.churn.tier, terms.cross_sell_required
        ),
        "advocacy": lambda: explain_advocacy(
            body.advocacy,
            as_of,
            terms.promoter_min_nps,
            terms.lover_min_advocacy_acts,
            terms.advocacy_window_days,
        ),
    }
    return {name: word() for name, word in words.items() if name in sections}


def _explain_churn(part: ChurnPart | LearnedChurnPart, as_of: date, terms: Terms) -> JsonDict:
    quoted = (
        terms.churn_weights,
        terms.high_min,
        terms.medium_min,
        terms.half_life_days,
        terms.low_health_below,
    )
    if isinstance(part, ChurnPart):
        return churn.explain_churn(part, as_of, *quoted)
    return explain_learned_churn(part, as_of, *quoted)


compact_json = json.JSONEncoder(separators=(",", ":"), check_circular=False, ensure_ascii=False).encode
"""JSON without spaces, for the hundred thousand explanations a run stores."""


def encode_terms(terms: Terms) -> str:
    """The terms as stored: encoded once per run, and stored with the run (`score_runs.terms`)."""
    return compact_json(terms)


RUN_TERMS: Final = "0"
"""What an explanation stored since cockpit kept the terms with the run holds in the place of the terms: the
terms are the run's (the same ~160 bytes in every row of a run were most of what a run's history repeats)."""


def encode(terms_json: str, body: Body) -> str:
    """One account's explanation as stored, from `encode_terms(...)` (or `RUN_TERMS`, when the run keeps
    them) and its parts."""
    return f"[{VERSION},{terms_json},{compact_json(body)[1:]}"


def decode(stored: str, sections: Collection[str] = SECTIONS, run_terms: str | None = None) -> JsonDict:
    """A stored explanation of any version, worded (the shape `explain` gives); only the `sections` asked
    for. `run_terms`: the terms its run stored (`score_runs.terms`), for an explanation that holds
    `RUN_TERMS` in their place; older ones hold their terms themselves."""
    data = json.loads(stored)
    if isinstance(data, dict):  # version 1: the worded explanation itself
        return {name: words for name, words in data.items() if name in sections}
    terms, body = read_parts(data, run_terms)
    return explain(terms, body, sections)


def read_adoption_and_churn(
    stored: str, run_terms: str | None = None
) -> tuple[date, AdoptionPart, tuple[str, ...]] | None:
    """The as_of, the adoption part and the names of the churn signals that fired (in their order) of a
    stored explanation, unworded, its other parts not read: what a reader of every account's stalled features
    and churn signals needs (the outreach plan's facts), at a fraction of `decode`'s cost. None for version
    1, which stored the words themselves (`decode` reads it)."""
    data = json.loads(stored)
    if isinstance(data, dict):
        return None
    if data[0] != VERSION or (data[1] == 0 and run_terms is None):
        # An older layout is brought up to this one, a version at a time; or a missing run's terms refused.
        _, body = read_parts(data, run_terms)
        as_of, adoption, churn_part = date.fromisoformat(body.as_of), body.adoption, body.churn
    else:
        as_of = date.fromisoformat(data[2])
        adoption, churn_part = AdoptionPart.from_json(data[_ADOPTION]), read_churn_part(data[_CHURN])
    rules = churn_part.rules if isinstance(churn_part, LearnedChurnPart) else churn_part
    return as_of, adoption, tuple(signal.name for signal in rules.signals)


@lru_cache(maxsize=16)
def _run_terms(stored: str) -> list[Any]:
    """The run's terms as a JSON array, read once for the many rows of a run (treated as read-only)."""
    terms: list[Any] = json.loads(stored)
    return terms


def read_parts(data: Sequence[Any], run_terms: str | None = None) -> tuple[Terms, Body]:
    """The terms and parts of a stored explanation of version 2 or later, from its JSON array (and the terms
    of its run, `run_terms`, where it holds `RUN_TERMS` in their place)."""
    if data[1] == 0:
        if run_terms is None:
            raise DatabaseError(
                "a stored score explanation takes its terms from its score run, which has none.",
                hint="Score the book again with `cockpit score`.",
            )
        data = [data[0], _run_terms(run_terms), *data[2:]]
    version = data[0]
    if version > VERSION:
        raise DatabaseFromFuture(
            f"a stored score explanation is of version {version}, written by a newer cockpit.",
            hint="Upgrade cockpit (pip install -U cockpit), or score the book again with `cockpit score`.",
        )
    while version < VERSION:
        data = UPGRADES[version](data)
        version = data[0]
    _, stored_terms, *body = data
    return read_record(Terms, stored_terms), Body.from_json(body)


_CHURN_WEIGHTS: Final = Terms._fields.index("churn_weights")
_HEALTH, _CHURN, _ADOPTION = (2 + Body._fields.index(part) for part in ("health", "churn", "adoption"))
"""Where the health, churn and adoption parts are in a stored array: after the version and the terms."""


_ADDED_IN_3: Final[dict[str, list[float | None]]] = {"renewal_near": [None, 1.0], "support_burst": [1.0]}
"""What version 3 added to a signal's record, as version 2 weighed it: a renewal with no contract term read
(None) and all its weight applied (1); a burst weighed alike whatever its size (one burst's worth)."""


def _from_version_2(data: Sequence[Any]) -> list[Any]:
    """A version 2 array in the layout of version 3. The health part had no minimum of evidence (0);
    signals as `_ADDED_IN_3`; month_to_month did not exist (weight 0)."""
    upgraded = [3, *data[1:]]
    terms = list(data[1])
    terms[_CHURN_WEIGHTS] = [*terms[_CHURN_WEIGHTS], 0.0]
    upgraded[1] = terms
    upgraded[_HEALTH] = [*data[_HEALTH], 0]
    risk, tier, signals = data[_CHURN]
    upgraded[_CHURN] = [risk, tier, [[*signal, *_ADDED_IN_3.get(signal[0], [])] for signal in signals]]
    return upgraded


def _from_version_3(data: Sequence[Any]) -> list[Any]:
    """A version 3 array is a version 4 one whose churn part is the rules'."""
    return [4, *data[1:]]


_ADDED_IN_5: Final[dict[str, list[float | bool]]] = {
    "falling_usage": [1.0],
    "inactivity": [1.0],
    "month_to_month": [False],
}
"""What version 5 added to a signal's record, as version 4 weighed it: a fall in use and a silence weighed
alike whatever their size (one's worth); a month-to-month term read from the dates (not stated)."""
_RULES_IN_LEARNED: Final = LearnedChurnPart._fields.index("rules")


def _from_version_4(data: Sequence[Any]) -> list[Any]:
    """A version 4 array in the layout of version 5: signals as `_ADDED_IN_5` (in the rules' part, or in the
    rules' part inside the learned model's); support_load and early_life did not exist (weight 0)."""
    upgraded = [5, *data[1:]]
    terms = list(data[1])
    terms[_CHURN_WEIGHTS] = [*terms[_CHURN_WEIGHTS], 0.0, 0.0]
    upgraded[1] = terms

    def rules(part: Sequence[Any]) -> list[Any]:
        risk, tier, signals = part
        return [risk, tier, [[*signal, *_ADDED_IN_5.get(signal[0], [])] for signal in signals]]

    part = data[_CHURN]
    if part and part[0] == "learned":
        learned = list(part)
        learned[_RULES_IN_LEARNED] = rules(part[_RULES_IN_LEARNED])
        upgraded[_CHURN] = learned
    else:
        upgraded[_CHURN] = rules(part)
    return upgraded


UPGRADES: Final[dict[int, Callable[[Sequence[Any]], list[Any]]]] = {
    2: _from_version_2,
    3: _from_version_3,
    4: _from_version_4,
}
"""Version -> how to bring a stored array of that version up to the next one."""
