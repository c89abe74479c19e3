"""The demo book looks like a healthy SaaS book a CSM would believe, with its stories planted among steady
accounts: most customers use what they bought and are healthy, health moves little from month to month, a
minority is in trouble, and two years of churn follow from what the data show before it (not only from
that), heterogeneous enough for the full lifetime-value models. Measured on the database `cockpit demo`
builds, scored as it scores it.

`python -m tests.test_demo_calibration DATABASE` prints the figures of a demo database (e.g. one written by
`cockpit demo --no-open --db DATABASE`).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import load_settings
from cockpit.demo import SEED_ANCHOR
from cockpit.domain.dates import add_years
from cockpit.scoring.metrics import auc
from cockpit.services.demo import build_demo
from tests.clocks import at

HISTORY_DAYS = 730
QUARTER_DAYS = 91


@dataclass(frozen=True)
class BookFigures:
    """What a CSM would look at to believe a book: shares are of the customers in the latest score run."""

    customers: int
    adoption: dict[str, float]
    """Share of customers per adoption status."""
    onboarding_after_a_year: float
    """Share of the customers of more than a year that are still onboarding."""
    bands: dict[str, float]
    """Share of customers per health band."""
    mean_health_change: float
    """Mean absolute change of an account's health from one monthly score run to the next."""
    fell_20: int
    """Customers whose health fell by 20 or more from one monthly run to the next."""
    falls_explained: float
    """The share of those falls that come with a reason a CSM sees: use down by half or more, a long silence,
    tickets in the month, a poor survey answer, or features not (or no longer) used."""
    churned_by_quarter: list[int]
    """Accounts that churned in each quarter of the last two years, oldest first."""
    renewals: int
    """Yearly renewal dates (anniversaries of the start) passed by an account still a customer then, in the
    last two years."""
    month_to_month: int
    """Customers on a month-to-month contract (their renewal is a monthly, not a yearly, anniversary)."""
    contractions: int
    """Add-ons given up by accounts that stayed."""
    mrr_by_quarter: list[float]
    """The MRR of the accounts that were customers at the end of each quarter (at their current MRR)."""
    clv_models: list[str]
    """The models of the latest lifetime-value run's fits."""
    usage_per_account: float


def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def figures(db: sqlite3.Connection) -> BookFigures:
    runs = [
        row[0] for row in db.execute("SELECT id FROM score_runs WHERE finished_at IS NOT NULL ORDER BY as_of")
    ]
    latest = runs[-1]
    (today_text,) = db.execute("SELECT as_of FROM score_runs WHERE id = ?", [latest]).fetchone()
    today = _day(today_text)
    scored = db.execute(
        "SELECT s.adoption_status, coalesce(s.health_band, 'none'), a.start_date FROM scores AS s "
        "JOIN accounts AS a ON a.id = s.account_id WHERE s.run_id = ?",
        [latest],
    ).fetchall()
    customers = len(scored)
    adoption = Counter(status for status, _, _ in scored)
    bands = Counter(band for _, band, _ in scored)
    older = [status for status, _, start in scored if (today - _day(start)).days > 365]
    health: dict[str, dict[int, tuple[float, dict[str, float | None]]]] = defaultdict(dict)
    for run, account, value, components in db.execute(
        "SELECT run_id, account_id, health, components FROM scores WHERE health IS NOT NULL"
    ):
        health[account][run] = (value, json.loads(components))
    changes: list[float] = []
    fell = set()
    falls = explained = 0
    for account, by_run in health.items():
        for before, after in pairwise(runs):
            if before in by_run and after in by_run:
                (was, old), (now, parts) = by_run[before], by_run[after]
                changes.append(abs(now - was))
                if was - now >= 20:
                    fell.add(account)
                    falls += 1
                    reasons = (
                        (parts.get("usage_trend"), 0.0),  # use down by half or more
                        (parts.get("recency"), 50.0),
                        (parts.get("support"), 75.0),
                        (parts.get("sentiment"), 60.0),
                    )
                    adoption_fell = (old.get("adoption") or 0) - (parts.get("adoption") or 0) >= 25
                    explained += adoption_fell or any(
                        value is not None and value <= limit for value, limit in reasons
                    )
    accounts = db.execute("SELECT start_date, churned_on, renewal_date, mrr FROM accounts").fetchall()
    quarters = [0] * (HISTORY_DAYS // QUARTER_DAYS)
    renewals = 0
    for start_text, churned_text, _, _ in accounts:
        start = _day(start_text)
        end = today if churned_text is None else _day(churned_text)
        if churned_text is not None and 0 <= (today - end).days < QUARTER_DAYS * len(quarters):
            quarters[-1 - (today - end).days // QUARTER_DAYS] += 1
        years = 1
        while (anniversary := add_years(start, years)) < end:
            renewals += (today - anniversary).days < HISTORY_DAYS
            years += 1
    month_to_month = sum(
        1
        for start, churned, renewal, _ in accounts
        if churned is None
        and renewal is not None
        and renewal[5:] != start[5:]
        and (_day(renewal) - today).days <= 31
    )
    (contractions,) = db.execute(
        "SELECT count(*) FROM entitlements AS e JOIN accounts AS a ON a.id = e.account_id "
        "WHERE e.ended_on IS NOT NULL AND (a.churned_on IS NULL OR e.ended_on < a.churned_on)"
    ).fetchone()
    mrr_by_quarter = []
    for quarter in range(len(quarters), -1, -1):
        end = today - timedelta(days=QUARTER_DAYS * quarter)
        mrr_by_quarter.append(
            round(
                sum(
                    mrr
                    for start, churned, _, mrr in accounts
                    if _day(start) <= end and (churned is None or _day(churned) > end)
                )
            )
        )
    models = [
        row[0]
        for row in db.execute("SELECT model FROM clv_fits WHERE run_id = (SELECT max(id) FROM clv_runs)")
    ]
    (events,) = db.execute("SELECT count(*) FROM usage_events").fetchone()
    return BookFigures(
        customers=customers,
        adoption={status: count / customers for status, count in adoption.items()},
        onboarding_after_a_year=older.count("onboarding") / len(older),
        bands={band: count / customers for band, count in bands.items()},
        mean_health_change=sum(changes) / len(changes),
        fell_20=len(fell),
        falls_explained=explained / falls if falls else 1.0,
        churned_by_quarter=quarters,
        renewals=renewals,
        month_to_month=month_to_month,
        contractions=contractions,
        mrr_by_quarter=mrr_by_quarter,
        clv_models=sorted(models),
        usage_per_account=events / len(accounts),
    )


def churn_evidence(db: sqlite3.Connection, today: date) -> tuple[list[float], list[bool]]:
    """For every customer at monthly snapshots over the history (each with 90 days of outcome after it): how
    many signs of trouble the data show by then, and whether it churned in the 90 days after."""
    accounts = {
        account: (_day(start), None if churned is None else _day(churned), plan)
        for account, start, churned, plan in db.execute(
            "SELECT id, start_date, churned_on, plan FROM accounts"
        )
    }
    events: dict[str, list[tuple[date, str, float | None]]] = defaultdict(list)
    for account, kind, moment, value in db.execute(
        "SELECT account_id, kind, occurred_at, value FROM signals"
    ):
        events[account].append((_day(moment), kind, value))
    opened = {ref for (ref,) in db.execute("SELECT source_id FROM signals WHERE kind = 'email_opened'")}
    unopened: dict[str, list[date]] = defaultdict(list)
    for account, moment, ref in db.execute(
        "SELECT account_id, occurred_at, source_id FROM signals WHERE kind = 'email_sent'"
    ):
        if ref not in opened:
            unopened[account].append(_day(moment))
    usage: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for account, day, count in db.execute(
        "SELECT account_id, occurred_at, sum(count) FROM usage_events GROUP BY 1, 2"
    ):
        usage[account][_day(day)] += count
    evidence: list[float] = []
    churned: list[bool] = []
    for days_back in range(HISTORY_DAYS - 30, 89, -30):
        snapshot = today - timedelta(days=days_back)
        for account, (start, churned_on, plan) in accounts.items():
            if start > snapshot - timedelta(days=90) or (churned_on is not None and churned_on <= snapshot):
                continue
            kinds = [
                ((snapshot - on).days, kind, value) for on, kind, value in events[account] if on <= snapshot
            ]
            tickets = sum(1 for age, kind, _ in kinds if kind == "support_ticket" and age < 60)
            used = usage[account]
            last = sum(n for day, n in used.items() if 0 <= (snapshot - day).days < 30)
            prior = sum(n for day, n in used.items() if 30 <= (snapshot - day).days < 60)
            signs = [
                prior > 0 and last < 0.7 * prior,
                sum(1 for day in unopened[account] if 0 <= (snapshot - day).days < 60) >= 2,
                tickets >= 2,
                any(kind == "escalation" and age < 90 for age, kind, _ in kinds),
                any(kind == "nps" and age < 180 and (value or 0) <= 6 for age, kind, value in kinds),
                any(kind == "csat" and age < 90 and (value or 0) <= 2 for age, kind, value in kinds),
                any(kind == "cancel_page_visit" and age < 45 for age, kind, _ in kinds),
                plan == "Starter",
            ]
            evidence.append(float(sum(signs)))
            churned.append(churned_on is not None and churned_on <= snapshot + timedelta(days=90))
    return evidence, churned


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """The demo database as `cockpit demo` leaves it on the seeds' anchor day."""
    path = tmp_path_factory.mktemp("calibration") / "demo.db"
    build_demo(path, load_settings(), clock=at(SEED_ANCHOR))
    db = sqlite3.connect(path)
    yield db
    db.close()


@pytest.fixture(scope="module")
def book(demo: sqlite3.Connection) -> BookFigures:
    return figures(demo)


pytestmark = pytest.mark.slow


def test_most_customers_use_what_they_bought(book: BookFigures) -> None:
    adopted = book.adoption.get("adopted", 0) + book.adoption.get("power", 0)
    assert 0.5 <= adopted <= 0.8
    assert 0 < book.adoption.get("power", 0) <= 0.1  # a few teams use it every day
    assert 0 < book.adoption.get("not started", 0) <= 0.1
    assert book.onboarding_after_a_year <= 0.35  # onboarding is mostly for the new and those in trouble


def test_most_customers_are_healthy_and_a_minority_is_red(book: BookFigures) -> None:
    assert book.bands.get("green", 0) >= 0.5
    assert book.bands.get("green", 0) + book.bands.get("yellow", 0) >= 0.85
    assert 0 < book.bands.get("red", 0) <= 0.12


def test_health_is_steady_from_month_to_month(book: BookFigures) -> None:
    assert book.mean_health_change <= 8
    assert book.fell_20 <= 0.15 * book.customers
    assert book.falls_explained >= 0.9  # a fall is trouble the CSM can see, not noise


def test_two_years_of_churn_spread_over_the_history(book: BookFigures) -> None:
    assert 40 <= sum(book.churned_by_quarter) <= 75  # enough for a learned model (30), a minority of the book
    halves = [sum(book.churned_by_quarter[i : i + 2]) for i in range(0, len(book.churned_by_quarter), 2)]
    assert min(halves) >= 5, book.churned_by_quarter


def test_contracts_renew_change_and_grow(book: BookFigures) -> None:
    assert book.renewals >= book.customers  # a customer renews about once a year
    assert 0.05 * book.customers <= book.month_to_month <= 0.3 * book.customers
    assert book.contractions >= 1
    assert book.mrr_by_quarter[-1] > book.mrr_by_quarter[0]  # a growing book, in spite of the churn


def test_churn_follows_what_the_data_show_before_it_but_not_only(demo: sqlite3.Connection) -> None:
    evidence, churned = churn_evidence(demo, SEED_ANCHOR)
    assert 30 <= sum(churned) <= 0.15 * len(churned)
    area = auc(evidence, churned)
    assert area is not None and 0.65 <= area <= 0.95  # signs tell, and chance has its share
    flagged = [churn for signs, churn in zip(evidence, churned, strict=True) if signs]
    assert len(flagged) <= 0.6 * len(churned)  # many customers show no sign at most times
    unflagged = [churn for signs, churn in zip(evidence, churned, strict=True) if not signs]
    assert sum(flagged) / len(flagged) >= 2 * sum(unflagged) / len(unflagged)
    assert sum(unflagged) >= 1  # some leave without warning


def test_churn_and_purchases_are_heterogeneous_enough_for_the_full_lifetime_value_models(
    book: BookFigures,
) -> None:
    assert book.clv_models == ["bgnbd", "gamma_gamma", "sbg"]  # not the homogeneous limits


def main(argv: list[str]) -> None:
    db = sqlite3.connect(argv[0])
    measured: dict[str, Any] = asdict(figures(db))
    evidence, churned = churn_evidence(
        db, _day(db.execute("SELECT max(as_of) FROM score_runs").fetchone()[0])
    )
    measured["churn_evidence_auc"] = auc(evidence, churned)
    for name, value in measured.items():
        shown = {k: round(v, 3) for k, v in value.items()} if isinstance(value, dict) else value
        sys.stdout.write(f"{name}: {round(shown, 3) if isinstance(shown, float) else shown}\n")


if __name__ == "__main__":
    main(sys.argv[1:] or [str(Path("demo.db"))])
