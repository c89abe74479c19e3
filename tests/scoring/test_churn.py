"""Churn risk: noisy-OR with decay and horizon, each signal with its date, support bursts, renewals by their
stake, contract terms, tiers; and the tiers against the outcomes of a generated book."""

from __future__ import annotations

import random
from typing import Any

import pytest

from cockpit.config import ChurnTier
from cockpit.domain.dates import add_months
from cockpit.scoring.churn import noisy_or, support_burst, tier, worth
from cockpit.scoring.facts import AccountFacts, BookCoverage, Event
from cockpit.scoring.metrics import lift, rates
from cockpit.scoring.rules import AccountScore, score_book

from .books import subscription_book
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
    ("last_use", "start", "silent"),
    [
        (13, None, None),
        (14, None, 14),
        (30, None, 30),
        (400, None, 400),  # a long silence still holds today: it does not fade
        (None, 20, 20),  # never used in a book that records usage: counted from the start
        (None, 5, None),
        (None, None, None),  # never used and no start date: nothing to count from
    ],
)
def test_inactivity_is_a_silence_that_holds_today(
    last_use: int | None, start: int | None, silent: int | None
) -> None:
    assert C.inactivity_days == 14
    facts = account(
        last_usage=None if last_use is None else ago(last_use),
        start_date=None if start is None else ago(start),
        usage_last_30=0 if last_use is None or last_use >= 30 else 100,
        usage_prior_30=0 if last_use is None or last_use >= 60 else 100,
    )
    scored = score(facts)
    assert fired(scored, "inactivity") == ([] if silent is None else [AS_OF.isoformat()])
    if silent is not None:
        [signal] = [signal for signal in signals(scored) if signal["name"] == "inactivity"]
        # A silence weighs as many silences as it holds inactivity_days over.
        assert signal["effect"] == pytest.approx(worth(C.weights.inactivity, silent / C.inactivity_days))
        assert f": {silent} days" in signal["detail"]


@pytest.mark.parametrize(("last_use", "start"), [(None, 200), (None, None)])
def test_no_usage_in_the_book_is_no_inactivity(last_use: int | None, start: int | None) -> None:
    facts = account(
        last_usage=None, start_date=None if start is None else ago(start), usage_last_30=0, usage_prior_30=0
    )
    assert fired(score(facts, coverage=BookCoverage(usage=False, tickets=True)), "inactivity") == []
    assert fired(score(facts), "inactivity") == ([] if start is None else [AS_OF.isoformat()])


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


@pytest.mark.parametrize(
    "strong",
    [
        [event("escalation", 3)],
        [event("support_ticket", age) for age in (9, 7, 5, 3)],
        [event("cancel_page_visit", 1)],
        [event("cancel_click", 10)],
    ],
    ids=["escalation", "support_burst", "cancel_page_visit", "cancel_click"],
)
def test_one_strong_signal_of_the_last_days_is_enough_for_medium(strong: list[Event]) -> None:
    scored = score(account(events=strong))
    assert scored.churn_tier in ("medium", "high")


def test_a_silence_of_two_weeks_is_medium_alone_and_one_of_months_high() -> None:
    weeks = score(account(last_usage=ago(15), usage_last_30=50, usage_prior_30=50))
    assert [signal["name"] for signal in signals(weeks)] == ["inactivity"]
    assert weeks.churn_tier == "medium"
    months = score(account(last_usage=ago(120), usage_last_30=0, usage_prior_30=0))
    assert [signal["name"] for signal in signals(months)] == ["inactivity"]
    assert months.churn_tier == "high"
    assert signals(months)[0]["detail"].endswith("120 days, 8.57 silences' worth")


@pytest.mark.parametrize(("last", "tier"), [(65, "low"), (30, "medium"), (5, "medium"), (0, "high")])
def test_a_fall_in_use_weighs_by_its_size(last: int, tier: ChurnTier) -> None:
    """Down 35% is one fall (30%) and some; down 95% is more than three; gone altogether is high alone."""
    scored = score(account(usage_last_30=last, usage_prior_30=100))
    [signal] = signals(scored)
    drop = (100 - last) / 100
    assert signal["weight"] == pytest.approx(worth(C.weights.falling_usage, drop / C.falling_usage_drop))
    assert scored.churn_tier == tier


def test_a_bigger_support_burst_weighs_more() -> None:
    weight = C.weights.support_burst
    four = score(account(events=[event("support_ticket", age) for age in (3, 2, 1, 0)]))
    six = score(account(events=[event("support_ticket", age) for age in (3, 2, 2, 1, 0, 0)]))
    assert four.churn_risk == pytest.approx(weight)
    assert six.churn_risk == pytest.approx(1 - (1 - weight) ** 1.5)
    [burst] = signals(six)
    assert burst["detail"].endswith("1.5 bursts' worth")


def start_and_renewal(months: int, renews_in: int, terms: int = 5) -> dict[str, Any]:
    """Facts of a contract of `months` months, started `terms` terms before its renewal, which is in
    `renews_in` days (by default five: no whole number of any longer term, and past its early life)."""
    renewal = ago(-renews_in)
    return {"start_date": add_months(renewal, -terms * months), "renewal_date": renewal}


@pytest.mark.parametrize(
    ("months", "stake"),
    [(24, 1.0), (12, 1.0), (6, 0.5), (3, 0.25)],
    ids=["2 years", "1 year", "6 months", "3 months"],
)
def test_renewal_near_weighs_by_the_share_of_a_year_at_stake(months: int, stake: float) -> None:
    scored = score(account(**start_and_renewal(months, 20)))
    [signal] = signals(scored)
    assert signal["name"] == "renewal_near"
    assert signal["weight"] == pytest.approx(C.weights.renewal_near * stake)
    assert scored.churn_risk == pytest.approx(C.weights.renewal_near * stake)
    term = 12 if months == 24 else months
    assert signal["detail"].endswith(f" ({term}-month term: {stake:.0%} at stake)")


@pytest.mark.parametrize(("stated", "term"), [(12, 12), (24, 24), (1, 1), (None, 1)])
def test_a_stated_contract_term_wins_over_the_one_the_dates_suggest(stated: int | None, term: int) -> None:
    """The dates span 13 months, which read alone make a monthly term; a stated term overrides them."""
    renewal = ago(-20)
    scored = score(account(start_date=add_months(renewal, -13), renewal_date=renewal, contract_months=stated))
    [signal] = signals(scored)
    if term == 1:
        assert signal["name"] == "month_to_month"
    else:
        assert signal["name"] == "renewal_near"
        assert signal["detail"].endswith(f" ({term}-month term: 100% at stake)")


@pytest.mark.parametrize("renews_in", [0, 12, 30, -40])
def test_a_month_to_month_contract_is_never_renewal_near_but_medium_alone(renews_in: int) -> None:
    scored = score(account(**start_and_renewal(1, renews_in, terms=13)))
    assert [signal["name"] for signal in signals(scored)] == ["month_to_month"]
    assert scored.churn_risk == pytest.approx(C.weights.month_to_month)
    assert scored.churn_tier == "medium"
    assert "month-to-month" in signals(scored)[0]["detail"]


def test_month_to_month_adds_to_a_strong_signal() -> None:
    burst = [event("support_ticket", age) for age in (3, 2, 1, 0)]
    alone = score(account(events=burst, **start_and_renewal(12, 200)))
    monthly = score(account(events=burst, **start_and_renewal(1, 10, terms=13)))
    assert monthly.churn_risk == pytest.approx(noisy_or([alone.churn_risk, C.weights.month_to_month]))


def test_a_stated_term_is_read_before_the_dates() -> None:
    """A month-to-month term on file needs no dates; a yearly one on file is not read as monthly from them."""
    stated = score(account(contract_months=1))
    [signal] = signals(stated)
    assert (signal["name"], signal["detail"]) == (
        "month_to_month",
        "month-to-month: the contract term the account holds",
    )
    yearly = score(account(contract_months=12, **start_and_renewal(1, 20, terms=13)))
    assert [signal["name"] for signal in signals(yearly)] == ["renewal_near"]


def test_a_new_customer_that_can_leave_soon_is_in_its_early_life() -> None:
    """Month-to-month in its first months: medium for the contract, high with its early life; a new yearly
    contract whose renewal is far off cannot leave within the horizon, so its early life says nothing."""
    new_monthly = score(account(**start_and_renewal(1, 10, terms=4)))
    assert {signal["name"] for signal in signals(new_monthly)} == {"month_to_month", "early_life"}
    assert new_monthly.churn_risk == pytest.approx(noisy_or([C.weights.month_to_month, C.weights.early_life]))
    assert new_monthly.churn_tier == "high"
    early = next(signal for signal in signals(new_monthly) if signal["name"] == "early_life")
    assert early["detail"].endswith("days, on a month-to-month contract")
    new_yearly = score(account(start_date=ago(60), renewal_date=add_months(ago(60), 12)))
    assert signals(new_yearly) == []
    quarterly = score(account(**start_and_renewal(3, 20, terms=1)))
    assert {signal["name"] for signal in signals(quarterly)} == {"renewal_near", "early_life"}


def book_of(accounts: list[AccountFacts]) -> dict[str, AccountScore]:
    return {scored.account_id: scored for scored in score_book(accounts, defaults())}


def test_a_support_load_is_weighed_against_the_book() -> None:
    """Five tickets over two months: no burst, but three times the book's average or more is a load, high
    alone; the same tickets where every account files as many are no load."""
    spread = [event("support_ticket", age) for age in (2, 15, 29, 44, 58)]
    quiet = [account(f"quiet-{n}", events=[event("support_ticket", 30)]) for n in range(9)]
    scored = book_of([account("busy", events=spread), *quiet])["busy"]
    [signal] = signals(scored)
    assert signal["name"] == "support_load"
    assert signal["detail"] == "5 tickets in the last 90 days: 3.57 times the book's average of 1.4"
    assert scored.churn_tier == "high"
    assert signals(score(account(events=spread))) == []  # alone, it has no book to be weighed against
    busy = [account(f"busy-{n}", events=spread) for n in range(3)]
    assert signals(book_of([*busy, *quiet[:2]])["busy-0"]) == []


def test_a_support_load_needs_a_bursts_worth_of_tickets_and_takes_the_bursts_place() -> None:
    few = [event("support_ticket", age) for age in (3, 1, 0)]
    quiet = [account(f"quiet-{n}") for n in range(20)]
    assert signals(book_of([account("few", events=few), *quiet])["few"]) == []
    burst = [*few, event("support_ticket", 2)]
    [signal] = signals(book_of([account("burst", events=burst), *quiet])["burst"])
    assert signal["name"] == "support_load"  # the stronger reading of the same four tickets


@pytest.mark.parametrize(("monthly", "fires"), [(5, True), (7, True), (8, False)])
def test_a_trait_most_of_the_book_shares_is_not_a_signal(monthly: int, fires: bool) -> None:
    """Month-to-month counts while at most trait_max_share (0.7) of the accounts whose term is known are on
    it: in a book where nearly everyone is, it is how the business sells."""
    assert C.trait_max_share == 0.7
    book = [account(f"m-{n}", **start_and_renewal(1, 10, terms=13)) for n in range(monthly)]
    book += [account(f"y-{n}", **start_and_renewal(12, 200)) for n in range(10 - monthly)]
    book.append(account("unknown"))  # no term known: not counted either way
    assert [s["name"] for s in signals(book_of(book)["m-0"])] == (["month_to_month"] if fires else [])


def test_a_renewal_without_a_start_date_weighs_in_full() -> None:
    scored = score(account(renewal_date=ago(-10)))
    [signal] = signals(scored)
    assert (signal["name"], signal["weight"]) == ("renewal_near", C.weights.renewal_near)


def test_the_rules_tell_churners_from_stayers_in_a_book_of_known_structure() -> None:
    """2,000 subscribers, 15% churning in the next 90 days, churners more often bursting into tickets, using
    less, going silent or on monthly terms: the high tier churns at least twice as often as the low tier.
    Shuffled outcomes, the same scores tell nothing (lift near 1)."""
    book = subscription_book()
    scores = score_book([subscriber.facts for subscriber in book], defaults())
    tiers = [scored.churn_tier for scored in scores]
    churned = [subscriber.churns for subscriber in book]
    by_tier = rates(zip(tiers, churned, strict=True))
    assert by_tier["high"].accounts >= 50
    found = lift(by_tier["high"], by_tier["low"])
    assert found is not None and found >= 2
    shuffled = random.Random(7).sample(churned, len(churned))
    by_tier = rates(zip(tiers, shuffled, strict=True))
    found = lift(by_tier["high"], by_tier["low"])
    assert found is not None and 0.6 <= found <= 1.5
