"""The models' formulas against independent computations, and the properties they must have."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln

from cockpit.clv import bgnbd, gamma_gamma, sbg
from cockpit.clv.fitting import Fit, NegLogLikelihood, Vector, log_scale_gradient
from cockpit.clv.valuation import Estimate, orders_value, subscription_value
from tests.clv.papers import cdnow, survivors

CDNOW = (0.242593, 4.413532, 0.792886, 2.425753)
"""BG/NBD parameters of the CDNOW sample (test_papers.py checks the fit)."""
positive = st.floats(min_value=0.05, max_value=20, allow_nan=False)


def numeric_gradient(f: NegLogLikelihood, point: Vector, step: float = 1e-6) -> Vector:
    return np.array([(f(point + e)[0] - f(point - e)[0]) / (2 * step) for e in np.eye(len(point)) * step])


def test_likelihood_gradients_match_finite_differences() -> None:
    """The analytic gradients the optimiser follows (and the Hessians are built from) are right."""
    data = sbg.SbgData.from_accounts([0, 1, 1, 2, 3, 3, 5], [True, False, True, False, True, False, False])
    point = np.log([0.8, 2.5])
    assert np.allclose(
        sbg._neg_ll(point, data)[1], numeric_gradient(lambda p: sbg._neg_ll(p, data), point), atol=1e-7
    )

    sample = cdnow()
    prepared = bgnbd._prepare(sample.purchases)
    point = np.log([0.3, 5.0, 0.6, 3.0])

    def f(p: Vector) -> tuple[float, Vector]:
        return bgnbd._neg_ll(p, prepared, sample.purchases.n)

    assert np.allclose(f(point)[1], numeric_gradient(f, point), atol=1e-7)

    def h(p: Vector) -> tuple[float, Vector]:
        return bgnbd._neg_ll_homogeneous(p, prepared, sample.purchases.n)

    point = np.array([math.log(0.3), math.log(5.0), -1.2])
    assert np.allclose(h(point)[1], numeric_gradient(h, point), atol=1e-7)

    spend = sample.spend
    point = np.log([5.0, 3.0, 12.0])

    def g(p: Vector) -> tuple[float, Vector]:
        return gamma_gamma._neg_ll(p, spend)

    assert np.allclose(g(point)[1], numeric_gradient(g, point), atol=1e-7)


@given(alpha=positive, beta=positive)
def test_sbg_survival_falls_and_retention_rises(alpha: float, beta: float) -> None:
    t = np.arange(0, 30)
    survive = sbg.survival(alpha, beta, t)
    assert survive[0] == pytest.approx(1.0)
    assert np.all(np.diff(survive) < 0)
    # Survival is what the churn probabilities leave, and retention the ratio of consecutive survivals.
    assert np.allclose(1 - np.cumsum(sbg.churn_probability(alpha, beta, t[1:])), survive[1:], atol=1e-12)
    assert np.allclose(sbg.retention_rate(alpha, beta, t[1:]), survive[1:] / survive[:-1])
    assert np.all(np.diff(sbg.retention_rate(alpha, beta, t[1:])) > 0)


@given(
    alpha=st.floats(0.05, 2000),
    beta=st.floats(0.05, 2000),
    renewals=st.integers(0, 30),
    rate=st.floats(0.005, 0.5),
)
@settings(max_examples=50)
def test_derl_is_the_discounted_sum_of_survival(
    alpha: float, beta: float, renewals: int, rate: float
) -> None:
    """Fader & Hardie (2010): DERL = sum over t > n of S(t) / S(n) (1 + d)^-(t - n - 1)."""
    t = np.arange(renewals + 1, renewals + 8000)
    log_ratio = betaln(alpha, beta + t) - betaln(
        alpha, beta + renewals
    )  # ln S(t) / S(n), from the model's B()
    direct = np.exp(log_ratio - (t - renewals - 1) * math.log1p(rate)).sum()
    assert float(sbg.derl(alpha, beta, renewals, rate)) == pytest.approx(direct, rel=1e-6)


def test_geometric_limit_is_the_sbg_without_heterogeneity() -> None:
    churn, rate = 0.07, 0.1
    limit = sbg.residual_lifetime(sbg.GEOMETRIC, np.log([churn]), [0, 3], rate)
    scale = 1e6  # alpha and beta large, alpha / (alpha + beta) = churn (SciPy's hyp2f1 gives NaN here)
    assert np.allclose(limit, sbg.derl(churn * scale, (1 - churn) * scale, [0, 3], rate), rtol=1e-5)
    assert np.allclose(sbg.next_renewal(sbg.GEOMETRIC, np.log([churn]), [0, 3]), 1 - churn)


def test_homogeneous_churn_is_fitted_as_the_geometric_limit() -> None:
    """A small book whose churn shows no heterogeneity (these counts come from the demo book): the sBG's
    alpha and beta run off together, and the fit returns the limit, the binomial estimate of one churn
    probability, whose likelihood no finite (alpha, beta) beats."""
    data = sbg.SbgData(lost=np.array([0, 9, 8, 3, 0]), alive=np.array([43, 46, 50, 41, 0]))
    fit = sbg.fit(data)
    assert fit.model == sbg.GEOMETRIC
    decisions = 9 * 1 + 8 * 2 + 3 * 3 + 46 * 1 + 50 * 2 + 41 * 3
    assert fit.params["churn"] == pytest.approx(20 / decisions)
    grid = np.exp(np.linspace(-3, 9, 25))
    assert all(sbg.log_likelihood(a, b, data) < fit.log_likelihood for a in grid for b in grid)


def test_no_identified_heterogeneity_still_predicts_the_churn_rate() -> None:
    """Geometric lifetimes (churn 10% at every renewal) watched for four renewals: whichever form the fit
    takes, the next renewal's probability is about 0.9 at every age."""
    rng = np.random.default_rng(3)
    lifetimes = rng.geometric(0.1, size=3000)
    fit = sbg.fit(sbg.SbgData.from_accounts(np.minimum(lifetimes - 1, 4), lifetimes <= 4))
    assert np.allclose(sbg.next_renewal(fit.model, fit.log_params, [0, 2, 4]), 0.9, atol=0.02)


@given(
    x=st.integers(0, 40),
    recency=st.floats(0, 1),
    T=st.floats(0.5, 200),
    params=st.tuples(positive, positive, positive, positive),
)
def test_bgnbd_probabilities_are_probabilities(
    x: int, recency: float, T: float, params: tuple[float, ...]
) -> None:
    t_x = recency * T if x else 0.0
    alive = float(bgnbd.p_alive(params, x, t_x, T))
    quiet = float(bgnbd.p_no_purchase(params, 52, x, t_x, T))
    assert 0 <= alive <= 1
    assert 1 - alive <= quiet <= 1  # the dead never buy
    assert float(bgnbd.p_no_purchase(params, 104, x, t_x, T)) <= quiet + 1e-12


@given(x=st.integers(0, 30), T=st.floats(1, 150), horizon=st.floats(1, 104))
def test_more_purchases_up_to_now_never_lower_expected_purchases(x: int, T: float, horizon: float) -> None:
    """A customer who has just bought (t_x = T) and bought more is expected to buy more. (With an old last
    purchase it is not so: more purchases then mean more chances to have dropped out since, the BG/NBD's
    reading of "bought often, then stopped": x = 7 against 6 with t_x = 4 and T = 8 expects fewer.)"""
    fewer, more = bgnbd.expected_purchases(CDNOW, horizon, [x, x + 1], [T if x else 0, T], [T, T])
    assert more >= fewer - 1e-9


@given(x=st.integers(1, 30), earlier=st.floats(0, 1), later=st.floats(0, 1), T=st.floats(1, 150))
def test_a_more_recent_purchase_never_lowers_expectations(
    x: int, earlier: float, later: float, T: float
) -> None:
    first, second = sorted((earlier * T, later * T))
    alive = bgnbd.p_alive(CDNOW, x, [first, second], T)
    expected = bgnbd.expected_purchases(CDNOW, 52, x, [first, second], T)
    assert alive[1] >= alive[0] - 1e-12 and expected[1] >= expected[0] - 1e-9


def test_p_no_purchase_of_a_new_customer_is_the_papers() -> None:
    """P(X(t) = 0) = (alpha / (alpha + t))^r for a customer just acquired (x = t_x = T = 0)."""
    r, alpha = CDNOW[:2]
    assert float(bgnbd.p_no_purchase(CDNOW, 39, 0, 0, 0)) == pytest.approx((alpha / (alpha + 39)) ** r)


def test_p_no_purchase_matches_simulation() -> None:
    """Simulated new customers: one alive at the start buys nothing in 39 weeks iff her first purchase comes
    later (she cannot drop out before buying); the share must match the formula."""
    rng = np.random.default_rng(11)
    r, alpha = CDNOW[:2]
    rates = rng.gamma(r, 1 / alpha, 400_000)
    quiet = rng.exponential(1 / rates) >= 39
    assert float(bgnbd.p_no_purchase(CDNOW, 39, 0, 0, 0)) == pytest.approx(quiet.mean(), abs=0.003)


def test_discounted_purchases_match_summed_expected_purchases() -> None:
    """The log-time integral against sums of E[X(t)] increments (the paper's closed form) discounted at
    each step's midpoint over 200 years."""
    delta = math.log(1.1) / 52
    x, t_x, T = (
        np.array([0, 2, 7, 30]),
        np.array([0, 30.43, 20, 38.5]),
        np.array([38.86, 38.86, 38.86, 38.86]),
    )
    grid = np.concatenate([np.arange(0, 520, 0.25), np.arange(520, 52 * 200, 2.0)])
    expected = np.array([bgnbd.expected_purchases(CDNOW, t, x, t_x, T) for t in grid])
    midpoints = (grid[1:] + grid[:-1]) / 2
    summed = (np.diff(expected, axis=0) * np.exp(-delta * midpoints)[:, None]).sum(axis=0)
    assert np.allclose(bgnbd.discounted_purchases(CDNOW, delta, x, t_x, T), summed, rtol=1e-5)


def test_homogeneous_bgnbd_is_the_limit_of_the_bgnbd() -> None:
    """With a and b large (where SciPy's hyp2f1 fails outright) the BG/NBD's answers approach the limit's."""
    p, scale = 0.15, 1e6
    limit, wide = (0.5, 12.0, p), (0.5, 12.0, p * scale, (1 - p) * scale)
    x, t_x, T = np.array([0, 1, 4]), np.array([0, 10.0, 30.0]), np.array([40.0, 40.0, 40.0])
    assert np.allclose(bgnbd.p_alive(limit, x, t_x, T), bgnbd.p_alive(wide, x, t_x, T), rtol=1e-5)
    assert np.allclose(
        bgnbd.expected_purchases(limit, 52, x, t_x, T),
        bgnbd.expected_purchases(wide, 52, x, t_x, T),
        rtol=1e-4,
    )
    delta = math.log(1.1) / 52
    assert np.allclose(
        bgnbd.discounted_purchases(limit, delta, x, t_x, T),
        bgnbd.discounted_purchases(wide, delta, x, t_x, T),
        rtol=1e-4,
    )


def test_gamma_gamma_spend_shrinks_towards_the_population_mean() -> None:
    p, q, gamma = 6.25, 3.74, 15.44
    population = p * gamma / (q - 1)
    assert float(gamma_gamma.expected_spend((p, q, gamma), 0, 0)) == pytest.approx(population)
    few, many = gamma_gamma.expected_spend((p, q, gamma), [1, 50], [100.0, 100.0])
    assert population < few < many < 100  # more purchases: more weight on her own mean


def _fit(model: str, names: tuple[str, ...], values: list[float], covariance: list[list[float]]) -> Fit:
    return Fit(model, names, np.log(values), np.array(covariance), 0.0, 100, True, 1)


@given(
    renewals=st.lists(st.integers(0, 20), min_size=1, max_size=20),
    spread=st.floats(0.001, 0.5),
    coverage=st.floats(0.5, 0.99),
)
@settings(max_examples=40)
def test_intervals_contain_the_value_and_widen_with_uncertainty(
    renewals: list[int], spread: float, coverage: float
) -> None:
    fit = _fit(sbg.MODEL, sbg.NAMES, [0.7, 1.2], [[spread, spread / 3], [spread / 3, spread]])
    money = np.full(len(renewals), 1000.0)
    result = subscription_value(fit, renewals, money, 0.1, np.ones(len(renewals)))
    low, high = result.estimate.interval(coverage)
    assert np.all(low <= result.estimate.value) and np.all(result.estimate.value <= high)
    assert np.all(low > 0)
    wider = subscription_value(
        _fit(sbg.MODEL, sbg.NAMES, [0.7, 1.2], [[4 * spread, 4 * spread / 3], [4 * spread / 3, 4 * spread]]),
        renewals,
        money,
        0.1,
        np.ones(len(renewals)),
    ).estimate.interval(coverage)
    assert np.all(wider[1] - wider[0] >= high - low)


@pytest.mark.slow
def test_delta_method_variance_matches_the_spread_of_sampled_parameters() -> None:
    """The delta method against the parametric alternative: draw log-parameters from their normal
    approximation and look at the spread of each account's value; small covariances make them agree."""
    covariance = [[0.004, 0.001], [0.001, 0.006]]
    fit = _fit(sbg.MODEL, sbg.NAMES, [0.7, 1.2], covariance)
    renewals = np.array([0, 2, 6])
    result = subscription_value(fit, renewals, np.ones(3), 0.1, np.ones(3))
    rng = np.random.default_rng(5)
    draws = rng.multivariate_normal(fit.log_params, covariance, size=20_000)
    sampled = np.array([sbg.derl(math.exp(a), math.exp(b), renewals, 0.1) for a, b in draws])
    assert np.allclose(np.sqrt(result.estimate.variance), sampled.std(axis=0), rtol=0.05)


def test_orders_value_on_cdnow_is_spend_times_discounted_purchases() -> None:
    sample = cdnow()
    purchases = bgnbd.fit(sample.purchases)
    spend = gamma_gamma.fit(sample.spend)
    value = orders_value(purchases, spend, sample.purchases, sample.m_x, margin=0.5, delta=0.002, horizon=39)
    det = bgnbd.discounted_purchases(purchases.values, 0.002, sample.x, sample.t_x, sample.T)
    p, q, gamma = spend.values
    per_purchase = gamma_gamma.expected_spend((p, q, gamma), sample.x, sample.m_x)
    assert np.allclose(value.estimate.value, 0.5 * det * per_purchase)
    low, high = value.estimate.interval(0.9)
    assert np.all(low <= value.estimate.value) and np.all(value.estimate.value <= high)
    # Gradients through the log-parameters: the variance is positive wherever the value is.
    assert np.all(value.estimate.variance > 0)
    gradient = log_scale_gradient(lambda lp: np.exp(lp), np.zeros(2))
    assert np.allclose(gradient, np.eye(2))


def test_estimates_add_and_zero_values_have_zero_intervals() -> None:
    total = Estimate(np.array([0.0, 10.0]), np.array([0.0, 4.0])) + Estimate(
        np.array([0.0, 5.0]), np.array([0.0, 5.0])
    )
    low, high = total.interval(0.9)
    assert low[0] == high[0] == 0
    assert total.value[1] == 15 and total.variance[1] == 9


def test_survivor_counts_reduce_to_lost_and_alive() -> None:
    counts = survivors()["regular"][:8]
    data = sbg.SbgData.from_survivors(counts)
    assert data.n == 1000 and data.alive[-1] == counts[-1]
    assert list(data.lost[1:]) == [a - b for a, b in itertools.pairwise(counts)]
    with pytest.raises(ValueError, match="non-increasing"):
        sbg.SbgData.from_survivors([100, 120])
