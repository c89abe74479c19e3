"""The book as a whole, computed from plain facts (no I/O, no clock): how the accounts spread over the tiers
on a day, who moved between two days, retention over a period, renewals per month, lifetime value per group
and the renewals ahead. `services/book_view.py` reads the facts and assembles the figures.

Retention, as the industry defines it, over a period (start, end] and the cohort of the customers at its
start (started on or before the start, not churned on or before it; new customers of the period are left
out):
- logo churn = cohort accounts churned within the period / cohort accounts;
- gross revenue retention, GRR = (starting MRR - churned MRR - contraction) / starting MRR, where the churned
  MRR is the starting MRR of the accounts that churned and the contraction the fall of the others' MRR from
  start to end; it never exceeds 100%, expansion does not count;
- net revenue retention, NRR = (starting MRR + expansion - contraction - churned MRR) / starting MRR = the
  cohort's MRR at the end over its MRR at the start;
- expansion = the rise of the surviving cohort accounts' MRR from start to end, summed (and its share of the
  starting MRR).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from cockpit.domain.dates import add_months

DIMENSIONS: tuple[str, ...] = ("health_band", "churn_tier", "value_tier", "adoption_status", "advocacy")
"""The scores whose spread the book shows, as `scores` names them; the lifecycle stage comes beside them."""


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Snapshot(Figures):
    """How the accounts spread over each dimension on a day, from the latest score run on or before it."""

    label: str
    day: date
    run_as_of: date | None
    """The day of the score run read; None: no run on or before the day."""
    accounts: int
    distributions: dict[str, dict[str, int]]
    """Dimension -> value -> accounts; a value of "none" counts the accounts the run left without one."""


class Move(Figures):
    account_id: str
    name: str
    owner: str | None
    mrr: float
    dimension: str
    before: str
    after: str
    worse: bool


class Retention(Figures):
    start: date
    end: date
    customers: int
    """The cohort: customers at the start."""
    churned: int
    starting_mrr: float
    churned_mrr: float
    contraction_mrr: float
    expansion_mrr: float
    ending_mrr: float
    logo_churn: float | None
    grr: float | None
    nrr: float | None
    expansion_rate: float | None


class RetentionPair(Figures):
    """A period's figures and those of the same period a year before."""

    now: Retention
    year_before: Retention


class RenewalMonth(Figures):
    month: str
    """YYYY-MM."""
    due: int
    due_mrr: float
    renewed: int
    renewed_mrr: float
    lost: int
    lost_mrr: float


class RenewalTotals(Figures):
    """Renewals due in (start, end]: how many renewed, and the renewal rate by count and by MRR."""

    start: date
    end: date
    due: int
    due_mrr: float
    renewed: int
    renewed_mrr: float
    rate: float | None
    mrr_rate: float | None


class LtvGroup(Figures):
    """Lifetime value of a group's live accounts (those with a value), with the interval of the CLV run."""

    group: str
    accounts: int
    valued: int
    ltv: float | None
    """Mean lifetime value (margin earned so far plus the expected residual value)."""
    ltv_low: float | None
    ltv_high: float | None
    cac: float | None
    """Mean acquisition cost of the valued accounts."""
    cac_from_config: int
    """Valued accounts whose CAC is the configured default (none in the data)."""
    ltv_cac: float | None
    ltv_cac_low: float | None
    ltv_cac_high: float | None
    meets_target: bool | None
    """LTV:CAC at or above the target; None when unknown."""


class ForecastAccount(Figures):
    account_id: str
    name: str
    owner: str | None
    mrr: float
    renewal_date: date
    churn_chance: float
    source: str
    """Where the chance comes from: "learned" (the churn model) or "tier:<tier>" (the tier's churn rate)."""
    expected_loss: float


class RenewalForecast(Figures):
    start: date
    end: date
    accounts: int
    mrr_up: float
    expected_renewed_mrr: float
    expected_loss_mrr: float
    top: list[ForecastAccount]


def distribution(values: Iterable[str | None]) -> dict[str, int]:
    """Value -> count, None counted as "none", the values sorted by name (stable JSON)."""
    counts = Counter("none" if value is None else value for value in values)
    return dict(sorted(counts.items()))


def snapshot(
    label: str,
    day: date,
    run_as_of: date | None,
    scored: Mapping[str, Mapping[str, str | None]],
    extra: Mapping[str, Mapping[str, str | None]] | None = None,
) -> Snapshot:
    """The spread of each of `DIMENSIONS` over the `scored` accounts (id -> dimension -> value), and of
    each dimension of `extra` (dimension -> id -> value) over its accounts."""
    distributions = {
        dimension: distribution(labels.get(dimension) for labels in scored.values())
        for dimension in DIMENSIONS
    }
    for dimension, values in (extra or {}).items():
        distributions[dimension] = distribution(values.values())
    return Snapshot(
        label=label, day=day, run_as_of=run_as_of, accounts=len(scored), distributions=distributions
    )


@dataclass(frozen=True)
class Who:
    name: str
    owner: str | None
    mrr: float


def movers(
    before: Mapping[str, Mapping[str, str | None]],
    after: Mapping[str, Mapping[str, str | None]],
    who: Mapping[str, Who],
    ranks: Mapping[str, Mapping[str, int]],
) -> list[Move]:
    """The accounts scored on both days whose label of a dimension changed, the moves for the worse first,
    then by MRR, biggest first. `ranks`: dimension -> value -> rank, 0 the best (a rise in rank is worse)."""
    moves: list[Move] = []
    for account_id in sorted(before.keys() & after.keys() & who.keys()):
        account = who[account_id]
        for dimension in DIMENSIONS:
            old, new = before[account_id].get(dimension), after[account_id].get(dimension)
            if old is None or new is None or old == new:
                continue
            rank = ranks.get(dimension, {})
            moves.append(
                Move(
                    account_id=account_id,
                    name=account.name,
                    owner=account.owner,
                    mrr=account.mrr,
                    dimension=dimension,
                    before=old,
                    after=new,
                    worse=rank.get(new, 0) > rank.get(old, 0),
                )
            )
    moves.sort(key=lambda move: (not move.worse, -move.mrr, move.name, move.dimension))
    return moves


@dataclass(frozen=True)
class Member:
    """What retention reads of an account: its start and churn days and its MRR on any day."""

    start: date | None
    churned_on: date | None
    mrr_on: Callable[[date], float]


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def customer_on(member: Member, day: date) -> bool:
    return (member.start is None or member.start <= day) and (
        member.churned_on is None or member.churned_on > day
    )


def retention(members: Iterable[Member], start: date, end: date) -> Retention:
    """Logo churn, GRR, NRR and expansion over (start, end] (see the module's docstring)."""
    customers = churned = 0
    starting = churned_mrr = contraction = expansion = ending = 0.0
    for member in members:
        if not customer_on(member, start):
            continue
        customers += 1
        at_start = member.mrr_on(start)
        starting += at_start
        if member.churned_on is not None and member.churned_on <= end:
            churned += 1
            churned_mrr += at_start
            continue
        at_end = member.mrr_on(end)
        ending += at_end
        contraction += max(0.0, at_start - at_end)
        expansion += max(0.0, at_end - at_start)
    return Retention(
        start=start,
        end=end,
        customers=customers,
        churned=churned,
        starting_mrr=starting,
        churned_mrr=churned_mrr,
        contraction_mrr=contraction,
        expansion_mrr=expansion,
        ending_mrr=ending,
        logo_churn=_share(churned, customers),
        grr=_share(starting - churned_mrr - contraction, starting),
        nrr=_share(ending, starting),
        expansion_rate=_share(expansion, starting),
    )


def retention_pair(members: Sequence[Member], as_of: date, months: int) -> RetentionPair:
    """The `months` ending on `as_of`, and the same months a year before."""

    def over(end: date) -> Retention:
        return retention(members, add_months(end, -months), end)

    return RetentionPair(now=over(as_of), year_before=over(add_months(as_of, -12)))


@dataclass(frozen=True)
class RenewalDue:
    """A renewal that fell due on `day`, and whether the account renewed (else it was lost)."""

    day: date
    mrr: float
    renewed: bool


def renewal_months(dues: Iterable[RenewalDue], first: date, last: date) -> list[RenewalMonth]:
    """Renewals due, renewed and lost per calendar month, from `first`'s month to `last`'s (every month
    listed, empty ones too)."""
    months: dict[str, list[float]] = {}
    month = first.replace(day=1)
    while month <= last:
        months[month.strftime("%Y-%m")] = [0, 0.0, 0, 0.0]
        month = add_months(month, 1)
    for due in dues:
        counts = months.get(f"{due.day.year:04d}-{due.day.month:02d}")
        if counts is None:
            continue
        counts[0] += 1
        counts[1] += due.mrr
        if due.renewed:
            counts[2] += 1
            counts[3] += due.mrr
    return [
        RenewalMonth(
            month=name,
            due=int(due),
            due_mrr=due_mrr,
            renewed=int(renewed),
            renewed_mrr=renewed_mrr,
            lost=int(due - renewed),
            lost_mrr=due_mrr - renewed_mrr,
        )
        for name, (due, due_mrr, renewed, renewed_mrr) in months.items()
    ]


def renewal_totals(dues: Iterable[RenewalDue], start: date, end: date) -> RenewalTotals:
    """The renewals due in (start, end]: how many renewed, by count and by MRR."""
    within = [due for due in dues if start < due.day <= end]
    renewed = [due for due in within if due.renewed]
    due_mrr = sum(due.mrr for due in within)
    renewed_mrr = sum(due.mrr for due in renewed)
    return RenewalTotals(
        start=start,
        end=end,
        due=len(within),
        due_mrr=due_mrr,
        renewed=len(renewed),
        renewed_mrr=renewed_mrr,
        rate=_share(len(renewed), len(within)),
        mrr_rate=_share(renewed_mrr, due_mrr),
    )


@dataclass(frozen=True)
class Valued:
    """An account's lifetime value from the latest CLV run: margin earned so far, expected residual value
    with its interval, and its acquisition cost (None: unknown)."""

    realised: float
    clv: float
    clv_low: float
    clv_high: float
    cac: float | None
    cac_from_config: bool


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ltv_group(group: str, accounts: int, valued: Sequence[Valued], target: float) -> LtvGroup:
    """The group's mean LTV (realised + CLV) with the interval of the means of its accounts' bounds, and
    LTV:CAC = total LTV / total CAC over the valued accounts with a CAC. The accounts' bounds move together
    (their uncertainty is the fit's, which values them all), so the group's bounds are their means, not an
    interval narrowed as if their errors were independent."""
    lifetime = [value.realised + value.clv for value in valued]
    low = [value.realised + value.clv_low for value in valued]
    high = [value.realised + value.clv_high for value in valued]
    costed = [value for value in valued if value.cac]
    cost = sum(value.cac or 0.0 for value in costed)

    def ratio(part: Callable[[Valued], float]) -> float | None:
        return sum(part(value) for value in costed) / cost if cost else None

    ltv_cac = ratio(lambda value: value.realised + value.clv)
    return LtvGroup(
        group=group,
        accounts=accounts,
        valued=len(valued),
        ltv=_mean(lifetime),
        ltv_low=_mean(low),
        ltv_high=_mean(high),
        cac=cost / len(costed) if costed else None,
        cac_from_config=sum(value.cac_from_config for value in costed),
        ltv_cac=ltv_cac,
        ltv_cac_low=ratio(lambda value: value.realised + value.clv_low),
        ltv_cac_high=ratio(lambda value: value.realised + value.clv_high),
        meets_target=None if ltv_cac is None else ltv_cac >= target,
    )


@dataclass(frozen=True)
class Renewing:
    account_id: str
    who: Who
    renewal_date: date
    churn_chance: float
    source: str


def forecast(renewing: Iterable[Renewing], start: date, end: date, top: int) -> RenewalForecast:
    """The renewals in [start, end]: MRR up, expected to renew (MRR x (1 - chance of churn)) and the `top`
    accounts by expected loss (MRR x chance)."""
    accounts = [account for account in renewing if start <= account.renewal_date <= end]
    mrr_up = sum(account.who.mrr for account in accounts)
    losses = [
        ForecastAccount(
            account_id=account.account_id,
            name=account.who.name,
            owner=account.who.owner,
            mrr=account.who.mrr,
            renewal_date=account.renewal_date,
            churn_chance=account.churn_chance,
            source=account.source,
            expected_loss=account.who.mrr * account.churn_chance,
        )
        for account in accounts
    ]
    expected_loss = sum(loss.expected_loss for loss in losses)
    losses.sort(key=lambda loss: (-loss.expected_loss, loss.renewal_date, loss.name))
    return RenewalForecast(
        start=start,
        end=end,
        accounts=len(accounts),
        mrr_up=mrr_up,
        expected_renewed_mrr=mrr_up - expected_loss,
        expected_loss_mrr=expected_loss,
        top=losses[:top],
    )


class BookView(Figures):
    as_of: date
    compare: str
    compare_day: date
    filters: dict[str, Any]
    accounts: int
    """Accounts the filters keep (churned ones too)."""
    snapshots: list[Snapshot]
    """The as-of day, the compare day, a month and a year before (each day once)."""
    movers_total: int
    movers_by_dimension: dict[str, dict[str, int]]
    """Dimension -> {"worse": n, "better": n} between the compare day and the as-of day."""
    movers: list[Move]
    """The moves, the worse first and the biggest MRR first, at most `book.movers_shown`."""
    retention: dict[str, RetentionPair]
    """"month" and "year": the period ending on the as-of day, and the same a year before."""
    renewals: list[RenewalMonth]
    renewal_totals: dict[str, dict[str, RenewalTotals]]
    """"month" / "year" -> "now" / "year_before": renewals due and renewed in the period."""
    ltv_cac_target: float
    ltv_by_segment: list[LtvGroup]
    ltv_by_owner: list[LtvGroup]
    forecast: RenewalForecast
    forecast_sources: dict[str, int]
    """Where the renewals' chances of loss came from: "learned", "tier:<tier>", "book"."""
    notes: list[str]
