"""Lifetime value of the book: model inputs from the store, fits per segment, each account's value kept as a run.

Which model values an account:
- a subscription (MRR > 0, with a start date) by the sBG model: its contract value per period (MRR x
  `clv.period_months`) times its discounted expected residual lifetime, given the renewals it has made;
- orders (the `transactions` table) by BG/NBD and gamma-gamma: expected spend per purchase times discounted
  expected purchases;
- an account with both: the two values added, the orders being purchases beyond the subscription (add-ons,
  seats). With `clv.orders_with_subscription = "ignore"` its orders are taken for the subscription's own
  invoices instead: they are neither valued nor used to fit the purchase model;
- an account that churned on or before the day has no residual value (0), and one with neither data none.

Renewal cohorts: renewals are counted on the anniversaries of the start date, every `period_months`; an
account that churned left at the renewal nearest its churn date (its lifetime: the periods it paid, at least
one). Churned accounts count in the fit whatever their MRR now says (CRMs often zero it).

Each model is fitted on the whole book, and again on each segment with at least `clv.min_segment_accounts`
accounts in that model's data; a segment whose own fit the data cannot identify falls back to the book's,
and says so in the run's notes. A model the book needs but cannot identify stops the run with the reason.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import numpy as np

from cockpit.clock import Clock, stamp
from cockpit.clv import bgnbd, gamma_gamma, sbg
from cockpit.clv.fitting import Fit, NotIdentified
from cockpit.clv.reading import p_alive_note
from cockpit.clv.valuation import Estimate, orders_value, subscription_value
from cockpit.config import ClvSettings, Settings
from cockpit.domain.contracts import anniversary, infer_period, periods_paid, renewals_made
from cockpit.errors import CockpitError
from cockpit.services.events import latest_cancel_click
from cockpit.services.progress import Progress
from cockpit.services.scoring import find_account
from cockpit.store import Store
from cockpit.store.clv import (
    AccountInputs,
    ClvValue,
    OrderHistory,
    StoredFit,
    StoredRun,
    account_clv,
    account_name_and_cac,
    clv_accounts,
    clv_fits,
    finish_clv_run,
    latest_clv_run,
    order_histories,
    repeat_purchases,
    start_clv_run,
    write_clv_fit,
    write_clv_values,
)

BOOK = None
"""The segment key of a book-wide fit."""


def _day(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(text[:10])


@dataclass(frozen=True)
class _Account:
    inputs: AccountInputs
    churned: bool
    """Churned on or before the day: no residual value."""
    cohort: tuple[int, bool] | None
    """(renewals made, churned at the next renewal) for the sBG fit, if the account had a subscription."""
    lead: float | None
    """For a live subscription: the discount from the next renewal back to the day (valued by sBG)."""
    orders: OrderHistory | None
    """Orders the purchase model counts (all of them, or none under "ignore" for a subscription)."""

    @property
    def segment(self) -> str | None:
        return self.inputs.segment or None


def _accounts(
    inputs: Sequence[AccountInputs],
    histories: dict[str, OrderHistory],
    as_of: date,
    settings: ClvSettings,
    period: int,
) -> list[_Account]:
    per_period = (1 + settings.annual_discount_rate) ** (period / 12) - 1
    accounts = []
    for account in inputs:
        start, churned_on = _day(account.start_date), _day(account.churned_on)
        churned = churned_on is not None and churned_on <= as_of
        cohort: tuple[int, bool] | None = None
        lead = None
        if start is not None and churned_on is not None and churned:
            cohort = (periods_paid(start, churned_on, period) - 1, True)
        elif start is not None and account.mrr > 0:
            made = renewals_made(start, as_of, period)
            cohort = (made, False)
            previous, following = anniversary(start, period, made), anniversary(start, period, made + 1)
            lead = (1 + per_period) ** -((following - as_of).days / (following - previous).days)
        history = histories.get(account.id)
        if settings.orders_with_subscription == "ignore" and account.mrr > 0:
            history = None
        accounts.append(_Account(account, churned, cohort, lead, history))
    return accounts


@dataclass(frozen=True)
class _Model:
    """One model to fit on the book and its large segments."""

    name: str
    members: list[_Account]
    data: Callable[[list[_Account]], Any]
    fit: Callable[[Any], Fit]
    needed: bool
    """Some account to value depends on this model."""


@dataclass
class _Fits:
    fits: dict[tuple[str, str | None], Fit] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def fitted(self, model: str, segment: str | None) -> tuple[tuple[str, str | None], Fit]:
        """The segment's own fit if it has one, else the book's."""
        key = (model, segment) if (model, segment) in self.fits else (model, BOOK)
        return key, self.fits[key]

    def add(self, model: _Model, minimum: int) -> None:
        if not model.members:
            return
        try:
            self.fits[(model.name, BOOK)] = model.fit(model.data(model.members))
        except NotIdentified as error:
            if model.needed:
                raise
            self.notes.append(f"{model.name}: not fitted ({error.message})")
            return
        by_segment: dict[str, list[_Account]] = defaultdict(list)
        for account in model.members:
            if account.segment is not None:
                by_segment[account.segment].append(account)
        if len(by_segment) < 2 and sum(map(len, by_segment.values())) == len(model.members):
            return  # one segment is the whole book: its fit would be the book's
        for segment, members in sorted(by_segment.items()):
            if len(members) < minimum:
                continue
            try:
                self.fits[(model.name, segment)] = model.fit(model.data(members))
            except NotIdentified as error:
                self.notes.append(f"{model.name}, segment {segment}: uses the book's fit ({error.message})")


def _sbg_data(members: list[_Account]) -> sbg.SbgData:
    cohorts = [account.cohort for account in members if account.cohort is not None]
    return sbg.SbgData.from_accounts([made for made, _ in cohorts], [gone for _, gone in cohorts])


def _purchase_columns(
    members: Sequence[_Account], as_of: date, days: int
) -> tuple[bgnbd.BgNbdData, np.ndarray[Any, np.dtype[np.float64]]]:
    """(x, t_x, T) in purchase periods, and the mean repeat amount m_x (0 without repeats)."""
    x, t_x, T, m_x = [], [], [], []
    for account in members:
        history = account.orders
        assert history is not None
        first, last = date.fromisoformat(history.first_day), date.fromisoformat(history.last_day)
        x.append(history.repeat_days)
        t_x.append((last - first).days / days)
        T.append((as_of - first).days / days)
        m_x.append(history.repeat_amount / history.repeat_days if history.repeat_days else 0.0)
    return bgnbd.BgNbdData.of(x, t_x, T), np.array(m_x, dtype=np.float64)


@dataclass
class ClvRunSummary:
    run_id: int
    as_of: date
    accounts: int
    seconds: float
    period_months: int
    fits: list[dict[str, Any]]
    counts: dict[str, int]
    notes: list[str]
    warnings: list[str] = field(default_factory=list)
    """What makes the values doubtful (`stale_orders`); the run's stored notes start with them."""

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "accounts": self.accounts,
            "seconds": round(self.seconds, 2),
            "period_months": self.period_months,
            "fits": self.fits,
            "counts": self.counts,
            "notes": self.notes,
            "warnings": self.warnings,
        }


def stale_orders(histories: Iterable[OrderHistory], as_of: date, settings: ClvSettings) -> str | None:
    """A warning when the book's latest order is more than `stale_after_days` before the day fitted: the
    purchase model would take the days without data for customers who stopped buying (an export that ends
    years ago, fitted as of today, makes everyone look gone)."""
    latest = max((history.last_day for history in histories), default=None)
    if latest is None:
        return None
    days = (as_of - date.fromisoformat(latest)).days
    if days <= settings.stale_after_days:
        return None
    return (
        f"the latest order in the book is of {latest}, {days} days before {as_of.isoformat()}: the purchase "
        "model reads the time since as customers who stopped buying. Fit as of the day the order data ends "
        f"(--as-of {latest}), or import the orders since (clv.stale_after_days = {settings.stale_after_days})."
    )


def run_clv(
    store: Store, settings: Settings, as_of: date, *, clock: Clock, progress: Progress | None = None
) -> ClvRunSummary:
    """Fit the models on the book as of `as_of`, value every account and store the run; one transaction.
    `progress` hears the steps done: reading the book, each model fitted (on the book and its segments),
    valuing the accounts."""
    report = progress or _no_progress
    timer = time.perf_counter()
    options = settings.clv
    started = stamp(clock())
    with store.write() as db:
        inputs = clv_accounts(db, as_of)
        period = options.period_months or infer_period(
            (start, renewal)
            for start, renewal in ((_day(a.start_date), _day(a.renewal_date)) for a in inputs)
            if start is not None and renewal is not None
        )
        histories = order_histories(db, as_of)
        stale = stale_orders(histories.values(), as_of, options)
        warnings = [] if stale is None else [stale]
        accounts = _accounts(inputs, histories, as_of, options, period)
        report(1, FIT_STEPS)
        fits = _fit_models(accounts, as_of, options, report)
        if not options.period_months:
            fits.notes.insert(0, f"contract period inferred from the renewal dates: {period} months")
        run_id = start_clv_run(db, as_of, started, {**options.model_dump(), "period_months": period})
        fit_ids = {
            key: write_clv_fit(db, run_id, key[1], fit.to_json(), started) for key, fit in fits.fits.items()
        }
        values = _values(accounts, fits, fit_ids, as_of, options, period)
        write_clv_values(db, run_id, values)
        report(FIT_STEPS, FIT_STEPS)
        stored_notes = [f"warning: {warning}" for warning in warnings] + fits.notes
        finish_clv_run(db, run_id, stamp(clock()), len(values), stored_notes)
    counts: dict[str, int] = defaultdict(int)
    for value in values:
        counts[value.model] += 1
    return ClvRunSummary(
        run_id=run_id,
        as_of=as_of,
        accounts=len(values),
        seconds=time.perf_counter() - timer,
        period_months=period,
        fits=[
            {"role": role, "segment": segment, **fit_summary(fit)}
            for (role, segment), fit in fits.fits.items()
        ],
        counts=dict(counts),
        notes=fits.notes,
        warnings=warnings,
    )


def fit_summary(fit: Fit) -> dict[str, Any]:
    return {
        "model": fit.model,
        "params": fit.params,
        "std_errors": fit.std_errors,
        "log_likelihood": fit.log_likelihood,
        "n": fit.n,
        "converged": fit.converged,
    }


FIT_STEPS: Final = 5
"""The steps of a fit `run_clv` reports: the book read, the three models fitted, the accounts valued."""


def _no_progress(done: int, total: int | None) -> None:
    return None


def _fit_models(accounts: list[_Account], as_of: date, options: ClvSettings, progress: Progress) -> _Fits:
    live = [account for account in accounts if not account.churned]
    buyers = [account for account in accounts if account.orders is not None]
    # The spend model takes repeat buyers whose repeat purchases have a positive mean amount.
    repeaters = [
        account for account in buyers if account.orders is not None and account.orders.repeat_amount > 0
    ]
    orders_needed = any(account.orders is not None for account in live)
    days = options.purchase_period_days
    fits = _Fits()
    step = 1  # the book read
    for model in (
        _Model(
            "sbg",
            [account for account in accounts if account.cohort is not None],
            _sbg_data,
            sbg.fit,
            needed=any(account.lead is not None for account in live),
        ),
        _Model(
            "bgnbd",
            buyers,
            lambda members: _purchase_columns(members, as_of, days)[0],
            bgnbd.fit,
            orders_needed,
        ),
        _Model("gamma_gamma", repeaters, _spend_data, gamma_gamma.fit, orders_needed),
    ):
        fits.add(model, options.min_segment_accounts)
        step += 1
        progress(step, FIT_STEPS)
    return fits


def _spend_data(members: list[_Account]) -> gamma_gamma.SpendData:
    histories = [account.orders for account in members if account.orders is not None]
    return gamma_gamma.SpendData.of(
        [history.repeat_days for history in histories],
        [history.repeat_amount / history.repeat_days for history in histories],
    )


def _values(
    accounts: list[_Account],
    fits: _Fits,
    fit_ids: dict[tuple[str, str | None], int],
    as_of: date,
    options: ClvSettings,
    period: int,
) -> list[ClvValue]:
    margin = options.margin
    total = Estimate(np.zeros(len(accounts)), np.zeros(len(accounts)))
    parts: list[dict[str, Any]] = [{} for _ in accounts]

    groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for index, account in enumerate(accounts):
        if not account.churned and account.lead is not None:
            groups[fits.fitted("sbg", account.segment)[0]].append(index)
    per_period = (1 + options.annual_discount_rate) ** (period / 12) - 1
    for key, members in groups.items():
        chosen = [accounts[index] for index in members]
        contract = subscription_value(
            fits.fits[key],
            [_cohort(account)[0] for account in chosen],
            [margin * account.inputs.mrr * period for account in chosen],
            per_period,
            [account.lead or 0.0 for account in chosen],
        )
        _add(total, members, contract.estimate)
        for at, index in enumerate(members):
            parts[index].update(
                sbg_fit_id=fit_ids[key],
                renewals=_cohort(accounts[index])[0],
                renewal_probability=float(contract.renewal_probability[at]),
                derl=float(contract.derl[at]),
                subscription_clv=float(contract.estimate.value[at]),
            )

    order_groups: dict[tuple[tuple[str, str | None], tuple[str, str | None]], list[int]] = defaultdict(list)
    for index, account in enumerate(accounts):
        if not account.churned and account.orders is not None:
            keys = (fits.fitted("bgnbd", account.segment)[0], fits.fitted("gamma_gamma", account.segment)[0])
            order_groups[keys].append(index)
    delta = math.log(1 + options.annual_discount_rate) * options.purchase_period_days / 365.25
    for (purchase_key, spend_key), members in order_groups.items():
        data, m_x = _purchase_columns(
            [accounts[index] for index in members], as_of, options.purchase_period_days
        )
        orders = orders_value(
            fits.fits[purchase_key],
            fits.fits[spend_key],
            data,
            m_x,
            margin=margin,
            delta=delta,
            horizon=options.horizon_periods,
        )
        _add(total, members, orders.estimate)
        for at, index in enumerate(members):
            parts[index].update(
                bgnbd_fit_id=fit_ids[purchase_key],
                spend_fit_id=fit_ids[spend_key],
                p_alive=float(orders.p_alive[at]),
                expected_purchases=float(orders.expected_purchases[at]),
                p_no_purchase=float(orders.p_no_purchase[at]),
                expected_spend=float(orders.expected_spend[at]),
                orders_clv=float(orders.estimate.value[at]),
            )

    low, high = total.interval(options.interval)
    values = []
    for index, account in enumerate(accounts):
        part = parts[index]
        realised: float | None = _realised(account, margin, period)
        clv: float | None
        bounds: tuple[float | None, float | None]
        if account.churned:
            model, clv, bounds = "churned", 0.0, (0.0, 0.0)
            part["p_alive"] = 0.0 if account.orders is not None else None
        elif "sbg_fit_id" in part or "bgnbd_fit_id" in part:
            model = "+".join(
                name for name, key in (("sbg", "sbg_fit_id"), ("bgnbd", "bgnbd_fit_id")) if key in part
            )
            clv, bounds = float(total.value[index]), (float(low[index]), float(high[index]))
        else:
            model, clv, bounds, realised = "none", None, (None, None), None
        cac = account.inputs.cac
        values.append(
            ClvValue(
                account_id=account.inputs.id,
                model=model,
                sbg_fit_id=part.get("sbg_fit_id"),
                bgnbd_fit_id=part.get("bgnbd_fit_id"),
                spend_fit_id=part.get("spend_fit_id"),
                clv=clv,
                clv_low=bounds[0],
                clv_high=bounds[1],
                subscription_clv=part.get("subscription_clv"),
                orders_clv=part.get("orders_clv"),
                renewals=part.get("renewals"),
                renewal_probability=part.get("renewal_probability"),
                derl=part.get("derl"),
                p_alive=part.get("p_alive"),
                expected_purchases=part.get("expected_purchases"),
                p_no_purchase=part.get("p_no_purchase"),
                expected_spend=part.get("expected_spend"),
                realised=realised,
                ltv_cac=None if clv is None or realised is None or not cac else (realised + clv) / cac,
            )
        )
    return values


def _cohort(account: _Account) -> tuple[int, bool]:
    assert account.cohort is not None
    return account.cohort


def _add(total: Estimate, members: list[int], part: Estimate) -> None:
    total.value[members] += part.value
    total.variance[members] += part.variance


def _realised(account: _Account, margin: float, period: int) -> float:
    """Margin earned so far: the contract value per period (today's MRR) for each period paid, plus the
    orders the purchase model counts."""
    paid = 0.0 if account.cohort is None else account.inputs.mrr * period * (account.cohort[0] + 1)
    ordered = 0.0 if account.orders is None else account.orders.total_amount
    return margin * (paid + ordered)


class NoLifetimeValue(CockpitError):
    title = "No lifetime value"


@dataclass(frozen=True)
class AccountLifetimeValue:
    """What `cockpit clv show` shows: an account's stored value, the run it came from and the fits used."""

    name: str
    cac: float | None
    run: StoredRun
    value: ClvValue
    fits: dict[str, StoredFit]
    """By role: sbg (subscription), bgnbd (purchases), gamma_gamma (spend)."""
    repeat_purchases: int | None
    """Purchase days after the first, up to the run's day (None: no orders)."""
    cancel_clicked: str | None
    """The day of the latest click on cancel within the churn horizon before the run's day: the value
    assumes the subscription goes on as the book's do, which that click puts in doubt."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cac": self.cac,
            "run_id": self.run.id,
            "as_of": self.run.as_of,
            "interval": self.run.settings.get("interval"),
            "horizon_periods": self.run.settings.get("horizon_periods"),
            "purchase_period_days": self.run.settings.get("purchase_period_days"),
            **{key: getattr(self.value, key) for key in ClvValue.__dataclass_fields__},
            "p_buy_again": self.value.p_buy_again,
            "repeat_purchases": self.repeat_purchases,
            "p_alive_note": p_alive_note(self.value.model, self.value.p_alive, self.repeat_purchases),
            "cancel_clicked": self.cancel_clicked,
            "fits": {
                role: {
                    "id": fit.id,
                    "model": fit.model,
                    "segment": fit.segment,
                    "params": fit.params,
                    "std_errors": fit.std_errors,
                    "log_likelihood": fit.log_likelihood,
                    "n": fit.n,
                }
                for role, fit in self.fits.items()
            },
        }


def account_value(store: Store, ref: str, settings: Settings) -> AccountLifetimeValue:
    """The account's lifetime value from the latest `cockpit clv fit`, and what puts it in doubt."""
    account_id = find_account(store, ref)
    run = latest_clv_run(store.db)
    if run is None:
        raise NoLifetimeValue(
            "no lifetime values yet.", hint="Fit the models and value the book with `cockpit clv fit`."
        )
    value = account_clv(store.db, run.id, account_id)
    if value is None:
        raise NoLifetimeValue(
            f"{ref!r} was not valued by the latest run (as of {run.as_of}): it had not started by then, or "
            "was added since.",
            hint="Value the book again with `cockpit clv fit`.",
        )
    name, cac, day = *account_name_and_cac(store.db, account_id), date.fromisoformat(run.as_of)
    by_id = {fit.id: fit for fit in clv_fits(store.db, run.id)}
    used = {"sbg": value.sbg_fit_id, "bgnbd": value.bgnbd_fit_id, "gamma_gamma": value.spend_fit_id}
    return AccountLifetimeValue(
        name=name,
        cac=cac,
        run=run,
        value=value,
        fits={role: by_id[fit_id] for role, fit_id in used.items() if fit_id is not None},
        repeat_purchases=repeat_purchases(store.db, account_id, day),
        cancel_clicked=None
        if value.model == "churned"
        else latest_cancel_click(
            store.db, settings.events, account_id, day - timedelta(days=settings.churn.horizon_days), day
        ),
    )
