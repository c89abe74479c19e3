"""Churn risk: noisy-OR with decay and horizon, each signal with its date, support bursts, tiers."""

from __future__ import annotations

import pytest

from cockpit.config import ChurnTier
from cockpit.scoring.churn import noisy_or, support_burst, tier

from .builders import AS_OF, account, ago, defaults, event, fired, score, section, signals, tune

C = defaults().churn


def test_the_quiet_account_fires_nothing() -> None:
    scored = score(account())
    assert signals(scored) == []
    assert scored.churn_risk == 0.0
    assert scored.churn_tier == "low"


def test_noisy_or() -> None:
    assert noisy_or([]) == 0.0
    assert noisy_or([0.3]) == pytest.approx(0.3)
    assert noisy_or([0.5, 0.5]) == pytest.approx(0.75)
    assert noisy_or([0.6, 0.35, 0.1]) == pytest.approx(1 - 0.4 * 0.65 * 0.9)
    assert noisy_or([1.0, 0.2]) == 1.0


@pytest.mark.parametrize(("days", "decay"), [(0, 1.0), (21, 0.5), (42, 0.25), (7, 0.5 ** (1 / 3))])
def test_a_signal_decays_by_half_every_half_life(days: int, decay: float) -> None:
    assert C.half_life_days == 21
    scored = score(account(events=[event("cancel_click", days)]))
    assert scored.churn_risk == pytest.approx(C.weights.cancel_click * decay)
    [signal] = signals(scored)
    assert signal["decay"] == pytest.approx(decay)
    assert signal["effect"] == pytest.approx(C.weights.cancel_click * decay)
    assert signal["age_days"] == days


def test_signals_older_than_the_horizon_are_ignored() -> None:
    horizon = C.horizon_days
    kept = score(account(events=[event("cancel_click", horizon)]))
    assert kept.churn_risk == pytest.approx(C.weights.cancel_click * 0.5 ** (horizon / C.half_life_days))
    assert score(account(events=[event("cancel_click", horizon + 1)])).churn_risk == 0.0


def test_later_events_are_ignored() -> None:
    assert score(account(events=[event("cancel_click", -1)])).churn_risk == 0.0


def test_each_cancel_event_and_escalation_is_a_signal_on_its_day() -> None:
    events = [
        event("cancel_page_visit", 3),
        event("cancel_page_visit", 5),
        event("cancel_click", 2, detail="Clicked cancel on the billing page"),
        event("escalation", 10),
    ]
    scored = score(account(events=events))
    assert fired(scored, "cancel_page_visit") == [ago(5).isoformat(), ago(3).isoformat()]
    assert fired(scored, "cancel_click") == [ago(2).isoformat()]
    assert fired(scored, "escalation") == [ago(10).isoformat()]
    effects = [C.weights.cancel_page_visit * 0.5 ** (3 / 21), C.weights.cancel_page_visit * 0.5 ** (5 / 21)]
    effects += [C.weights.cancel_click * 0.5 ** (2 / 21), C.weights.escalation * 0.5 ** (10 / 21)]
    assert scored.churn_risk == pytest.approx(noisy_or(effects))
    click = next(signal for signal in signals(scored) if signal["name"] == "cancel_click")
    assert click["detail"] == "Clicked cancel on the billing page"
    # Listed strongest first.
    listed = [signal["effect"] for signal in signals(scored)]
    assert listed == sorted(listed, reverse=True)


@pytest.mark.parametrize(
    ("ages", "burst"),
    [
        ([20, 15, 10, 7], (20, 7, 4)),  # four tickets within 14 days: 20 .. 7 is 14 days
        ([21, 15, 10, 7], None),  # 21 .. 7 is 15 days
        ([3, 2, 1, 0, 0, 0], (3, 0, 6)),  # an ongoing burst is dated at its newest ticket
        ([60, 50, 40, 12, 10, 8, 5], (12, 5, 4)),  # the window slides over the older, sparse tickets
        ([40, 38, 35, 30, 2], (40, 30, 4)),  # the newest burst need not end at the newest ticket
        ([9, 7], None),
        ([], None),
    ],
)
def test_support_burst_in_a_sliding_window(ages: list[int], burst: tuple[int, int, int] | None) -> None:
    assert (C.support_burst_tickets, C.support_burst_days) == (4, 14)
    found = support_burst(sorted(ago(age) for age in ages), C.support_burst_tickets, C.support_burst_days)
    assert found == (None if burst is None else (ago(burst[0]), ago(burst[1]), burst[2]))


def test_support_burst_fires_on_its_last_ticket_within_the_horizon() -> None:
    scored = score(account(events=[event("support_ticket", age) for age in (40, 38, 35, 30, 2)]))
    assert fired(scored, "support_burst") == [ago(30).isoformat()]
    outside = C.horizon_days + 1
    old = score(account(events=[event("support_ticket", age) for age in (outside + 3, outside, 85, 84)]))
    assert fired(old, "support_burst") == []


@pytest.mark.parametrize(
    ("last_use", "start", "onset"),
    [
        (13, None, None),
        (14, None, 0),
        (30, None, 16),
        (None, 20, 6),  # never used: counted from the start
        (None, 5, None),
        (None, None, None),  # never used and no start date: nothing to count from
    ],
)
def test_inactivity_is_dated_when_it_began(
    last_use: int | None, start: int | None, onset: int | None
) -> None:
    assert C.inactivity_days == 14
    facts = account(
        last_usage=None if last_use is None else ago(last_use),
        start_date=None if start is None else ago(start),
        usage_last_30=0 if last_use is None or last_use >= 30 else 100,
        usage_prior_30=0 if last_use is None else 100,
    )
    assert fired(score(facts), "inactivity") == ([] if onset is None else [ago(onset).isoformat()])


def test_unopened_email_matched_by_ref_is_dated_at_the_oldest_unopened_send() -> None:
    sends = [event("email_sent", age, ref=f"m{age}") for age in (50, 40, 20, 5)]
    scored = score(account(events=sends))
    assert fired(scored, "unopened_email") == [ago(50).isoformat()]
    # An open (or a click) of the oldest leaves three unopened, from the second.
    opened = score(account(events=[*sends, event("email_clicked", 49, ref="m50")]))
    assert fired(opened, "unopened_email") == [ago(40).isoformat()]
    # Two of four opened: two unopened are below unopened_email_min.
    assert C.unopened_email_min == 3
    two = score(
        account(events=[*sends, event("email_opened", 45, ref="m50"), event("email_opened", 4, ref="m5")])
    )
    assert fired(two, "unopened_email") == []


def test_unopened_email_without_refs_counts_sends_against_opens() -> None:
    sends = [event("email_sent", age) for age in (50, 40, 20)]
    assert fired(score(account(events=sends)), "unopened_email") == [ago(50).isoformat()]
    # An open pairs with the latest send on or before it, so the first send stays unopened.
    with_open = [*sends, event("email_sent", 10), event("email_opened", 39)]
    assert fired(score(account(events=with_open)), "unopened_email") == [ago(50).isoformat()]
    # An open before every send opens none of them.
    early = [*sends, event("email_opened", 55)]
    assert fired(score(account(events=early)), "unopened_email") == [ago(50).isoformat()]
    enough = [*sends, event("email_opened", 20)]
    assert fired(score(account(events=enough)), "unopened_email") == []


def test_unopened_email_counts_the_email_window_only() -> None:
    window = defaults().health.thresholds.email_window_days
    sends = [event("email_sent", age) for age in (window, window - 1, 20, 5)]
    assert fired(score(account(events=sends)), "unopened_email") == [ago(window - 1).isoformat()]


@pytest.mark.parametrize(("last", "fires"), [(69, True), (70, False), (0, True), (100, False)])
def test_falling_usage_is_dated_today(last: int, fires: bool) -> None:
    assert C.falling_usage_drop == 0.3
    scored = score(account(usage_last_30=last, usage_prior_30=100))
    assert fired(scored, "falling_usage") == ([AS_OF.isoformat()] if fires else [])


def test_low_health_fires_strictly_below_its_threshold() -> None:
    facts = account(last_usage=ago(20))
    health = score(facts).health
    assert health is not None
    below = score(facts, tune("churn", low_health_below=health + 0.01))
    assert fired(below, "low_health") == [AS_OF.isoformat()]
    at = score(facts, tune("churn", low_health_below=health))
    assert fired(at, "low_health") == []


@pytest.mark.parametrize(("days", "fires"), [(0, True), (30, True), (90, True), (91, False), (-1, False)])
def test_renewal_near_is_dated_today_without_decay(days: int, fires: bool) -> None:
    assert C.renewal_near_days == 90
    scored = score(account(renewal_date=ago(-days)))
    assert fired(scored, "renewal_near") == ([AS_OF.isoformat()] if fires else [])
    assert scored.churn_risk == pytest.approx(C.weights.renewal_near if fires else 0.0)


def test_weights_come_from_the_settings() -> None:
    settings = tune("churn.weights", cancel_click=0.9)
    assert score(account(events=[event("cancel_click", 0)]), settings).churn_risk == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("risk", "expected"),
    [(1.0, "high"), (0.6, "high"), (0.5999, "medium"), (0.3, "medium"), (0.2999, "low"), (0.0, "low")],
)
def test_tiers_at_their_boundaries(risk: float, expected: ChurnTier) -> None:
    assert (C.high_min, C.medium_min) == (0.6, 0.3)
    assert tier(risk, C) == expected


def test_a_cancel_click_today_makes_a_high_risk_account() -> None:
    scored = score(account(events=[event("cancel_click", 0), event("cancel_page_visit", 1)]))
    assert scored.churn_tier == "high"
    churn = section(scored, "churn")
    assert churn["tier"] == "high"
    assert churn["risk"] == scored.churn_risk
