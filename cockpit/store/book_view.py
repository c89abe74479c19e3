"""The SQL of the view of the book as a whole (`services/book_view.py`): the accounts with the facts
retention reads, their MRR history, the score run of a day and its labels, the latest lifetime values, and
the last computed views (`book_view_cache`, migration 0033)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cockpit.store.book import CHURN_MODEL
from cockpit.store.compact_scores import run_scores
from cockpit.store.sqlite import Database


@dataclass(frozen=True)
class BookAccount:
    id: str
    name: str
    owner: str | None
    segment: str | None
    mrr: float
    start_date: str | None
    churned_on: str | None
    renewal_date: str | None
    contract_months: int | None
    lifecycle_stage: str | None
    cac: float | None
    custom: str | None
    """Its custom fields (what an import kept beyond cockpit's fields) as stored: a JSON object."""

    @property
    def custom_fields(self) -> dict[str, str]:
        """Its custom fields by key."""
        return json.loads(self.custom) if self.custom else {}


def book_accounts(db: Database) -> list[BookAccount]:
    """Every account not deleted, by id."""
    return [
        BookAccount(*row)
        for row in db.execute(
            "SELECT id, name, owner, segment, mrr, start_date, churned_on, renewal_date, contract_months, "
            "lifecycle_stage, cac, custom FROM accounts WHERE deleted_at IS NULL ORDER BY id"
        )
    ]


def mrr_changes(db: Database) -> dict[str, list[tuple[str, float]]]:
    """Account id -> its recorded MRRs (day, value), oldest first, of the accounts whose MRR changed (more
    than one value recorded); every other account's MRR is its current one."""
    changes: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for account_id, day, value in db.execute(
        "SELECT account_id, changed_on, value FROM account_history WHERE field = 'mrr' AND account_id IN "
        "(SELECT account_id FROM account_history WHERE field = 'mrr' GROUP BY account_id HAVING count(*) > 1) "
        "ORDER BY account_id, changed_on, id"
    ):
        changes[account_id].append((day, float(value or 0.0)))
    return dict(changes)


def score_run_on(db: Database, day: date) -> tuple[int, date] | None:
    """The latest finished score run as of `day` or before, and its day."""
    row = db.execute(
        "SELECT id, as_of FROM score_runs WHERE finished_at IS NOT NULL AND as_of <= ? "
        "ORDER BY as_of DESC, id DESC LIMIT 1",
        [day.isoformat()],
    ).fetchone()
    return None if row is None else (row[0], date.fromisoformat(row[1]))


def run_labels(db: Database, run_id: int, columns: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """Account id -> its `columns` in the run (either form the run is kept in)."""
    return {row[0]: tuple(row[1:]) for row in run_scores(db, run_id, columns)}


def learned_risks(db: Database, run_id: int, account_ids: Collection[str]) -> dict[str, float]:
    """The churn risks of these accounts that the learned churn model gave in the run (a chance of churn
    within its horizon); a compact run keeps no explanation, so none."""
    return {
        account_id: risk
        for account_id, risk, model in db.execute(
            f"SELECT s.account_id, s.churn_risk, {CHURN_MODEL} FROM scores s "
            "WHERE s.run_id = ? AND s.account_id IN (SELECT value FROM json_each(?))",
            [run_id, json.dumps(list(account_ids))],
        )
        if model == "learned"
    }


@dataclass(frozen=True)
class LifetimeValue:
    realised: float
    clv: float
    clv_low: float
    clv_high: float


def live_lifetime_values(db: Database) -> dict[str, LifetimeValue]:
    """Account id -> its value in the latest finished CLV run, of the accounts it valued alive."""
    return {
        row[0]: LifetimeValue(*row[1:])
        for row in db.execute(
            "SELECT account_id, realised, clv, clv_low, clv_high FROM clv_values "
            "WHERE run_id = (SELECT max(id) FROM clv_runs WHERE finished_at IS NOT NULL) "
            "AND model NOT IN ('churned', 'none') AND clv IS NOT NULL AND realised IS NOT NULL"
        )
    }


def data_fingerprint(db: Database) -> str:
    """A text that changes whenever what the view reads changes: the score and CLV runs, the history, the
    accounts (their count and latest update: every writer stamps `updated_at` with its moment)."""
    row = db.execute(
        "SELECT (SELECT max(id) || ':' || count(*) FROM score_runs WHERE finished_at IS NOT NULL), "
        "(SELECT max(id) FROM clv_runs WHERE finished_at IS NOT NULL), "
        "(SELECT max(id) FROM account_history), "
        "(SELECT count(*) || ':' || max(updated_at) || ':' || count(deleted_at) FROM accounts)"
    ).fetchone()
    return json.dumps(list(row))


def cached_view(db: Database, key: str) -> tuple[str, str, str] | None:
    """(fingerprint, computed_at, view JSON) stored under `key`."""
    row = db.execute(
        "SELECT fingerprint, computed_at, view FROM book_view_cache WHERE key = ?", [key]
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def store_view(db: Database, key: str, fingerprint: str, computed_at: str, view: str, *, keep: int) -> None:
    """Keep `view` under `key` (inside a write transaction), and only the `keep` latest views."""
    db.execute(
        "INSERT OR REPLACE INTO book_view_cache (key, fingerprint, computed_at, view) VALUES (?, ?, ?, ?)",
        [key, fingerprint, computed_at, view],
    )
    db.execute(
        "DELETE FROM book_view_cache WHERE key NOT IN "
        "(SELECT key FROM book_view_cache ORDER BY computed_at DESC, rowid DESC LIMIT ?)",
        [keep],
    )
