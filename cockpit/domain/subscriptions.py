"""Which of an account's subscriptions is current: the one that sets its plan, MRR and seats (the others are
its history). Pure: the store reads the subscriptions, the import applies the answer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple

ENDED_STATUSES = frozenset({"canceled", "cancelled", "ended", "expired", "incomplete_expired", "churned"})
"""Statuses (as billing systems write them, Stripe's among them) of a subscription that no longer runs."""


class Subscription(NamedTuple):
    id: str
    plan: str | None
    mrr: float | None
    seats: int | None
    started_on: str
    ended_on: str | None
    status: str | None


def current_subscription(subscriptions: Iterable[Subscription], today: date) -> Subscription | None:
    """The subscription running today (started, not ended, not in an ended status); of several, the one
    started last, then the biggest; None when none runs."""
    day = today.isoformat()
    running = [
        subscription
        for subscription in subscriptions
        if subscription.started_on <= day
        and (subscription.ended_on is None or subscription.ended_on > day)
        and (subscription.status or "") not in ENDED_STATUSES
    ]
    return max(running, key=lambda s: (s.started_on, s.mrr or 0.0, s.id), default=None)


def current_values(subscriptions: Iterable[Subscription], today: date) -> dict[str, Any]:
    """The account's plan, MRR and seats from its current subscription, those it gives (none: no change)."""
    current = current_subscription(subscriptions, today)
    if current is None:
        return {}
    given = {"plan": current.plan, "mrr": current.mrr, "seats": current.seats}
    return {column: value for column, value in given.items() if value is not None}
