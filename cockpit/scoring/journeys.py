"""Journey patterns: each account's timeline as discrete events, and the event sequences that precede churn or
renewal more often than chance. Pure: rows in, patterns out; no I/O, no clock.

A timeline is what an account did in the `window_days` before a moment: its outcome (the day it churned, or
its latest renewal) for the accounts that learned us something, today for the accounts on a path now. It is
cut into periods of `period_days` counted back from that moment; within a period events are not ordered, so
a pattern's step comes in a later period than the step before it (gaps allowed). Every (timeline, event)
pair is one bit mask of the periods it occurs in (`Timelines.bits`, at most 32 periods), and the patterns are
mined by prefix projection over those masks (`mine`): a prefix keeps, for each timeline that holds it, the
earliest period it can end in, and extending it by an event is one shift of the masks, for every event at
once. Patterns of up to three steps over a few dozen events need no more, and this is NumPy throughout.

The events (`EVENTS`), from the book's rows (`RAW_KINDS`) and its usage per period:
- usage_drop / usage_rise: a period's use below (1 - drop) or above (1 + drop) the mean of the two before
  it; usage_stopped: none after some in the period before;
- ticket_burst: at least `burst_tickets` tickets opened within one period; escalation: an escalated ticket;
- low_nps (0-6), promoter_nps (9-10), low_csat (1-2): a survey answer;
- emails_unopened: at least two emails sent within one period and none of them opened;
- cancel_page_visit, cancel_click, referral, review: the signals themselves;
- negative_interaction / positive_interaction: a logged interaction with that sentiment; qbr: a QBR held;
- outreach_sent: an outreach item sent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from cockpit.domain.contracts import anniversary, renewals_made, term_months

Outcome = Literal["churn", "renewal"]
OUTCOMES: Final[tuple[Outcome, ...]] = ("churn", "renewal")
IntArray = npt.NDArray[np.int64]
Masks = npt.NDArray[np.uint64]

EVENTS: Final[dict[str, str]] = {
    "usage_drop": "use fell against the two periods before",
    "usage_stopped": "no use after some in the period before",
    "usage_rise": "use grew against the two periods before",
    "ticket_burst": "a burst of tickets within one period",
    "escalation": "an escalated ticket",
    "low_nps": "an NPS answer of 0-6",
    "promoter_nps": "an NPS answer of 9-10",
    "low_csat": "a CSAT answer of 1-2",
    "emails_unopened": "two or more emails sent in a period, none opened",
    "cancel_page_visit": "a visit to the cancel page",
    "cancel_click": "a click on cancel",
    "referral": "a referral",
    "review": "a public review",
    "negative_interaction": "a logged interaction with a negative sentiment",
    "positive_interaction": "a logged interaction with a positive sentiment",
    "qbr": "a QBR held",
    "outreach_sent": "an outreach message sent",
}
"""Event name -> what it means, in the order patterns list them."""
EVENT_NAMES: Final = tuple(EVENTS)
_CODE: Final = {name: code for code, name in enumerate(EVENT_NAMES)}

SIGNAL_KINDS: Final = (
    "escalation",
    "email_sent",
    "email_opened",
    "cancel_page_visit",
    "cancel_click",
    "referral",
    "review",
)
"""The signal kinds the journeys read."""
RAW_KINDS: Final = (
    "ticket",
    "escalated_ticket",
    *SIGNAL_KINDS,
    "nps",
    "csat",
    "interaction_negative",
    "interaction_positive",
    "qbr",
    "outreach_sent",
)
"""The kinds of row the store hands over (`book_events`); every other kind is left out."""
_RAW: Final = {kind: code for code, kind in enumerate(RAW_KINDS)}
_DIRECT: Final = {
    "escalated_ticket": "escalation",
    "escalation": "escalation",
    "cancel_page_visit": "cancel_page_visit",
    "cancel_click": "cancel_click",
    "referral": "referral",
    "review": "review",
    "interaction_negative": "negative_interaction",
    "interaction_positive": "positive_interaction",
    "qbr": "qbr",
    "outreach_sent": "outreach_sent",
}
"""Raw kinds that are an event as they are."""
MAX_PERIODS: Final = 32


@dataclass(frozen=True)
class JourneyRules:
    window_days: int
    period_days: int
    usage_drop: float
    """The share of use lost (or gained) against the two periods before that makes a drop (a rise)."""
    burst_tickets: int

    @property
    def periods(self) -> int:
        return -(-self.window_days // self.period_days)


@dataclass(frozen=True)
class AccountDates:
    id: str
    start: date | None
    renewal: date | None
    churned: date | None
    contract_months: int | None


@dataclass(frozen=True)
class Decision:
    """An account whose contract was decided within the look-back: churned on, or renewed on, `on`."""

    account: int
    """Index of the account in the list given to `decisions`."""
    on: date
    churned: bool


def decisions(accounts: Sequence[AccountDates], as_of: date, lookback_days: int) -> list[Decision]:
    """The outcomes within `lookback_days` up to `as_of`: each churn, and for each account still a customer
    its latest renewal (an anniversary of its start every contract term: `term_months`). Churns after `as_of`
    are not known yet: those accounts were customers then."""
    since = as_of - timedelta(days=lookback_days)
    found: list[Decision] = []
    for index, account in enumerate(accounts):
        if account.churned is not None and account.churned <= as_of:
            if account.churned > since:
                found.append(Decision(index, account.churned, True))
            continue
        renewed = last_renewal(account, as_of)
        if renewed is not None and renewed > since:
            found.append(Decision(index, renewed, False))
    return found


def last_renewal(account: AccountDates, as_of: date) -> date | None:
    """The latest anniversary of the account's contract on or before `as_of` (None: none yet, or no term)."""
    start = account.start
    term = term_months(start, account.renewal, account.contract_months)
    if start is None or term is None or start >= as_of:
        return None
    renewals = renewals_made(start, as_of, term)
    return anniversary(start, term, renewals) if renewals > 0 else None


@dataclass(frozen=True)
class BookEvents:
    """The book's raw events as columns, accounts by index; and its use per period of `period_days` counted
    back from the day mined (period 0 ends on that day)."""

    account: IntArray
    ago: IntArray
    kind: IntArray
    value: npt.NDArray[np.float64]
    usage_account: IntArray
    usage_period: IntArray
    usage_total: npt.NDArray[np.float64]


def book_events(
    rows: Iterable[tuple[str, int, str, float | None]],
    usage: Iterable[tuple[str, int, float]],
    index: Mapping[str, int],
) -> BookEvents:
    """Columns from the store's rows: (account id, days before the day mined, kind of `RAW_KINDS`, value: a
    survey's score), and use as (account id, period, total). Rows of accounts
    not in `index` or kinds not in `RAW_KINDS` are left out."""
    account: list[int] = []
    ago: list[int] = []
    kind: list[int] = []
    value: list[float] = []
    for account_id, days, raw, number in rows:
        position, code = index.get(account_id), _RAW.get(raw)
        if position is None or code is None:
            continue
        account.append(position)
        ago.append(days)
        kind.append(code)
        value.append(math.nan if number is None else number)
    used = [(index[a], period, total) for a, period, total in usage if a in index]
    columns = np.array(used, dtype=np.float64).reshape(-1, 3)
    return BookEvents(
        np.array(account, dtype=np.int64),
        np.array(ago, dtype=np.int64),
        np.array(kind, dtype=np.int64),
        np.array(value, dtype=np.float64),
        columns[:, 0].astype(np.int64),
        columns[:, 1].astype(np.int64),
        columns[:, 2],
    )


@dataclass(frozen=True)
class Timelines:
    """Timelines as bit masks: `bits[t, e]` has bit p set when event e happened in period p of timeline t
    (0: the oldest period of its window)."""

    account: IntArray
    bits: Masks
    periods: int


def timelines(book: BookEvents, account: IntArray, end_ago: IntArray, rules: JourneyRules) -> Timelines:
    """The timelines of these accounts, each over the `window_days` before its end (days before the day
    mined; the end day itself left out, as everything after it)."""
    periods = rules.periods
    if periods > MAX_PERIODS:
        raise ValueError(f"window_days / period_days gives {periods} periods; at most {MAX_PERIODS}")
    count = len(account)
    # The usage events, dated on their period's last day.
    used_account, used_ago, used_code = _usage_events(book, rules)
    event_account = np.concatenate([book.account, used_account])
    event_ago = np.concatenate([book.ago, used_ago])
    raw_kind = np.concatenate([book.kind, np.full(len(used_account), -1, dtype=np.int64)])
    raw_value = np.concatenate([book.value, np.full(len(used_account), math.nan)])
    event_code = np.concatenate([np.full(len(book.account), -1, dtype=np.int64), used_code])
    # Each timeline takes its account's events: a merge join on the account.
    order = np.argsort(event_account, kind="stable")
    sorted_accounts = event_account[order]
    first = np.searchsorted(sorted_accounts, account, side="left")
    last = np.searchsorted(sorted_accounts, account, side="right")
    sizes = last - first
    timeline = np.repeat(np.arange(count, dtype=np.int64), sizes)
    starts = np.repeat(first - np.cumsum(sizes) + sizes, sizes)
    rows = order[np.arange(len(timeline), dtype=np.int64) + starts]
    since = event_ago[rows] - end_ago[timeline] - 1  # days before the end, 0: the day before it
    kept = (since >= 0) & (since < rules.window_days)
    timeline, rows = timeline[kept], rows[kept]
    period = periods - 1 - since[kept] // rules.period_days
    kinds, values, codes = raw_kind[rows], raw_value[rows], event_code[rows]
    found_timeline, found_period, found_code = (
        [timeline[codes >= 0]],
        [period[codes >= 0]],
        [codes[codes >= 0]],
    )

    def add(mask: npt.NDArray[np.bool_], name: str) -> None:
        found_timeline.append(timeline[mask])
        found_period.append(period[mask])
        found_code.append(np.full(int(mask.sum()), _CODE[name], dtype=np.int64))

    for raw, name in _DIRECT.items():
        add(kinds == _RAW[raw], name)
    add((kinds == _RAW["nps"]) & (values <= 6), "low_nps")
    add((kinds == _RAW["nps"]) & (values >= 9), "promoter_nps")
    add((kinds == _RAW["csat"]) & (values <= 2), "low_csat")
    # What a period holds together: tickets, emails sent and opened.
    cell = timeline * periods + period
    cells = count * periods

    def per_cell(raws: tuple[str, ...]) -> IntArray:
        chosen = np.isin(kinds, [_RAW[raw] for raw in raws])
        return np.bincount(cell[chosen], minlength=cells)

    tickets, sent, opened = (
        per_cell(("ticket", "escalated_ticket")),
        per_cell(("email_sent",)),
        per_cell(("email_opened",)),
    )
    for counted, name in (
        (tickets >= rules.burst_tickets, "ticket_burst"),
        ((sent >= 2) & (opened == 0), "emails_unopened"),
    ):
        where = np.flatnonzero(counted)
        found_timeline.append(where // periods)
        found_period.append(where % periods)
        found_code.append(np.full(len(where), _CODE[name], dtype=np.int64))
    all_timeline, all_period, all_code = (
        np.concatenate(parts) for parts in (found_timeline, found_period, found_code)
    )
    events = len(EVENT_NAMES)
    key = np.unique((all_timeline * events + all_code) * periods + all_period)
    bits = np.left_shift(np.uint64(1), (key % periods).astype(np.uint64))
    masks = np.zeros(count * events, dtype=np.uint64)
    np.bitwise_or.at(masks, key // periods, bits)
    return Timelines(account, masks.reshape(count, events), periods)


def _usage_events(book: BookEvents, rules: JourneyRules) -> tuple[IntArray, IntArray, IntArray]:
    """usage_drop, usage_rise and usage_stopped per account and period of use, dated on the period's last day
    (days before the day mined)."""
    if not len(book.usage_account):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    accounts = int(book.usage_account.max()) + 1
    span = int(book.usage_period.max()) + 3
    grid = np.zeros((accounts, span))
    np.add.at(grid, (book.usage_account, book.usage_period), book.usage_total)
    current = grid[:, : span - 2]
    before = (grid[:, 1 : span - 1] + grid[:, 2:span]) / 2
    had = before > 0
    stopped = had & (current == 0) & (grid[:, 1 : span - 1] > 0)
    dropped = had & ~stopped & (current < (1 - rules.usage_drop) * before)
    rose = had & (current > (1 + rules.usage_drop) * before)
    found = [
        (np.nonzero(mask), _CODE[name])
        for mask, name in ((dropped, "usage_drop"), (rose, "usage_rise"), (stopped, "usage_stopped"))
    ]
    account = np.concatenate([where[0] for where, _ in found]).astype(np.int64)
    ago = np.concatenate([where[1] for where, _ in found]).astype(np.int64) * rules.period_days
    code = np.concatenate([np.full(len(where[0]), name, dtype=np.int64) for where, name in found])
    return account, ago, code


def _lowest_bit(masks: Masks) -> IntArray:
    """The position of the lowest set bit of each (non-zero) mask."""
    lowest = masks & (~masks + np.uint64(1))
    return np.log2(lowest.astype(np.float64)).astype(np.int64)


@dataclass(frozen=True)
class Candidate:
    """A pattern held by at least the minimum of timelines: how many, how many of them churned, and in which
    period (counted back from the outcome, 0: the last) it was completed, for the churned and the renewed."""

    steps: tuple[int, ...]
    accounts: int
    churned: int
    churned_ends: IntArray
    renewed_ends: IntArray


def mine(
    lines: Timelines, churned: npt.NDArray[np.bool_], *, min_accounts: int, max_steps: int
) -> list[Candidate]:
    """Every pattern of 1 to `max_steps` events, in order over the periods (gaps allowed), held by at least
    `min_accounts` timelines, by prefix projection (see the module's doc)."""
    count = len(lines.account)
    periods = lines.periods
    level: list[tuple[tuple[int, ...], IntArray, IntArray]] = [
        ((), np.arange(count, dtype=np.int64), np.full(count, -1, dtype=np.int64))
    ]
    found: list[Candidate] = []
    for depth in range(max_steps):
        deeper: list[tuple[tuple[int, ...], IntArray, IntArray]] = []
        for prefix, holders, ends in level:
            shifted = lines.bits[holders] >> (ends + 1).astype(np.uint64)[:, None]
            present = shifted != 0
            support = present.sum(axis=0)
            for event in np.flatnonzero(support >= min_accounts):
                steps = (*prefix, int(event))
                rows = present[:, event]
                held = holders[rows]
                end = ends[rows] + 1 + _lowest_bit(shifted[rows, event])
                outcome = churned[held]
                back = periods - 1 - end
                found.append(
                    Candidate(
                        steps,
                        len(held),
                        int(outcome.sum()),
                        np.bincount(back[outcome], minlength=periods),
                        np.bincount(back[~outcome], minlength=periods),
                    )
                )
                if depth + 1 < max_steps:
                    deeper.append((steps, held, end))
        level = deeper
    return found


def holding(lines: Timelines, steps: Sequence[int]) -> npt.NDArray[np.bool_]:
    """Which timelines hold the pattern."""
    held = np.ones(len(lines.account), dtype=bool)
    end = np.full(len(lines.account), -1, dtype=np.int64)
    for event in steps:
        shifted = lines.bits[:, event] >> (end + 1).astype(np.uint64)
        held &= shifted != 0
        end = np.where(held, end + 1 + _lowest_bit(np.where(held, shifted, np.uint64(1))), end)
    return held


@dataclass(frozen=True)
class Pattern:
    steps: tuple[str, ...]
    accounts: int
    """Accounts with an outcome whose timeline held it (its support)."""
    churned: int
    churn_rate: float
    outcome_rate: float
    """The share of those accounts with the outcome looked for (churn, or renewal)."""
    outcome_low: float
    outcome_high: float
    """The Wilson interval of `outcome_rate` (at 1 - the false discovery rate)."""
    lift: float
    """`outcome_rate` over the book's rate of the outcome."""
    share_of_outcome: float
    """The share of all the accounts with the outcome that held it."""
    q_value: float
    """The one-sided Fisher exact test's p-value, Benjamini-Yekutieli adjusted over the patterns tested."""
    lead_days: int
    """How long before the outcome the pattern was typically complete (the median, to the middle of its
    period)."""

    @property
    def text(self) -> str:
        return " > ".join(self.steps)


def wilson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """The Wilson score interval of a proportion."""
    if trials == 0:
        return 0.0, 1.0
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    share = successes / trials
    middle = share + z * z / (2 * trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    return max(0.0, (middle - spread) / scale), min(1.0, (middle + spread) / scale)


def significant(
    candidates: Sequence[Candidate],
    churned: npt.NDArray[np.bool_],
    outcome: Outcome,
    *,
    false_discovery_rate: float,
    period_days: int,
) -> list[Pattern]:
    """The patterns whose accounts had the outcome significantly more often than the book's (a one-sided
    Fisher exact test, Benjamini-Yekutieli over `candidates`), and more often than every shorter pattern
    within them that passed; the surest first (the highest lower bound of the interval of their rate), for a
    pattern held by few accounts can show a high rate by chance."""
    total, churners = len(churned), int(churned.sum())
    hits = churners if outcome == "churn" else total - churners
    if not candidates or total == 0 or hits == 0:
        return []
    support = np.array([c.accounts for c in candidates])
    churned_with = np.array([c.churned for c in candidates])
    if outcome == "churn":
        p_values = stats.hypergeom.sf(churned_with - 1, total, churners, support)
    else:
        p_values = stats.hypergeom.cdf(churned_with, total, churners, support)
    # Benjamini-Yekutieli: valid however the tests depend on one another, and patterns that share steps do.
    q_values = stats.false_discovery_control(np.asarray(p_values, dtype=np.float64), method="by")
    base = hits / total
    passed: dict[tuple[int, ...], Pattern] = {}
    for candidate, q_value in sorted(
        zip(candidates, q_values, strict=True), key=lambda pair: len(pair[0].steps)
    ):
        if q_value > false_discovery_rate:
            continue
        with_outcome = candidate.churned if outcome == "churn" else candidate.accounts - candidate.churned
        rate = with_outcome / candidate.accounts
        lift = rate / base
        shorter = [passed[sub] for sub in _sub_patterns(candidate.steps) if sub in passed]
        if any(pattern.lift >= lift for pattern in shorter):
            continue
        low, high = wilson(with_outcome, candidate.accounts, 1 - false_discovery_rate)
        ends = candidate.churned_ends if outcome == "churn" else candidate.renewed_ends
        passed[candidate.steps] = Pattern(
            tuple(EVENT_NAMES[event] for event in candidate.steps),
            candidate.accounts,
            candidate.churned,
            candidate.churned / candidate.accounts,
            rate,
            low,
            high,
            lift,
            with_outcome / hits,
            float(q_value),
            _median_lead(ends, period_days),
        )
    return sorted(
        passed.values(), key=lambda pattern: (-pattern.outcome_low, -pattern.accounts, pattern.steps)
    )


def _sub_patterns(steps: tuple[int, ...]) -> set[tuple[int, ...]]:
    """The patterns one step shorter within `steps`."""
    return {steps[:skip] + steps[skip + 1 :] for skip in range(len(steps))} - {()}


def _median_lead(ends: IntArray, period_days: int) -> int:
    """The median of the periods back (0: the last before the outcome), as days to the period's middle."""
    total = int(ends.sum())
    if total == 0:
        return 0
    period = int(np.searchsorted(np.cumsum(ends), (total + 1) / 2))
    return period * period_days + period_days // 2


def codes(steps: Sequence[str]) -> tuple[int, ...]:
    """A pattern's events as codes; a name not in `EVENTS` raises ValueError naming it."""
    unknown = [step for step in steps if step not in _CODE]
    if unknown:
        raise ValueError(f"unknown journey event {unknown[0]!r}; the events are: {', '.join(EVENT_NAMES)}")
    return tuple(_CODE[step] for step in steps)
