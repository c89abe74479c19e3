"""Lifetime-value speed: the BG/NBD fit on a million customers against the same fit at CDNOW size.

    python bench/clv.py [--customers 1000000] [--seed 1]

Customers are drawn from the BG/NBD itself with the CDNOW estimates (r 0.243, alpha 4.414, a 0.793,
b 2.426) and CDNOW's spread of first purchases (watched 27 to 39 weeks). A fit is the whole of
`cockpit.clv.bgnbd.fit`: the maximum-likelihood search and the numerical Hessian for the standard errors.
Target: the million within 10 s on this machine. Both sizes are measured in this run, and each fit is
checked against the parameters the data were drawn from.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cockpit.clv import bgnbd

TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_CUSTOMERS = 2357


def simulate(customers: int, rng: np.random.Generator) -> bgnbd.BgNbdData:
    """Draw (x, t_x, T): repeat purchases arrive as a Poisson process of rate lambda ~ Gamma(r, alpha) and
    the customer leaves after each with probability p ~ Beta(a, b). With n arrivals by T and J purchases
    before leaving, x = min(n, J), and the x-th arrival is the x-th of n uniform times on (0, T)."""
    T = rng.uniform(27, 39, customers)
    rates = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], customers)
    dropout = rng.beta(TRUE["a"], TRUE["b"], customers)
    arrivals = rng.poisson(rates * T)
    x = np.minimum(arrivals, rng.geometric(dropout))
    repeat = x > 0
    t_x = np.zeros(customers)
    t_x[repeat] = T[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
    return bgnbd.BgNbdData.of(x, t_x, T)


def timed_fit(data: bgnbd.BgNbdData) -> tuple[float, dict[str, float], int]:
    started = time.perf_counter()
    fit = bgnbd.fit(data)
    return time.perf_counter() - started, fit.params, fit.iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"BG/NBD fit, customers drawn with {', '.join(f'{k} {v}' for k, v in TRUE.items())}")
    print(f"  {'customers':>10} {'seconds':>8} {'iterations':>10}  {'r':>6} {'alpha':>6} {'a':>6} {'b':>6}")
    seconds = {}
    for size in (CDNOW_CUSTOMERS, args.customers):
        data = simulate(size, rng)
        elapsed, params, iterations = timed_fit(data)
        seconds[size] = elapsed
        shown = " ".join(f"{params[name]:6.3f}" for name in TRUE)
        print(f"  {size:>10,} {elapsed:8.2f} {iterations:>10}  {shown}")
    big, small = seconds[args.customers], seconds[CDNOW_CUSTOMERS]
    print(
        f"  ratio {args.customers:,} / {CDNOW_CUSTOMERS:,}: {big / small:.0f}x the time for {args.customers / CDNOW_CUSTOMERS:.0f}x the customers"
    )
    print(
        f"  target: {args.customers:,} customers within 10 s: {'met' if big < 10 else 'NOT met'} ({big:.1f} s)"
    )


if __name__ == "__main__":
    main()
