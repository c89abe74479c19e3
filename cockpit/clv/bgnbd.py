"""The BG/NBD model of repeat purchases.

Fader, Hardie & Lee, "'Counting your customers' the easy way: an alternative to the Pareto/NBD model",
Marketing Science 24(2), 2005. While alive a customer buys as a Poisson process with rate λ; after each
purchase she drops out with probability p. Across customers λ ~ Gamma(r, alpha) (shape r, rate alpha) and
p ~ Beta(a, b). A customer is summarised by x repeat purchases (after the first), the time t_x of the last
one and the time T she has been watched, both from her first purchase.

The log-likelihood follows the paper's implementation note: ln L = A1 + A2 + ln(exp(A3) + [x > 0] exp(A4))
with A1 = lnΓ(r + x) - lnΓ(r) + r ln alpha, A2 = lnB(a, b + x) - lnB(a, b), A3 = -(r + x) ln(alpha + T) and
A4 = ln a - ln(b + x - 1) - (r + x) ln(alpha + t_x). Terms that depend on x alone are summed once per distinct
x (weighted by how many customers share it), so a fit over a million customers costs a few array passes per
iteration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaincinv, expit, gammaln, hyp2f1, psi

from cockpit.clv.fitting import Fit, NotIdentified, Vector, maximize

MODEL = "bgnbd"
NAMES = ("r", "alpha", "a", "b")
HOMOGENEOUS = "bgnbd_homogeneous"
"""The BG/NBD's limit with one dropout probability p for every customer (a, b -> infinity with
a / (a + b) = p), fitted when the data show no heterogeneity in dropout. Its parameters are (r, alpha, p)."""
Params = tuple[float, ...]
"""(r, alpha, a, b), or (r, alpha, p) for the homogeneous limit."""


@dataclass(frozen=True)
class BgNbdData:
    x: Vector
    t_x: Vector
    T: Vector

    @classmethod
    def of(cls, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BgNbdData:
        data = cls(*(np.asarray(column, dtype=np.float64) for column in (x, t_x, T)))
        if not (data.x.shape == data.t_x.shape == data.T.shape) or data.x.ndim != 1:
            raise ValueError("x, t_x and T must be columns of the same length")
        if np.any(data.x < 0) or np.any(data.x != np.round(data.x)):
            raise ValueError("x (repeat purchases) must be whole numbers >= 0")
        if np.any(data.t_x < 0) or np.any(data.t_x > data.T):
            raise ValueError("recency t_x must lie between 0 and T")
        if np.any((data.x == 0) & (data.t_x != 0)):
            raise ValueError("a customer without repeat purchases has recency 0")
        return data

    @property
    def n(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class _Prepared:
    """The data arranged for the likelihood: distinct x with counts, and T with the repeat buyers first, so
    that their share of every per-customer array is a slice (a view) rather than a copy."""

    values: Vector
    counts: Vector
    T: Vector
    repeaters: int
    rx: Vector
    """x of the repeat buyers."""
    rindex: NDArray[np.intp]
    """Index of each repeat buyer's x in `values`."""
    rt_x: Vector


def _prepare(data: BgNbdData) -> _Prepared:
    values, inverse, counts = np.unique(data.x, return_inverse=True, return_counts=True)
    repeat = data.x > 0
    return _Prepared(
        values=values,
        counts=counts.astype(np.float64),
        T=np.concatenate([data.T[repeat], data.T[~repeat]]),
        repeaters=int(repeat.sum()),
        rx=data.x[repeat],
        rindex=inverse[repeat],
        rt_x=data.t_x[repeat],
    )


def _neg_ll(log_params: Vector, d: _Prepared, n: int) -> tuple[float, Vector]:
    r, alpha, a, b = np.exp(log_params)
    k, w = d.values, d.counts
    log_T = np.log(alpha + d.T)
    log_rT = log_T[: d.repeaters]
    inverse_T = 1 / (alpha + d.T)
    # A1 + A2 once per distinct x, and A3 = -(r + x) ln(alpha + T) (x ln(alpha + T) is zero unless x > 0).
    ll = w @ (gammaln(r + k) - gammaln(r) + r * np.log(alpha) + _lnbeta_shift(a, b, k))
    ll -= r * log_T.sum() + d.rx @ log_rT
    # Repeat buyers add ln(1 + exp(A4 - A3)), A4 - A3 = ln a - ln(b + x - 1) - (r + x) ln((alpha + t_x) / (alpha + T)).
    log_ratio = np.log(alpha + d.rt_x) - log_rT
    log_b = np.log(np.where(k > 0, b + k - 1, 1.0))
    z = np.log(a) - log_b[d.rindex] - (r + d.rx) * log_ratio
    ll += np.logaddexp(0.0, z).sum()

    weight = expit(z)  # the A4 term's share of each repeat buyer's likelihood
    d_r = w @ (psi(r + k) - psi(r) + np.log(alpha)) - log_T.sum() - weight @ log_ratio
    inverse_rT = inverse_T[: d.repeaters]
    d_alpha = (
        n * r / alpha
        - r * inverse_T.sum()
        - d.rx @ inverse_rT
        - (weight * (r + d.rx)) @ (1 / (alpha + d.rt_x) - inverse_rT)
    )
    by_x = np.bincount(d.rindex, weights=weight, minlength=len(k))
    d_a = w @ (psi(a + b) - psi(a + b + k)) + weight.sum() / a
    d_b = w @ (psi(a + b) + psi(b + k) - psi(b) - psi(a + b + k)) - by_x @ _safe_inverse(b + k - 1)
    gradient = -np.array([r * d_r, alpha * d_alpha, a * d_a, b * d_b]) / n
    return -float(ll) / n, gradient


def _lnbeta_shift(a: float, b: float, k: Vector) -> Vector:
    """lnB(a, b + k) - lnB(a, b)."""
    return gammaln(a + b) + gammaln(b + k) - gammaln(b) - gammaln(a + b + k)


def _safe_inverse(values: Vector) -> Vector:
    """1 / values where positive (b + x - 1 for x >= 1), 0 where it is not used (x = 0)."""
    out = np.zeros_like(values)
    np.divide(1.0, values, out=out, where=values > 0)
    return out


def log_likelihood(params: Params, data: BgNbdData) -> float:
    prepared = _prepare(data)
    value, _ = _neg_ll(np.log(np.asarray(params, dtype=np.float64)), prepared, data.n)
    return -value * data.n


def fit(data: BgNbdData) -> Fit:
    """Maximum-likelihood r, alpha, a, b. Needs repeat purchases to have been observed."""
    if data.n == 0:
        raise NotIdentified("bgnbd: no customers with purchases to fit the repeat-purchase model on.")
    repeaters = int((data.x > 0).sum())
    if repeaters == 0:
        raise NotIdentified(
            f"bgnbd: none of the {data.n:,} buyers has bought a second time: the repeat-purchase model "
            "needs repeat purchases to estimate how often customers buy and when they stop.",
        )
    prepared = _prepare(data)
    # Start from one customer type buying at the book's average rate and an even dropout chance.
    rate = max(float(data.x.sum()), 1.0) / max(float(data.T.sum()), 1e-9)
    start = np.log(np.array([1.0, 1.0 / rate, 1.0, 1.0]))
    return maximize(
        MODEL,
        NAMES,
        lambda x: _neg_ll(x, prepared, data.n),
        start,
        data.n,
        limit=lambda best: _homogeneous(prepared, data.n, start[:2], best),
    )


def _neg_ll_homogeneous(point: Vector, d: _Prepared, n: int) -> tuple[float, Vector]:
    """The limit's negative log-likelihood per customer at (ln r, ln alpha, logit p): the BG/NBD's with the
    beta mixture replaced by p, i.e. A2 = x ln(1 - p) and a / (b + x - 1) by p / (1 - p)."""
    r, alpha = np.exp(point[:2])
    logit = point[2]
    p = float(expit(logit))
    k, w = d.values, d.counts
    log_T = np.log(alpha + d.T)
    log_rT = log_T[: d.repeaters]
    inverse_T = 1 / (alpha + d.T)
    inverse_rT = inverse_T[: d.repeaters]
    ll = w @ (gammaln(r + k) - gammaln(r) + r * np.log(alpha) + k * math.log1p(-p))
    ll -= r * log_T.sum() + d.rx @ log_rT
    log_ratio = np.log(alpha + d.rt_x) - log_rT
    z = logit - (r + d.rx) * log_ratio
    ll += np.logaddexp(0.0, z).sum()
    weight = expit(z)
    d_r = w @ (psi(r + k) - psi(r) + np.log(alpha)) - log_T.sum() - weight @ log_ratio
    d_alpha = (
        n * r / alpha
        - r * inverse_T.sum()
        - d.rx @ inverse_rT
        - (weight * (r + d.rx)) @ (1 / (alpha + d.rt_x) - inverse_rT)
    )
    d_logit = -p * float(w @ k) + weight.sum()
    return -float(ll) / n, -np.array([r * d_r, alpha * d_alpha, d_logit]) / n


def _homogeneous(d: _Prepared, n: int, start: Vector, best: float) -> Fit | None:
    """Fit the limit when the BG/NBD's a and b run off together; None if it does not explain the data as
    well as the BG/NBD fit found (`best`), which means the trouble is elsewhere."""
    try:
        found = maximize(
            HOMOGENEOUS, ("r", "alpha", "p"), lambda x: _neg_ll_homogeneous(x, d, n), np.append(start, 0.0), n
        )
    except NotIdentified:
        return None
    if found.log_likelihood < best - 1e-6:
        return None
    # The optimiser ran on logit p; carry p and its variance to the log scale the other fits use.
    logit = found.log_params[2]
    p = float(expit(logit))
    jacobian = np.diag([1.0, 1.0, 1 - p])
    return replace(
        found,
        log_params=np.array([*found.log_params[:2], -np.logaddexp(0.0, -logit)]),
        covariance=jacobian @ found.covariance @ jacobian,
        diagnostics={
            **found.diagnostics,
            "limit": "no heterogeneity in dropout detectable: every customer drops out with the same "
            "probability p after each purchase (the BG/NBD with a, b -> infinity)",
        },
    )


def p_alive(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Vector:
    """P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))."""
    r, alpha = params[:2]
    xs, tx, tt = _columns(x, t_x, T)
    repeat = xs > 0
    if len(params) == 3:
        odds = np.log(params[2]) - np.log1p(-params[2]) + np.zeros_like(xs)
    else:
        a, b = params[2:]
        odds = np.log(a) - np.log(np.where(repeat, b + xs - 1, 1.0))
    log_odds = np.where(repeat, odds + (r + xs) * np.log((alpha + tt) / (alpha + tx)), -np.inf)
    return np.asarray(expit(-log_odds), dtype=np.float64)


def expected_purchases(params: Params, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Vector:
    """E[X(T, T + t) | x, t_x, T]: expected purchases in the next t periods (the paper's equation 10):

    P(alive) (a + b + x - 1) / (a - 1) [1 - ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x; a + b + x - 1;
    t / (alpha + T + t))]."""
    r, alpha = params[:2]
    xs, _tx, tt = _columns(x, t_x, T)
    if len(params) == 3:  # the limit: E(1 - exp(-lambda p t)) / p over lambda ~ Gamma(r + x, alpha + T)
        p = params[2]
        alive_mean = (1 - ((alpha + tt) / (alpha + tt + p * t)) ** (r + xs)) / p
    else:
        a, b = params[2:]
        ratio = (alpha + tt) / (alpha + tt + t)
        hyp = hyp2f1(r + xs, b + xs, a + b + xs - 1, t / (alpha + tt + t))
        alive_mean = (a + b + xs - 1) / (a - 1) * (1 - ratio ** (r + xs) * hyp)
    return np.asarray(p_alive(params, x, t_x, T) * alive_mean, dtype=np.float64)


def p_no_purchase(params: Params, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Vector:
    """P(X(T, T + t) = 0 | x, t_x, T): the chance of no purchase in the next t periods.

    Dead customers never buy; an alive one buys nothing in (T, T + t] with probability e^(-λt), and she
    cannot drop out without buying, so the chance is 1 - P(alive) [1 - E(e^(-λt) | alive, history)] with
    λ | alive, history ~ Gamma(r + x, alpha + T): 1 - P(alive) [1 - ((alpha + T) / (alpha + T + t))^(r + x)]. For a new
    customer (x = t_x = T = 0) it is the paper's P(X(t) = 0) = (alpha / (alpha + t))^r."""
    r, alpha = params[:2]
    xs, _tx, tt = _columns(x, t_x, T)
    quiet = ((alpha + tt) / (alpha + tt + t)) ** (r + xs)
    return np.asarray(1 - p_alive(params, x, t_x, T) * (1 - quiet), dtype=np.float64)


LOG_TIME_STEP = 0.2
"""Step of the trapezoid rule in log-time for discounted purchases; its error falls like exp(-π²/step)."""


def discounted_purchases(params: Params, delta: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Vector:
    """Discounted expected future purchases, DET = E[Σ over future purchases of exp(-δ s)] with continuous
    discount rate `delta` per period, over the whole future (no horizon).

    Alive at T with λ and p, the k-th next purchase happens if she stayed after the k - 1 before it, and
    the rate of purchases at time s from now is λ exp(-λ p s). Averaged over λ ~ Gamma(r + x, alpha + T) and
    p ~ Beta(a, b + x) (the posterior given alive) that rate is (R / A) 2F1(R + 1, a; a + b + x; -s / A)
    with R = r + x, A = alpha + T, so

        DET = P(alive) R ∫ exp(-δ A e^v) 2F1(R + 1, a; a + b + x; -e^v) e^v dv    (s = A e^v).

    The integrand is smooth and decays fast at both ends, so the trapezoid rule over v converges
    geometrically; the hypergeometric factor depends on x alone and is computed once per distinct x."""
    if delta <= 0:
        raise ValueError("the discount rate must be positive")
    r, alpha = params[:2]
    xs, _tx, tt = _columns(x, t_x, T)
    if xs.size == 0:
        return np.zeros(0)
    scale = alpha + tt
    top = np.log(40 / (delta * float(scale.min())))  # exp(-40) of the nearest customer's discount is nothing
    grid = np.arange(-30.0, top + LOG_TIME_STEP, LOG_TIME_STEP)
    values, inverse = np.unique(xs, return_inverse=True)
    shape, times = r + values[:, None] + 1, np.exp(grid)[None, :]
    if len(params) == 3:  # the limit of the beta average: p fixed
        rates = np.asarray((1 + params[2] * times) ** -shape, dtype=np.float64)
    else:
        a, b = params[2:]
        rates = _beta_average(shape, a, b + values[:, None], times)
    weighted = (r + values)[:, None] * rates * np.exp(grid)[None, :] * LOG_TIME_STEP
    out = np.empty(xs.shape)
    for start in range(0, xs.size, 20_000):  # bounded memory: 20k customers x the grid at a time
        part = slice(start, start + 20_000)
        discount = np.exp(-delta * scale[part, None] * np.exp(grid)[None, :])
        out[part] = np.einsum("ij,ij->i", discount, weighted[inverse[part]])
    return np.asarray(out * p_alive(params, x, t_x, T), dtype=np.float64)


QUANTILE_NODES = 256


def _beta_average(power: Vector, a: float, b: Vector, times: Vector) -> Vector:
    """E[(1 + p t)^-power] over p ~ Beta(a, b): 2F1(power, a; a + b; -t), through Pfaff's transformation
    (1 + t)^-power 2F1(power, b; a + b; t / (1 + t)), whose argument lies in [0, 1). Where SciPy's hyp2f1
    still fails (NaN or out of range once b reaches the hundreds near t / (1 + t) = 1), the average is taken
    by the midpoint rule over the beta's quantiles, which is accurate exactly there: the beta is narrow."""
    power, b, times = np.broadcast_arrays(power, b, times)
    with np.errstate(all="ignore"):
        found = (1 + times) ** -power * hyp2f1(power, b, a + b, times / (1 + times))
    bad = ~((found >= 0) & (found <= 1))
    if np.any(bad):
        levels = (np.arange(QUANTILE_NODES) + 0.5) / QUANTILE_NODES
        draws = betaincinv(a, b[bad][:, None], levels[None, :])
        found[bad] = ((1 + draws * times[bad][:, None]) ** -power[bad][:, None]).mean(axis=1)
    return np.asarray(found, dtype=np.float64)


def _columns(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[Vector, Vector, Vector]:
    xs, tx, tt = (np.asarray(column, dtype=np.float64) for column in (x, t_x, T))
    return np.broadcast_arrays(xs, tx, tt)  # type: ignore[return-value]
