"""The service on real SQLite stores: the CDNOW purchases, the demo book, and small books built by hand."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pytest

from cockpit import resources
from cockpit.clv.fitting import NotIdentified
from cockpit.config import Settings, load_settings
from cockpit.demo.seedfiles import SEED_ACCOUNTS, load_seeds
from cockpit.domain.contracts import infer_period, periods_paid, renewals_made, whole_months
from cockpit.domain.dates import add_months
from cockpit.scoring.metrics import auc
from cockpit.services.clv import run_clv
from cockpit.store import Store
from cockpit.store.clv import clv_fits, latest_clv, latest_clv_run, order_histories
from tests.clocks import at
from tests.clv.papers import CDNOW_CALIBRATION_END, cdnow, cdnow_transactions
from tests.clv.test_papers import printed

DEMO_DAY = date(2026, 11, 22)
STAMP = "2026-01-01T00:00:00+00:00"


def tuned(**changes: Any) -> Settings:
    settings = load_settings()
    return settings.model_copy(update={"clv": settings.clv.model_copy(update=changes)})


def add_accounts(store: Store, rows: Iterable[dict[str, Any]]) -> None:
    with store.write() as db:
        db.table("accounts").insert_all(
            {"name": row["id"], "mrr": 0.0, "created_at": STAMP, "updated_at": STAMP, **row} for row in rows
        )


def load_cdnow(store: Store) -> dict[int, str]:
    """The CDNOW sample as a book without subscriptions: one account per customer, one transaction per line.
    Returns each customer's account id, in the summary's order (by first purchase, then customer)."""
    purchases = cdnow_transactions()
    first: dict[int, date] = {}
    for purchase in purchases:
        first[purchase.customer] = min(first.get(purchase.customer, purchase.day), purchase.day)
    add_accounts(store, ({"id": f"cdnow-{customer}"} for customer in first))
    with store.write() as db:
        db.table("transactions").insert_all(
            {
                "id": f"t{number}",
                "account_id": f"cdnow-{purchase.customer}",
                "occurred_at": f"{purchase.day.isoformat()}T12:00:00",
                "amount": purchase.amount,
            }
            for number, purchase in enumerate(purchases)
        )
    return {
        index: f"cdnow-{customer}"
        for index, customer in enumerate(sorted(first, key=lambda c: (first[c], c)))
    }


def test_order_histories_reproduce_the_published_cdnow_summary(store: Store) -> None:
    """Summarised per day up to the end of the calibration period, the raw purchases give back the paper's
    x, t_x, T and mean repeat spend for every one of the 2,357 customers."""
    accounts = load_cdnow(store)
    histories = order_histories(store.db, CDNOW_CALIBRATION_END)
    summary = cdnow()
    assert len(histories) == len(summary.x) == 2357
    for index, account in accounts.items():
        history = histories[account]
        first, last = date.fromisoformat(history.first_day), date.fromisoformat(history.last_day)
        assert history.repeat_days == summary.x[index]
        assert round((last - first).days / 7, 2) == summary.t_x[index]
        assert round((CDNOW_CALIBRATION_END - first).days / 7, 2) == summary.T[index]
        mean = history.repeat_amount / history.repeat_days if history.repeat_days else 0.0
        assert abs(mean - summary.m_x[index]) <= 0.005 + 1e-9  # printed to the cent, halves rounded up


@pytest.mark.slow
def test_clv_fit_on_cdnow_transactions_reproduces_the_papers(store: Store) -> None:
    accounts = load_cdnow(store)
    summary = run_clv(
        store, tuned(horizon_periods=39), CDNOW_CALIBRATION_END, clock=at(CDNOW_CALIBRATION_END)
    )
    assert summary.counts == {"bgnbd": 2357}
    fits = {fit.model: fit for fit in clv_fits(store.db, summary.run_id)}
    assert set(fits) == {"bgnbd", "gamma_gamma"}
    for name, published in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert printed(fits["bgnbd"].params[name], published, 3), fits["bgnbd"].params
    assert printed(fits["bgnbd"].log_likelihood, -9582.4, 1)
    assert printed(fits["gamma_gamma"].params["p"], 6.25, 2) and printed(
        fits["gamma_gamma"].params["q"], 3.74, 2
    )
    values = latest_clv(store.db)
    example = values[accounts[0]]  # the paper's worked example: x = 2, t_x = 30.43, T = 38.86
    assert example.expected_purchases is not None and printed(example.expected_purchases, 1.226, 3)
    for value in values.values():
        assert value.clv is not None and value.clv_low is not None and value.clv_high is not None
        assert 0 < value.clv_low <= value.clv <= value.clv_high
        assert value.p_alive is not None and 0 <= value.p_alive <= 1
        assert value.p_no_purchase is not None and 1 - value.p_alive <= value.p_no_purchase + 1e-12


@pytest.fixture
def demo(store: Store) -> Store:
    load_seeds(store, resources.seeds_dir(), today=DEMO_DAY)
    return store


def test_every_account_of_the_demo_book_gets_a_value_with_its_interval(demo: Store) -> None:
    summary = run_clv(demo, load_settings(), DEMO_DAY, clock=at(DEMO_DAY))
    churned = {
        row[0]
        for row in demo.db.execute("SELECT id FROM accounts WHERE churned_on <= ?", [DEMO_DAY.isoformat()])
    }
    values = latest_clv(demo.db)
    assert len(values) == summary.accounts == SEED_ACCOUNTS and churned
    for account_id, value in values.items():
        if account_id in churned:
            assert (value.model, value.clv, value.clv_low, value.clv_high) == ("churned", 0, 0, 0)
            continue
        assert value.model == "sbg+bgnbd"  # every demo account has a subscription and orders
        assert value.clv is not None and value.clv_low is not None and value.clv_high is not None
        assert 0 < value.clv_low < value.clv < value.clv_high
        assert value.subscription_clv is not None and value.orders_clv is not None
        assert value.clv == pytest.approx(value.subscription_clv + value.orders_clv)
        assert value.renewal_probability is not None and 0 < value.renewal_probability < 1
    with_cac = [value for value in values.values() if value.ltv_cac is not None]
    assert with_cac and all((value.ltv_cac or 0) > 0 for value in with_cac if value.model != "churned")
    run = latest_clv_run(demo.db)
    assert run is not None and run.id == summary.run_id and run.as_of == DEMO_DAY.isoformat()


def test_the_latest_run_is_the_one_read(demo: Store) -> None:
    first = run_clv(
        demo, load_settings(), DEMO_DAY - timedelta(days=365), clock=at(DEMO_DAY - timedelta(days=365))
    )
    second = run_clv(demo, load_settings(), DEMO_DAY, clock=at(DEMO_DAY))
    assert second.run_id > first.run_id
    assert first.accounts < second.accounts  # a year earlier, fewer accounts had started
    assert len(latest_clv(demo.db)) == second.accounts


def test_large_segments_get_their_own_fits(demo: Store) -> None:
    summary = run_clv(demo, tuned(min_segment_accounts=50), DEMO_DAY, clock=at(DEMO_DAY))
    segments = {(fit["role"], fit["segment"]) for fit in summary.fits}
    for role in ("sbg", "bgnbd"):
        assert (role, None) in segments  # the book's fit is always there
    assert any(segment is not None for _role, segment in segments) or summary.notes
    by_id = {fit.id: fit for fit in clv_fits(demo.db, summary.run_id)}
    segment_of = dict(demo.db.execute("SELECT id, segment FROM accounts").fetchall())
    for account_id, value in latest_clv(demo.db).items():
        if value.sbg_fit_id is not None:
            used = by_id[value.sbg_fit_id]
            own = ("sbg", segment_of[account_id]) in segments
            assert used.segment == (segment_of[account_id] if own else None)


def test_orders_of_subscriptions_can_be_ignored(demo: Store) -> None:
    summary = run_clv(demo, tuned(orders_with_subscription="ignore"), DEMO_DAY, clock=at(DEMO_DAY))
    assert {fit["role"] for fit in summary.fits} == {"sbg"}
    assert set(summary.counts) == {"sbg", "churned"}
    assert all(value.orders_clv is None for value in latest_clv(demo.db).values())


def subscriptions(store: Store, churned: Iterable[tuple[str, str | None]]) -> None:
    """Yearly subscriptions started on 2020-03-01, churned on the given days (None: still active)."""
    add_accounts(
        store,
        ({"id": ref, "mrr": 100.0, "start_date": "2020-03-01", "churned_on": day} for ref, day in churned),
    )


def test_no_churn_observed_is_a_clear_error_that_writes_nothing(store: Store) -> None:
    subscriptions(store, ((f"a{n}", None) for n in range(30)))
    with pytest.raises(NotIdentified, match="no churn observed among 30 subscription accounts"):
        run_clv(store, load_settings(), date(2024, 6, 1), clock=at(date(2024, 6, 1)))
    assert store.db.execute("SELECT count(*) FROM clv_runs").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM clv_values").fetchone()[0] == 0


def test_churn_after_the_day_is_not_churn_yet(store: Store) -> None:
    """As of a day, an account that churned later was still a customer: with it the only churner, the book
    has no churn observed before its churn date, and a value for it after."""
    subscriptions(store, [("gone", "2022-03-01"), *((f"a{n}", None) for n in range(30))])
    with pytest.raises(NotIdentified, match="no churn observed"):
        run_clv(store, load_settings(), date(2022, 2, 1), clock=at(date(2022, 2, 1)))
    run_clv(store, load_settings(), date(2024, 6, 1), clock=at(date(2024, 6, 1)))
    values = latest_clv(store.db)
    assert values["gone"].model == "churned" and values["a0"].model == "sbg"
    assert values["a0"].renewals == 4  # 2021, 2022, 2023 and 2024-03-01 passed by 2024-06-01


def test_accounts_without_subscription_or_orders_have_no_value(store: Store) -> None:
    subscriptions(
        store, [("gone", "2022-03-01"), ("left", "2021-03-01"), *((f"a{n}", None) for n in range(30))]
    )
    add_accounts(store, [{"id": "prospect", "start_date": "2023-01-01"}])
    run_clv(store, load_settings(), date(2024, 6, 1), clock=at(date(2024, 6, 1)))
    value = latest_clv(store.db)["prospect"]
    assert (value.model, value.clv, value.clv_low, value.realised) == ("none", None, None, None)


def test_repeat_purchases_are_needed_for_the_purchase_model(store: Store) -> None:
    add_accounts(store, ({"id": f"b{n}"} for n in range(5)))
    with store.write() as db:
        db.table("transactions").insert_all(
            {"id": f"t{n}", "account_id": f"b{n}", "occurred_at": "2024-01-05", "amount": 10.0}
            for n in range(5)
        )
    with pytest.raises(NotIdentified, match="none of the 5 buyers has bought a second time"):
        run_clv(store, load_settings(), date(2024, 6, 1), clock=at(date(2024, 6, 1)))


def test_calendar_of_renewals() -> None:
    start = date(2024, 1, 31)
    assert add_months(start, 1) == date(2024, 2, 29) and add_months(start, 13) == date(2025, 2, 28)
    assert whole_months(date(2024, 1, 25), date(2025, 1, 24)) == 11
    assert whole_months(date(2024, 1, 25), date(2025, 1, 25)) == 12
    assert renewals_made(date(2024, 1, 25), date(2026, 1, 25), 12) == 2
    assert renewals_made(date(2024, 1, 25), date(2026, 1, 24), 12) == 1
    # A churn recorded near a renewal date is that renewal; mid-contract, the nearer one; never less than 1.
    assert periods_paid(date(2024, 1, 25), date(2025, 1, 25), 12) == 1
    assert periods_paid(date(2024, 1, 25), date(2025, 2, 3), 12) == 1
    assert periods_paid(date(2024, 1, 25), date(2025, 12, 20), 12) == 2
    assert periods_paid(date(2024, 1, 25), date(2024, 3, 1), 12) == 1
    assert infer_period([(date(2024, 1, 25), date(2027, 1, 25)), (date(2025, 6, 1), date(2026, 6, 1))]) == 12
    assert infer_period([(date(2024, 1, 25), date(2024, 7, 25)), (date(2025, 6, 1), date(2026, 6, 1))]) == 6
    assert infer_period([(date(2024, 1, 25), date(2024, 4, 25))]) == 3
    assert infer_period([]) == 12


def test_monthly_contracts_inferred_from_renewal_dates(store: Store) -> None:
    add_accounts(
        store,
        (
            {
                "id": f"m{n}",
                "mrr": 50.0,
                "start_date": "2024-01-10",
                "renewal_date": "2024-07-10" if n % 3 else "2024-06-10",
                "churned_on": f"2024-0{2 + n % 4}-10" if n % 5 == 0 else None,
            }
            for n in range(40)
        ),
    )
    summary = run_clv(store, tuned(period_months=0), date(2024, 6, 20), clock=at(date(2024, 6, 20)))
    assert summary.period_months == 1
    assert summary.notes[0] == "contract period inferred from the renewal dates: 1 months"
    assert latest_clv(store.db)["m1"].renewals == 5


@pytest.mark.slow
def test_the_chance_of_buying_again_ranks_who_buys_in_the_holdout_where_p_alive_does_not(
    store: Store,
) -> None:
    """CDNOW, fitted on its 39 calibration weeks: P(buy again in the next 39 weeks) tells the customers who
    bought in the 39 holdout weeks from those who did not; P(alive), 1 for every one-time buyer (most of
    them), ranks them worse than chance."""
    accounts = sorted(load_cdnow(store).values())
    run_clv(store, tuned(horizon_periods=39), CDNOW_CALIBRATION_END, clock=at(CDNOW_CALIBRATION_END))
    values = latest_clv(store.db)
    bought = {
        f"cdnow-{purchase.customer}"
        for purchase in cdnow_transactions()
        if CDNOW_CALIBRATION_END < purchase.day <= CDNOW_CALIBRATION_END + timedelta(weeks=39)
    }
    outcomes = [account in bought for account in accounts]
    p_buy_again = auc([values[account].p_buy_again or 0.0 for account in accounts], outcomes)
    p_alive = auc([values[account].p_alive or 0.0 for account in accounts], outcomes)
    assert p_buy_again is not None and p_buy_again > 0.7  # 0.76
    assert p_alive is not None and p_alive < 0.5  # 0.32
