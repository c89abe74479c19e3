"""Books whose churn follows a stated rule, for judging the churn rules where the truth is known.

Each account churns within the 90 days after AS_OF with probability sigmoid(log-odds), the log-odds a sum of
what its data show (`Truth`) plus noise the data do not show:

- support calls: `per_call` for each ticket of the last 60 days; an account's call rate varies widely
  (gamma-distributed), as subscribers' do, and the tickets fall on random days of those 60;
- a month-to-month contract (`month_to_month`), against a yearly one renewed on its anniversaries;
- a short tenure (`new`, in the first six months), and more so on month-to-month terms (`new_monthly`);
- a fall in use (`per_fall` for each tenth of the last 30 days' use lost against the 30 before), and a
  silence (`silent`: no use for three weeks or more).

`monthly_share` of the accounts are on month-to-month terms; with `tenure_days` (low, high), tenures are
uniform in it instead of long-tailed (a book of young accounts only).

A `kind` of book holds only some of these data, as real exports do: "tickets" (support calls and nothing
else), "usage" (use by feature over 60 days and nothing else), "contract" (start date, renewal date and
contract term only: plan and charges, which the rules cannot read, carry part of the churn there) or
"full". What a book does not hold still drives its churn (through the noise), but its data are not there
to read: the book's `coverage` says which kinds it holds. With `shuffled`, the outcomes are dealt out to
the accounts at random: the same data, no structure.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Literal, NamedTuple

from cockpit.domain.dates import add_months
from cockpit.scoring.facts import AccountFacts, BookCoverage, Event, FeatureUse
from tests.learned_books import _poisson, sigmoid

from .builders import AS_OF, ago

BookKind = Literal["full", "tickets", "usage", "contract"]
KINDS: tuple[BookKind, ...] = ("full", "tickets", "usage", "contract")
FEATURES = ("calls.day", "calls.evening", "calls.night", "calls.international")


class Truth(NamedTuple):
    """The log-odds of churning within 90 days: `base` plus each effect the account shows."""

    base: float = -3.3
    per_call: float = 0.45
    month_to_month: float = 1.2
    new: float = 0.5
    new_monthly: float = 0.8
    per_fall: float = 0.3
    silent: float = 1.2
    noise: float = 0.8
    """Standard deviation of what the data do not show (plan, price, a competitor's offer)."""


TRUTH = Truth()


class KnownBook(NamedTuple):
    facts: list[AccountFacts]
    churned: list[bool]
    coverage: BookCoverage


def _renewal(start: date, months: int) -> date:
    """The first anniversary of `start`, every `months` months, after AS_OF."""
    step = 1
    while (renewal := add_months(start, step * months)) <= AS_OF:
        step += 1
    return renewal


def known_book(
    kind: BookKind,
    *,
    accounts: int = 3000,
    seed: int = 1,
    shuffled: bool = False,
    truth: Truth = TRUTH,
    monthly_share: float = 0.45,
    tenure_days: tuple[int, int] | None = None,
) -> KnownBook:
    rng = random.Random(seed)
    holds_tickets = kind in ("full", "tickets")
    holds_usage = kind in ("full", "usage")
    holds_contract = kind in ("full", "contract")
    facts: list[AccountFacts] = []
    churned: list[bool] = []
    for number in range(accounts):
        tenure = int(30 + rng.expovariate(1 / 700)) if tenure_days is None else rng.randint(*tenure_days)
        monthly = rng.random() < monthly_share
        new = tenure < 182
        calls = _poisson(rng, rng.gammavariate(1.2, 1.0))
        fall = min(1.0, max(0.0, rng.gauss(0.0, 0.15) + (rng.random() < 0.12) * rng.uniform(0.3, 1.0)))
        silent_days = rng.randint(21, 60) if fall >= 0.9 and rng.random() < 0.7 else rng.randint(0, 4)
        log_odds = (
            truth.base
            + truth.per_call * calls
            + truth.month_to_month * monthly
            + truth.new * new
            + truth.new_monthly * (new and monthly)
            + truth.per_fall * 10 * fall
            + truth.silent * (silent_days >= 21)
            + rng.gauss(0.0, truth.noise)
        )
        churned.append(rng.random() < sigmoid(log_odds))
        prior = int(rng.lognormvariate(5.0, 0.8))
        last = 0 if silent_days >= 30 else round(prior * (1 - fall) * rng.uniform(0.9, 1.1))
        start = ago(tenure)
        tickets = tuple(Event("support_ticket", ago(rng.randrange(60))) for _ in range(calls))
        used = (
            tuple(
                FeatureUse(feature, feature, "calls", rng.randint(5, 25), 1, start, ago(silent_days))
                for feature in FEATURES[: rng.randint(1, len(FEATURES))]
            )
            if holds_usage
            else ()
        )
        facts.append(
            AccountFacts(
                account_id=f"sub-{number:05d}",
                name=f"Subscriber {number}",
                as_of=AS_OF,
                mrr=round(rng.uniform(20, 120), 2),
                start_date=start if holds_contract else None,
                renewal_date=_renewal(start, 1 if monthly else 12) if holds_contract else None,
                contract_months=(1 if monthly else 12) if holds_contract else None,
                features=used,
                owned_products=frozenset({"calls"}),
                usage_last_30=last if holds_usage else 0,
                usage_prior_30=prior if holds_usage else 0,
                last_usage=ago(silent_days) if holds_usage else None,
                events=tuple(sorted(tickets, key=lambda one: one.on, reverse=True)) if holds_tickets else (),
            )
        )
    if shuffled:
        rng.shuffle(churned)
    return KnownBook(facts, churned, BookCoverage(usage=holds_usage, tickets=holds_tickets))
