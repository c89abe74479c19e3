"""Each health component at and around its thresholds, weight spreading for missing ones, and the bands."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cockpit.config import HealthBand, HealthSettings, HealthWeights
from cockpit.scoring.common import scale
from cockpit.scoring.facts import AccountFacts, BookCoverage
from cockpit.scoring.health import band
from cockpit.scoring.rules import AccountScore

from .builders import (
    AS_OF,
    account,
    ago,
    component,
    components,
    defaults,
    event,
    feature,
    healthy,
    missing,
    score,
    section,
    signals,
    tune,
)

T = defaults().health.thresholds
W = defaults().health.weights


@pytest.mark.parametrize(
    ("value", "expected"),
    [(-1.0, 0.0), (0.0, 0.0), (2.5, 25.0), (10.0, 100.0), (11.0, 100.0)],
)
def test_scale_rises_linearly_between_worst_and_best(value: float, expected: float) -> None:
    assert scale(value, 0.0, 10.0, higher_is_better=True) == pytest.approx(expected)
    assert scale(-value, 0.0, -10.0, higher_is_better=False) == pytest.approx(expected)


def test_scale_with_equal_thresholds_is_a_step() -> None:
    assert scale(5, 5, 5, higher_is_better=False) == 100.0
    assert scale(6, 5, 5, higher_is_better=False) == 0.0
    assert scale(4, 5, 5, higher_is_better=True) == 0.0


def test_adoption_component_is_the_share_adopted() -> None:
    adopted = feature("a", days=25, users=12)
    scored = score(account(features=(adopted, feature("b"), feature("c"), feature("d"))))
    assert component(scored, "adoption") == pytest.approx(25.0)
    assert components(scored)["adoption"]["detail"] == "1 of 4 features adopted"


def usage(last: int, prior: int) -> float | None:
    return component(score(account(usage_last_30=last, usage_prior_30=prior)), "usage_trend")


def test_usage_trend_between_its_thresholds() -> None:
    assert (T.usage_trend_worst, T.usage_trend_best) == (-0.5, 0.1)
    assert usage(50, 100) == pytest.approx(0.0)  # -50%: the worst
    assert usage(40, 100) == pytest.approx(0.0)
    assert usage(51, 100) == pytest.approx(100 * 0.01 / 0.6)
    assert usage(80, 100) == pytest.approx(50.0)  # -20%: halfway from -50% to +10%
    assert usage(109, 100) == pytest.approx(100 * 0.59 / 0.6)
    assert usage(110, 100) == pytest.approx(100.0)  # +10%: the best
    assert usage(300, 100) == pytest.approx(100.0)
    assert usage(0, 100) == pytest.approx(0.0)


def test_usage_that_starts_from_nothing_is_growth() -> None:
    assert usage(5, 0) == 100.0


def test_usage_trend_is_missing_without_usage_in_either_period() -> None:
    stopped = score(account(usage_last_30=0, usage_prior_30=0, last_usage=ago(70)))
    assert missing(stopped)["usage_trend"] == "no usage in the last 60 days"
    never = score(account(usage_last_30=0, usage_prior_30=0, last_usage=None))
    assert missing(never)["usage_trend"] == "never used"
    assert missing(never)["recency"] == "no use yet"


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, 100.0),
        (2, 100.0),
        (3, 100 * 27 / 28),
        (16, 50.0),
        (29, 100 / 28),
        (30, 0.0),
        (31, 0.0),
    ],
)
def test_recency_between_its_thresholds(days: int, expected: float) -> None:
    assert (T.recency_best_days, T.recency_worst_days) == (2, 30)
    assert component(score(account(last_usage=ago(days))), "recency") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("tickets", "escalations", "expected"),
    [
        (0, 0, 100.0),
        (1, 0, 87.5),
        (4, 0, 50.0),
        (7, 0, 12.5),
        (8, 0, 0.0),
        (11, 0, 0.0),
        (2, 1, 50.0),
        (0, 2, 50.0),
        (0, 5, 0.0),  # floored
    ],
)
def test_support_burden(tickets: int, escalations: int, expected: float) -> None:
    assert (T.support_worst_tickets, T.support_escalation_penalty) == (8, 25)
    events = [event("support_ticket", n) for n in range(tickets)]
    events += [event("escalation", n) for n in range(escalations)]
    assert component(score(account(events=events)), "support") == pytest.approx(expected)


def test_support_counts_the_last_30_days_only() -> None:
    events = [event("support_ticket", 29), event("support_ticket", 30), event("escalation", 30)]
    scored = score(account(events=events))
    assert component(scored, "support") == pytest.approx(87.5)
    assert components(scored)["support"]["detail"] == "1 ticket and 0 escalations in the last 30 days"


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([("nps", 0, 9.0)], 90.0),
        ([("nps", 0, 0.0)], 0.0),
        ([("csat", 0, 5.0)], 100.0),
        ([("csat", 0, 1.0)], 0.0),
        ([("csat", 0, 3.0)], 50.0),
        # Half the window old weighs half: (100 x 1 + 0 x 0.5) / 1.5.
        ([("nps", 0, 10.0), ("nps", 90, 0.0)], 100 / 1.5),
        ([("nps", 0, 10.0), ("csat", 179, 1.0)], 100 / (1 + 0.5 ** (179 / 90))),
    ],
)
def test_sentiment_scales_nps_and_csat_and_weighs_newer_answers_more(
    answers: list[tuple[str, int, float]], expected: float
) -> None:
    assert T.sentiment_window_days == 180
    events = [event("nps" if kind == "nps" else "csat", days, value) for kind, days, value in answers]
    assert component(score(account(events=events)), "sentiment") == pytest.approx(expected)


def test_sentiment_ignores_answers_outside_its_window() -> None:
    window = T.sentiment_window_days
    scored = score(account(events=[event("nps", window, 10.0), event("csat", window + 5, 5.0)]))
    assert missing(scored)["sentiment"] == f"no NPS or CSAT answer in {window} days"


@pytest.mark.parametrize(
    ("sent", "opened", "expected"),
    [(4, 0, 0.0), (4, 1, 50.0), (4, 2, 100.0), (4, 4, 100.0), (10, 1, 20.0)],
)
def test_email_engagement_up_to_the_best_open_rate(sent: int, opened: int, expected: float) -> None:
    assert T.email_open_rate_best == 0.5
    events = [event("email_sent", 10 + n, ref=f"m{n}") for n in range(sent)]
    events += [event("email_opened", 5, ref=f"m{n}") for n in range(opened)]
    assert component(score(account(events=events)), "email_engagement") == pytest.approx(expected)


def test_email_engagement_is_missing_when_nothing_was_sent_in_the_window() -> None:
    window = T.email_window_days
    scored = score(account(events=[event("email_sent", window, ref="m1")]))
    assert missing(scored)["email_engagement"] == f"no email sent in {window} days"


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, 100.0), (14, 100.0), (15, 100 * 75 / 76), (52, 50.0), (89, 100 / 76), (90, 0.0), (400, 0.0)],
)
def test_csm_touch_between_its_thresholds(days: int, expected: float) -> None:
    assert (T.csm_touch_best_days, T.csm_touch_worst_days) == (14, 90)
    assert component(score(account(last_csm_touch=ago(days))), "csm_touch") == pytest.approx(expected)


def test_never_touched_is_missing() -> None:
    assert missing(score(account()))["csm_touch"] == "no CSM touch yet"


def test_thresholds_come_from_the_settings() -> None:
    settings = tune("health.thresholds", recency_best_days=10, recency_worst_days=20)
    assert component(score(account(last_usage=ago(10)), settings), "recency") == 100.0
    assert component(score(account(last_usage=ago(15)), settings), "recency") == pytest.approx(50.0)


def test_a_perfect_account_scores_100_with_every_component() -> None:
    scored = score(healthy())
    assert scored.health == 100.0
    assert set(components(scored)) == set(HealthWeights.model_fields)
    assert missing(scored) == {}


def test_missing_weights_are_spread_over_the_present_components() -> None:
    # Present: usage trend (flat: 83.3), recency (100), support (4 tickets: 50); the other four are missing.
    scored = score(account(events=[event("support_ticket", n) for n in range(4)]))
    present = components(scored)
    assert set(present) == {"usage_trend", "recency", "support"}
    total = W.usage_trend + W.recency + W.support
    for name, part in present.items():
        assert part["weight"] == getattr(W, name)
        assert part["effective_weight"] == pytest.approx(getattr(W, name) / total)
        assert part["points"] == pytest.approx(part["score"] * getattr(W, name) / total)
    assert sum(part["effective_weight"] for part in present.values()) == pytest.approx(1.0)
    trend = 100 * 0.5 / 0.6
    assert scored.health == pytest.approx((trend * W.usage_trend + 100 * W.recency + 50 * W.support) / total)
    assert scored.health == pytest.approx(sum(part["points"] for part in present.values()))
    health = section(scored, "health")
    assert health["missing"] == [
        {"name": "adoption", "why": "no entitled features", "weight_spread": W.adoption},
        {"name": "sentiment", "why": "no NPS or CSAT answer in 180 days", "weight_spread": W.sentiment},
        {"name": "email_engagement", "why": "no email sent in 60 days", "weight_spread": W.email_engagement},
        {"name": "csm_touch", "why": "no CSM touch yet", "weight_spread": W.csm_touch},
    ]


def test_health_is_unknown_when_the_present_components_weigh_nothing() -> None:
    settings = tune("health.weights", usage_trend=0.0, recency=0.0, support=0.0)
    scored = score(account(), settings)
    assert scored.health is None
    assert scored.health_band == "insufficient"


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        (100.0, "green"),
        (70.0, "green"),
        (69.99, "yellow"),
        (40.0, "yellow"),
        (39.99, "red"),
        (0.0, "red"),
        (None, "insufficient"),
    ],
)
def test_bands_at_their_boundaries(health: float | None, expected: HealthBand) -> None:
    settings = defaults().health
    assert (settings.green_min, settings.yellow_min) == (70, 40)
    assert band(health, settings) == expected


def test_band_of_a_scored_account() -> None:
    scored = score(account(features=(feature("a"),), last_usage=ago(25), usage_last_30=10))
    assert scored.health is not None and scored.health < 40
    assert scored.health_band == "red"
    assert score(healthy()).health_band == "green"


def test_as_of_is_the_scoring_day() -> None:
    assert score(account()).as_of == AS_OF


def test_sentiment_of_answers_at_the_top_is_100_not_a_rounding_bit_more() -> None:
    """A weighted mean of answers at 100 can come out at 100.00000000000001: held to 100, as every component."""
    assert component(score(account(events=[event("csat", 52, 5.0)])), "sentiment") == 100.0
    assert component(score(account(events=[event("nps", 52, 10.0)])), "sentiment") == 100.0


def tickets_only(tickets: int = 0) -> AccountFacts:
    """An account of which nothing is known but its support tickets: no usage, survey, email or touch."""
    events = [event("support_ticket", 3 + n) for n in range(tickets)]
    return account(usage_last_30=0, usage_prior_30=0, last_usage=None, events=events)


TICKETS_ONLY = BookCoverage(usage=False, tickets=True)


@pytest.mark.parametrize("tickets", [0, 2])
def test_an_account_known_by_its_tickets_alone_has_not_enough_data(tickets: int) -> None:
    scored = score(tickets_only(tickets), coverage=TICKETS_ONLY)
    assert (scored.health, scored.health_band) == (None, "insufficient")
    health = section(scored, "health")
    assert health["evidence"] == {
        "present": 1,
        "total": 7,
        "needed": 3,
        "detail": "not enough data: 1 of 7 components known, 3 needed",
    }
    assert [part["name"] for part in health["components"]] == ["support"]
    assert health["components"][0]["points"] is None  # they add up to no score
    assert scored.churn_tier == "low" and signals_named(scored) == []  # and no risk either


def test_no_tickets_alone_never_makes_a_health_whatever_the_minimum() -> None:
    with pytest.raises(ValidationError, match="min_evidence"):
        HealthSettings.model_validate({**defaults().health.model_dump(), "min_evidence": 1})
    scored = score(tickets_only(), tune("health", min_evidence=2), coverage=TICKETS_ONLY)
    assert scored.health_band == "insufficient"


def test_the_minimum_of_evidence_comes_from_the_settings() -> None:
    # The quiet account rests on usage trend, recency and support: three components.
    assert score(account()).health_band == "green"
    scored = score(account(), tune("health", min_evidence=4))
    assert (scored.health, scored.health_band) == (None, "insufficient")
    assert (
        section(scored, "health")["evidence"]["detail"]
        == "not enough data: 3 of 7 components known, 4 needed"
    )


def test_a_book_without_tickets_or_usage_scores_neither_support_nor_adoption() -> None:
    facts = healthy()
    whole = score(facts)
    assert {"support", "adoption"} <= set(components(whole))
    bare = score(facts, coverage=BookCoverage(usage=False, tickets=False))
    assert missing(bare)["support"] == "no tickets in the book"
    assert missing(bare)["adoption"] == "no usage in the book"
    assert section(bare, "health")["evidence"]["detail"] == "5 of 7 components known"


def test_not_enough_data_is_no_evidence_of_risk_and_never_ready_for_cross_sell() -> None:
    thin = healthy(
        usage_last_30=0, usage_prior_30=0, last_usage=None, events=(), last_csm_touch=None, features=()
    )
    scored = score(thin, tune("churn", low_health_below=100))
    assert scored.health_band == "insufficient"
    assert "low_health" not in signals_named(scored)
    assert not scored.cross_sell_ready
    assert "health is not enough data (needs green)" in scored.cross_sell_reason


def signals_named(scored: AccountScore) -> list[str]:
    return [signal["name"] for signal in signals(scored)]
