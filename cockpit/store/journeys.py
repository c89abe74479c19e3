"""The SQL side of journey patterns: the accounts' contract dates, their events and their use per period as
rows, as of a day (`cockpit.scoring.journeys` turns them into timelines and patterns), and the accounts a
pattern opens."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlite_utils import Database


def _part(table: str, column: str, kind: str, value: str, condition: str = "") -> str:
    """One table's events of the days bound as :since up to :end, as days before :day."""
    return (
        f"SELECT account_id, CAST(julianday(:day) - julianday(substr({column}, 1, 10)) AS INTEGER), {kind}, {value} "
        f"FROM {table} WHERE {column} >= :since AND {column} < :end {condition}"
    )


_TICKETS = _part(
    "tickets", "opened_at", "CASE WHEN escalated THEN 'escalated_ticket' ELSE 'ticket' END", "NULL"
)
_SIGNALS = _part(
    "signals", "occurred_at", "kind", "NULL", "AND kind IN (SELECT value FROM json_each(:signals))"
)
_REST = " UNION ALL ".join(
    (
        _part("surveys", "responded_at", "kind", "score"),
        _part(
            "interactions", "occurred_at", "'interaction_' || sentiment", "NULL", "AND sentiment IS NOT NULL"
        ),
        _part("interactions", "occurred_at", "'qbr'", "NULL", "AND kind = 'qbr'"),
        _part("outreach", "updated_at", "'outreach_sent'", "NULL", "AND status IN ('sent', 'synced')"),
    )
)
_EVENTS = f"{_TICKETS} UNION ALL {_SIGNALS} UNION ALL {_REST}"
_OTHERS = f"{_TICKETS} UNION ALL {_REST}"
"""_EVENTS but the signals (which an events source gives)."""

_USAGE = """
    SELECT account_id, CAST((julianday(:day) - julianday(substr(occurred_at, 1, 10))) / :period AS INTEGER) AS period,
        sum(count)
    FROM usage_events WHERE occurred_at >= :since AND occurred_at < :end
    GROUP BY account_id, period
"""


def _bounds(as_of: date, days: int) -> dict[str, str]:
    return {
        "day": as_of.isoformat(),
        "since": (as_of - timedelta(days=days - 1)).isoformat(),
        "end": (as_of + timedelta(days=1)).isoformat(),
    }


def account_dates(db: Database) -> list[tuple[str, str | None, str | None, str | None, int | None]]:
    """(id, start date, renewal date, churn day, contract months) of every account."""
    return [
        tuple(row)
        for row in db.execute(
            "SELECT id, nullif(start_date, ''), nullif(renewal_date, ''), churned_on, contract_months "
            "FROM accounts WHERE deleted_at IS NULL ORDER BY id"
        )
    ]


def events(
    db: Database, as_of: date, days: int, signals: Collection[str] | None
) -> Iterator[tuple[str, int, str, float | None]]:
    """(account id, days before `as_of`, kind, value) of the tickets ('ticket', 'escalated_ticket'), the
    signals of the kinds in `signals` (None: the signals are not read here, but from an events source), the
    surveys (their kind, the score), the interactions with a sentiment ('interaction_' and it), QBRs ('qbr')
    and the outreach sent ('outreach_sent') of the `days` up to `as_of`."""
    if signals is None:
        return iter(db.execute(_OTHERS, _bounds(as_of, days)))
    parameters = {**_bounds(as_of, days), "signals": json.dumps(sorted(signals))}
    return iter(db.execute(_EVENTS, parameters))


def usage(db: Database, as_of: date, days: int, period_days: int) -> Iterator[tuple[str, int, float]]:
    """(account id, period, use) of the `days` up to `as_of`, in periods of `period_days` counted back from
    `as_of` (0: the period that ends on it)."""
    return iter(db.execute(_USAGE, {**_bounds(as_of, days), "period": period_days}))


@dataclass(frozen=True)
class PathAccount:
    id: str
    name: str
    owner: str | None
    mrr: float | None
    renewal_date: str | None


def path_accounts(db: Database, ids: Sequence[str]) -> list[PathAccount]:
    """These accounts (in the order given) with what a list of them shows."""
    found: dict[str, PathAccount] = {}
    for chunk in range(0, len(ids), 500):
        part = list(ids[chunk : chunk + 500])
        rows: Any = db.execute(
            f"SELECT id, name, owner, mrr, renewal_date FROM accounts WHERE id IN ({','.join('?' * len(part))})",
            part,
        )
        found.update((row[0], PathAccount(*row)) for row in rows)
    return [found[account_id] for account_id in ids if account_id in found]
