"""The history of the account fields that tell what happened to an account: its MRR (renewals, expansion,
contraction), renewal date, plan, segment, seats, contract term and churn day (`account_history`, migrations
0009 and 0020).

Whoever changes one of them (an import, a CRM pull, the command line) records the change here in its own
transaction (`record_changes`), with the CSM's day and what made it; nothing is written for a value that did
not change. `values_as_of` reads a field as it stood on a past day, for the readers that learn from the
book's past.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from cockpit.store.imports import upsert_row
from cockpit.store.provenance import record_sources
from cockpit.store.sqlite import Database

HISTORY_FIELDS: Final = ("mrr", "renewal_date", "plan", "seats", "contract_months", "churned_on", "segment")
"""The account columns whose changes are kept (the CHECK on account_history.field)."""
CLI_SOURCE: Final = "cli"


def import_source(import_id: int) -> str:
    return f"import:{import_id}"


def sync_source(run_id: int) -> str:
    return f"sync:{run_id}"


@dataclass(frozen=True)
class HistoryRow:
    field: str
    value: Any
    """As the account column holds it; None: cleared."""
    changed_on: str
    source: str
    """`import:ID`, `sync:RUN`, `cli`, or `created` (the value an account had when history began)."""


def record_changes(
    db: Database, account_id: str, changed: Mapping[str, Any], *, day: date, source: str
) -> int:
    """Record the new values of the kept fields among `changed` (column -> new value); returns how many."""
    rows = [
        (account_id, name, changed[name], day.isoformat(), source)
        for name in HISTORY_FIELDS
        if name in changed
    ]
    db.conn.executemany(
        "INSERT INTO account_history (account_id, field, value, changed_on, source) VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def change_account(
    db: Database, account_id: str, values: Mapping[str, Any], *, now: str, day: date, source: str
) -> dict[str, Any]:
    """Set the account's columns to `values` where they differ, and record the kept fields among them;
    returns the old values of the columns changed."""
    columns = ", ".join(f"[{column}]" for column in values)
    row = db.execute(f"SELECT {columns} FROM accounts WHERE id = ?", [account_id]).fetchone()
    if row is None:
        raise ValueError(f"no account {account_id!r}")
    before = {column: old for column, old in zip(values, row, strict=True) if values[column] != old}
    changed = {column: values[column] for column in before}
    if changed:
        upsert_row(db, "accounts", {"id": account_id}, changed, now=now)
        record_changes(db, account_id, changed, day=day, source=source)
        record_sources(
            db, account_id, changed, system=None, written_by=source, file=None, modified_at=None, now=now
        )
    return before


def account_history(db: Database, account_id: str) -> list[HistoryRow]:
    """Every recorded change of the account, oldest first."""
    marks = ", ".join("?" for _ in HISTORY_FIELDS)
    rows = db.execute(
        "SELECT field, value, changed_on, source FROM account_history "
        f"WHERE field IN ({marks}) AND account_id = ? ORDER BY changed_on, id",
        [*HISTORY_FIELDS, account_id],
    ).fetchall()
    return [HistoryRow(*row) for row in rows]


def values_as_of(
    db: Database,
    field: str,
    day: date,
    account_ids: list[str] | None = None,
    *,
    earliest: bool = False,
) -> dict[str, Any]:
    """Account id -> the value `field` had at the end of `day`: the last change recorded on or before it (of
    every account, or of those in `account_ids`). Accounts whose history starts after the day are left out,
    or with `earliest` given the first value recorded (the nearest known to the day): the caller says what
    stands for an unknown past (the earliest value, the current one, nothing)."""
    if field not in HISTORY_FIELDS:
        raise ValueError(f"no history is kept of {field!r}; fields: {', '.join(HISTORY_FIELDS)}")
    among = "" if account_ids is None else "AND account_id IN (SELECT value FROM json_each(:ids))"
    until = "" if earliest else "AND changed_on <= :day"
    rows = db.execute(
        f"""
        SELECT account_id, value FROM (
            SELECT account_id, value,
                row_number() OVER (
                    PARTITION BY account_id
                    ORDER BY changed_on > :day, CASE WHEN changed_on <= :day THEN changed_on END DESC,
                        CASE WHEN changed_on <= :day THEN id END DESC, changed_on, id
                ) AS nearest
            FROM account_history WHERE field = :field {until} {among}
        ) WHERE nearest = 1
        """,
        {"field": field, "day": day.isoformat(), "ids": json.dumps(account_ids or [])},
    )
    return dict(rows.fetchall())


PAST_FIELDS: Final = ("mrr", "renewal_date", "plan", "seats", "contract_months", "segment")
"""The kept fields that readers of the past read as of their day (the churn day is the outcome they learn
from, read as it is)."""


class PastValues:
    """The kept fields (`PAST_FIELDS`) of the accounts as they stood at the end of each of `days`, for the
    accounts whose value changed since the oldest of them: every other account's are as the accounts table
    holds them now. A day before an account's history began sees the first value recorded."""

    def __init__(self, db: Database, days: Sequence[date]) -> None:
        self._days = len(days)
        changed: dict[str, list[str]] = defaultdict(list)
        marks = ", ".join("?" for _ in PAST_FIELDS)
        for field, account_id in db.execute(
            f"SELECT field, account_id FROM account_history WHERE field IN ({marks}) "
            "GROUP BY field, account_id HAVING count(*) > 1 AND max(changed_on) > ?",
            [*PAST_FIELDS, min(days).isoformat()],
        ):
            changed[field].append(account_id)
        self._values: dict[str, list[dict[str, Any]]] = {}
        for field, account_ids in changed.items():
            for index, day in enumerate(days):
                for account_id, value in values_as_of(db, field, day, account_ids, earliest=True).items():
                    past = self._values.get(account_id)
                    if past is None:
                        past = self._values[account_id] = [{} for _ in days]
                    past[index][field] = value

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._values

    def row(self, row: Sequence[Any], columns: Mapping[str, int], index: int) -> tuple[Any, ...]:
        """The account's row (its id first) with the fields at `columns` (field -> position) as of the day
        of `index`; as it is for an account that did not change."""
        past = self._values.get(row[0])
        if past is None:
            return tuple(row)
        values = list(row)
        for field, value in past[index].items():
            if field in columns:
                values[columns[field]] = value
        return tuple(values)
