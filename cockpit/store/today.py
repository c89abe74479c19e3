"""What the CSM's day reads and writes (`cockpit.services.today`): due follow-ups, open tasks, renewals in a
span of days, the score runs to compare; follow-ups and tasks done or moved. The rules (which channels are
tasks, which statuses open, which interactions a CSM's touch) come as parameters."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from cockpit.store.compact_scores import compact_run_ids, run_scores
from cockpit.store.scoring import TOUCHES, json_pairs
from cockpit.store.sqlite import Database

Rows = list[tuple[Any, ...]]


def _limit(limit: int | None) -> str:
    return "" if limit is None else f" LIMIT {int(limit)}"


_FOLLOW_UPS = f"""
    FROM interactions i JOIN accounts a ON a.id = i.account_id
    WHERE i.follow_up_on IS NOT NULL AND i.follow_up_on <= :today
        AND a.deleted_at IS NULL AND a.churned_on IS NULL
        AND NOT EXISTS (SELECT 1 FROM follow_ups_done d WHERE d.interaction_id = i.id)
        AND NOT EXISTS (
            SELECT 1 FROM interactions j
            WHERE j.account_id = i.account_id AND j.occurred_at > i.occurred_at AND {TOUCHES}
        )
"""
"""The follow-ups due by `:today` that are not done, nor settled by a later touch of the account."""


def due_follow_ups(
    db: Database,
    today: date,
    touches: Collection[tuple[str, str]],
    *,
    limit: int | None,
    counted: bool = True,
) -> tuple[Rows, int | None]:
    """(interaction id, account id, account name, kind, occurred_at, summary, follow_up_on) of the follow-ups
    due by `today`, the longest overdue first, and how many there are in all (None if the limit cut them and
    not `counted`: on a large book the count takes longer than the first rows). A follow-up is settled by a
    later interaction of the account whose (kind, direction) is one of `touches`."""
    params = {"today": today.isoformat(), "touches": json_pairs(touches)}
    rows = db.execute(
        "SELECT i.id, i.account_id, a.name, i.kind, i.occurred_at, i.summary, i.follow_up_on "
        f"{_FOLLOW_UPS} ORDER BY i.follow_up_on, a.name, i.id{_limit(limit)}",
        params,
    ).fetchall()
    return rows, _total(db, rows, limit, counted, _FOLLOW_UPS, params)


def _task_filter(channels: Sequence[str], statuses: Sequence[str]) -> tuple[str, dict[str, Any]]:
    where = (
        "o.channel IN (SELECT value FROM json_each(:channels)) "
        "AND o.status IN (SELECT value FROM json_each(:statuses))"
    )
    return where, {"channels": json.dumps(list(channels)), "statuses": json.dumps(list(statuses))}


def due_tasks(
    db: Database, by: date, channels: Sequence[str], statuses: Sequence[str], *, limit: int | None
) -> tuple[Rows, int | None]:
    """(item id, account id, account name, channel, subject, due_on, contact name, playbook) of the outreach
    items of `channels` in `statuses` due by `by` (a snoozed one: once its snooze ends), the earliest
    first, and how many there are in all."""
    where, params = _task_filter(channels, statuses)
    body = (
        "FROM outreach o JOIN accounts a ON a.id = o.account_id "
        f"WHERE {where} AND a.deleted_at IS NULL AND a.churned_on IS NULL AND CASE o.status WHEN 'snoozed' THEN coalesce(o.snoozed_until, o.due_on) "
        "ELSE o.due_on END <= :by"
    )
    params["by"] = by.isoformat()
    rows = db.execute(
        "SELECT o.id, o.account_id, a.name, o.channel, o.subject, o.due_on, "
        "(SELECT name FROM contacts WHERE id = o.contact_id), o.playbook "
        f"{body} ORDER BY o.due_on, o.priority, o.id{_limit(limit)}",
        params,
    ).fetchall()
    return rows, _total(db, rows, limit, True, body, params)


def open_tasks(db: Database, account_id: str, channels: Sequence[str], statuses: Sequence[str]) -> Rows:
    """The account's outreach items of `channels` in `statuses`, whatever their day, as `due_tasks` rows."""
    where, params = _task_filter(channels, statuses)
    params["account"] = account_id
    return db.execute(
        "SELECT o.id, o.account_id, a.name, o.channel, o.subject, o.due_on, "
        "(SELECT name FROM contacts WHERE id = o.contact_id), o.playbook "
        f"FROM outreach o JOIN accounts a ON a.id = o.account_id WHERE o.account_id = :account AND {where} "
        "ORDER BY o.due_on, o.priority, o.id",
        params,
    ).fetchall()


_RENEWALS = (
    "FROM accounts WHERE renewal_date BETWEEN :first AND :last AND deleted_at IS NULL AND churned_on IS NULL"
)


def renewals(db: Database, first: date, last: date, *, limit: int | None) -> tuple[Rows, int | None]:
    """(account id, name, renewal date, MRR) of the customers renewing from `first` to `last`, by day, and
    how many there are in all."""
    params = {"first": first.isoformat(), "last": last.isoformat()}
    rows = db.execute(
        f"SELECT id, name, renewal_date, mrr {_RENEWALS} ORDER BY renewal_date, name COLLATE NOCASE"
        f"{_limit(limit)}",
        params,
    ).fetchall()
    return rows, _total(db, rows, limit, True, _RENEWALS, params)


def _total(
    db: Database, rows: Rows, limit: int | None, counted: bool, body: str, params: dict[str, Any]
) -> int | None:
    """How many rows there are in all: those read, unless the limit cut them; then counted, or None."""
    if limit is None or len(rows) < limit:
        return len(rows)
    return int(db.execute(f"SELECT count(*) {body}", params).fetchone()[0]) if counted else None


def changed_scores(db: Database, before: int, after: int, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """(account id, *`columns` in run `after`, *`columns` in run `before`) of the accounts both runs scored
    whose `columns` differ (NULL equal to NULL). Two full runs are compared in one join; a compact one is read
    whole (`run_scores`)."""
    if {before, after} & compact_run_ids(db):
        earlier = {row[0]: row[1:] for row in run_scores(db, before, columns)}
        return [
            (*row, *earlier[row[0]])
            for row in run_scores(db, after, columns)
            if row[0] in earlier and row[1:] != earlier[row[0]]
        ]
    picked = (
        ", ".join(f"n.[{column}]" for column in columns)
        + ", "
        + ", ".join(f"p.[{column}]" for column in columns)
    )
    differ = " OR ".join(f"n.[{column}] IS NOT p.[{column}]" for column in columns)
    return db.execute(
        f"SELECT n.account_id, {picked} FROM scores n JOIN scores p ON p.run_id = ? AND p.account_id = n.account_id "
        f"WHERE n.run_id = ? AND ({differ})",
        [before, after],
    ).fetchall()


def account_names(db: Database, account_ids: Collection[str]) -> dict[str, str]:
    """The names of the live accounts of `account_ids`."""
    return dict(
        db.execute(
            "SELECT id, name FROM accounts WHERE id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL",
            [json.dumps(list(account_ids))],
        ).fetchall()
    )


def close_follow_ups(
    db: Database,
    interaction_ids: Sequence[str],
    now: str,
    *,
    source: str | None = None,
    note: str | None = None,
) -> int:
    """Mark the follow-ups those interactions asked for done (`done_at`, a new version of the follow-up for
    the outbox), by the CSM (`source` None) or a CRM (its name), with a `note` saying why; how many were
    open."""
    return db.execute(
        "INSERT INTO follow_ups_done (interaction_id, done_at, source, note) SELECT id, ?, ?, ? FROM interactions "
        "WHERE id IN (SELECT value FROM json_each(?)) AND follow_up_on IS NOT NULL "
        "AND id NOT IN (SELECT interaction_id FROM follow_ups_done)",
        [now, source, note, json.dumps(list(interaction_ids))],
    ).rowcount


def move_follow_up(
    db: Database, interaction_id: str, day: date, now: str, *, source: str | None = None
) -> int:
    """The follow-up an interaction asked for, on another day (by the CSM, `source` None, or a CRM); 0 if it
    is done. The move is stamped (`follow_up_moves`, a new version of the follow-up for the outbox) and the
    interaction's own version is left alone: the interaction itself did not change."""
    moved = db.execute(
        "UPDATE interactions SET follow_up_on = ? "
        "WHERE id = ? AND id NOT IN (SELECT interaction_id FROM follow_ups_done)",
        [day.isoformat(), interaction_id],
    ).rowcount
    if moved:
        db.execute(
            "INSERT INTO follow_up_moves (interaction_id, moved_at, source) VALUES (?, ?, ?) "
            "ON CONFLICT (interaction_id) DO UPDATE SET moved_at = excluded.moved_at, source = excluded.source",
            [interaction_id, now, source],
        )
    return moved


def close_tasks(
    db: Database, item_ids: Sequence[str], statuses: Sequence[str], done_status: str, now: str
) -> int:
    """Mark the items of `item_ids` still in `statuses` done (`done_status`), as a new version for the
    outbox; how many were."""
    return db.execute(
        "UPDATE outreach SET status = ?, snoozed_until = NULL, updated_at = ? "
        "WHERE id IN (SELECT value FROM json_each(?)) AND status IN (SELECT value FROM json_each(?))",
        [done_status, now, json.dumps(list(item_ids)), json.dumps(list(statuses))],
    ).rowcount


def task_status(db: Database, item_id: str) -> str | None:
    row = db.execute("SELECT status FROM outreach WHERE id = ?", [item_id]).fetchone()
    return None if row is None else str(row[0])
