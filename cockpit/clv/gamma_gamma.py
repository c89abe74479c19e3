"""The gamma-gamma model of spend per purchase.

Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (2013 note), after Colombo & Jiang (1999): a
customer's purchase amounts are Gamma(p, nu) around her own mean p / nu, and nu ~ Gamma(q, gamma) across
customers. Given her x repeat purchases with mean amount m_x, the mean is Gamma(px, nux), which gives

    f(m_x | p, q, gamma, x) = Γ(px + q) / (Γ(px) Γ(q)) gamma^q m_x^(px - 1) x^(px) / (gamma + m_x x)^(px + q)

and her expected average spend E(M | p, q, gamma, m_x, x) = p (gamma + m_x x) / (px + q - 1), a weighted mean of
the population mean pgamma / (q - 1) and her own m_x. It is fitted on repeat buyers only (x > 0) and assumes
spend is independent of how often a customer buys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, psi

from cockpit.clv.fitting import Fit, NotIdentified, Vector, maximize

MODEL = "gamma_gamma"
NAMES = ("p", "q", "gamma")
Params = tuple[float, float, float]


@dataclass(frozen=True)
class SpendData:
    x: Vector
    """Repeat purchases of each repeat buyer (> 0)."""
    m_x: Vector
    """Mean amount of those purchases (> 0)."""

    @classmethod
    def of(cls, x: ArrayLike, m_x: ArrayLike) -> SpendData:
        data = cls(np.asarray(x, dtype=np.float64), np.asarray(m_x, dtype=np.float64))
        if data.x.shape != data.m_x.shape or data.x.ndim != 1:
            raise ValueError("x and m_x must be columns of the same length")
        if np.any(data.x <= 0) or np.any(data.m_x <= 0):
            raise ValueError("the spend model takes repeat buyers only: x > 0 and a positive mean amount")
        return data

    @property
    def n(self) -> int:
        return len(self.x)


def log_likelihood(params: Params, data: SpendData) -> float:
    value, _ = _neg_ll(np.log(np.asarray(params, dtype=np.float64)), data)
    return -value * data.n


def _neg_ll(log_params: Vector, data: SpendData) -> tuple[float, Vector]:
    p, q, gamma = np.exp(log_params)
    x, m = data.x, data.m_x
    px = p * x
    total = gamma + m * x
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(total)
    ).sum()
    common = psi(px + q)
    d_p = x @ (common - psi(px) + np.log(m * x) - np.log(total))
    d_q = (common - psi(q) + np.log(gamma) - np.log(total)).sum()
    d_gamma = (q / gamma - (px + q) / total).sum()
    n = data.n
    return -float(ll) / n, -np.array([p * d_p, q * d_q, gamma * d_gamma]) / n


def fit(data: SpendData) -> Fit:
    """Maximum-likelihood p, q, gamma. The mean spend of a new buyer, pgamma / (q - 1), needs q > 1."""
    if data.n < 2 or np.ptp(data.m_x) == 0:
        raise NotIdentified(
            f"gamma_gamma: {data.n} repeat buyer(s) with {'one' if data.n else 'no'} distinct mean spend: "
            "the spend model needs repeat buyers whose average spends differ.",
        )
    mean = float(data.m_x.mean())
    # Start from amounts spread like an exponential (p = 1) and a population mean equal to the average.
    start = np.log(np.array([1.0, 2.0, mean]))
    result = maximize(MODEL, NAMES, lambda x: _neg_ll(x, data), start, data.n)
    if result.params["q"] <= 1:
        raise NotIdentified(
            f"gamma_gamma: q = {result.params['q']:.3g} <= 1: the spread of average spends is so wide that "
            "the model's mean spend is infinite.",
            hint="Look for extreme order amounts (a data error, or one-off deals) among the transactions.",
        )
    return result


def expected_spend(params: Params, x: ArrayLike, m_x: ArrayLike) -> Vector:
    """E(M | p, q, gamma, m_x, x) = p (gamma + m_x x) / (px + q - 1); for x = 0, the population mean pgamma / (q - 1)."""
    p, q, gamma = params
    xs, ms = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(m_x, dtype=np.float64))
    return np.asarray(p * (gamma + ms * xs) / (p * xs + q - 1), dtype=np.float64)
