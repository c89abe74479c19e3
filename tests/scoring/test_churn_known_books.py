"""The churn rules on books whose churn follows a known rule (`known_books`): whatever kind of data a book
holds (tickets only, usage only, contract only, all of it), the high tier is the accounts with the strongest
evidence and churns at least twice as often as the low tier; with the outcomes shuffled, the same scores
find no structure."""

from __future__ import annotations

import pytest

from cockpit.scoring.churn import ChurnPart
from cockpit.scoring.metrics import auc, auc_standard_error, lift, rates
from cockpit.scoring.rules import AccountScore, score_book

from .builders import defaults
from .known_books import KINDS, BookKind, KnownBook, Truth, known_book


def scored(book: KnownBook) -> list[AccountScore]:
    return score_book(book.facts, defaults(), coverage=book.coverage)


def measure(scores: list[AccountScore], churned: list[bool]) -> tuple[dict[str, float], float, float]:
    """The churn rate per tier, the lift of high over low, the AUC of the risk and its standard error."""
    by_tier = rates(zip((score.churn_tier for score in scores), churned, strict=True))
    found = lift(by_tier.get("high"), by_tier.get("low"))
    area = auc([score.churn_risk for score in scores], churned)
    assert found is not None and area is not None
    positives = sum(churned)
    error = auc_standard_error(area, positives, len(churned) - positives)
    return {tier: rate.rate or 0.0 for tier, rate in by_tier.items()}, found, (area - 0.5) / error


def check_structure_found(book: KnownBook) -> None:
    scores = scored(book)
    by_tier, found, sigmas = measure(scores, book.churned)
    high = sum(score.churn_tier == "high" for score in scores)
    assert high >= 0.03 * len(scores)
    assert found >= 2, by_tier
    assert sigmas >= 4  # the risk ranks churners above stayers, well beyond chance
    if "medium" in by_tier:
        assert by_tier["low"] <= by_tier["medium"] <= by_tier["high"]


def check_no_structure_found(book: KnownBook) -> None:
    _, found, sigmas = measure(scored(book), book.churned)
    assert found <= 1.6
    assert abs(sigmas) <= 3


@pytest.mark.parametrize("kind", KINDS)
def test_the_high_tier_churns_at_least_twice_as_often_as_the_low(kind: BookKind) -> None:
    check_structure_found(known_book(kind))


@pytest.mark.parametrize("kind", KINDS)
def test_with_the_outcomes_shuffled_the_lift_vanishes(kind: BookKind) -> None:
    check_no_structure_found(known_book(kind, shuffled=True))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4])
@pytest.mark.parametrize("kind", KINDS)
def test_at_other_seeds_too(kind: BookKind, seed: int) -> None:
    check_structure_found(known_book(kind, seed=seed))
    check_no_structure_found(known_book(kind, seed=seed, shuffled=True))


def test_a_book_where_everyone_is_new_and_monthly_ranks_by_what_sets_accounts_apart() -> None:
    """Every account month-to-month and under eight months old (as an export that dates every contract from
    its account's first bill may hold them): the contract's traits tell the accounts nothing, so they do
    not fire; tickets and use still sort the tiers, and the low tier is not emptied. (The base odds are
    lower, so that the book's churn stays near a quarter, as the others'.)"""
    book = known_book("full", monthly_share=1.0, tenure_days=(30, 240), truth=Truth(base=-4.6))
    scores = scored(book)
    parts = [score.body.churn for score in scores]
    fired = {signal.name for part in parts if isinstance(part, ChurnPart) for signal in part.signals}
    assert not fired & {"month_to_month", "early_life"}
    assert sum(score.churn_tier == "low" for score in scores) >= 0.3 * len(scores)
    check_structure_found(book)
