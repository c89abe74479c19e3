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
from typing import Any, Final, NamedTuple, TypeAlias

from cockpit.config import ChurnSettings, ChurnTier
from cockpit.scoring.common import Json, JsonDict, Timeline, day_before, plural, read_nested, read_record
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


class DatedEvent(NamedTuple):
    """A cancel-page visit, a cancel click or an escalation: an event that is a signal on its day."""

    name: str
    age: int
    """Days from the signal's date to as_of (in every signal)."""
    detail: str | None
    """The event's own words, if it has any."""


class SupportBurst(NamedTuple):
    name: str
    """Always "support_burst"."""
    age: int
    """Days since the burst's last ticket."""
    tickets: int
    first_age: int
    """Days since the burst's first ticket."""


class Inactivity(NamedTuple):
    name: str
    """Always "inactivity"."""
    age: int
    """Days since the silence reached `inactivity_days`."""
    silent_days: int
    since: str
    """What the silence counts from: "last use" or "start"."""


class UnopenedEmail(NamedTuple):
    name: str
    """Always "unopened_email"."""
    age: int
    """Days since the oldest unopened send."""
    unopened: int
    sent: int


class FallingUsage(NamedTuple):
    name: str
    """Always "falling_usage"."""
    age: int
    usage_last_30: int
    usage_prior_30: int


class LowHealth(NamedTuple):
    name: str
    """Always "low_health"."""
    age: int
    health: float


class RenewalNear(NamedTuple):
    name: str
    """Always "renewal_near"."""
    age: int
    days_to_renewal: int


FiredSignal: TypeAlias = (
    DatedEvent | SupportBurst | Inactivity | UnopenedEmail | FallingUsage | LowHealth | RenewalNear
)
"""A signal that fired, with what `explain_churn` words it from; stored as a JSON array of its fields (its
name first, so that a stored signal reads back as its type: `SIGNAL_TYPES`)."""

SIGNAL_TYPES: Final[dict[str, type[FiredSignal]]] = {
    "cancel_page_visit": DatedEvent,
    "cancel_click": DatedEvent,
    "support_burst": SupportBurst,
    "escalation": DatedEvent,
    "inactivity": Inactivity,
    "unopened_email": UnopenedEmail,
    "falling_usage": FallingUsage,
    "low_health": LowHealth,
    "renewal_near": RenewalNear,
}
"""Each signal's record, by its name (every name of SIGNALS)."""


class ChurnPart(NamedTuple):
    """What the explanation words (`explain_churn`), stored as a JSON array of these fields in this order."""

    risk: float
    tier: ChurnTier
    signals: list[FiredSignal]
    """Each signal that counted, strongest first."""

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> ChurnPart:
        """The part from its stored JSON array."""
        # A signal's array starts with its name.
        signals = [read_record(SIGNAL_TYPES[signal[0]], signal) for signal in row[_SIGNALS]]
        return read_nested(cls, row, _SIGNALS, signals)


_SIGNALS: Final = ChurnPart._fields.index("signals")


class Churn(NamedTuple):
    risk: float
    tier: ChurnTier
    part: ChurnPart


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
    fired: list[tuple[float, FiredSignal]] = []
    for signal in fired_signals(facts, timeline, settings, health, mail):
        if 0 <= signal.age <= horizon:
            weight: float = getattr(weight_of, signal.name)
            fired.append((weight * 0.5 ** (signal.age / half_life), signal))
    risk = noisy_or(effect for effect, _ in fired)
    fired.sort(key=lambda item: -item[0])
    churn_tier = tier(risk, settings)
    return Churn(risk, churn_tier, ChurnPart(risk, churn_tier, [signal for _, signal in fired]))


def fired_signals(
    facts: AccountFacts, timeline: Timeline, settings: ChurnSettings, health: float | None, mail: Mail
) -> list[FiredSignal]:
    """Every signal that fired, with its age; the caller drops those older than the horizon."""
    as_of, horizon = facts.as_of, settings.horizon_days + 1
    signals: list[FiredSignal] = [
        DatedEvent(kind, age, event.detail)
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
            signals.append(SupportBurst("support_burst", (as_of - last).days, count, (as_of - first).days))
    since, basis = (
        (facts.last_usage, "last use") if facts.last_usage is not None else (facts.start_date, "start")
    )
    if since is not None:
        silent = (as_of - since).days
        if silent >= settings.inactivity_days:
            signals.append(Inactivity("inactivity", silent - settings.inactivity_days, silent, basis))
    if len(mail.unopened) >= settings.unopened_email_min:
        signals.append(UnopenedEmail("unopened_email", mail.unopened[0][0], len(mail.unopened), mail.sent))
    last_30, prior_30 = facts.usage_last_30, facts.usage_prior_30
    if last_30 < prior_30 * (1 - settings.falling_usage_drop):
        signals.append(FallingUsage("falling_usage", 0, last_30, prior_30))
    if health is not None and health < settings.low_health_below:
        signals.append(LowHealth("low_health", 0, health))
    renewal = facts.renewal_date
    if renewal is not None and 0 <= (renewal - as_of).days <= settings.renewal_near_days:
        signals.append(RenewalNear("renewal_near", 0, (renewal - as_of).days))
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
    part: ChurnPart,
    as_of: date,
    weights: Sequence[float],
    high_min: float,
    medium_min: float,
    half_life_days: int,
    low_health_below: float,
) -> JsonDict:
    """The churn section of an explanation, from `Churn.part` (fresh or read back from JSON); `weights` in
    SIGNALS order."""
    weight_of = dict(zip(SIGNALS, weights, strict=True))
    signals: list[Json] = []
    for signal in part.signals:
        name, age = signal.name, signal.age
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
                "detail": _signal_words(signal, as_of, low_health_below),
            }
        )
    return {
        "model": "rules",
        "risk": part.risk,
        "tier": part.tier,
        "high_min": high_min,
        "medium_min": medium_min,
        "signals": signals,
    }


def _signal_words(signal: FiredSignal, as_of: date, low_health_below: float) -> str:
    match signal:
        case SupportBurst():
            return f"{signal.tickets} tickets from {day_before(as_of, signal.first_age)} to {day_before(as_of, signal.age)}"
        case Inactivity():
            silent = signal.silent_days
            return f"no use since {day_before(as_of, silent)} ({signal.since}): {silent} days"
        case UnopenedEmail():
            return f"{signal.unopened} of {plural(signal.sent, 'email')} since {day_before(as_of, signal.age)} not opened"
        case FallingUsage():
            return f"usage {signal.usage_last_30} in the last 30 days against {signal.usage_prior_30} before"
        case LowHealth():
            return f"health {signal.health:.0f}, below {low_health_below:g}"
        case RenewalNear():
            days = signal.days_to_renewal
            return f"renews on {day_before(as_of, -days)}, in {plural(days, 'day')}"
        case DatedEvent():
            # Its own words, or its kind's.
            return signal.detail or signal.name.replace("_", " ")
