"""The book as a whole on a day (`cockpit book`, the book screen `b`): how the accounts spread over the tiers
then, on a day to compare with, a month and a year before; who moved; retention (logo churn, GRR, NRR,
expansion) and renewals for the month and the trailing year against the same a year before; lifetime value
and LTV:CAC per segment and owner; and the renewals of the days ahead. The formulas are in
`domain/book_figures.py`.

What the book's own data tells, and what it cannot:
- the spreads come from the latest finished score run on or before each day (kept whole or compact); a day
  with no run before it has none. Lifecycle stages keep no history: they are shown as they stand now;
- MRR on a past day is the last value `account_history` recorded by then (the first recorded, before its
  history began); an account whose MRR never changed has its current MRR;
- an account's renewals fall on the anniversaries of its start every contract term (`domain/contracts.py`,
  12 months when neither stated nor readable from its dates); one that churned lost the renewal nearest its
  churn day (as the lifetime-value cohorts count it, `domain/contracts.periods_paid`) and made every one before;
- the chance that a renewal ahead is lost is the learned churn model's risk when that model scored the
  account, else the churn rate its churn tier had in the book: of the accounts in that tier at the latest
  score run at least `forecast_days` before, the share that churned within that many days; else the book's
  logo churn over the last `forecast_days`;
- the acquisition cost is the account's `cac`, else `book.default_cac` (the view counts those).

Filters: an owner, segments, or a saved view (`[[ui.views]]`: its owner, segments, tiers, bands, advocacy,
cross-sell, renewal window and custom fields; the tiers read from the as-of day's run). Churned accounts stay in the view:
retention needs them.

The last view computed for each as-of day, comparison and filter is kept (`book_view_cache`) with a
fingerprint of the data it read, so that the screen paints it at once and recomputes only when the data
changed.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from cockpit.clock import Clock, stamp
from cockpit.config import Settings
from cockpit.domain.book_figures import (
    DIMENSIONS,
    BookView,
    LtvGroup,
    Member,
    RenewalDue,
    RenewalForecast,
    Renewing,
    Snapshot,
    Valued,
    Who,
    customer_on,
    forecast,
    ltv_group,
    movers,
    renewal_months,
    renewal_totals,
    retention,
    retention_pair,
    snapshot,
)
from cockpit.domain.contracts import anniversary, periods_paid, renewals_made, term_months
from cockpit.domain.dates import add_months
from cockpit.errors import CockpitError
from cockpit.scoring.metrics import rates
from cockpit.scoring.order import ADOPTION_ORDER, CHURN_TIER_ORDER, VALUE_TIER_ORDER
from cockpit.services.views import view_query
from cockpit.store import Store
from cockpit.store.book import BookFilter
from cockpit.store.book_view import (
    BookAccount,
    book_accounts,
    cached_view,
    data_fingerprint,
    learned_risks,
    live_lifetime_values,
    mrr_changes,
    run_labels,
    score_run_on,
    store_view,
)

RANKS: dict[str, dict[str, int]] = {
    "health_band": {"green": 0, "yellow": 1, "red": 2},
    "churn_tier": {tier: rank for rank, tier in enumerate(reversed(CHURN_TIER_ORDER))},
    "value_tier": {tier: rank for rank, tier in enumerate(VALUE_TIER_ORDER)},
    "adoption_status": {status: rank for rank, status in enumerate(ADOPTION_ORDER)},
    "advocacy": {"lover": 0, "liker": 1, "lurker": 2},
}
"""Each dimension's values, the best first: a move to a higher rank is a move for the worse."""
DEFAULT_TERM_MONTHS = 12
RENEWAL_MONTHS = 24
"""Calendar months of renewals listed: the as-of day's and the 23 before, a year and the year before it."""
_LABELS = (*DIMENSIONS, "cross_sell_ready", "churn_risk")


class BookViewError(CockpitError):
    title = "Book view"
    exit_code = 2


@dataclass(frozen=True)
class BookViewRequest:
    as_of: date
    compare: str = "1m"
    """"1m", "1y" or a day (YYYY-MM-DD) to compare the as-of day with."""
    owner: str | None = None
    segments: tuple[str, ...] = ()
    view: str | None = None
    """A saved view's name (`[[ui.views]]`)."""

    def compare_day(self) -> date:
        if self.compare == "1m":
            return add_months(self.as_of, -1)
        if self.compare == "1y":
            return add_months(self.as_of, -12)
        try:
            day = date.fromisoformat(self.compare)
        except ValueError:
            raise BookViewError(
                f"--compare: {self.compare!r} is neither 1m, 1y nor a day (YYYY-MM-DD)"
            ) from None
        if day >= self.as_of:
            raise BookViewError(f"--compare: {day} is not before the as-of day {self.as_of}")
        return day

    def key(self, settings: Settings) -> str:
        """The cache key: the request and the settings the figures depend on."""
        return json.dumps(
            [
                self.as_of.isoformat(),
                self.compare,
                self.owner,
                list(self.segments),
                self.view,
                hashlib.sha256(settings.model_dump_json().encode()).hexdigest()[:16],
            ]
        )


@dataclass(frozen=True)
class CachedView:
    view: BookView
    computed_at: str
    fingerprint: str
    """Of the data the view read (`store/book_view.data_fingerprint`)."""

    def fresh(self, store: Store) -> bool:
        """Whether the data is still as the view read it."""
        return self.fingerprint == data_fingerprint(store.db)


def _day(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(text[:10])


def _filter(request: BookViewRequest, settings: Settings) -> BookFilter:
    base = BookFilter()
    if request.view is not None:
        names = [view.name for view in settings.ui.views]
        matching = [view for view in settings.ui.views if view.name.lower() == request.view.lower()]
        if not matching:
            raise BookViewError(f"--view: no saved view {request.view!r}", hint=f"views: {', '.join(names)}")
        base = view_query(matching[0], settings, request.as_of).filter
    owner = request.owner if request.owner is not None else base.owner
    if owner == "me":
        owner = settings.general.me or None
    # The view's customers of the day are not this view's: retention needs the accounts that left.
    return replace(base, owner=owner, segments=request.segments or base.segments, customers_on=None)


def _kept(account: BookAccount, wanted: BookFilter, labels: dict[str, Any] | None) -> bool:
    """Whether the filter keeps the account; `labels`: its scores on the as-of day, if scored."""
    if wanted.owner is not None and (account.owner or "").casefold() != wanted.owner.casefold():
        return False
    if wanted.segments and account.segment not in wanted.segments:
        return False
    custom = account.custom_fields if wanted.custom else {}
    for key, values in wanted.custom:  # as the book's list filters them: one of the values, ignoring case
        if str(custom.get(key, "")).casefold() not in {value.casefold() for value in values}:
            return False
    if wanted.renewal_between is not None and not (
        account.renewal_date is not None
        and wanted.renewal_between[0] <= account.renewal_date <= wanted.renewal_between[1]
    ):
        return False
    if not wanted.needs_scores:
        return True
    if labels is None:
        return False
    for dimension, values in (
        ("churn_tier", wanted.churn_tiers),
        ("value_tier", wanted.value_tiers),
        ("health_band", wanted.health_bands),
        ("advocacy", wanted.advocacy),
    ):
        if values and labels[dimension] not in values:
            return False
    return wanted.cross_sell_ready is None or bool(labels["cross_sell_ready"]) == wanted.cross_sell_ready


class _MrrOn:
    """An account's MRR on a day: the last recorded on or before it, else the first recorded; its current
    MRR when it never changed."""

    def __init__(self, changes: dict[str, list[tuple[str, float]]]) -> None:
        self._changes = changes

    def of(self, account: BookAccount) -> Callable[[date], float]:
        changes = self._changes.get(account.id)
        if changes is None:
            return lambda day: account.mrr
        days = [day for day, _ in changes]

        def on(day: date) -> float:
            place = bisect_right(days, day.isoformat())
            return changes[max(place - 1, 0)][1]

        return on


@dataclass(frozen=True)
class _Account:
    record: BookAccount
    member: Member
    term: int
    who: Who


def _labels(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(_LABELS, row, strict=True))


def compute_book_view(store: Store, settings: Settings, request: BookViewRequest) -> BookView:
    """The view of the book the request asks for (see the module's docstring)."""
    db = store.db
    as_of, compare_day = request.as_of, request.compare_day()
    wanted = _filter(request, settings)
    notes: list[str] = []
    current = score_run_on(db, as_of)
    current_labels = (
        {}
        if current is None
        else {account_id: _labels(row) for account_id, row in run_labels(db, current[0], _LABELS).items()}
    )
    mrr_on = _MrrOn(mrr_changes(db))
    everyone: list[_Account] = []
    accounts: list[_Account] = []
    for record in book_accounts(db):
        start = _day(record.start_date)
        if start is not None and start > as_of:
            continue  # not yet a customer on the as-of day
        churned = _day(record.churned_on)
        account = _Account(
            record,
            Member(start, churned if churned is not None and churned <= as_of else None, mrr_on.of(record)),
            term_months(start, _day(record.renewal_date), record.contract_months) or DEFAULT_TERM_MONTHS,
            Who(record.name, record.owner, record.mrr),
        )
        everyone.append(account)
        if _kept(record, wanted, current_labels.get(record.id)):
            accounts.append(account)
    stages = {account.record.id: account.record.lifecycle_stage for account in accounts}
    snapshots, labels_by_day = _snapshots(store, request, compare_day, stages, current, current_labels, notes)
    notes.append("Lifecycle stages keep no history: they are shown as they stand now, on the as-of day only.")
    who = {account.record.id: account.who for account in accounts}
    moves = movers(labels_by_day[compare_day], labels_by_day[as_of], who, RANKS)
    by_dimension: dict[str, dict[str, int]] = {
        dimension: {"worse": 0, "better": 0} for dimension in DIMENSIONS
    }
    for move in moves:
        by_dimension[move.dimension]["worse" if move.worse else "better"] += 1
    members = [account.member for account in accounts]
    dues = list(_renewals_due(accounts, add_months(as_of, -RENEWAL_MONTHS), as_of))
    ltv_by_segment, ltv_by_owner = _lifetime_values(store, settings, accounts, notes)
    upcoming, sources = _forecast(store, settings, as_of, accounts, everyone, current, current_labels, notes)
    return BookView(
        as_of=as_of,
        compare=request.compare,
        compare_day=compare_day,
        filters=_filter_json(wanted, request),
        accounts=len(accounts),
        snapshots=snapshots,
        movers_total=len(moves),
        movers_by_dimension=by_dimension,
        movers=moves[: settings.book.movers_shown],
        retention={"month": retention_pair(members, as_of, 1), "year": retention_pair(members, as_of, 12)},
        renewals=renewal_months(dues, add_months(as_of, -(RENEWAL_MONTHS - 1)), as_of),
        renewal_totals={
            period: {
                "now": renewal_totals(dues, add_months(as_of, -months), as_of),
                "year_before": renewal_totals(dues, add_months(as_of, -months - 12), add_months(as_of, -12)),
            }
            for period, months in (("month", 1), ("year", 12))
        },
        ltv_cac_target=settings.book.ltv_cac_target,
        ltv_by_segment=ltv_by_segment,
        ltv_by_owner=ltv_by_owner,
        forecast=upcoming,
        forecast_sources=sources,
        notes=notes,
    )


def _filter_json(wanted: BookFilter, request: BookViewRequest) -> dict[str, Any]:
    fields = {
        "view": request.view,
        "owner": wanted.owner,
        "segments": list(wanted.segments),
        "churn_tiers": list(wanted.churn_tiers),
        "value_tiers": list(wanted.value_tiers),
        "health_bands": list(wanted.health_bands),
        "advocacy": list(wanted.advocacy),
        "cross_sell_ready": wanted.cross_sell_ready,
        "renewal_between": None if wanted.renewal_between is None else list(wanted.renewal_between),
        **{f"custom.{key}": list(values) for key, values in wanted.custom},
    }
    return {name: value for name, value in fields.items() if value not in (None, [])}


def _snapshots(
    store: Store,
    request: BookViewRequest,
    compare_day: date,
    stages: dict[str, str | None],
    current: tuple[int, date] | None,
    current_labels: dict[str, dict[str, Any]],
    notes: list[str],
) -> tuple[list[Snapshot], dict[date, dict[str, dict[str, Any]]]]:
    """The spreads of the as-of day, the compare day, a month and a year before (each day once), over the
    accounts of `stages` (id -> lifecycle stage, whose spread the as-of day shows), and the labels of each
    day's accounts."""
    as_of = request.as_of
    days = {as_of: "as of", compare_day: "compare"}
    days.setdefault(add_months(as_of, -1), "1m")
    days.setdefault(add_months(as_of, -12), "1y")
    snapshots: list[Snapshot] = []
    labels_by_day: dict[date, dict[str, dict[str, Any]]] = {}
    for day, label in days.items():
        run = current if day == as_of else score_run_on(store.db, day)
        if run is None:
            labels: dict[str, dict[str, Any]] = {}
            notes.append(f"No score run on or before {day}: nothing to show for it.")
        elif day == as_of:
            labels = {
                account_id: current_labels[account_id] for account_id in stages.keys() & current_labels.keys()
            }
        else:
            labels = {
                account_id: _labels(row)
                for account_id, row in run_labels(store.db, run[0], _LABELS).items()
                if account_id in stages
            }
        labels_by_day[day] = labels
        extra = {"lifecycle_stage": stages} if day == as_of else None
        snapshots.append(snapshot(label, day, None if run is None else run[1], labels, extra))
    return snapshots, labels_by_day


def _renewals_due(accounts: Iterable[_Account], since: date, as_of: date) -> Iterable[RenewalDue]:
    """The renewals due after `since` up to `as_of`: the anniversaries of each account's start every term;
    one that churned lost the renewal nearest its churn day and made those before."""
    for account in accounts:
        member, term = account.member, account.term
        start = member.start
        if start is None:
            continue
        lost = None if member.churned_on is None else periods_paid(start, member.churned_on, term)
        period = renewals_made(start, since, term) + 1
        while True:
            day = anniversary(start, term, period)
            if day > as_of or (lost is not None and period > lost):
                break
            if day > since:
                before = day if member.churned_on is None else min(day, member.churned_on)
                yield RenewalDue(day, member.mrr_on(before - timedelta(days=1)), period != lost)
            period += 1


def _lifetime_values(
    store: Store, settings: Settings, accounts: Sequence[_Account], notes: list[str]
) -> tuple[list[LtvGroup], list[LtvGroup]]:
    values = live_lifetime_values(store.db)
    if not values:
        notes.append("No lifetime values: run `cockpit clv fit` for LTV and LTV:CAC.")
    default_cac = settings.book.default_cac or None
    segments: dict[str, list[Valued]] = defaultdict(list)
    owners: dict[str, list[Valued]] = defaultdict(list)
    members: dict[tuple[str, str], int] = defaultdict(int)
    for account in accounts:
        record = account.record
        segment, owner = record.segment or "(none)", record.owner or "(none)"
        members["segment", segment] += 1
        members["owner", owner] += 1
        value = values.get(record.id)
        if value is None:
            continue
        valued = Valued(
            realised=value.realised,
            clv=value.clv,
            clv_low=value.clv_low,
            clv_high=value.clv_high,
            cac=record.cac if record.cac else default_cac,
            cac_from_config=not record.cac and default_cac is not None,
        )
        segments[segment].append(valued)
        owners[owner].append(valued)
    if values and not any(account.record.cac for account in accounts) and default_cac is None:
        notes.append("No account has a CAC and book.default_cac is 0: LTV:CAC is unknown.")
    target = settings.book.ltv_cac_target
    return (
        [
            ltv_group(name, members["segment", name], segments[name], target)
            for name in _names(members, "segment")
        ],
        [ltv_group(name, members["owner", name], owners[name], target) for name in _names(members, "owner")],
    )


def _names(members: dict[tuple[str, str], int], kind: str) -> list[str]:
    return sorted(name for group, name in members if group == kind)


def _next_renewal(account: _Account, after: date, until: date) -> date | None:
    """The account's renewal in (after, until]: the renewal date on file if it falls there, else the next
    anniversary of its start."""
    on_file = _day(account.record.renewal_date)
    if on_file is not None and after < on_file <= until:
        return on_file
    start = account.member.start
    if start is None:
        return None
    day = anniversary(start, account.term, renewals_made(start, after, account.term) + 1)
    return day if day <= until else None


def _tier_rates(store: Store, accounts: Sequence[_Account], as_of: date, days: int) -> dict[str, float]:
    """Churn tier -> the share of the accounts in it at the latest run `days` or more before `as_of` that
    churned within `days` after that run."""
    run = score_run_on(store.db, as_of - timedelta(days=days))
    if run is None:
        return {}
    run_id, day = run
    tiers = run_labels(store.db, run_id, ("churn_tier",))
    until = day + timedelta(days=days)
    found = rates(
        (
            tiers[account.record.id][0],
            account.member.churned_on is not None and account.member.churned_on <= until,
        )
        for account in accounts
        if account.record.id in tiers and tiers[account.record.id][0] and customer_on(account.member, day)
    )
    return {tier: rate for tier, group in found.items() if (rate := group.rate) is not None}


def _forecast(
    store: Store,
    settings: Settings,
    as_of: date,
    accounts: Sequence[_Account],
    everyone: Sequence[_Account],
    current: tuple[int, date] | None,
    current_labels: dict[str, dict[str, Any]],
    notes: list[str],
) -> tuple[RenewalForecast, dict[str, int]]:
    """The renewals of the next `book.forecast_days` and the MRR expected to renew (see the module's
    docstring for where each chance of loss comes from). The tiers' churn rates and the book's logo churn
    are learned from `everyone`, not only the accounts the filters keep."""
    days = settings.book.forecast_days
    end = as_of + timedelta(days=days)
    dates = {
        account.record.id: day
        for account in accounts
        if account.member.churned_on is None and (day := _next_renewal(account, as_of, end)) is not None
    }
    learned = {} if current is None else learned_risks(store.db, current[0], dates)
    if learned and settings.churn.learned.horizon_days != days:
        notes.append(
            f"The learned model's chances are of churn within {settings.churn.learned.horizon_days} days; "
            f"the forecast covers {days}."
        )
    tier_rates = _tier_rates(store, everyone, as_of, days)
    book_rate = retention(
        [account.member for account in everyone], as_of - timedelta(days=days), as_of
    ).logo_churn
    if not tier_rates:
        notes.append(
            f"No score run {days} days before {as_of} to learn the tiers' churn rates from: renewals not "
            "scored by the learned model take the book's logo churn of the last "
            f"{days} days ({0.0 if book_rate is None else book_rate:.1%})."
        )
    sources: dict[str, int] = defaultdict(int)
    renewing: list[Renewing] = []
    for account in accounts:
        account_id = account.record.id
        if account_id not in dates:
            continue
        tier = current_labels.get(account_id, {}).get("churn_tier")
        if account_id in learned:
            chance, source = learned[account_id], "learned"
        elif tier in tier_rates:
            chance, source = tier_rates[tier], f"tier:{tier}"
        else:
            chance, source = book_rate or 0.0, "book"
        sources[source] += 1
        renewing.append(Renewing(account_id, account.who, dates[account_id], chance, source))
    upcoming = forecast(renewing, as_of + timedelta(days=1), end, settings.book.forecast_top)
    return upcoming, dict(sorted(sources.items()))


def cached_book_view(store: Store, settings: Settings, request: BookViewRequest) -> CachedView | None:
    """The view last computed for this request (whether it still holds: `CachedView.fresh`)."""
    found = cached_view(store.db, request.key(settings))
    if found is None:
        return None
    fingerprint, computed_at, text = found
    return CachedView(BookView.model_validate_json(text), computed_at, fingerprint)


def book_view(
    store: Store, settings: Settings, request: BookViewRequest, *, clock: Clock, reuse: bool = True
) -> CachedView:
    """The view of the book: the one kept from before while the data is unchanged (with `reuse`), else
    computed afresh and kept."""
    cached = cached_book_view(store, settings, request) if reuse else None
    if cached is not None and cached.fresh(store):
        return cached
    fingerprint = data_fingerprint(store.db)
    view = compute_book_view(store, settings, request)
    computed_at = stamp(clock())
    with store.write() as db:
        store_view(
            db,
            request.key(settings),
            fingerprint,
            computed_at,
            view.model_dump_json(),
            keep=settings.book.cached_views,
        )
    return CachedView(view, computed_at, fingerprint)
