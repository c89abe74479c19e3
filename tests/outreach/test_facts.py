"""Facts planning derives: from a stored explanation (stalled features, churn signals), and birthdays."""

from __future__ import annotations

from datetime import date

import pytest

from cockpit.outreach.facts import days_to_birthday, with_explanation, with_parts
from cockpit.scoring.explain import decode, read_adoption_and_churn
from cockpit.store import Store
from cockpit.store.outreach import run_terms

from .builders import TODAY, account, days


def feature(feature_id: str, first: date | None, last: date | None, name: str = "") -> dict[str, object]:
    return {
        "id": feature_id,
        "name": name or feature_id.title(),
        "product": "core",
        "first_used": None if first is None else first.isoformat(),
        "last_used": None if last is None else last.isoformat(),
        "stalled": True,
    }


EXPLANATION = {
    "adoption": {
        "features": [
            feature("core-dash", days(-120), days(-2)),
            feature("ana-explore", days(-28), days(-23), "Explorer"),
            feature("core-reports", days(-5), days(-1)),
            feature("core-alerts", None, None),
        ],
        "stalled": ["core-dash", "ana-explore"],
    },
    "churn": {
        "signals": [
            {"name": "cancel_click", "on": days(-3).isoformat(), "detail": "cancel click"},
            {"name": "cancel_page_visit", "on": days(-3).isoformat(), "detail": "cancel page visit"},
            {"name": "cancel_page_visit", "on": days(-6).isoformat(), "detail": "cancel page visit"},
        ]
    },
}


def test_the_stalled_feature_is_the_one_tried_most_recently() -> None:
    explained = with_explanation(account("acc-1", stalled_feature=None), EXPLANATION, TODAY)
    assert explained.explained
    assert explained.stalled is not None and explained.stalled.name == "Explorer"
    facts = explained.facts
    assert facts["stalled_feature"] == "ana-explore"  # not core-reports: it is not stalled
    assert facts["stalled_features"] == ("core-dash", "ana-explore")
    assert (facts["stalled_tried_days"], facts["stalled_idle_days"]) == (28, 23)
    assert facts["churn_signals"] == ("cancel_click", "cancel_page_visit")
    assert [signal.detail for signal in explained.churn] == [
        "cancel click",
        "cancel page visit",
        "cancel page visit",
    ]


def test_no_explanation_means_no_stalled_feature_and_no_signals() -> None:
    explained = with_explanation(account("acc-1"), None, TODAY)
    assert explained.stalled is None and explained.churn == ()
    assert explained.facts["stalled_feature"] is None and explained.facts["stalled_tried_days"] is None
    assert explained.facts["churn_signals"] == ()


@pytest.mark.parametrize(
    ("born", "today", "days_left"),
    [
        (date(1988, 11, 25), date(2026, 11, 25), 0),
        (date(1988, 11, 27), date(2026, 11, 25), 2),
        (date(1988, 11, 24), date(2026, 11, 25), 364),
        (date(1988, 1, 1), date(2026, 12, 31), 1),
        (date(1988, 2, 29), date(2027, 2, 27), 1),  # 28 February in a common year
        (date(1988, 2, 29), date(2028, 2, 27), 2),  # its own day in a leap year
        (date(1988, 2, 29), date(2027, 3, 1), 365),  # 29 February 2028
    ],
)
def test_days_to_the_next_birthday(born: date, today: date, days_left: int) -> None:
    assert days_to_birthday(born, today) == days_left


def test_the_parts_unworded_give_the_facts_the_worded_explanation_gives(demo: Store) -> None:
    """`with_parts` (what a plan reads for every account) adds the same facts and stalled feature as
    `with_explanation` over the worded explanation, for every account of the scored demo book."""
    (run_id,) = demo.db.execute("SELECT max(id) FROM score_runs").fetchone()
    terms = run_terms(demo.db, run_id)
    rows = demo.db.execute("SELECT account_id, explanation FROM scores WHERE run_id = ?", [run_id]).fetchall()
    stalled = signalled = 0
    for account_id, text in rows:
        parts = read_adoption_and_churn(text, terms)
        assert parts is not None
        lean = with_parts(account(account_id), *parts, TODAY)
        full = with_explanation(account(account_id), decode(text, ("adoption", "churn"), terms), TODAY)
        assert (lean.facts, lean.stalled) == (full.facts, full.stalled)
        assert lean.explained and not lean.worded and full.worded
        stalled += lean.stalled is not None
        signalled += bool(lean.facts["churn_signals"])
    assert stalled and signalled, "the book has stalled features and churn signals"
