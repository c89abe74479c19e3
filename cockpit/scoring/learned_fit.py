"""Fitting the learned churn model (`learned.ChurnModel`) on snapshots of the book's history, and measuring it
on a holdout by time: NumPy and SciPy, no I/O, no clock.

Snapshots (`snapshot_days`): the book as of days `SNAPSHOT_STEP_DAYS` apart, from the newest day whose whole
horizon has passed by the fit's day back over the history of activity the book holds. Every account that was
a customer on such a day (started by then, not churned) is one row, labelled churned when it churned within
the horizon after that day. A day whose horizon has not passed is left out: its churners are known, but not
yet all of its stayers, and keeping the one without the other would teach too high a chance.

Validation by time (`splits`): the newest snapshot day is the holdout. The model measured on it learns
from the days whose horizon ended by the holdout day, so nothing it learns from happened after that day (if
there are none, from all older days). The L2 penalty is chosen from PENALTIES by log-loss on the newest
of those days, learning from the days whose horizon ended by that one in turn. A history of one snapshot day
(a book exported on a day, say) is checked on accounts instead: one in HELD_OUT_ACCOUNTS, by id, is the
holdout, and one of the rest in as many chooses the penalty. The model kept learns from every snapshot,
with the chosen penalty.

The fit: logistic regression on the columns standardised over the rows it learns from (mean 0, standard
deviation 1), minimising the mean log-loss + penalty / 2 x the sum of the squared coefficients (the intercept
is not penalised) by L-BFGS-B with the analytic gradient, on one core: OpenBLAS's threads gain nothing on
products this size (bound by memory) and the L-BFGS-B steps' small ones, and on a machine whose cores are busy
waking them made the fit several times slower (`threadpoolctl` limits them while it runs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import attrgetter
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from cockpit.config import ChurnTier, LearnedChurnSettings
from cockpit.errors import CockpitError
from cockpit.scoring import metrics
from cockpit.scoring.common import RECENT_DAYS
from cockpit.scoring.learned import (
    CATEGORIES,
    INPUTS,
    NUMBERS,
    ChurnModel,
    Column,
    ColumnKind,
    Inputs,
    tier,
)

SNAPSHOT_STEP_DAYS: Final = 30
"""Days between snapshots: "monthly", and the width of the usage totals, so a snapshot's last 30 days are
the 30 days up to it."""
PENALTIES: Final = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001)
"""The L2 penalties tried, strongest first (each fit starts from the one before)."""
DEFAULT_PENALTY: Final = 0.01
"""The penalty when the history is too short to choose one."""
MIN_LEVEL_ROWS: Final = 30
"""Rows a plan or segment needs among those a fit learns from to get its own column; rarer ones are
"other"."""
MIN_CHURNED: Final = 10
"""Churned accounts a fit needs at the least (config's `min_churned` says when mode "auto" trusts it)."""

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]
Bools = NDArray[np.bool_]


class NotEnoughHistory(CockpitError):
    title = "Not enough churn history"


def snapshot_days(
    as_of: date, horizon_days: int, earliest: date | None, most: int, latest: date | None = None
) -> list[date]:
    """The snapshot days, newest first: from as_of - horizon back every SNAPSHOT_STEP_DAYS days, at most
    `most`, each with at least RECENT_DAYS of the book's history behind it (`earliest`: its first day of
    activity; a day before it would teach that every account was once never used). Where the history ends
    (`latest`: its last day of activity) before that first day, from the day before its end instead: a book
    exported on a day, whose churners left on it, is then read as it stood the day before."""
    days: list[date] = []
    day = as_of - timedelta(days=horizon_days)
    if latest is not None:
        day = min(day, latest - timedelta(days=1))
    while earliest is not None and day >= earliest + timedelta(days=RECENT_DAYS - 1) and len(days) < most:
        days.append(day)
        day -= timedelta(days=SNAPSHOT_STEP_DAYS)
    return days


@dataclass(frozen=True)
class Splits:
    """Snapshot indexes (into the days, newest first) of each part of the validation by time."""

    holdout: int
    train: tuple[int, ...]
    validation: int | None
    """The snapshot that chooses the penalty; None when the training days are too few."""
    inner_train: tuple[int, ...]


def splits(days: Sequence[date], horizon_days: int) -> Splits:
    """The validation by time, as the module docstring says; needs two days at least."""

    def before(index: int, candidates: Sequence[int]) -> tuple[int, ...]:
        ended = tuple(k for k in candidates if days[k] + timedelta(days=horizon_days) <= days[index])
        return ended or tuple(k for k in candidates if k > index)

    train = before(0, range(1, len(days)))
    if len(train) < 2:
        return Splits(0, train, None, ())
    validation = train[0]
    return Splits(0, train, validation, before(validation, train[1:]))


HELD_OUT_ACCOUNTS: Final = 4
"""With one snapshot day, one account in this many (by id) is the holdout, and one of the rest in as many
chooses the penalty."""


@dataclass(frozen=True)
class _Parts:
    """The rows of each part of the validation, and what they are."""

    holdout: Ints
    train: Ints
    validation: Ints | None
    inner_train: Ints | None
    by: str
    """How the holdout was chosen: "time" (the newest day) or "accounts" (one day only)."""
    train_days: tuple[int, ...]


def _parts(data: Dataset, days: Sequence[date], horizon_days: int) -> _Parts:
    if len(days) >= 2:
        plan = splits(days, horizon_days)
        validation = None if plan.validation is None else data.rows([plan.validation])
        inner = data.rows(plan.inner_train) if plan.inner_train else None
        return _Parts(data.rows([plan.holdout]), data.rows(plan.train), validation, inner, "time", plan.train)
    share = data.account % HELD_OUT_ACCOUNTS
    everything = np.arange(len(data.churned))
    return _Parts(
        everything[share == 0],
        everything[share != 0],
        everything[share == 1],
        everything[share > 1],
        "accounts",
        (0,),
    )


class SnapshotRows:
    """The rows of the snapshots as they come, kept as NumPy arrays a chunk at a time: a row is its numbers,
    while the facts it came from are let go."""

    CHUNK: Final = 8192

    def __init__(self) -> None:
        self._pending: list[tuple[Inputs, bool, int, str, float | None]] = []
        self._chunks: list[Floats] = []
        self._levels: dict[str, dict[str | None, int]] = {name: {} for name in CATEGORIES}
        self._codes: dict[str, list[int]] = {name: [] for name in CATEGORIES}
        self._accounts: dict[str, int] = {}
        self._account: list[int] = []
        self._churned: list[bool] = []
        self._snapshot: list[int] = []
        self._rules_risk: list[float] = []
        self._unknown: dict[int, frozenset[str]] = {}

    def unknown(self, snapshot: int, inputs: frozenset[str]) -> None:
        """The inputs that the book as of the snapshot cannot tell (`learned.unknown_inputs`): in its rows
        they stand at the mean, missing indicators included."""
        if inputs:
            self._unknown[snapshot] = inputs

    def add(
        self, inputs: Inputs, churned: bool, snapshot: int, account_id: str, rules_risk: float | None = None
    ) -> None:
        """One row: the account's inputs as of a snapshot, whether it churned within the horizon after it,
        the snapshot's index, and the rules' risk where they were asked."""
        self._pending.append((inputs, churned, snapshot, account_id, rules_risk))
        if len(self._pending) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        width = len(NUMBERS)
        self._chunks.append(
            np.array([row[0][:width] for row in pending], dtype=np.float64).reshape(-1, width)
        )
        for name in CATEGORIES:
            levels, level_of = self._levels[name], attrgetter(name)
            self._codes[name] += [levels.setdefault(level_of(row[0]), len(levels)) for row in pending]
        accounts = self._accounts
        self._account += [accounts.setdefault(row[3], len(accounts)) for row in pending]
        self._churned += [row[1] for row in pending]
        self._snapshot += [row[2] for row in pending]
        self._rules_risk += [np.nan if row[4] is None else row[4] for row in pending]

    def __len__(self) -> int:
        return len(self._churned) + len(self._pending)

    def dataset(self) -> Dataset:
        self._flush()
        numbers = np.concatenate(self._chunks) if self._chunks else np.empty((0, len(NUMBERS)))
        return Dataset(
            numbers=numbers,
            levels={
                name: (np.array(self._codes[name], dtype=np.intp), list(self._levels[name]))
                for name in CATEGORIES
            },
            churned=np.array(self._churned, dtype=np.float64),
            snapshot=np.array(self._snapshot, dtype=np.intp),
            account=np.array(self._account, dtype=np.intp),
            rules_risk=np.array(self._rules_risk, dtype=np.float64),
            unknown=dict(self._unknown),
        )


@dataclass(frozen=True)
class Dataset:
    numbers: Floats
    """One row per account and snapshot, one column per number of `Inputs` (NaN: missing)."""
    levels: dict[str, tuple[Ints, list[str | None]]]
    """Each category: the code of each row, and the level of each code."""
    churned: Floats
    """1.0 where the account churned within the horizon after the snapshot, else 0.0."""
    snapshot: Ints
    account: Ints
    rules_risk: Floats
    """The rules' churn risk, where the rules were asked (the holdout's rows), else NaN."""
    unknown: dict[int, frozenset[str]] = field(default_factory=dict)
    """Snapshot -> the inputs its book could not tell (`SnapshotRows.unknown`)."""

    def rows(self, snapshots: Sequence[int]) -> Ints:
        return np.flatnonzero(np.isin(self.snapshot, snapshots))

    def unknown_rows(self, rows: Ints, name: str) -> Bools | None:
        """Which of `rows` (a mask) are of snapshots that could not tell input `name`; None: none are."""
        blind = [snapshot for snapshot, inputs in self.unknown.items() if name in inputs]
        return np.isin(self.snapshot[rows], blind) if blind else None

    def churned_accounts(self, rows: Ints) -> int:
        return int(np.unique(self.account[rows][self.churned[rows] > 0]).size)


ColumnSpec = tuple[str, ColumnKind, str | None]
"""A column before it is fitted: (input, kind, level)."""


def _raw(data: Dataset, rows: Ints, specs: Sequence[ColumnSpec]) -> Floats:
    """The columns of `rows` as they enter (log where the input says), missing values as NaN."""
    matrix = np.empty((rows.size, len(specs)))
    for index, (name, kind, level) in enumerate(specs):
        if kind == "level":
            codes, names = data.levels[name]
            if level is None:  # "other": any level without a column of its own
                chosen = [
                    code
                    for code, found in enumerate(names)
                    if found is not None and (name, kind, found) not in specs
                ]
            else:
                chosen = [code for code, found in enumerate(names) if found == level]
            matrix[:, index] = np.isin(codes[rows], chosen)
            unknown = [code for code, found in enumerate(names) if found is None]
            matrix[np.isin(codes[rows], unknown), index] = np.nan  # no level: at the mean
            continue
        values = data.numbers[rows, NUMBERS.index(name)]
        if kind == "missing":
            matrix[:, index] = np.isnan(values)
        elif INPUTS[name].log:
            matrix[:, index] = np.log1p(np.maximum(values, 0.0))
        else:
            matrix[:, index] = values
        blind = data.unknown_rows(rows, name)
        if blind is not None:
            matrix[blind, index] = np.nan  # not known: at the mean
    return matrix


def _specs(data: Dataset, rows: Ints) -> list[ColumnSpec]:
    """The columns a fit on `rows` can use: each number seen at least once (and its missing indicator where
    it has one and is missing somewhere), of the rows that could tell it; each level common enough, and
    "other" for the rarer ones."""
    specs: list[ColumnSpec] = []
    for index, name in enumerate(NUMBERS):
        missing = np.isnan(data.numbers[rows, index])
        blind = data.unknown_rows(rows, name)
        if blind is not None:
            missing = missing[~blind]
        if missing.all():
            continue
        specs.append((name, "value", None))
        if INPUTS[name].missing is not None and missing.any():
            specs.append((name, "missing", None))
    for name in CATEGORIES:
        codes, names = data.levels[name]
        counts = np.bincount(codes[rows], minlength=len(names))
        own = [level is not None and counts[code] >= MIN_LEVEL_ROWS for code, level in enumerate(names)]
        specs += [(name, "level", level) for level, kept in zip(names, own, strict=True) if kept]
        if any(counts[code] for code, level in enumerate(names) if level is not None and not own[code]):
            specs.append((name, "level", None))
    return specs


@dataclass(frozen=True)
class _Design:
    """The columns of a fit, with the mean and standard deviation of each over the rows it learns from."""

    specs: list[ColumnSpec]
    means: Floats
    scales: Floats

    def matrix(self, data: Dataset, rows: Ints) -> Floats:
        """The standardised columns of `rows`; a missing value stands at the mean (0)."""
        matrix = _raw(data, rows, self.specs)
        matrix -= self.means
        matrix /= self.scales
        return np.nan_to_num(matrix, copy=False)


def _design(data: Dataset, rows: Ints) -> tuple[_Design, Floats]:
    """The columns for a fit on `rows`, standardised over them, and their matrix; columns that do not vary
    there are left out. Built in place: the matrix of a large book's snapshots is most of the fit's memory."""
    specs = _specs(data, rows)
    matrix = _raw(data, rows, specs)
    means = np.nanmean(matrix, axis=0)
    matrix -= means
    np.nan_to_num(matrix, copy=False)  # a missing value stands at the mean
    scales = np.sqrt(np.einsum("ij,ij->j", matrix, matrix) / max(rows.size, 1))
    varied = scales > 1e-9 * np.maximum(1.0, np.abs(means))
    if not varied.all():
        matrix = matrix[:, varied]
    matrix /= scales[varied]
    kept = [spec for spec, kept in zip(specs, varied, strict=True) if kept]
    return _Design(kept, means[varied], scales[varied]), matrix


def _log_loss_terms(log_odds: Floats, outcomes: Floats) -> Floats:
    return np.logaddexp(0.0, log_odds) - outcomes * log_odds


def _fit(matrix: Floats, outcomes: Floats, penalty: float, start: Floats | None) -> Floats:
    """Coefficients then intercept, minimising the penalised mean log-loss."""
    from scipy.optimize import minimize
    from scipy.special import expit

    count, width = matrix.shape

    def loss(theta: Floats) -> tuple[float, Floats]:
        weights, intercept = theta[:-1], theta[-1]
        log_odds = matrix @ weights + intercept
        residual = expit(log_odds) - outcomes
        gradient = np.empty_like(theta)
        gradient[:-1] = matrix.T @ residual / count + penalty * weights
        gradient[-1] = residual.mean()
        value = _log_loss_terms(log_odds, outcomes).mean() + 0.5 * penalty * float(weights @ weights)
        return float(value), gradient

    if start is None:
        rate = min(max(outcomes.mean(), 1e-6), 1 - 1e-6)
        start = np.zeros(width + 1)
        start[-1] = np.log(rate / (1 - rate))
    with threadpool_limits(limits=1, user_api="blas"):
        found = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    return np.asarray(found.x, dtype=np.float64)


def _model(design: _Design, theta: Floats, penalty: float) -> ChurnModel:
    return ChurnModel(
        columns=tuple(
            Column(name, kind, level, float(mean), float(scale), float(coefficient))
            for (name, kind, level), mean, scale, coefficient in zip(
                design.specs, design.means, design.scales, theta[:-1], strict=True
            )
        ),
        intercept=float(theta[-1]),
        penalty=penalty,
    )


def _chances(design: _Design, theta: Floats, data: Dataset, rows: Ints) -> Floats:
    from scipy.special import expit

    return np.asarray(expit(design.matrix(data, rows) @ theta[:-1] + theta[-1]), dtype=np.float64)


@dataclass(frozen=True)
class Evaluation:
    """How well chances (or risks) ranked and matched what happened on the holdout."""

    auc: float | None
    auc_se: float | None
    """The AUC's standard error (`metrics.auc_standard_error`)."""
    brier: float | None
    tiers: dict[ChurnTier, metrics.GroupRate]
    lift: float | None
    """The high tier's churn rate over the low tier's."""
    reliability: list[metrics.Bin]

    def to_json(self) -> dict[str, Any]:
        return {
            "auc": self.auc,
            "auc_se": self.auc_se,
            "brier": self.brier,
            "tiers": {
                name: {"accounts": rate.accounts, "churned": rate.churned, "rate": rate.rate}
                for name, rate in sorted(
                    self.tiers.items(), key=lambda item: ("high", "medium", "low").index(item[0])
                )
            },
            "lift_high_over_low": None if self.lift is None or self.lift == float("inf") else self.lift,
            "reliability": [
                {
                    "low": found.low,
                    "high": found.high,
                    "accounts": found.accounts,
                    "predicted": found.predicted,
                    "observed": found.observed,
                }
                for found in self.reliability
            ],
        }


def evaluate(
    chances: Sequence[float], outcomes: Sequence[bool], tier_of: Callable[[float], ChurnTier]
) -> Evaluation:
    tiers = metrics.rates(
        (tier_of(chance), outcome) for chance, outcome in zip(chances, outcomes, strict=True)
    )
    auc = metrics.auc(chances, outcomes)
    positives = sum(outcomes)
    return Evaluation(
        auc=auc,
        auc_se=None if auc is None else metrics.auc_standard_error(auc, positives, len(outcomes) - positives),
        brier=metrics.brier(chances, outcomes),
        tiers=tiers,
        lift=metrics.lift(tiers.get("high"), tiers.get("low")),
        reliability=metrics.reliability(chances, outcomes),
    )


@dataclass(frozen=True)
class LearnedFit:
    model: ChurnModel
    """Fitted on every snapshot."""
    learned: Evaluation
    """The model that learned from the training days, on the holdout."""
    rules: Evaluation
    """The rules' churn risk on the same holdout rows."""
    metrics: dict[str, Any]
    """All of it, JSON-ready: what `cockpit churn fit` stores and shows."""
    rows: int
    accounts: int
    churned: int
    """Distinct accounts that churned within the horizon of some snapshot."""


def fit_churn_model(
    data: Dataset,
    days: Sequence[date],
    horizon_days: int,
    settings: LearnedChurnSettings,
    rules_tier: Callable[[float], ChurnTier],
) -> LearnedFit:
    """Choose the penalty, measure on the holdout beside the rules (`data.rules_risk` on the holdout's rows),
    and fit the model kept; see the module docstring."""
    everything = np.arange(len(data.churned))
    churned = data.churned_accounts(everything)
    if not days:
        raise NotEnoughHistory(
            f"the book's history gives no snapshot day with a whole {horizon_days}-day horizon seen.",
            hint=f"Fit as of a later day, or with a shorter --horizon; snapshots are {SNAPSHOT_STEP_DAYS} days apart.",
        )
    parts = _parts(data, days, horizon_days)
    holdout, train = parts.holdout, parts.train
    problems = []
    if churned < MIN_CHURNED:
        problems.append(f"{churned} churned account(s) in all, of the {MIN_CHURNED} a fit needs at the least")
    for name, rows in (("holdout", holdout), ("training", train)):
        found = int(data.churned[rows].sum())
        if found == 0 or found == rows.size:
            problems.append(
                f"the {name} rows ({rows.size:,}) have {found:,} churn(s): both outcomes are needed"
            )
    if problems:
        raise NotEnoughHistory(
            f"not enough churn history to learn from: {'; '.join(problems)} "
            f"({len(days)} snapshots from {days[-1]} to {days[0]}, {horizon_days}-day horizon).",
            hint="Import the churned accounts with their churned_on day, or fit with a longer history.",
        )
    penalty, scores = _choose_penalty(data, parts)
    design, matrix = _design(data, train)
    theta = _fit(matrix, data.churned[train], penalty, None)
    del matrix
    outcomes = (data.churned[holdout] > 0).tolist()
    chances = _chances(design, theta, data, holdout).tolist()
    risks = data.rules_risk[holdout].tolist()
    learned_eval = evaluate(chances, outcomes, lambda chance: tier(chance, settings))
    rules_eval = evaluate(risks, outcomes, rules_tier)
    train_rate = float(data.churned[train].mean())
    final, matrix = _design(data, everything)
    model = _model(final, _fit(matrix, data.churned, penalty, None), penalty)
    report = {
        "horizon_days": horizon_days,
        "snapshots": [day.isoformat() for day in days],
        "holdout": {
            "as_of": days[0].isoformat(),
            "by": parts.by,
            "accounts": holdout.size,
            "churned": int(data.churned[holdout].sum()),
            "base_rate": float(data.churned[holdout].mean()),
            "brier_of_training_rate": float(np.mean((train_rate - data.churned[holdout]) ** 2)),
            "learned": learned_eval.to_json(),
            "rules": rules_eval.to_json(),
        },
        "training": {
            "as_of": [days[k].isoformat() for k in parts.train_days],
            "rows": train.size,
            "churned": int(data.churned[train].sum()),
        },
        "penalty": {
            "chosen": penalty,
            "validation_as_of": (
                None
                if parts.validation is None
                else days[int(data.snapshot[parts.validation[0]])].isoformat()
            ),
            "log_loss": scores,
        },
        "final": {
            "rows": len(data.churned),
            "churned_rows": int(data.churned.sum()),
            "columns": len(final.specs),
        },
    }
    return LearnedFit(
        model, learned_eval, rules_eval, report, len(data.churned), int(np.unique(data.account).size), churned
    )


def _choose_penalty(data: Dataset, parts: _Parts) -> tuple[float, dict[str, float]]:
    """The penalty of least log-loss on the validation rows, with each penalty's log-loss."""
    inner, validation = parts.inner_train, parts.validation
    if inner is None or validation is None or data.churned[inner].sum() in (0, inner.size):
        return DEFAULT_PENALTY, {}
    design, matrix = _design(data, inner)
    outcomes = data.churned[inner]
    checked = design.matrix(data, validation)
    scores: dict[str, float] = {}
    theta: Floats | None = None
    best = (float("inf"), DEFAULT_PENALTY)
    for penalty in PENALTIES:
        theta = _fit(matrix, outcomes, penalty, theta)
        log_odds = checked @ theta[:-1] + theta[-1]
        score = float(_log_loss_terms(log_odds, data.churned[validation]).mean())
        scores[f"{penalty:g}"] = score
        best = min(best, (score, penalty))
    return best[1], scores
