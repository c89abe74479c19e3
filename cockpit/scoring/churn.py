"""Churn risk 0-1: the signals that fired, combined as a noisy-OR, each weakened by its age.

risk = 1 - prod(1 - weight x decay) over the fired signals, with decay = 0.5 ** (age / half_life_days) and age
the days from the signal's date to as_of. Signals dated more than `horizon_days` before as_of are ignored, and
so are events dated after it. Tier: high at `high_min` or more, medium at `medium_min` or more, low below.

How the evidence makes the tiers (with the shipped weights): one strong signal, fresh, makes a medium risk
alone (a cancel-page visit, an escalation, a support burst, a silence of two weeks, a month-to-month
contract); two of them together, or one that is extreme, make a high one. Extreme is measured against a
yardstick, never against a fixed count that suits one kind of book: a support load against the book's own
average (`BookNorms`), a fall in use or a silence against the account's own use (a signal that holds its
threshold n times over weighs as n signals, combined as a noisy-OR: `worth`), and a cancel click is extreme
by itself. So the high tier holds the accounts with the strongest evidence whatever data the book holds.

Missing data never fires a signal: each signal needs the data it speaks of (`BookCoverage` tells an account
that did not use the product from a book that records no usage). Nor does what most of the book shares: the
contract's traits (month_to_month, early_life) fire only while at most `trait_max_share` of the accounts
whose term (or start) is known have them; in a book where nearly everyone is month-to-month, that is how the
business sells, not a sign about one account. Without the book's norms (an account scored alone) the traits
fire as the account shows them and no support load can be measured.

The signals and their dates:
- cancel_page_visit, cancel_click, escalation: each event, on its day.
- support_load: the tickets of the horizon, at least `support_load_multiple` times the book's average per
  account and at least `support_burst_tickets`, dated as_of (the load of the horizon holds today); the
  stronger reading of the same tickets, so no support burst is counted beside it.
- support_burst: at most one, when `support_burst_tickets` tickets fall within `support_burst_days`
  consecutive days (first and last ticket fewer than that many days apart) inside the horizon; dated at the
  newest ticket that completes such a window, so an ongoing burst is dated at its latest ticket. A bigger
  burst weighs more: its tickets count as that many bursts' worth (`signal_weight`).
- inactivity: no use for `inactivity_days` or more, dated as_of (a silence that still holds is today's
  fact, so it does not fade); worth its days over `inactivity_days`. Only in a book that holds usage:
  counted from the last use, or from the start date for an account that never used the product; an account
  never used and without a start date cannot fire it, nor can any account of a book without usage.
- unopened_email: `unopened_email_min` or more sends in the health email window without an open (see
  `emails`), dated at the oldest of them.
- falling_usage: usage in the last 30 days below the 30 before x (1 - falling_usage_drop), dated as_of;
  worth its drop over `falling_usage_drop` (use gone altogether is three and a third falls of 30%).
- low_health: health below `low_health_below`, dated as_of (a health without a score, not enough data,
  does not fire it).
- renewal_near: a renewal date from as_of up to `renewal_near_days` after it, dated as_of (so no decay),
  weighed by what is at stake: the contract term's share of a year, at most 1 (`stake`). The term is the
  account's stated one (`contract_months`), else read from the start and renewal dates
  (`cockpit.domain.contracts`); a month-to-month renewal, due every month, never fires it; with neither the
  term is unknown and the full weight applies.
- month_to_month: a contract whose term is one month, dated as_of: such a customer can leave at any month's
  end.
- early_life: a customer in its first `early_life_days` that can leave within the horizon (month-to-month,
  or its renewal near), dated as_of: it decides whether to stay before it has a habit of the product.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any, Final, NamedTuple, TypeAlias

from cockpit.config import ChurnSettings, ChurnTier
from cockpit.domain.contracts import term_months
from cockpit.scoring.common import (
    Aged,
    Json,
    JsonDict,
    Timeline,
    day_before,
    plural,
    read_nested,
    read_record,
)
from cockpit.scoring.emails import Mail
from cockpit.scoring.facts import AccountFacts, BookCoverage, Contract

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
    "month_to_month",
    "support_load",
    "early_life",
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
    bursts: float
    """The tickets over `support_burst_tickets`: how many bursts' worth they are (1 in explanations stored
    before version 3, which weighed every burst alike)."""


class Inactivity(NamedTuple):
    name: str
    """Always "inactivity"."""
    age: int
    """0: the silence holds on the day scored (explanations stored before version 3 dated it where it
    reached `inactivity_days`)."""
    silent_days: int
    since: str
    """What the silence counts from: "last use" or "start"."""
    worth: float
    """The silent days over `inactivity_days`: how many silences' worth (1 in explanations stored before
    version 5, which weighed every silence alike)."""


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
    worth: float
    """The drop over `falling_usage_drop`: how many falls' worth (1 in explanations stored before version 5,
    which weighed every fall alike)."""


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
    term_months: int | None
    """The contract term, stated or read from the dates; None when unknown."""
    stake: float
    """The share of the signal's weight that applies: the term's share of a year, at most 1."""


class MonthToMonth(NamedTuple):
    name: str
    """Always "month_to_month"."""
    age: int
    start_age: int | None
    """Days since the start date (None: none on file)."""
    days_to_renewal: int | None
    """Days from as_of to the renewal date (negative: a renewal date on file that has passed; None: none)."""
    stated: bool
    """The term is the account's stated one, not read from its dates (False in explanations stored before
    version 5)."""


class SupportLoad(NamedTuple):
    name: str
    """Always "support_load"."""
    age: int
    tickets: int
    """Tickets in the horizon."""
    days: int
    """The horizon, in days."""
    book_average: float
    """The book's tickets per account over the same days."""


class EarlyLife(NamedTuple):
    name: str
    """Always "early_life"."""
    age: int
    start_age: int
    """Days since the start date."""
    days_to_renewal: int | None
    """Days to the renewal it can leave at; None for a month-to-month contract (any month's end)."""


FiredSignal: TypeAlias = (
    DatedEvent
    | SupportBurst
    | Inactivity
    | UnopenedEmail
    | FallingUsage
    | LowHealth
    | RenewalNear
    | MonthToMonth
    | SupportLoad
    | EarlyLife
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
    "month_to_month": MonthToMonth,
    "support_load": SupportLoad,
    "early_life": EarlyLife,
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


def signal_weight(signal: FiredSignal, weight: float) -> float:
    """The weight that applies to a fired signal, from its kind's `weight`: for a renewal, only the share at
    stake; for a support burst, a fall in use or a silence, the kind's as often as the signal holds its
    threshold (`worth`: six tickets where four make a burst, 1 - (1 - weight) ** 1.5); for the others, the
    kind's."""
    match signal:
        case RenewalNear():
            return weight * signal.stake
        case SupportBurst():
            return worth(weight, signal.bursts)
        case FallingUsage() | Inactivity():
            return worth(weight, signal.worth)
    return weight


def worth(weight: float, times: float) -> float:
    """A signal's weight when it holds its threshold `times` over: as many signals of `weight`, combined as a
    noisy-OR, 1 - (1 - weight) ** times (written to be `weight` itself once)."""
    more: float = (1.0 - weight) ** (times - 1.0)
    return weight + (1.0 - weight) * (1.0 - more)


class BookNorms(NamedTuple):
    """What is usual in the book as of the day: the yardsticks some signals weigh an account against
    (`book_norms`)."""

    tickets_per_account: float
    """Support tickets of the churn horizon, per account of the book."""
    month_to_month_share: float | None
    """The share of the accounts whose contract term is known that are month-to-month (None: none known)."""
    early_life_share: float | None
    """The share of the accounts with a start date that are within `early_life_days` of it."""


def contract_term(contract: Contract | AccountFacts) -> int | None:
    """The contract term in months: the stated one, else the one the start and renewal dates imply."""
    return term_months(contract.start_date, contract.renewal_date, contract.contract_months)


def book_norms(
    contracts: Iterable[Contract | AccountFacts], tickets: int, as_of: date, settings: ChurnSettings
) -> BookNorms:
    """The book's norms from each account's contract and the support tickets of all of them within the
    churn horizon (ages 0 .. horizon_days)."""
    accounts = terms = monthly = started = early = 0
    for contract in contracts:
        accounts += 1
        term = contract_term(contract)
        if term is not None:
            terms += 1
            monthly += term == 1
        if contract.start_date is not None:
            started += 1
            early += (as_of - contract.start_date).days < settings.early_life_days
    return BookNorms(
        tickets / accounts if accounts else 0.0,
        monthly / terms if terms else None,
        early / started if started else None,
    )


def norms_of(book: Sequence[AccountFacts], settings: ChurnSettings) -> BookNorms | None:
    """The norms of a book whose facts are all at hand, as of their day (None for an empty book)."""
    if not book:
        return None
    horizon = settings.horizon_days
    tickets = sum(
        1
        for facts in book
        for event in facts.events
        if event.kind == "support_ticket" and 0 <= (facts.as_of - event.on).days <= horizon
    )
    return book_norms(book, tickets, book[0].as_of, settings)


class Context(NamedTuple):
    """What the signals read besides the account's facts and events."""

    health: float | None
    """The account's health score (None: not enough data)."""
    mail: Mail
    coverage: BookCoverage
    norms: BookNorms | None = None
    """The book's norms; None: unknown (an account scored alone)."""


def assess_churn(facts: AccountFacts, timeline: Timeline, settings: ChurnSettings, context: Context) -> Churn:
    horizon, half_life, weight_of = settings.horizon_days, settings.half_life_days, settings.weights
    fired: list[tuple[float, FiredSignal]] = []
    for signal in fired_signals(facts, timeline, settings, context):
        if 0 <= signal.age <= horizon:
            weight = signal_weight(signal, getattr(weight_of, signal.name))
            fired.append((weight * 0.5 ** (signal.age / half_life), signal))
    risk = noisy_or(effect for effect, _ in fired)
    fired.sort(key=lambda item: -item[0])
    churn_tier = tier(risk, settings)
    return Churn(risk, churn_tier, ChurnPart(risk, churn_tier, [signal for _, signal in fired]))


def fired_signals(
    facts: AccountFacts, timeline: Timeline, settings: ChurnSettings, context: Context
) -> list[FiredSignal]:
    """Every signal that fired, with its age; the caller drops those older than the horizon."""
    as_of, horizon = facts.as_of, settings.horizon_days + 1
    health, mail, coverage, norms = context
    signals: list[FiredSignal] = [
        DatedEvent(kind, age, event.detail)
        for kind in ("cancel_page_visit", "cancel_click", "escalation")
        for age, event in timeline.within(kind, horizon)
    ]
    signals.extend(_support(timeline.within("support_ticket", horizon), as_of, settings, norms))
    since, basis = (
        (facts.last_usage, "last use") if facts.last_usage is not None else (facts.start_date, "start")
    )
    if since is not None and coverage.usage:
        silent = (as_of - since).days
        if silent >= settings.inactivity_days:
            signals.append(Inactivity("inactivity", 0, silent, basis, silent / settings.inactivity_days))
    if len(mail.unopened) >= settings.unopened_email_min:
        signals.append(UnopenedEmail("unopened_email", mail.unopened[0][0], len(mail.unopened), mail.sent))
    last_30, prior_30 = facts.usage_last_30, facts.usage_prior_30
    if last_30 < prior_30 * (1 - settings.falling_usage_drop):
        drop = 1 - last_30 / prior_30
        signals.append(
            FallingUsage("falling_usage", 0, last_30, prior_30, drop / settings.falling_usage_drop)
        )
    if health is not None and health < settings.low_health_below:
        signals.append(LowHealth("low_health", 0, health))
    signals.extend(_contract(facts, settings, norms))
    return signals


def _support(
    tickets: list[Aged], as_of: date, settings: ChurnSettings, norms: BookNorms | None
) -> list[FiredSignal]:
    """The support signal of the horizon's tickets: a load against the book's average, else a burst."""
    count, least = len(tickets), settings.support_burst_tickets
    if count < least:
        return []
    if norms is not None and count >= settings.support_load_multiple * norms.tickets_per_account:
        return [SupportLoad("support_load", 0, count, settings.horizon_days, norms.tickets_per_account)]
    burst = support_burst(sorted(event.on for _, event in tickets), least, settings.support_burst_days)
    if burst is None:
        return []
    first, last, size = burst
    return [SupportBurst("support_burst", (as_of - last).days, size, (as_of - first).days, size / least)]


def _contract(facts: AccountFacts, settings: ChurnSettings, norms: BookNorms | None) -> list[FiredSignal]:
    """The signals of the account's contract: month-to-month, its early life, or its renewal near."""
    as_of, start, renewal = facts.as_of, facts.start_date, facts.renewal_date
    term = contract_term(facts)
    start_age = None if start is None else (as_of - start).days
    days_to_renewal = None if renewal is None else (renewal - as_of).days
    common = settings.trait_max_share
    signals: list[FiredSignal] = []
    near = days_to_renewal is not None and 0 <= days_to_renewal <= settings.renewal_near_days
    if term == 1:
        if norms is None or norms.month_to_month_share is None or norms.month_to_month_share <= common:
            stated = facts.contract_months == 1
            signals.append(MonthToMonth("month_to_month", 0, start_age, days_to_renewal, stated))
    elif days_to_renewal is not None and near:
        stake = 1.0 if term is None else min(1.0, term / 12)
        signals.append(RenewalNear("renewal_near", 0, days_to_renewal, term, stake))
    if (
        start_age is not None
        and 0 <= start_age < settings.early_life_days
        and (term == 1 or near)
        and (norms is None or norms.early_life_share is None or norms.early_life_share <= common)
    ):
        signals.append(EarlyLife("early_life", 0, start_age, None if term == 1 else days_to_renewal))
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
        weight = signal_weight(signal, weight_of[name])
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
            words = f"{signal.tickets} tickets from {day_before(as_of, signal.first_age)} to {day_before(as_of, signal.age)}"
            return f"{words}: {signal.bursts:.3g} bursts' worth" if signal.bursts > 1 else words
        case Inactivity():
            silent = signal.silent_days
            words = f"no use since {day_before(as_of, silent)} ({signal.since}): {silent} days"
            return f"{words}, {signal.worth:.3g} silences' worth" if signal.worth > 1 else words
        case UnopenedEmail():
            return f"{signal.unopened} of {plural(signal.sent, 'email')} since {day_before(as_of, signal.age)} not opened"
        case FallingUsage():
            words = f"usage {signal.usage_last_30} in the last 30 days against {signal.usage_prior_30} before"
            return f"{words}: {signal.worth:.3g} falls' worth" if signal.worth > 1 else words
        case LowHealth():
            return f"health {signal.health:.0f}, below {low_health_below:g}"
        case RenewalNear():
            days, term = signal.days_to_renewal, signal.term_months
            renews = f"renews on {day_before(as_of, -days)}, in {plural(days, 'day')}"
            if term is None:  # no term known (or stored before terms were read): all of the weight
                return renews
            return f"{renews} ({term}-month term: {signal.stake:.0%} at stake)"
        case MonthToMonth():
            if signal.stated or signal.start_age is None or signal.days_to_renewal is None:
                return "month-to-month: the contract term the account holds"
            return (
                f"month-to-month: renews every month (next on {day_before(as_of, -signal.days_to_renewal)}), "
                f"a customer since {day_before(as_of, signal.start_age)}"
            )
        case SupportLoad():
            average = signal.book_average
            words = f"{plural(signal.tickets, 'ticket')} in the last {signal.days} days"
            if average == 0:
                return f"{words}, where the book's accounts average none"
            return f"{words}: {signal.tickets / average:.3g} times the book's average of {average:.3g}"
        case EarlyLife():
            since = (
                f"a customer since {day_before(as_of, signal.start_age)}, {plural(signal.start_age, 'day')}"
            )
            if signal.days_to_renewal is None:
                return f"{since}, on a month-to-month contract"
            return f"{since}, renewing on {day_before(as_of, -signal.days_to_renewal)}"
        case DatedEvent():
            # Its own words, or its kind's.
            return signal.detail or signal.name.replace("_", " ")
