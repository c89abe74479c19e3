"""Maximum likelihood on log-parameters, shared by the three models.

Every model parameter is positive, so the optimiser works on its logarithm: unconstrained in principle, and
bounded to [-LOG_BOUND, LOG_BOUND] (about 6e-6 to 1.6e5) so that a flat likelihood cannot run off to
infinity. A fit that ends on a bound, or whose information matrix is not positive definite, is reported as
not identified rather than returned with numbers that look precise. The covariance of the log-parameters is
the inverse of the numerical Hessian of the negative log-likelihood (central differences of the analytic
gradient); standard errors of the parameters themselves follow by the delta method (se(θ) = θ se(log θ)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from cockpit.errors import CockpitError

Vector = NDArray[np.float64]
LOG_BOUND = 12.0
HESSIAN_STEP = 1e-4
CONVERGED_GRADIENT = 1e-7
"""Largest gradient component (of the mean log-likelihood in log-parameters) at a converged fit."""
"""Step in log-parameter space for the central differences of the gradient."""

NegLogLikelihood = Callable[[Vector], tuple[float, Vector]]
"""Log-parameters -> (negative log-likelihood per observation, its gradient)."""


class NotIdentified(CockpitError):
    """The data cannot pin the model's parameters down (e.g. no churn observed yet)."""

    title = "Lifetime value model not identified"


@dataclass(frozen=True)
class Fit:
    """A model fitted by maximum likelihood: parameters, their uncertainty and how the fit went."""

    model: str
    names: tuple[str, ...]
    log_params: Vector
    covariance: Vector
    """Covariance matrix of the log-parameters (inverse observed information)."""
    log_likelihood: float
    n: int
    """Observations the likelihood sums over (customers, accounts)."""
    converged: bool
    iterations: int
    diagnostics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, float]:
        return {name: math.exp(value) for name, value in zip(self.names, self.log_params, strict=True)}

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(math.exp(value) for value in self.log_params)

    @property
    def std_errors(self) -> dict[str, float]:
        spread = np.sqrt(np.diag(self.covariance))
        return {
            name: math.exp(value) * float(se)
            for name, value, se in zip(self.names, self.log_params, spread, strict=True)
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "params": self.params,
            "std_errors": self.std_errors,
            "log_params": [float(value) for value in self.log_params],
            "covariance": [[float(value) for value in row] for row in self.covariance],
            "log_likelihood": self.log_likelihood,
            "n": self.n,
            "converged": self.converged,
            "iterations": self.iterations,
            "diagnostics": dict(self.diagnostics),
        }


def maximize(
    model: str,
    names: tuple[str, ...],
    neg_ll: NegLogLikelihood,
    start: Vector,
    n: int,
    *,
    limit: Callable[[float], Fit | None] | None = None,
) -> Fit:
    """Fit by L-BFGS-B on the log-parameters from `start` (log scale); `neg_ll` is per observation, so
    that tolerances do not depend on the size of the data.

    When the optimum is not identified, `limit` may offer the model the parameters run off to (given the
    best log-likelihood found): a simpler model that the likelihood approaches from below."""
    result = minimize(
        neg_ll,
        np.clip(start, -LOG_BOUND + 1, LOG_BOUND - 1),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_BOUND, LOG_BOUND)] * len(names),
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-10},
    )
    log_params = np.asarray(result.x, dtype=np.float64)
    log_likelihood = -float(result.fun) * n
    at_bound = [name for name, value in zip(names, log_params, strict=True) if abs(value) > LOG_BOUND - 1e-3]
    hessian = _hessian(neg_ll, log_params) * n
    try:
        np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        flat = True
    else:
        flat = False
    if (at_bound or flat) and limit is not None and (simpler := limit(log_likelihood)) is not None:
        return simpler
    if at_bound:
        raise NotIdentified(
            f"{model}: the likelihood keeps rising as {', '.join(at_bound)} run off to zero or infinity: "
            "the data cannot pin these parameters down.",
            hint="More history (more accounts, churn or repeat purchases observed) is needed for this model.",
        )
    if flat:
        raise NotIdentified(
            f"{model}: the likelihood is flat in some direction at its maximum: the data cannot pin down "
            "all of the model's parameters.",
            hint="More history (more accounts, churn or repeat purchases observed) is needed for this model.",
        )
    covariance = np.linalg.inv(hessian)
    return Fit(
        model=model,
        names=names,
        log_params=log_params,
        covariance=(covariance + covariance.T) / 2,
        log_likelihood=log_likelihood,
        n=n,
        # L-BFGS-B may end its line search "abnormally" at the optimum, where rounding is all that changes.
        converged=bool(result.success) or float(np.abs(result.jac).max()) < CONVERGED_GRADIENT,
        iterations=int(result.nit),
        diagnostics={"optimizer": str(result.message), "gradient_norm": float(np.abs(result.jac).max())},
    )


def _hessian(neg_ll: NegLogLikelihood, point: Vector) -> Vector:
    size = len(point)
    hessian = np.empty((size, size))
    for j in range(size):
        step = np.zeros(size)
        step[j] = HESSIAN_STEP
        hessian[:, j] = (neg_ll(point + step)[1] - neg_ll(point - step)[1]) / (2 * HESSIAN_STEP)
    return (hessian + hessian.T) / 2


def log_scale_gradient(values: Callable[[Vector], Vector], log_params: Vector, step: float = 1e-5) -> Vector:
    """d values / d log-parameters by central differences: one row per output, one column per parameter.
    `values` maps log-parameters to an array of outputs (e.g. every account's value)."""
    columns = []
    for j in range(len(log_params)):
        delta = np.zeros(len(log_params))
        delta[j] = step
        columns.append((values(log_params + delta) - values(log_params - delta)) / (2 * step))
    return np.stack(columns, axis=-1)
