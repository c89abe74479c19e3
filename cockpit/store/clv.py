"""The SQL side of lifetime value: the inputs of the models as of a day, and the runs, fits and values kept.

As of a day means accounts started by then and transactions dated up to the end of that day. Orders are
counted per day, as in the CDNOW data of the BG/NBD paper: several transactions of an account on one day are
one purchase of their total amount (CDNOW has purchases of $0), and a day whose total is negative (refunds)
is no purchase.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

from cockpit.store.sqlite import Database


@dataclass(frozen=True)
class AccountInputs:
    id: str
    segment: str | None
    mrr: float
    start_date: str | None
    renewal_date: str | None
    churned_on: str | None
    cac: float | None


def clv_accounts(db: Database, as_of: date) -> list[AccountInputs]:
    """Every account that had started by `as_of` (or has no start date), churned or not."""
    rows = db.execute(
        "SELECT id, segment, mrr, start_date, renewal_date, churned_on, cac FROM accounts "
        "WHERE deleted_at IS NULL AND (start_date IS NULL OR start_date <= ?) ORDER BY id",
        [as_of.isoformat()],
    ).fetchall()
    return [AccountInputs(row[0], row[1], float(row[2] or 0), row[3], row[4], row[5], row[6]) for row in rows]


@dataclass(frozen=True)
class OrderHistory:
    first_day: str
    last_day: str
    repeat_days: int
    """Purchase days after the first: the BG/NBD frequency x."""
    repeat_amount: float
    """Total amount of those repeat purchases."""
    total_amount: float


def order_histories(db: Database, as_of: date, account_id: str | None = None) -> dict[str, OrderHistory]:
    """Each buying account's purchase days up to `as_of` (or only `account_id`'s): first and last day, repeat
    days and amounts."""
    end = (as_of + timedelta(days=1)).isoformat()
    one = "" if account_id is None else "AND account_id = ?"
    rows = db.execute(
        f"""
        WITH days AS (
            SELECT account_id, substr(occurred_at, 1, 10) AS day, sum(amount) AS amount
            FROM transactions WHERE occurred_at < ? {one}
            GROUP BY account_id, day HAVING sum(amount) >= 0
        ), ranked AS (
            SELECT account_id, day, amount,
                row_number() OVER (PARTITION BY account_id ORDER BY day) AS k
            FROM days
        )
        SELECT account_id, min(day), max(day), count(*) - 1,
            coalesce(sum(CASE WHEN k > 1 THEN amount END), 0), sum(amount)
        FROM ranked GROUP BY account_id
        """,
        [end] if account_id is None else [end, account_id],
    ).fetchall()
    return {row[0]: OrderHistory(row[1], row[2], int(row[3]), float(row[4]), float(row[5])) for row in rows}


def repeat_purchases(db: Database, account_id: str, as_of: date) -> int | None:
    """The account's purchase days after its first, up to `as_of`: the BG/NBD frequency x; None without
    orders."""
    history = order_histories(db, as_of, account_id).get(account_id)
    return None if history is None else history.repeat_days


def latest_cancel_click(db: Database, account_id: str, since: date, until: date) -> str | None:
    """The day of the account's latest click on cancel from `since` to `until` (both included), if any."""
    row = db.execute(
        "SELECT substr(max(occurred_at), 1, 10) FROM signals "
        "WHERE account_id = ? AND kind = 'cancel_click' AND occurred_at >= ? AND occurred_at < ?",
        [account_id, since.isoformat(), (until + timedelta(days=1)).isoformat()],
    ).fetchone()
    return None if row is None else row[0]


def start_clv_run(db: Database, as_of: date, started_at: str, settings: Mapping[str, Any]) -> int:
    cursor = db.execute(
        "INSERT INTO clv_runs (as_of, started_at, settings) VALUES (?, ?, ?)",
        [as_of.isoformat(), started_at, json.dumps(settings)],
    )
    return int(cursor.lastrowid or 0)


def write_clv_fit(
    db: Database, run_id: int, segment: str | None, fit: Mapping[str, Any], fitted_at: str
) -> int:
    """Store one fit (`Fit.to_json()`); returns its id."""
    cursor = db.execute(
        "INSERT INTO clv_fits (run_id, model, segment, params, std_errors, covariance, log_likelihood, n, "
        "converged, diagnostics, fitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            fit["model"],
            segment,
            json.dumps(fit["params"]),
            json.dumps(fit["std_errors"]),
            json.dumps({"log_params": fit["log_params"], "matrix": fit["covariance"]}),
            fit["log_likelihood"],
            fit["n"],
            int(fit["converged"]),
            json.dumps({"iterations": fit["iterations"], **fit["diagnostics"]}),
            fitted_at,
        ],
    )
    return int(cursor.lastrowid or 0)


@dataclass(frozen=True)
class ClvValue:
    """One account's stored lifetime value (a row of `clv_values`)."""

    account_id: str
    model: str
    """sbg, bgnbd, sbg+bgnbd, churned (no residual value) or none (no model applies)."""
    sbg_fit_id: int | None
    bgnbd_fit_id: int | None
    spend_fit_id: int | None
    clv: float | None
    clv_low: float | None
    clv_high: float | None
    subscription_clv: float | None
    orders_clv: float | None
    renewals: int | None
    renewal_probability: float | None
    derl: float | None
    p_alive: float | None
    expected_purchases: float | None
    p_no_purchase: float | None
    expected_spend: float | None
    realised: float | None
    """Margin already earned: contract value per period x periods paid, plus orders to date."""
    ltv_cac: float | None
    """(realised + clv) / CAC, where the CAC is known."""

    @property
    def p_buy_again(self) -> float | None:
        """The chance of at least one purchase in the `horizon_periods` ahead: 1 - P(no purchase in them).
        Unlike P(alive), it weighs how often the customer bought, not only whether she stopped."""
        return None if self.p_no_purchase is None else 1.0 - self.p_no_purchase


CLV_COLUMNS = tuple(field.name for field in fields(ClvValue))


def write_clv_values(db: Database, run_id: int, values: Sequence[ClvValue]) -> None:
    marks = ", ".join("?" for _ in range(len(CLV_COLUMNS) + 1))
    db.conn.executemany(
        f"INSERT INTO clv_values (run_id, {', '.join(CLV_COLUMNS)}) VALUES ({marks})",
        [(run_id, *(getattr(value, name) for name in CLV_COLUMNS)) for value in values],
    )


def finish_clv_run(db: Database, run_id: int, finished_at: str, accounts: int, notes: Sequence[str]) -> None:
    db.execute(
        "UPDATE clv_runs SET finished_at = ?, accounts = ?, notes = ? WHERE id = ?",
        [finished_at, accounts, json.dumps(list(notes)), run_id],
    )


def latest_clv(db: Database) -> dict[str, ClvValue]:
    """Every account's value from the latest finished run (the `clv_latest` view), by account id."""
    rows = db.execute(f"SELECT {', '.join(CLV_COLUMNS)} FROM clv_latest").fetchall()
    return {row[0]: ClvValue(*row) for row in rows}


@dataclass(frozen=True)
class StoredFit:
    id: int
    model: str
    segment: str | None
    params: dict[str, float]
    std_errors: dict[str, float]
    log_likelihood: float
    n: int
    converged: bool
    diagnostics: dict[str, Any]


@dataclass(frozen=True)
class StoredRun:
    id: int
    as_of: str
    finished_at: str
    accounts: int
    settings: dict[str, Any]
    """The [clv] settings the run used (with the contract period it used)."""
    notes: list[str]


def latest_clv_run(db: Database) -> StoredRun | None:
    row = db.execute(
        "SELECT id, as_of, finished_at, accounts, settings, notes FROM clv_runs WHERE finished_at IS NOT NULL "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return StoredRun(row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]))


def clv_fits(db: Database, run_id: int) -> list[StoredFit]:
    rows = db.execute(
        "SELECT id, model, segment, params, std_errors, log_likelihood, n, converged, diagnostics "
        "FROM clv_fits WHERE run_id = ? ORDER BY id",
        [run_id],
    ).fetchall()
    return [
        StoredFit(
            id=row[0],
            model=row[1],
            segment=row[2],
            params=json.loads(row[3]),
            std_errors=json.loads(row[4]),
            log_likelihood=row[5],
            n=row[6],
            converged=bool(row[7]),
            diagnostics=json.loads(row[8]),
        )
        for row in rows
    ]


def account_clv(db: Database, run_id: int, account_id: str) -> ClvValue | None:
    row = db.execute(
        f"SELECT {', '.join(CLV_COLUMNS)} FROM clv_values WHERE run_id = ? AND account_id = ?",
        [run_id, account_id],
    ).fetchone()
    return None if row is None else ClvValue(*row)


def account_name_and_cac(db: Database, account_id: str) -> tuple[str, float | None]:
    """An account's name and its customer acquisition cost (None when unknown)."""
    name, cac = db.execute("SELECT name, cac FROM accounts WHERE id = ?", [account_id]).fetchone()
    return str(name), None if cac is None else float(cac)
