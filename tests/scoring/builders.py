"""Account facts by hand, and the shipped settings with a few keys changed, for the scoring tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from cockpit.config import Settings
from cockpit.domain.names import SignalKindName
from cockpit.scoring.facts import FULL_COVERAGE, AccountFacts, BookCoverage, Complement, Event, FeatureUse
from cockpit.scoring.rules import AccountScore, score_account
from tests.tuning import defaults as defaults
from tests.tuning import tune as tune

AS_OF = date(2026, 11, 20)


def ago(days: int) -> date:
    """The day `days` days before AS_OF (negative: after it)."""
    return AS_OF - timedelta(days=days)


def feature(
    feature_id: str = "core.reports",
    *,
    days: int = 0,
    users: int = 0,
    first: int | None = None,
    last: int | None = None,
    product: str = "core",
) -> FeatureUse:
    """A feature used on `days` days by `users` users in the window, first and last used `first`/`last` days
    ago (both default to the window's use: today, and never when there was none)."""
    used = days > 0
    first_day = ago(first) if first is not None else (AS_OF if used else None)
    last_day = ago(last) if last is not None else (AS_OF if used else None)
    return FeatureUse(
        feature_id, feature_id.split(".")[-1].title(), product, days, users, first_day, last_day
    )


def event(
    kind: SignalKindName,
    days_ago: int,
    value: float | None = None,
    *,
    detail: str | None = None,
    ref: str | None = None,
) -> Event:
    return Event(kind, ago(days_ago), value, detail, ref)


ANALYTICS = Complement("analytics", "Analytics", "core", "slice reports by cohort")


def account(account_id: str = "acc-1", **fields: Any) -> AccountFacts:
    """A quiet account that fires no churn signal: steady use until today, nothing else known.

    Health rests on usage trend (flat), recency and support only; the other components are missing.
    """
    values: dict[str, Any] = {
        "name": account_id.upper(),
        "as_of": AS_OF,
        "mrr": 1000.0,
        "usage_last_30": 100,
        "usage_prior_30": 100,
        "last_usage": AS_OF,
    }
    values.update(fields)
    values["events"] = tuple(sorted(values.get("events", ()), key=lambda e: e.on, reverse=True))
    return AccountFacts(account_id=account_id, **values)


def healthy(account_id: str = "acc-1", **fields: Any) -> AccountFacts:
    """An account doing well on every health component, adopted, with a complement it does not own."""
    values: dict[str, Any] = {
        "features": (
            feature("core.reports", days=25, users=12),
            feature("core.alerts", days=10, users=3),
        ),
        "owned_products": frozenset({"core"}),
        "usage_last_30": 120,
        "events": (
            event("nps", 10, 10.0),
            event("email_sent", 5, ref="m1"),
            event("email_opened", 4, ref="m1"),
        ),
        "last_csm_touch": ago(3),
        "complements": (ANALYTICS,),
    }
    values.update(fields)
    return account(account_id, **values)


def score(
    facts: AccountFacts, settings: Settings | None = None, *, coverage: BookCoverage = FULL_COVERAGE
) -> AccountScore:
    """One account scored, in a book that records usage and tickets unless `coverage` says otherwise."""
    return score_account(facts, settings or defaults(), coverage)


def section(scored: AccountScore, name: str) -> dict[str, Any]:
    """One score's part of the explanation, e.g. section(scored, "churn")."""
    return cast(dict[str, Any], scored.explanation[name])


def components(scored: AccountScore) -> dict[str, dict[str, Any]]:
    """The health components computed, by name."""
    return {part["name"]: part for part in section(scored, "health")["components"]}


def component(scored: AccountScore, name: str) -> float | None:
    """One health component's score, None when it is missing."""
    found = components(scored).get(name)
    return None if found is None else float(found["score"])


def missing(scored: AccountScore) -> dict[str, str]:
    """The missing health components, name -> why."""
    return {part["name"]: part["why"] for part in section(scored, "health")["missing"]}


def signals(scored: AccountScore) -> list[dict[str, Any]]:
    return list(section(scored, "churn")["signals"])


def fired(scored: AccountScore, name: str) -> list[str]:
    """The dates (ISO) on which a churn signal fired, oldest first."""
    return sorted(signal["on"] for signal in signals(scored) if signal["name"] == name)
