"""The measures of how well a score tells churners from stayers, on data whose answer is known."""

from __future__ import annotations

import random

import pytest

from cockpit.scoring.metrics import GroupRate, auc, brier, lift, rates, reliability


def brute_force_auc(scores: list[float], outcomes: list[bool]) -> float:
    pairs = [
        (p, n)
        for p, yes in zip(scores, outcomes, strict=True)
        if yes
        for n, no in zip(scores, outcomes, strict=True)
        if not no
    ]
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)


def test_auc_matches_counting_every_pair_ties_included() -> None:
    rng = random.Random(3)
    for _ in range(50):
        size = rng.randint(2, 40)
        scores = [float(rng.randint(0, 5)) for _ in range(size)]
        outcomes = [rng.random() < 0.4 for _ in range(size)]
        if all(outcomes) or not any(outcomes):
            assert auc(scores, outcomes) is None
            continue
        assert auc(scores, outcomes) == pytest.approx(brute_force_auc(scores, outcomes))


def test_auc_is_one_for_a_perfect_ranking_and_near_half_for_noise() -> None:
    assert auc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert auc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 0.0
    rng = random.Random(11)
    scores = [rng.random() for _ in range(4000)]
    shuffled = [rng.random() < 0.3 for _ in scores]
    noise = auc(scores, shuffled)
    assert noise is not None and abs(noise - 0.5) < 0.03


def test_brier_and_reliability_of_a_calibrated_forecast() -> None:
    rng = random.Random(5)
    chances = [rng.random() for _ in range(20000)]
    outcomes = [rng.random() < chance for chance in chances]
    table = reliability(chances, outcomes, bins=10)
    assert len(table) == 10 and sum(b.accounts for b in table) == 20000
    for b in table:
        assert b.low <= b.predicted < b.high
        assert abs(b.observed - b.predicted) < 0.04
    score = brier(chances, outcomes)
    assert score is not None and abs(score - 1 / 6) < 0.01  # E[p(1-p)] for p uniform on [0, 1]
    assert brier([1.0, 0.0], [True, False]) == 0.0
    assert brier([], []) is None


def test_rates_and_lift() -> None:
    found = rates(
        [("high", True), ("high", False), ("low", False), ("low", False), ("low", True), ("low", False)]
    )
    assert found == {"high": GroupRate(2, 1), "low": GroupRate(4, 1)}
    assert lift(found["high"], found["low"]) == 2.0
    assert lift(found["high"], GroupRate(3, 0)) == float("inf")
    assert lift(GroupRate(3, 0), GroupRate(3, 0)) is None
    assert lift(None, found["low"]) is None
