"""The published data sets the models must reproduce (tests/clv/data, sources in its README)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np

from cockpit.clv import bgnbd, gamma_gamma

DATA = Path(__file__).resolve().parent / "data"
CDNOW_CALIBRATION_END = date(1997, 9, 30)
"""Last day of the 39-week calibration period (the summary's T is measured to it)."""


@cache
def survivors() -> dict[str, list[int]]:
    """Fader & Hardie (2007): customers of the 1,000 acquired in year 0 still active after each year."""
    with (DATA / "sbg_survivors.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {segment: [int(row[segment]) for row in rows] for segment in ("regular", "high_end")}


@dataclass(frozen=True)
class Cdnow:
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m_x: np.ndarray

    @property
    def purchases(self) -> bgnbd.BgNbdData:
        return bgnbd.BgNbdData.of(self.x, self.t_x, self.T)

    @property
    def spend(self) -> gamma_gamma.SpendData:
        repeat = self.x > 0
        return gamma_gamma.SpendData.of(self.x[repeat], self.m_x[repeat])


@cache
def cdnow() -> Cdnow:
    """The CDNOW 1/10 sample's per-customer summary: x, t_x and T in weeks, m_x the mean repeat spend."""
    with (DATA / "cdnow_summary.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    column = {name: np.array([float(row[name]) for row in rows]) for name in ("x", "t_x", "T", "zbar")}
    return Cdnow(column["x"], column["t_x"], column["T"], column["zbar"])


@dataclass(frozen=True)
class Purchase:
    customer: int
    day: date
    cds: int
    amount: float


@cache
def cdnow_transactions() -> tuple[Purchase, ...]:
    """The CDNOW 1/10 sample's purchases over 78 weeks (customer, day, CDs, dollars)."""
    found = []
    for line in (DATA / "cdnow_sample.txt").read_text(encoding="ascii").splitlines():
        customer, _customer, day, cds, amount = line.split()
        found.append(
            Purchase(int(customer), date(int(day[:4]), int(day[4:6]), int(day[6:])), int(cds), float(amount))
        )
    return tuple(found)
