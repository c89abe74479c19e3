"""How well a score tells the accounts that churned from those that stayed: pure functions over scores and
outcomes, shared by the learned churn model's validation and by `cockpit score evaluate`.

- `auc`: the chance that a random churner scores above a random stayer (ties count half); 0.5 is chance;
  `auc_standard_error` says how far it may be off.
- `brier`: the mean squared gap between a predicted chance and what happened (0 is perfect).
- `reliability`: predicted against observed churn in bins of predicted chance (calibration).
- `rates`: the churn rate per group (per tier, per band), and `lift`: one group's rate over another's.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def auc(scores: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """Area under the ROC curve by ranks (Mann-Whitney U), ties counted half; None without both outcomes."""
    if len(scores) != len(outcomes):
        raise ValueError("one outcome per score")
    positives = sum(outcomes)
    negatives = len(outcomes) - positives
    if positives == 0 or negatives == 0:
        return None
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        average_rank = (start + end) / 2 + 1  # ranks are 1-based; a tie shares the mean of its ranks
        rank_sum += average_rank * sum(outcomes[order[i]] for i in range(start, end + 1))
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def brier(chances: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    if len(chances) != len(outcomes):
        raise ValueError("one outcome per chance")
    if not chances:
        return None
    return sum(
        (chance - float(outcome)) ** 2 for chance, outcome in zip(chances, outcomes, strict=True)
    ) / len(chances)


@dataclass(frozen=True)
class Bin:
    """Accounts whose predicted chance fell in [low, high)."""

    low: float
    high: float
    accounts: int
    predicted: float
    """The mean predicted chance."""
    observed: float
    """The share that churned."""


def reliability(chances: Sequence[float], outcomes: Sequence[bool], bins: int = 10) -> list[Bin]:
    """Predicted against observed churn in `bins` equal-width bins of chance; empty bins are left out."""
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for chance, outcome in zip(chances, outcomes, strict=True):
        grouped[min(bins - 1, max(0, int(chance * bins)))].append((chance, outcome))
    return [
        Bin(
            low=index / bins,
            high=(index + 1) / bins,
            accounts=len(members),
            predicted=sum(chance for chance, _ in members) / len(members),
            observed=sum(outcome for _, outcome in members) / len(members),
        )
        for index, members in enumerate(grouped)
        if members
    ]


@dataclass(frozen=True)
class GroupRate:
    accounts: int
    churned: int

    @property
    def rate(self) -> float | None:
        return self.churned / self.accounts if self.accounts else None


def rates(groups: Iterable[tuple[K, bool]]) -> dict[K, GroupRate]:
    """The churn rate of each group, from (group, churned) pairs."""
    counts: dict[K, list[int]] = {}
    for group, outcome in groups:
        count = counts.setdefault(group, [0, 0])
        count[0] += 1
        count[1] += int(outcome)
    return {group: GroupRate(accounts, churned) for group, (accounts, churned) in counts.items()}


def lift(high: GroupRate | None, low: GroupRate | None) -> float | None:
    """How many times the `high` group's churn rate is the `low` group's; None when either is unknown, inf
    when only the low group never churned."""
    if high is None or low is None or high.rate is None or low.rate is None:
        return None
    if low.rate == 0:
        return None if high.rate == 0 else float("inf")
    return high.rate / low.rate


def auc_standard_error(value: float, positives: int, negatives: int) -> float:
    """The standard error of an AUC of `value` from that many churners and stayers (Hanley and McNeil, 1982:
    the AUC as a Mann-Whitney statistic, with its variance approximated as if the scores were exponential)."""
    q1, q2 = value / (2 - value), 2 * value * value / (1 + value)
    variance = (
        value * (1 - value) + (positives - 1) * (q1 - value * value) + (negatives - 1) * (q2 - value * value)
    ) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))
