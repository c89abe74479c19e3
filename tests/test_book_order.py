"""The book's order by each score, page by page, against the same order computed in Python; and the score
indexes that make a first page cheap on a large book."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from itertools import product
from typing import Any

import pytest

from cockpit.config import AdoptionStatus, ChurnTier, ValueTier
from cockpit.scoring.order import ADOPTION_ORDER, CHURN_TIER_ORDER, VALUE_TIER_ORDER, priority_rank
from cockpit.store import Store
from cockpit.store.book import BookFilter, BookQuery, fetch_book_page
from tests.query_plans import query_plans

NOW = "2026-11-22T06:00:00+00:00"
TIER = {"high": 0, "medium": 1, "low": 2, "other": 2}
ADOPTION = {"power": 0, "adopted": 1, "onboarding": 2, "not started": 3}


def fill(store: Store, accounts: int = 120) -> list[dict[str, Any]]:
    """Accounts with ties in every score, some scored without a health, some not scored by the current run,
    and an older run that must not count."""
    rnd = random.Random(7)
    rows = []
    with store.write() as db:
        for run_id, as_of in ((1, "2026-10-01"), (2, "2026-11-22")):
            db.execute(
                "INSERT INTO score_runs (id, as_of, started_at, finished_at) VALUES (?, ?, ?, ?)",
                [run_id, as_of, NOW, NOW],
            )
        for i in range(accounts):
            row: dict[str, Any] = {
                "id": f"acc-{i:04d}",
                "name": f"{rnd.choice(['Acme', 'Globex', 'Hooli'])} {i % 7}",
                "mrr": float(rnd.choice([100, 200, 300, 400])),
                "scored": i % 10 != 0,
                "health": None if i % 13 == 0 else float(rnd.randrange(0, 100, 10)),
                "churn_risk": rnd.choice([0.1, 0.5, 0.9]),
                "churn_tier": rnd.choice(["high", "medium", "low"]),
                "value_tier": rnd.choice(["high", "medium", "other"]),
                "adoption_status": rnd.choice(list(ADOPTION)),
                "cross_sell_ready": rnd.choice([0, 1]),
            }
            rows.append(row)
            db.execute(
                "INSERT INTO accounts (id, name, mrr, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                [row["id"], row["name"], row["mrr"], NOW, NOW],
            )
            for run_id in (1, 2) if row["scored"] else (1,):
                db.execute(
                    "INSERT INTO scores (run_id, account_id, as_of, value, health, churn_risk, churn_tier, value_tier, "
                    "adoption_status, cross_sell_ready) VALUES (?, ?, '2026-11-22', ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id,
                        row["id"],
                        row["mrr"] * 12,
                        *(
                            row[key] if run_id == 2 else 50.0 if key == "health" else row[key]
                            for key in (
                                "health", "churn_risk", "churn_tier", "value_tier", "adoption_status",
                                "cross_sell_ready",
                            )
                        ),
                    ],
                )  # fmt: skip
    return rows


SCORE: dict[str, Callable[[dict[str, Any]], Any]] = {
    "health": lambda row: row["health"],
    "churn": lambda row: row["churn_risk"],
    "value": lambda row: TIER[row["value_tier"]],
    "priority": lambda row: TIER[row["churn_tier"]] * 3 + TIER[row["value_tier"]],
    "adoption": lambda row: ADOPTION[row["adoption_status"]],
    "cross_sell": lambda row: row["cross_sell_ready"],
}
BY_MRR = {"value", "priority", "cross_sell"}


def expected(rows: list[dict[str, Any]], key: str, descending: bool) -> list[str]:
    """Scored accounts by the score, ties by value (biggest first) then id, the whole list reversed when
    descending; then the unscored ones by the key's tie-breakers: MRR (descending) or name, then id."""

    def ties(row: dict[str, Any]) -> tuple[Any, ...]:
        return (-row["mrr"], row["id"]) if key in BY_MRR else (row["name"].lower(), row["id"])

    scored = [row for row in rows if row["scored"] and SCORE[key](row) is not None]
    rest = [row for row in rows if row not in scored]
    scored.sort(key=lambda row: (SCORE[key](row), -row["mrr"], row["id"]), reverse=descending)
    return [row["id"] for row in scored + sorted(rest, key=ties)]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("key", list(SCORE))
def test_every_page_of_a_score_order(store: Store, key: str, descending: bool) -> None:
    rows = fill(store)
    query = BookQuery(sort=key, descending=descending)  # type: ignore[arg-type]
    for size in (7, 50, 200):
        pages = [
            [row.id for row in fetch_book_page(store.db, query, offset=offset, limit=size)]
            for offset in range(0, len(rows) + size, size)
        ]
        assert [account for page in pages for account in page] == expected(rows, key, descending), size


def test_a_score_order_with_a_filter_on_scores(store: Store) -> None:
    rows = fill(store)
    query = BookQuery(sort="health", filter=BookFilter(churn_tiers=("high",)))
    got = [row.id for row in fetch_book_page(store.db, query, offset=0, limit=1000)]
    wanted = [row for row in rows if row["scored"] and row["churn_tier"] == "high"]
    assert got == expected(wanted, "health", descending=False)


def test_a_book_never_scored_sorts_by_the_tie_breakers(store: Store) -> None:
    rows = fill(store)
    with store.write() as db:
        db.execute("DELETE FROM scores")
        db.execute("DELETE FROM score_runs")
    got = [row.id for row in fetch_book_page(store.db, BookQuery(sort="priority"), offset=10, limit=20)]
    assert got == [row["id"] for row in sorted(rows, key=lambda row: (-row["mrr"], row["id"]))][10:30]


@pytest.mark.parametrize("key", list(SCORE))
def test_each_score_order_reads_its_index(store: Store, key: str) -> None:
    """The ORDER BY must stay what migration 0008 indexes, or SQLite sorts the whole run (or a whole tier)."""
    fill(store)
    plans = query_plans(
        store,
        lambda: fetch_book_page(store.db, BookQuery(sort=key), offset=0, limit=10),  # type: ignore[arg-type]
    )
    assert any(f"INDEX scores_run_{key} " in plan for plan in plans), plans
    assert not any("TEMP B-TREE" in plan for plan in plans), plans  # ties come off the index too, unsorted


RANKS: dict[str, Callable[[ChurnTier, ValueTier, AdoptionStatus], int]] = {
    "value": lambda churn_tier, value_tier, adoption: VALUE_TIER_ORDER.index(value_tier),
    "priority": lambda churn_tier, value_tier, adoption: priority_rank(churn_tier, value_tier),
    "adoption": lambda churn_tier, value_tier, adoption: ADOPTION_ORDER.index(adoption),
}
"""The sorts by a rank that SQL computes, and the rank `cockpit.scoring.order` gives them."""


def index_expression(store: Store, key: str) -> str:
    """The ranking expression of the score's index, as migration 0008 created it, whitespace folded."""
    [sql] = store.db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [f"scores_run_{key}"]).fetchone()
    found = re.fullmatch(
        r"CREATE INDEX \S+ ON scores \(run_id, \( (.*) \), value DESC, account_id\)", " ".join(sql.split())
    )
    assert found is not None, sql
    return found.group(1)


def book_expression(store: Store, key: str) -> str:
    """The ranking expression of the book's ORDER BY, as it runs."""
    ran: list[str] = []
    store.db.conn.set_trace_callback(ran.append)
    fetch_book_page(store.db, BookQuery(sort=key), offset=0, limit=10)  # type: ignore[arg-type]
    store.db.conn.set_trace_callback(None)
    [scored] = [sql for sql in ran if sql.startswith("SELECT a.id, (")]
    found = re.search(r"ORDER BY \((.*)\) ASC, s\.value DESC", scored)
    assert found is not None, scored
    return found.group(1)


@pytest.mark.parametrize("key", list(RANKS))
def test_a_rank_in_sql_is_the_rule_and_its_index(store: Store, key: str) -> None:
    """The ranks stay in SQL so that a sort reads its index, which SQLite uses only for the very expression
    it indexes: the book's is the index's, and both rank every tier and status as the rule does."""
    fill(store, accounts=3)
    index, book = index_expression(store, key), book_expression(store, key)
    assert re.sub(r"\bs\.", "", book) == index
    for expression in (index, book):
        for churn_tier, value_tier, adoption in product(CHURN_TIER_ORDER, VALUE_TIER_ORDER, ADOPTION_ORDER):
            ranked = store.db.execute(
                f"SELECT {expression} FROM (SELECT ? AS churn_tier, ? AS value_tier, ? AS adoption_status) s",
                [churn_tier, value_tier, adoption],
            ).fetchone()[0]
            assert ranked == RANKS[key](churn_tier, value_tier, adoption), (
                expression,
                churn_tier,
                value_tier,
            )


def test_the_lifetime_value_order_reads_the_latest_clv_run(store: Store) -> None:
    rows = fill(store, accounts=30)
    with store.write() as db:
        for run_id in (1, 2):
            db.execute(
                "INSERT INTO clv_runs (id, as_of, started_at, finished_at) VALUES (?, '2026-11-22', ?, ?)",
                [run_id, NOW, NOW],
            )
        for index, row in enumerate(rows):
            if index % 4:  # every fourth account has no value: it comes last, by name
                db.execute(
                    "INSERT INTO clv_values (run_id, account_id, model, clv, clv_low, clv_high) VALUES (?, ?, 'sbg', ?, ?, ?)",
                    [2, row["id"], float(index % 7), index % 7 * 0.8, index % 7 * 1.25],
                )
            db.execute(  # an older run that must not count
                "INSERT INTO clv_values (run_id, account_id, model, clv) VALUES (1, ?, 'sbg', ?)",
                [row["id"], -index],
            )
    valued = {row["id"]: float(index % 7) for index, row in enumerate(rows) if index % 4}

    def ties(row: dict[str, Any]) -> tuple[Any, ...]:
        return (row["name"].lower(), row["id"])

    for descending in (False, True):
        wanted = sorted((row for row in rows if row["id"] in valued), key=ties)
        wanted.sort(key=lambda row: valued[row["id"]], reverse=descending)
        wanted += sorted((row for row in rows if row["id"] not in valued), key=ties)
        query = BookQuery(sort="clv", descending=descending)
        pages = [fetch_book_page(store.db, query, offset=offset, limit=8) for offset in range(0, 40, 8)]
        got = [book_row for page in pages for book_row in page]
        assert [book_row.id for book_row in got] == [row["id"] for row in wanted]
        first = next(book_row for book_row in got if book_row.id in valued)
        assert (first.clv_low, first.clv_high) == (first.clv * 0.8, first.clv * 1.25)  # type: ignore[operator]
