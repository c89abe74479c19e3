"""Advocacy segment from what the account says and does for us, never from what it pays.

Over the last `advocacy.window_days`: the latest NPS answer, and the advocacy acts (referrals and public
reviews).
- lover: a promoter (latest NPS at least `promoter_min_nps`) with at least `lover_min_advocacy_acts` acts;
- liker: a promoter with fewer acts; or an account with at least one act whose latest NPS is passive (7 up
  to the promoter threshold) or that gave no NPS answer: it speaks for us, without a promoter's answer;
- lurker: everyone else, detractors included even when they refer or review.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from cockpit.config import Advocacy, AdvocacySettings
from cockpit.scoring.common import JsonDict, Timeline

PASSIVE_MIN_NPS: Final = 7
"""NPS from which a respondent is passive rather than a detractor: the standard NPS definition."""


class Advocate(NamedTuple):
    segment: Advocacy
    explanation: JsonDict


def assess_advocacy(timeline: Timeline, settings: AdvocacySettings) -> Advocate:
    window = settings.window_days
    answers = [event for _, event in timeline.within("nps", window) if event.value is not None]
    latest = max(answers, key=lambda answer: answer.on, default=None)
    nps = None if latest is None else latest.value
    acts = [event for kind in ("referral", "review") for _, event in timeline.within(kind, window)]
    promoter = nps is not None and nps >= settings.promoter_min_nps
    segment: Advocacy
    if promoter and len(acts) >= settings.lover_min_advocacy_acts:
        segment = "lover"
    elif promoter or (acts and (nps is None or nps >= PASSIVE_MIN_NPS)):
        segment = "liker"
    else:
        segment = "lurker"
    explanation: JsonDict = {
        "segment": segment,
        "latest_nps": nps,
        "latest_nps_on": None if latest is None else latest.on.isoformat(),
        "promoter_min_nps": settings.promoter_min_nps,
        "acts": [{"kind": act.kind, "on": act.on.isoformat(), "detail": act.detail} for act in acts],
        "lover_min_advocacy_acts": settings.lover_min_advocacy_acts,
        "window_days": window,
    }
    return Advocate(segment, explanation)
