"""Advocacy segments from NPS, referrals and reviews in the window; revenue plays no part."""

from __future__ import annotations

import pytest

from cockpit.config import Advocacy
from cockpit.scoring.facts import Event

from .builders import account, defaults, event, score, section, tune

D = defaults().advocacy


@pytest.mark.parametrize(
    ("events", "segment"),
    [
        ([event("nps", 30, 9.0), event("referral", 20)], "lover"),
        ([event("nps", 30, 10.0), event("review", 200, 5.0)], "lover"),
        ([event("nps", 30, 10.0)], "liker"),  # a promoter who has not spoken for us
        ([event("nps", 30, 8.0), event("review", 20, 5.0)], "liker"),  # a passive who has
        ([event("nps", 30, 7.0), event("referral", 20)], "liker"),
        ([event("referral", 20)], "liker"),  # no answer, but a referral
        ([event("nps", 30, 6.0), event("referral", 20)], "lurker"),  # a detractor, whatever else
        ([event("nps", 30, 8.0)], "lurker"),
        ([event("csat", 30, 5.0)], "lurker"),  # CSAT is not NPS
        ([], "lurker"),
        # The latest answer counts: a promoter turned detractor is no advocate.
        ([event("nps", 200, 10.0), event("nps", 10, 5.0), event("referral", 5)], "lurker"),
        ([event("nps", 200, 5.0), event("nps", 10, 10.0), event("referral", 5)], "lover"),
        # Outside the window nothing counts.
        ([event("nps", 365, 10.0), event("referral", 365)], "lurker"),
        ([event("nps", 364, 10.0), event("referral", 364)], "lover"),
    ],
)
def test_segments(events: list[Event], segment: Advocacy) -> None:
    assert (D.promoter_min_nps, D.lover_min_advocacy_acts, D.window_days) == (9, 1, 365)
    assert score(account(events=events)).advocacy == segment


def test_lovers_need_as_many_acts_as_the_settings_say() -> None:
    settings = tune("advocacy", lover_min_advocacy_acts=2)
    one = [event("nps", 30, 10.0), event("referral", 20)]
    assert score(account(events=one), settings).advocacy == "liker"
    assert score(account(events=[*one, event("review", 10, 4.0)]), settings).advocacy == "lover"


def test_revenue_does_not_make_an_advocate() -> None:
    for mrr in (0.0, 1_000_000.0):
        assert score(account(mrr=mrr)).advocacy == "lurker"


def test_explanation_gives_the_answer_and_the_acts() -> None:
    scored = score(account(events=[event("nps", 30, 9.0), event("referral", 20, detail="Referred Acme")]))
    assert section(scored, "advocacy") == {
        "segment": "lover",
        "latest_nps": 9.0,
        "latest_nps_on": "2026-10-21",
        "promoter_min_nps": 9,
        "acts": [{"kind": "referral", "on": "2026-10-31", "detail": "Referred Acme"}],
        "lover_min_advocacy_acts": 1,
        "window_days": 365,
    }
