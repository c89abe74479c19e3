"""Churn risk 0-1: the signals that fired, combined as a noisy-OR, each weakened by its age.

risk = 1 - prod(1 - weight x decay) over the fired signals, with decay = 0.5 ** (age / half_life_days) and age
the days from the signal's date to as_of. Signals dated more than `horizon_days` before as_of are ignored, and
so are events dated after it.

The signals and their dates:
- cancel_page_visit, cancel_click, escalation: each event, on its day.
- support_burst: at most one, when `support_burst_tickets` tickets fall within `support_burst_days`
  consecutive days (first and last ticket fewer than that many days apart) inside the horizon; dated at the
  newest ticket that completes such a window, so an ongoing burst is dated at its latest ticket.
- inactivity: no use for `inactivity_days` or more, dated at the last use + `inactivity_days`; an account
  never used counts from its start date instead, and one without a start date cannot fire it. Being dated at
  the onset, it fades as the silence grows old; low health carries a long silence on.
- unopened_email: `unopened_email_min` or more sends in the health email window without an open (see
  `emails`), dated at the oldest of them.
- falling_usage: usage in the last 30 days below the 30 before x (1 - falling_usage_drop), dated as_of.
- low_health: health below `low_health_below`, dated as_of (a missing health does not fire it).
- renewal_near: a renewal date from as_of up to `renewal_near_days` after it, dated as_of (so no decay).

Tier: high at `high_min` or more, medium at `medium_min` or more, low below.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any, Final, NamedTuple

from cockpit.config import ChurnSettings, ChurnTier
from cockpit.scoring.common import Json, JsonDict, Timeline, day_before, plural
from cockpit.scoring.emails import Mail
from cockpit.scoring.facts import AccountFacts

SIGNALS: Final = (
    "cancel_page_visit",
    "cancel_click",
    "support_burst",
    "escalation",
    "inactivity",
    "unopened_email",
    "falling_usage",
    "low_health",
    "renewal_near",
)
"""Every signal, in the order `ChurnWeights` declares them."""


class Signal(NamedTuple):
    name: str
    """A key of `churn.weights`."""
    age: int
    """Days from the signal's date to as_of."""
    words: tuple[Json, ...]
    """What `explain_churn` words the signal from (see `_signal_words`)."""


class Churn(NamedTuple):
    risk: float
    tier: ChurnTier
    part: list[Json]
    """What the explanation words (`explain_churn`): [risk, tier, signals], each signal that counted as
    [name, days ago, its words' inputs...], strongest first."""


def noisy_or(effects: Iterable[float]) -> float:
    """The chance that at least one of independent causes acts, each with its own chance."""
    survive = 1.0
    for effect in effects:
        survive *= 1.0 - effect
    return 1.0 - survive


def tier(risk: float, settings: ChurnSettings) -> ChurnTier:
    if risk >= settings.high_min:
        return "high"
    return "medium" if risk >= settings.medium_min else "low"


def weights(settings: ChurnSettings) -> tuple[float, ...]:
    """The signals' weights in SIGNALS order."""
    return tuple(getattr(settings.weights, name) for name in SIGNALS)


def assess_churn(
    facts: AccountFacts, timeline: Timeline, settings: ChurnSettings, health: float | None, mail: Mail
) -> Churn:
    horizon, half_life, weight_of = settings.horizon_days, settings.half_life_days, settings.weights
    fired: list[tuple[float, Signal]] = []
    for signal in fired_signals(facts, timeline, settings, health, mail):
        if 0 <= signal.age <= horizon:
            weight: float = getattr(weight_of, signal.name)
            fired.append((weight * 0.5 ** (signal.age / half_life), signal))
    risk = noisy_or(effect for effect, _ in fired)
    fired.sort(key=lambda item: -item[0])
    signals: list[Json] = [[signal.name, signal.age, *signal.words] for _, signal in fired]
    churn_tier = tier(risk, settings)
    return Churn(risk, churn_tier, [risk, churn_tier, signals])


def fired_signals(
    facts: AccountFacts, timeline: Timeline, settings: ChurnSettings, health: float | None, mail: Mail
) -> list[Signal]:
    """Every signal that fired, with its age; the caller drops those older than the horizon."""
    as_of, horizon = facts.as_of, settings.horizon_days + 1
    signals = [
        Signal(kind, age, (event.detail,))
        for kind in ("cancel_page_visit", "cancel_click", "escalation")
        for age, event in timeline.within(kind, horizon)
    ]
    tickets = timeline.within("support_ticket", horizon)
    if len(tickets) >= settings.support_burst_tickets:
        burst = support_burst(
            sorted(event.on for _, event in tickets),
            settings.support_burst_tickets,
            settings.support_burst_days,
        )
        if burst is not None:
            first, last, count = burst
            signals.append(Signal("support_burst", (as_of - last).days, (count, (as_of - first).days)))
    since, basis = (
        (facts.last_usage, "last use") if facts.last_usage is not None else (facts.start_date, "start")
    )
    if since is not None:
        silent = (as_of - since).days
        if silent >= settings.inactivity_days:
            signals.append(Signal("inactivity", silent - settings.inactivity_days, (silent, basis)))
    if len(mail.unopened) >= settings.unopened_email_min:
        signals.append(Signal("unopened_email", mail.unopened[0][0], (len(mail.unopened), mail.sent)))
    last_30, prior_30 = facts.usage_last_30, facts.usage_prior_30
    if last_30 < prior_30 * (1 - settings.falling_usage_drop):
        signals.append(Signal("falling_usage", 0, (last_30, prior_30)))
    if health is not None and health < settings.low_health_below:
        signals.append(Signal("low_health", 0, (health,)))
    renewal = facts.renewal_date
    if renewal is not None and 0 <= (renewal - as_of).days <= settings.renewal_near_days:
        signals.append(Signal("renewal_near", 0, ((renewal - as_of).days,)))
    return signals


def support_burst(tickets: list[date], count: int, days: int) -> tuple[date, date, int] | None:
    """The newest burst in ascending ticket dates: (first day, last day, tickets in those days), or None.

    A burst ends at the newest ticket that has `count` tickets (itself included) within `days` days.
    """
    for end in range(len(tickets) - 1, count - 2, -1):
        last = tickets[end]
        start = bisect_right(tickets, last - timedelta(days=days), hi=end)
        if end - start + 1 >= count:
            return tickets[start], last, end - start + 1
    return None


def explain_churn(
    part: Sequence[Any],
    as_of: date,
    weights: Sequence[float],
    high_min: float,
    medium_min: float,
    half_life_days: int,
    low_health_below: float,
) -> JsonDict:
    """The churn section of an explanation, from `Churn.part` (fresh or read back from JSON); `weights` in
    SIGNALS order."""
    risk, churn_tier, fired = part
    weight_of = dict(zip(SIGNALS, weights, strict=True))
    signals: list[Json] = []
    for name, age, *words in fired:
        weight = weight_of[name]
        decay = 0.5 ** (age / half_life_days)
        signals.append(
            {
                "name": name,
                "on": day_before(as_of, age),
                "age_days": age,
                "weight": weight,
                "decay": decay,
                "effect": weight * decay,
                "detail": _signal_words(name, age, words, as_of, low_health_below),
            }
        )
    return {
        "risk": risk,
        "tier": churn_tier,
        "high_min": high_min,
        "medium_min": medium_min,
        "signals": signals,
    }


def _signal_words(name: str, age: int, words: Sequence[Any], as_of: date, low_health_below: float) -> str:
    if name == "support_burst":
        count, first_age = words
        return f"{count} tickets from {day_before(as_of, first_age)} to {day_before(as_of, age)}"
    if name == "inactivity":
        silent, basis = words
        return f"no use since {day_before(as_of, silent)} ({basis}): {silent} days"
    if name == "unopened_email":
        unopened, sent = words
        return f"{unopened} of {plural(sent, 'email')} since {day_before(as_of, age)} not opened"
    if name == "falling_usage":
        last_30, prior_30 = words
        return f"usage {last_30} in the last 30 days against {prior_30} before"
    if name == "low_health":
        return f"health {words[0]:.0f}, below {low_health_below:g}"
    if name == "renewal_near":
        days = words[0]
        return f"renews on {day_before(as_of, -days)}, in {plural(days, 'day')}"
    # A dated event (a cancel-page visit or click, an escalation): its own words, or its kind's.
    detail: str | None = words[0]
    return detail or name.replace("_", " ")
