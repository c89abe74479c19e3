"""Advocacy segment from what the account says and does for us, never from what it pays.

Over the last `advocacy.window_days`: the latest NPS answer, and the advocacy acts (referrals and public
reviews).
- lover: a promoter (latest NPS at least `promoter_min_nps`) with at least `lover_min_advocacy_acts` acts;
- liker: a promoter with fewer acts; or an account with at least one act whose latest NPS is passive (7 up
  to the promoter threshold) or that gave no NPS answer: it speaks for us, without a promoter's answer;
- lurker: everyone else, detractors included even when they refer or review.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Final, NamedTuple

from cockpit.config import Advocacy, AdvocacySettings
from cockpit.scoring.common import JsonDict, Timeline, day_before, read_nested, read_record

PASSIVE_MIN_NPS: Final = 7
"""NPS from which a respondent is passive rather than a detractor: the standard NPS definition."""


class AdvocacyAct(NamedTuple):
    """A referral or a public review in the window."""

    kind: str
    age: int
    """Days before as_of."""
    detail: str | None


class AdvocacyPart(NamedTuple):
    """What the explanation words (`explain_advocacy`), stored as a JSON array of these fields in this
    order."""

    segment: Advocacy
    nps: float | None
    """The latest NPS answer in the window (None: none given)."""
    nps_age: int | None
    """Its days before as_of."""
    acts: list[AdvocacyAct]

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> AdvocacyPart:
        """The part from its stored JSON array."""
        return read_nested(cls, row, _ACTS, [read_record(AdvocacyAct, act) for act in row[_ACTS]])


_ACTS: Final = AdvocacyPart._fields.index("acts")


class Advocate(NamedTuple):
    segment: Advocacy
    part: AdvocacyPart


def assess_advocacy(timeline: Timeline, settings: AdvocacySettings) -> Advocate:
    window = settings.window_days
    answers = [aged for aged in timeline.within("nps", window) if aged[1].value is not None]
    latest = min(answers, key=lambda aged: aged[0], default=None)  # the newest: the first of equal days
    nps = None if latest is None else latest[1].value
    acts = [aged for kind in ("referral", "review") for aged in timeline.within(kind, window)]
    promoter = nps is not None and nps >= settings.promoter_min_nps
    segment: Advocacy
    if promoter and len(acts) >= settings.lover_min_advocacy_acts:
        segment = "lover"
    elif promoter or (acts and (nps is None or nps >= PASSIVE_MIN_NPS)):
        segment = "liker"
    else:
        segment = "lurker"
    part = AdvocacyPart(
        segment,
        nps,
        None if latest is None else latest[0],
        [AdvocacyAct(act.kind, age, act.detail) for age, act in acts],
    )
    return Advocate(segment, part)


def explain_advocacy(
    part: AdvocacyPart, as_of: date, promoter_min_nps: int, lover_min_advocacy_acts: int, window_days: int
) -> JsonDict:
    """The advocacy section of an explanation, from `Advocate.part` (fresh or read back from JSON)."""
    return {
        "segment": part.segment,
        "latest_nps": part.nps,
        "latest_nps_on": day_before(as_of, part.nps_age),
        "promoter_min_nps": promoter_min_nps,
        "acts": [
            {"kind": act.kind, "on": day_before(as_of, act.age), "detail": act.detail} for act in part.acts
        ],
        "lover_min_advocacy_acts": lover_min_advocacy_acts,
        "window_days": window_days,
    }
