"""The shifted-beta-geometric (sBG) model of contract renewals.

Fader & Hardie, "How to project customer retention", Journal of Interactive Marketing 21(1), 2007: each
customer renews at the end of every period with her own churn probability θ, and θ varies across customers
as Beta(alpha, beta). Her lifetime T (periods paid) is then geometric given θ and, across customers,

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta),   S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta),

and the retention rate at renewal t, S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1), rises with t because
the customers with high θ leave first. The discounted expected residual lifetime (DERL) of a customer who
has renewed n times is from Fader & Hardie, "Customer-base valuation in a contractual setting: the perils
of ignoring heterogeneity", Marketing Science 29(1), 2010.

Data: per period t, how many customers left after exactly t periods (`lost`) and how many are still active
having renewed t times (`alive`: right-censored, T > t). A cohort's survivor counts and a book of accounts
with different start dates both reduce to these two count vectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, digamma

from cockpit.clv.fitting import Fit, NotIdentified, Vector, maximize

MODEL = "sbg"
GEOMETRIC = "geometric"
"""The sBG's limit without heterogeneity, fitted when the data show none."""
NAMES = ("alpha", "beta")
Counts = NDArray[np.int64]


@dataclass(frozen=True)
class SbgData:
    lost: Counts
    """lost[t]: customers whose lifetime was t periods (they did not make renewal t); lost[0] is 0."""
    alive: Counts
    """alive[t]: customers still active after t renewals (T > t, right-censored)."""

    @property
    def n(self) -> int:
        return int(self.lost.sum() + self.alive.sum())

    @classmethod
    def from_survivors(cls, survivors: Sequence[int]) -> SbgData:
        """A cohort followed from period 0: `survivors[t]` customers still active after t renewals."""
        counts = np.asarray(survivors, dtype=np.int64)
        if counts.ndim != 1 or len(counts) < 2 or np.any(np.diff(counts) > 0) or counts[-1] < 0:
            raise ValueError("survivor counts must be a non-increasing series of at least two counts")
        lost = np.concatenate([[0], -np.diff(counts)])
        alive = np.zeros_like(counts)
        alive[-1] = counts[-1]
        return cls(lost=lost, alive=alive)

    @classmethod
    def from_accounts(cls, renewals: ArrayLike, churned: ArrayLike) -> SbgData:
        """One entry per account: renewals made so far, and whether it churned at the next renewal."""
        made = np.asarray(renewals, dtype=np.int64)
        gone = np.asarray(churned, dtype=bool)
        if np.any(made < 0):
            raise ValueError("renewals must not be negative")
        size = int(made.max(initial=0)) + 2
        lost = np.bincount(made[gone] + 1, minlength=size).astype(np.int64)
        alive = np.bincount(made[~gone], minlength=size).astype(np.int64)
        return cls(lost=lost, alive=alive)


def log_likelihood(alpha: float, beta: float, data: SbgData) -> float:
    t = np.arange(len(data.lost))
    churn = betaln(alpha + 1, beta + t[1:] - 1) - betaln(alpha, beta)
    survive = betaln(alpha, beta + t) - betaln(alpha, beta)
    return float(data.lost[1:] @ churn + data.alive @ survive)


def _neg_ll(log_params: Vector, data: SbgData) -> tuple[float, Vector]:
    alpha, beta = np.exp(log_params)
    t = np.arange(len(data.lost), dtype=np.float64)
    lost, alive, tl = data.lost[1:], data.alive, t[1:]
    n = data.n
    base_a, base_b = digamma(alpha) - digamma(alpha + beta), digamma(beta) - digamma(alpha + beta)
    # d/dalpha and d/dbeta of ln P(T = t) = lnB(alpha+1, beta+t-1) - lnB(alpha, beta) and of ln S(t) = lnB(alpha, beta+t) - lnB(alpha, beta).
    d_alpha = lost @ (digamma(alpha + 1) - digamma(alpha + beta + tl) - base_a) + alive @ (
        digamma(alpha) - digamma(alpha + beta + t) - base_a
    )
    d_beta = lost @ (digamma(beta + tl - 1) - digamma(alpha + beta + tl) - base_b) + alive @ (
        digamma(beta + t) - digamma(alpha + beta + t) - base_b
    )
    gradient = -np.array([alpha * d_alpha, beta * d_beta]) / n
    return -log_likelihood(alpha, beta, data) / n, gradient


def fit(data: SbgData) -> Fit:
    """Maximum-likelihood alpha and beta. Needs churn observed and customers followed past their first renewal."""
    if data.n == 0:
        raise NotIdentified("sbg: no subscription accounts to fit the retention model on.")
    if data.lost.sum() == 0:
        raise NotIdentified(
            f"sbg: no churn observed among {data.n:,} subscription accounts: the retention model needs "
            "accounts that left to estimate how many will.",
            hint="Record churn (accounts.churned_on) for the accounts that left, or wait for the first.",
        )
    if data.lost[2:].sum() + data.alive[1:].sum() == 0:
        raise NotIdentified(
            f"sbg: none of the {data.n:,} subscription accounts has renewed yet: the retention model needs "
            "accounts followed past their first renewal.",
        )
    return maximize(
        MODEL,
        NAMES,
        lambda x: _neg_ll(x, data),
        np.zeros(2),
        data.n,
        limit=lambda best: _homogeneous(data, best),
    )


def _homogeneous(data: SbgData, best: float) -> Fit | None:
    """The sBG's limit as alpha and beta grow with alpha / (alpha + beta) fixed: one churn probability for
    every customer (geometric lifetimes). Its likelihood bounds the sBG's along that ridge, so when the sBG
    fit finds nothing better the data show no heterogeneity, and this is the maximum-likelihood model."""
    periods = np.arange(len(data.lost))
    decisions = float(periods @ data.lost + periods @ data.alive)
    churned = float(data.lost.sum())
    churn = churned / decisions
    log_likelihood = churned * math.log(churn) + (decisions - churned) * math.log1p(-churn)
    if log_likelihood < best - 1e-6:
        return None
    return Fit(
        model=GEOMETRIC,
        names=("churn",),
        log_params=np.array([math.log(churn)]),
        # Binomial information of the churn probability, carried to its logarithm.
        covariance=np.array([[(1 - churn) / (churn * decisions)]]),
        log_likelihood=log_likelihood,
        n=data.n,
        converged=True,
        iterations=0,
        diagnostics={
            "limit": "no heterogeneity in churn detectable: every account churns with the same probability "
            "at each renewal (the sBG with alpha, beta -> infinity)",
            "renewal_decisions": decisions,
        },
    )


def churn_probability(alpha: float, beta: float, t: ArrayLike) -> Vector:
    """P(T = t): the share of a new cohort that leaves at renewal t (t = 1, 2, ...)."""
    periods = np.asarray(t, dtype=np.float64)
    return np.asarray(np.exp(betaln(alpha + 1, beta + periods - 1) - betaln(alpha, beta)), dtype=np.float64)


def survival(alpha: float, beta: float, t: ArrayLike) -> Vector:
    """S(t) = P(T > t): the share of a new cohort still active after t renewals."""
    periods = np.asarray(t, dtype=np.float64)
    return np.asarray(np.exp(betaln(alpha, beta + periods) - betaln(alpha, beta)), dtype=np.float64)


def retention_rate(alpha: float, beta: float, t: ArrayLike) -> Vector:
    """r(t) = S(t) / S(t - 1): the share of those active after t - 1 renewals who make renewal t."""
    periods = np.asarray(t, dtype=np.float64)
    return (beta + periods - 1) / (alpha + beta + periods - 1)


def derl(alpha: float, beta: float, renewals: ArrayLike, discount: float) -> Vector:
    """Discounted expected residual lifetime, in periods, of a customer who has made `renewals` renewals,
    evaluated just before her next renewal decision (Fader & Hardie 2010):

        DERL(d | alpha, beta, n - 1 renewals) = (beta + n - 1) / (alpha + beta + n - 1)
                                                 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))

    i.e. the sum over future periods t of S(t) / S(n - 1) discounted by (1 + d) per period after the first.
    `discount` is the rate per period (> 0: undiscounted lifetimes can be infinite). The series is summed
    term by term (each term is the last times (beta + t) / (alpha + beta + t) / (1 + d) < 1 / (1 + d)) to
    double precision: SciPy's hyp2f1 returns NaN here once alpha and beta reach the hundreds."""
    if discount <= 0:
        raise ValueError("the discount rate must be positive")
    made = np.asarray(renewals, dtype=np.float64)
    terms = math.ceil(37 / math.log1p(discount)) + 1  # (1 + d)^-terms < 1e-16
    t = made.reshape(-1, 1) + np.arange(terms)
    log_terms = np.cumsum(np.log(beta + t) - np.log(alpha + beta + t) - math.log1p(discount), axis=1)
    total = np.exp(log_terms).sum(axis=1) * (1 + discount)
    return np.asarray(total.reshape(made.shape), dtype=np.float64)


def residual_lifetime(model: str, log_params: Vector, renewals: ArrayLike, discount: float) -> Vector:
    """DERL under a fitted model: the sBG's, or the geometric limit's (1 - c)(1 + d) / (d + c) for churn
    probability c, the same whatever the renewals made."""
    if model == GEOMETRIC:
        churn = math.exp(log_params[0])
        return np.full(np.shape(renewals), (1 - churn) * (1 + discount) / (discount + churn))
    alpha, beta = np.exp(log_params)
    return derl(alpha, beta, renewals, discount)


def next_renewal(model: str, log_params: Vector, renewals: ArrayLike) -> Vector:
    """The chance that a customer who has made `renewals` renewals makes the next one."""
    if model == GEOMETRIC:
        return np.full(np.shape(renewals), 1 - math.exp(log_params[0]))
    alpha, beta = np.exp(log_params)
    return retention_rate(alpha, beta, np.asarray(renewals) + 1)
