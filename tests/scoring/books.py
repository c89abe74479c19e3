"""Books of known structure, generated: whose accounts churn, and what the data shows before they do.

`subscription_book` is a book of subscribers as a telecom or SaaS export holds them: each account's usage of
the last 60 days, its support tickets, its start and renewal dates (month-to-month or yearly), and whether it
churns in the 90 days after AS_OF. Churners are more often month-to-month, more often burst into tickets,
more often use less than before and more often stop using the product; stayers do each of those too, less
often, so that no single fact tells them apart.
"""

from __future__ import annotations

import random
from datetime import date
from typing import NamedTuple

from cockpit.scoring.facts import AccountFacts, Event, FeatureUse

from .builders import AS_OF, ago, event

FEATURES = ("calls.day", "calls.evening", "calls.night", "calls.international")


class Subscriber(NamedTuple):
    facts: AccountFacts
    churns: bool
    """Churns within the 90 days after AS_OF."""


def _anniversary_after(start: date, months: int) -> date:
    """The first anniversary of `start` every `months` months after AS_OF (days kept at most 28)."""
    month = start.year * 12 + start.month - 1
    while True:
        month += months
        day = date(month // 12, month % 12 + 1, start.day)
        if day > AS_OF:
            return day


def _subscriber(number: int, churns: bool, rng: random.Random) -> Subscriber:
    def chance(churner: float, stayer: float) -> bool:
        return rng.random() < (churner if churns else stayer)

    tenure = rng.randint(60, 1500)
    start = ago(tenure).replace(day=rng.randint(1, 28))
    monthly = chance(0.7, 0.4)
    renewal = _anniversary_after(start, 1 if monthly else 12)
    prior = rng.randint(40, 400)
    last = max(0, round(prior * rng.lognormvariate(0.0, 0.2)))
    if chance(0.35, 0.08):  # uses less
        last = round(prior * rng.uniform(0.1, 0.65))
    last_use = rng.randint(0, 3)
    if chance(0.12, 0.03):  # stopped
        last_use = rng.randint(15, 50)
        last = 0 if last_use >= 30 else last // 3
    events: list[Event] = [event("support_ticket", rng.randint(0, 89)) for _ in range(rng.randint(0, 2))]
    if chance(0.3, 0.06):  # a burst of tickets lately
        end = rng.randint(0, 25)
        events += [event("support_ticket", end + rng.randint(0, 9)) for _ in range(rng.randint(4, 6))]
    if chance(0.1, 0.02):
        events.append(event("escalation", rng.randint(0, 30)))
    if chance(0.06, 0.005):
        events.append(event("cancel_click", rng.randint(0, 20)))
    features = tuple(
        FeatureUse(feature_id, feature_id, "calls", rng.randint(5, 25), 1, ago(tenure), ago(last_use))
        for feature_id in FEATURES[: rng.randint(1, len(FEATURES))]
    )
    facts = AccountFacts(
        account_id=f"sub-{number:05d}",
        name=f"Subscriber {number}",
        as_of=AS_OF,
        mrr=round(rng.uniform(20, 120), 2),
        start_date=start,
        renewal_date=renewal,
        features=features,
        owned_products=frozenset({"calls"}),
        usage_last_30=last,
        usage_prior_30=prior,
        last_usage=ago(last_use),
        events=tuple(sorted(events, key=lambda one: one.on, reverse=True)),
    )
    return Subscriber(facts, churns)


def subscription_book(accounts: int = 2000, churn_rate: float = 0.15, seed: int = 14) -> list[Subscriber]:
    rng = random.Random(seed)
    return [_subscriber(number, rng.random() < churn_rate, rng) for number in range(accounts)]
