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
from collections.abc import Iterable
from datetime import date, timedelta
from typing import NamedTuple

from cockpit.config import ChurnSettings, ChurnTier
from cockpit.scoring.common import Json, JsonDict, Timeline, plural
from cockpit.scoring.emails import Mail
from cockpit.scoring.facts import AccountFacts


class Signal(NamedTuple):
    name: str
    """A key of `churn.weights`."""
    on: date
    detail: str


class Churn(NamedTuple):
    risk: float
    tier: ChurnTier
    explanation: JsonDict


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


def assess_churn(
    facts: AccountFacts, timeline: Timeline, settings: ChurnSettings, health: float | None, mail: Mail
) -> Churn:
    as_of, weights, half_life = facts.as_of, settings.weights, settings.half_life_days
    fired: list[tuple[float, Signal, int, float, float]] = []
    for signal in fired_signals(facts, timeline, settings, health, mail):
        age = (as_of - signal.on).days
        if 0 <= age <= settings.horizon_days:
            weight: float = getattr(weights, signal.name)
            decay = 0.5 ** (age / half_life)
            fired.append((weight * decay, signal, age, weight, decay))
    risk = noisy_or(effect for effect, *_ in fired)
    churn_tier = tier(risk, settings)
    fired.sort(key=lambda item: -item[0])
    signals: list[Json] = [
        {
            "name": signal.name,
            "on": signal.on.isoformat(),
            "age_days": age,
            "weight": weight,
            "decay": decay,
            "effect": effect,
            "detail": signal.detail,
        }
        for effect, signal, age, weight, decay in fired
    ]
    explanation: JsonDict = {
        "risk": risk,
        "tier": churn_tier,
        "high_min": settings.high_min,
        "medium_min": settings.medium_min,
        "signals": signals,
    }
    return Churn(risk, churn_tier, explanation)


def fired_signals(
    facts: AccountFacts, timeline: Timeline, settings: ChurnSettings, health: float | None, mail: Mail
) -> list[Signal]:
    """Every signal that fired, with its date; the caller drops those older than the horizon."""
    as_of, horizon = facts.as_of, settings.horizon_days + 1
    signals = [
        Signal(kind, event.on, event.detail or kind.replace("_", " "))
        for kind in ("cancel_page_visit", "cancel_click", "escalation")
        for _, event in timeline.within(kind, horizon)
    ]
    tickets = sorted(event.on for _, event in timeline.within("support_ticket", horizon))
    burst = support_burst(tickets, settings.support_burst_tickets, settings.support_burst_days)
    if burst is not None:
        first, last, count = burst
        signals.append(Signal("support_burst", last, f"{count} tickets from {first} to {last}"))
    since, basis = (
        (facts.last_usage, "last use") if facts.last_usage is not None else (facts.start_date, "start")
    )
    if since is not None and (as_of - since).days >= settings.inactivity_days:
        onset = since + timedelta(days=settings.inactivity_days)
        signals.append(
            Signal("inactivity", onset, f"no use since {since} ({basis}): {(as_of - since).days} days")
        )
    if len(mail.unopened) >= settings.unopened_email_min:
        oldest = mail.unopened[0][1]
        detail = f"{len(mail.unopened)} of {plural(mail.sent, 'email')} since {oldest.on} not opened"
        signals.append(Signal("unopened_email", oldest.on, detail))
    last_30, prior_30 = facts.usage_last_30, facts.usage_prior_30
    if last_30 < prior_30 * (1 - settings.falling_usage_drop):
        signals.append(
            Signal("falling_usage", as_of, f"usage {last_30} in the last 30 days against {prior_30} before")
        )
    if health is not None and health < settings.low_health_below:
        signals.append(
            Signal("low_health", as_of, f"health {health:.0f}, below {settings.low_health_below:g}")
        )
    renewal = facts.renewal_date
    if renewal is not None and 0 <= (renewal - as_of).days <= settings.renewal_near_days:
        days = (renewal - as_of).days
        signals.append(Signal("renewal_near", as_of, f"renews on {renewal}, in {plural(days, 'day')}"))
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
