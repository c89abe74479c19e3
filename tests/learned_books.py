"""Books whose churn follows a known rule, for the learned churn model's tests (not the demo: here the truth
is written down).

Accounts start at a steady rate, from two years before the history held on, and each lives month by month
(30-day periods) from its start. In each period it may fall into trouble, for good: its usage halves every
period from then on and it files more tickets. It churns in a period with probability sigmoid(base + falling x
[in trouble for more than `warning` periods] + plan effect + contract effect + tickets x the period's
tickets); the churn day falls within the period, and nothing happens after it. Usage comes weekly, tickets as
`support_ticket` signals, on one product of two features.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from cockpit.domain.dates import add_months
from cockpit.store import Store

STAMP = "2026-01-01T00:00:00+00:00"
PLANS = ("Starter", "Team", "Business")
RUN_IN_DAYS = 730
"""Accounts start from this long before the history held (of `history_days`) on."""
TERMS = (1, 12)


@dataclass(frozen=True)
class Truth:
    """The rule churn follows: log-odds of churning in a 30-day period."""

    base: float = -6.0
    falling: float = 5.5
    """When in trouble for more than `warning` periods (its usage halving every period)."""
    tickets: float = 0.5
    """Per ticket filed in the period."""
    plans: Mapping[str, float] = field(
        default_factory=lambda: {"Starter": 1.5, "Team": 0.0, "Business": -1.5}
    )
    terms: Mapping[int, float] = field(default_factory=lambda: dict.fromkeys(TERMS, 0.0))
    """By contract term in months."""
    trouble: float = 0.03
    """The chance of falling into trouble in a period."""
    warning: int = 2
    """Periods in trouble before the churn odds rise: the fall in usage shows first."""


def sigmoid(log_odds: float) -> float:
    return 1.0 / (1.0 + math.exp(-log_odds))


def _poisson(rng: random.Random, mean: float) -> int:
    count, threshold, product = 0, math.exp(-mean), rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


@dataclass
class Book:
    anchor: date
    churned: dict[str, date]
    """Account id -> its churn day."""


def build_book(
    store: Store,
    *,
    accounts: int = 2000,
    anchor: date = date(2026, 11, 1),
    history_days: int = 730,
    truth: Truth | None = None,
    seed: int = 1,
    shuffled: bool = False,
    contract_terms: bool = False,
    renewal_dates: bool = True,
) -> Book:
    """Generate the book into an empty store. `shuffled` deals the churn days out again among the accounts
    at random (after the rule made them), so that nothing about an account tells its outcome.
    `contract_terms` fills the accounts' contract terms (else the book holds none); without
    `renewal_dates` the accounts hold none (so the rules' renewal signal cannot tell the terms apart)."""
    truth = truth or Truth()
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    usage: list[tuple[str, str, str, int]] = []
    tickets: list[tuple[str, str, str, str]] = []
    entitlements: list[tuple[str, str, str]] = []
    churned: dict[str, date] = {}
    first_day = anchor - timedelta(days=history_days)
    kept = first_day - timedelta(days=400)  # older events are before every window of every snapshot
    for number in range(accounts):
        account_id = f"a{number:05d}"
        # A steady inflow of accounts, from long enough before the history that its mix of ages holds still.
        start = anchor - timedelta(days=rng.randrange(0, history_days + RUN_IN_DAYS))
        plan, term = rng.choice(PLANS), rng.choice(TERMS)
        level = math.exp(rng.gauss(math.log(40), 0.5))
        trouble = 0  # periods in trouble
        period_start, churn = start, None
        while churn is None and period_start < anchor:
            trouble += 1 if trouble or rng.random() < truth.trouble else 0
            if trouble:
                level *= 0.5
            filed = _poisson(rng, 0.3 + 1.5 * bool(trouble))
            for _ in range(filed):
                day = period_start + timedelta(days=rng.randrange(30))
                if kept <= day < anchor:
                    tickets.append(
                        (account_id, "support_ticket", f"{day.isoformat()}T10:00:00", f"t{len(tickets)}")
                    )
            for week in range(4):
                day = period_start + timedelta(days=7 * week + rng.randrange(7))
                count = round(level * rng.uniform(0.8, 1.2) / 4)
                if count > 0 and kept <= day < anchor:
                    feature = "core.reports" if week % 2 else "core.alerts"
                    usage.append((account_id, feature, f"{day.isoformat()}T09:00:00", count))
            falling = trouble > truth.warning
            log_odds = truth.base + truth.falling * falling + truth.plans[plan] + truth.terms[term]
            if rng.random() < sigmoid(log_odds + truth.tickets * filed):
                churn = period_start + timedelta(days=rng.randrange(30))
                if churn >= anchor:
                    churn = None
                    break
            period_start += timedelta(days=30)
        renewal = start
        while renewal <= (churn or anchor):
            renewal = add_months(renewal, term)
        row: dict[str, object] = {
            "id": account_id,
            "name": f"Account {number}",
            "plan": plan,
            "segment": "smb",
            "mrr": float(rng.choice((100, 300, 900))),
            "seats": rng.randrange(1, 50),
            "start_date": start.isoformat(),
            "renewal_date": renewal.isoformat() if renewal_dates else None,
            "created_at": STAMP,
            "updated_at": STAMP,
        }
        if contract_terms:
            row["contract_months"] = term
        rows.append(row)
        entitlements.append((account_id, "core", start.isoformat()))
        if churn is not None:
            churned[account_id] = churn
    if shuffled:
        outcomes = [churned.get(str(row["id"])) for row in rows]
        rng.shuffle(outcomes)
        churned = {str(row["id"]): day for row, day in zip(rows, outcomes, strict=True) if day is not None}
    for row in rows:
        churn_day = churned.get(str(row["id"]))
        row["churned_on"] = None if churn_day is None else churn_day.isoformat()
    with store.write() as db:
        db.table("accounts").insert_all(rows)
        db.table("products").insert({"id": "core", "name": "Core"})
        db.table("features").insert_all(
            [
                {"id": "core.reports", "product_id": "core", "name": "Reports"},
                {"id": "core.alerts", "product_id": "core", "name": "Alerts"},
            ]
        )
        db.conn.executemany(
            "INSERT INTO entitlements (account_id, product_id, started_on) VALUES (?, ?, ?)", entitlements
        )
        db.conn.executemany(
            "INSERT INTO usage_events (account_id, feature_id, occurred_at, count) VALUES (?, ?, ?, ?)", usage
        )
        db.conn.executemany(
            "INSERT INTO signals (account_id, kind, occurred_at, source_id) VALUES (?, ?, ?, ?)", tickets
        )
    return Book(anchor, churned)


def build_export(
    store: Store, *, accounts: int = 1500, day: date = date(2026, 9, 1), seed: int = 1
) -> set[str]:
    """A book as a data set exported on `day` comes: 60 days of daily usage and tickets before it, a plan
    and a start (tenure) per account, and those that churned leaving on that day. Churn follows log-odds
    -2.3 + 1.6 on plan "intl" + 0.9 per ticket over 3, lower with tenure. Returns the ids of those that
    churned."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    usage: list[tuple[str, str, str, int]] = []
    tickets: list[tuple[str, str, str, str]] = []
    churned: set[str] = set()
    for number in range(accounts):
        account_id = f"x{number:05d}"
        tenure, intl, minutes = rng.randrange(30, 2000), rng.random() < 0.15, max(0.0, rng.gauss(180, 50))
        calls = _poisson(rng, 1.5)
        if rng.random() < sigmoid(-2.3 + 1.6 * intl + 0.9 * max(0, calls - 3) - 0.0004 * tenure):
            churned.add(account_id)
        rows.append(
            {
                "id": account_id,
                "name": f"Export {number}",
                "plan": "intl" if intl else "basic",
                "mrr": round(minutes * 0.17, 2),
                "start_date": (day - timedelta(days=tenure)).isoformat(),
                "churned_on": day.isoformat() if account_id in churned else None,
                "created_at": STAMP,
                "updated_at": STAMP,
            }
        )
        for back in range(60):
            on = (day - timedelta(days=back)).isoformat()
            usage.append(
                (account_id, "core.reports", f"{on}T12:00:00", round(minutes / 30 * rng.uniform(0.7, 1.3)))
            )
        tickets += [
            (
                account_id,
                "support_ticket",
                f"{(day - timedelta(days=rng.randrange(60))).isoformat()}T1{call}:00:00",
                f"t{number}-{call}",
            )
            for call in range(calls)
        ]
    with store.write() as db:
        db.table("accounts").insert_all(rows)
        db.table("products").insert({"id": "core", "name": "Core"})
        db.table("features").insert({"id": "core.reports", "product_id": "core", "name": "Reports"})
        db.conn.executemany(
            "INSERT INTO usage_events (account_id, feature_id, occurred_at, count) VALUES (?, ?, ?, ?)", usage
        )
        db.conn.executemany(
            "INSERT INTO signals (account_id, kind, occurred_at, source_id) VALUES (?, ?, ?, ?)", tickets
        )
    return churned
