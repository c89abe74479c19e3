"""The SQL of CRM sync: runs and their items, watermarks, the outbox and each item's push state per CRM,
snapshots of pulled records, conflicts, and what setup learned about each CRM.

Writers run inside the caller's transaction (`Store.write()`); nothing here commits.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

from cockpit.store.outreach import close_items, move_item
from cockpit.store.scoring import TOUCHES, json_pairs
from cockpit.store.sqlite import Database
from cockpit.store.today import close_follow_ups, move_follow_up, task_status

ItemType = Literal["interaction", "outreach", "follow_up"]
ITEM_TYPES: tuple[ItemType, ...] = ("interaction", "outreach", "follow_up")
StatedItem = Literal["interaction", "outreach"]
"""The item types with a state of their own (a follow-up's CRM id and error live in `sync_pushes` alone: its
interaction's columns are the interaction's)."""
STATED_ITEMS: tuple[StatedItem, ...] = ("interaction", "outreach")
CRM_COLUMNS = {"hubspot": "hubspot_id", "salesforce": "salesforce_id"}
"""The column holding each CRM's id on accounts, contacts, interactions and outreach."""


def _column(crm: str) -> str:
    return CRM_COLUMNS[crm]


# Runs -------------------------------------------------------------------------------------------------


def start_run(db: Database, crm: str, *, dry_run: bool, now: str) -> int:
    cursor = db.execute(
        "INSERT INTO sync_runs (crm, direction, dry_run, started_at) VALUES (?, 'both', ?, ?)",
        [crm, int(dry_run), now],
    )
    return int(cursor.lastrowid or 0)


def finish_run(
    db: Database,
    run_id: int,
    *,
    status: str,
    counts: dict[str, int],
    errors: list[str],
    report: dict[str, Any],
    now: str,
) -> None:
    db.execute(
        "UPDATE sync_runs SET finished_at = ?, status = ?, counts = ?, errors = ?, report = ? WHERE id = ?",
        [now, status, json.dumps(counts), json.dumps(errors), json.dumps(report), run_id],
    )


def close_interrupted_runs(db: Database, *, now: str) -> list[int]:
    """Runs still marked running: their process died (the caller holds the sync lock). Marked failed."""
    ids = [row[0] for row in db.execute("SELECT id FROM sync_runs WHERE status = 'running'").fetchall()]
    note = json.dumps(["interrupted: the process stopped before the run finished; the next run resumed it"])
    db.execute(
        "UPDATE sync_runs SET status = 'failed', finished_at = ?, errors = ? WHERE status = 'running'",
        [now, note],
    )
    return ids


@dataclass(frozen=True)
class RunRow:
    id: int
    crm: str
    dry_run: bool
    started_at: str
    finished_at: str | None
    status: str
    counts: dict[str, int]
    errors: list[str]


def recent_runs(db: Database, limit: int) -> list[RunRow]:
    rows = db.execute(
        "SELECT id, crm, dry_run, started_at, finished_at, status, counts, errors FROM sync_runs "
        "ORDER BY id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [
        RunRow(row[0], row[1], bool(row[2]), row[3], row[4], row[5], json.loads(row[6]), json.loads(row[7]))
        for row in rows
    ]


def add_items(db: Database, run_id: int, crm: str, items: Iterable[tuple[Any, ...]], *, now: str) -> None:
    """Log items of a run: (direction, object_type, local_id, crm_id, action, status, error) tuples."""
    db.conn.executemany(
        "INSERT INTO sync_items (run_id, crm, direction, object_type, local_id, crm_id, action, status, error, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run_id, crm, *item, now) for item in items],
    )


# Watermarks and setup state ---------------------------------------------------------------------------


def watermark(db: Database, crm: str, key: str) -> str | None:
    row = db.execute(
        "SELECT watermark FROM sync_watermarks WHERE crm = ? AND object_type = ?", [crm, key]
    ).fetchone()
    return None if row is None else str(row[0])


def set_watermark(db: Database, crm: str, key: str, value: str, *, now: str) -> None:
    """Move the watermark forward (never back: a page read in an overlap may be older)."""
    db.execute(
        "INSERT INTO sync_watermarks (crm, object_type, watermark, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (crm, object_type) DO UPDATE SET watermark = max(watermark, excluded.watermark), "
        "updated_at = excluded.updated_at",
        [crm, key, value, now],
    )


def crm_state(db: Database, crm: str) -> dict[str, str]:
    rows = db.execute("SELECT key, value FROM sync_crm_state WHERE crm = ?", [crm]).fetchall()
    return {str(key): str(value) for key, value in rows}


def save_crm_state(db: Database, crm: str, state: dict[str, str], *, now: str) -> None:
    db.conn.executemany(
        "INSERT INTO sync_crm_state (crm, key, value, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (crm, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [(crm, key, value, now) for key, value in state.items()],
    )


# Pulled records -----------------------------------------------------------------------------------------


def current_values(db: Database, table: str, local_id: str, columns: Sequence[str]) -> dict[str, Any] | None:
    """The row's values of `columns`, plus `deleted_at`; None if there is no such row."""
    names = ", ".join(f"[{column}]" for column in [*columns, "deleted_at"])
    cursor = db.execute(f"SELECT {names} FROM [{table}] WHERE id = ?", [local_id])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([*columns, "deleted_at"], row, strict=True))


def snapshot(db: Database, crm: str, object_type: str, crm_id: str) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT fields FROM sync_snapshots WHERE crm = ? AND object_type = ? AND crm_id = ?",
        [crm, object_type, crm_id],
    ).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def modified_at(db: Database, crm: str, object_type: str, crm_id: str) -> str | None:
    """When the CRM last modified the record, as of the last change of it stored (None: none stored)."""
    row = db.execute(
        "SELECT crm_modified_at FROM sync_snapshots WHERE crm = ? AND object_type = ? AND crm_id = ?",
        [crm, object_type, crm_id],
    ).fetchone()
    return None if row is None else str(row[0])


def save_snapshot(
    db: Database,
    crm: str,
    object_type: str,
    crm_id: str,
    local_id: str,
    fields: dict[str, Any],
    *,
    modified_at: str,
    now: str,
) -> None:
    db.execute(
        "INSERT INTO sync_snapshots (crm, object_type, crm_id, local_id, fields, crm_modified_at, synced_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (crm, object_type, crm_id) DO UPDATE SET "
        "local_id = excluded.local_id, fields = excluded.fields, "
        "crm_modified_at = excluded.crm_modified_at, synced_at = excluded.synced_at",
        [crm, object_type, crm_id, local_id, json.dumps(fields, sort_keys=True), modified_at, now],
    )


def live_record(db: Database, crm: str, table: str, crm_id: str) -> str | None:
    """The id of the record with this CRM id, unless it is marked deleted."""
    row = db.execute(
        f"SELECT id FROM [{table}] WHERE [{_column(crm)}] = ? AND deleted_at IS NULL", [crm_id]
    ).fetchone()
    return None if row is None else str(row[0])


def mark_deleted(db: Database, crm: str, table: str, crm_id: str, deleted_at: str, *, now: str) -> str | None:
    """Mark the record with this CRM id deleted (kept, not dropped); its id, if it was live."""
    local_id = live_record(db, crm, table, crm_id)
    if local_id is not None:
        db.execute(
            f"UPDATE [{table}] SET deleted_at = ?, updated_at = ? WHERE id = ?", [deleted_at, now, local_id]
        )
    return local_id


def record_merge(
    db: Database, crm: str, table: str, crm_id: str, winner: str, merged_at: str, *, now: str
) -> str | None:
    """Record that the record with this CRM id was merged in the CRM into the local record `winner`, at
    `merged_at`: marked deleted (then, unless marked already) and named in `merged_records`. Its id, if this
    was news (`merged_id`)."""
    local_id = merged_id(db, crm, table, crm_id, winner)
    if local_id is not None:
        db.execute(
            f"UPDATE [{table}] SET deleted_at = coalesce(deleted_at, ?), updated_at = ? WHERE id = ?",
            [merged_at, now, local_id],
        )
        db.execute(
            "INSERT INTO merged_records (tbl, local_id, winner_id, crm, merged_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (tbl, local_id) DO UPDATE SET winner_id = excluded.winner_id, crm = excluded.crm, "
            "merged_at = excluded.merged_at",
            [table, local_id, winner, crm, merged_at],
        )
    return local_id


def merged_id(db: Database, crm: str, table: str, crm_id: str, winner: str) -> str | None:
    """The id of the record with this CRM id that a merge into `winner` would record: one held, not the
    winner itself, not recorded as merged already, unless live again (restored in the CRM since: it keeps
    its old merge's row, which no one reads, and may be merged anew)."""
    row = db.execute(
        f"SELECT r.id FROM [{table}] r LEFT JOIN merged_records m ON m.tbl = ? AND m.local_id = r.id "
        f"WHERE r.[{_column(crm)}] = ? AND r.id != ? AND (m.local_id IS NULL OR r.deleted_at IS NULL)",
        [table, crm_id, winner],
    ).fetchone()
    return None if row is None else str(row[0])


# Conflicts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConflictRow:
    id: int
    crm: str
    object_type: str
    local_id: str
    crm_id: str
    field: str
    base_value: Any
    local_value: Any
    crm_value: Any
    detected_at: str
    run_id: int | None
    account_name: str | None = None
    """The name of the account the record belongs to (the account itself, a contact's, a follow-up's or an
    outreach item's), None once it is gone."""

    @property
    def record(self) -> str:
        """The record for a person: `account Acme`, `follow-up · Acme`; its id when its account is gone."""
        kind = CONFLICT_KINDS.get(self.object_type, self.object_type)
        return f"{kind} {self.local_id}" if self.account_name is None else f"{kind} · {self.account_name}"


CONFLICT_KINDS: Final = {
    "accounts": "account",
    "contacts": "contact",
    "follow_ups": "follow-up",
    "outreach": "outreach",
}
_CONFLICT_ACCOUNT = """(SELECT name FROM accounts WHERE id = CASE c.object_type
        WHEN 'accounts' THEN c.local_id
        WHEN 'contacts' THEN (SELECT account_id FROM contacts WHERE id = c.local_id)
        WHEN 'follow_ups' THEN (SELECT account_id FROM interactions WHERE id = c.local_id)
        WHEN 'outreach' THEN (SELECT account_id FROM outreach WHERE id = c.local_id) END)"""


def record_conflict(
    db: Database,
    crm: str,
    object_type: str,
    local_id: str,
    crm_id: str,
    field: str,
    values: tuple[Any, Any, Any],
    *,
    run_id: int,
    now: str,
) -> bool:
    """Open a conflict on the field, or bring an open one up to date; True if it is new."""
    base, local, theirs = (json.dumps(value) for value in values)
    updated = db.execute(
        "UPDATE sync_conflicts SET local_value = ?, crm_value = ?, run_id = ?, detected_at = ? "
        "WHERE crm = ? AND object_type = ? AND local_id = ? AND field = ? AND resolved_at IS NULL",
        [local, theirs, run_id, now, crm, object_type, local_id, field],
    )
    if updated.rowcount:
        return False
    db.execute(
        "INSERT INTO sync_conflicts (crm, object_type, local_id, crm_id, field, base_value, local_value, "
        "crm_value, run_id, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [crm, object_type, local_id, crm_id, field, base, local, theirs, run_id, now],
    )
    return True


def settle_conflicts(
    db: Database, crm: str, object_type: str, local_id: str, fields: Iterable[str], *, now: str
) -> None:
    """Close open conflicts on fields where both sides now agree."""
    db.conn.executemany(
        "UPDATE sync_conflicts SET resolved_at = ?, resolution = 'crm' WHERE crm = ? AND object_type = ? "
        "AND local_id = ? AND field = ? AND resolved_at IS NULL",
        [(now, crm, object_type, local_id, field) for field in fields],
    )


def open_conflicts(db: Database, *, limit: int | None = None) -> list[ConflictRow]:
    rows = db.execute(
        "SELECT id, crm, object_type, local_id, crm_id, field, base_value, local_value, crm_value, "
        f"detected_at, run_id, {_CONFLICT_ACCOUNT} FROM sync_conflicts c WHERE resolved_at IS NULL "
        "ORDER BY id LIMIT ?",
        [-1 if limit is None else limit],
    ).fetchall()
    return [_conflict(row) for row in rows]


def conflict(db: Database, conflict_id: int) -> ConflictRow | None:
    row = db.execute(
        "SELECT id, crm, object_type, local_id, crm_id, field, base_value, local_value, crm_value, "
        f"detected_at, run_id, {_CONFLICT_ACCOUNT} FROM sync_conflicts c WHERE id = ? AND resolved_at IS NULL",
        [conflict_id],
    ).fetchone()
    return None if row is None else _conflict(row)


def _conflict(row: Sequence[Any]) -> ConflictRow:
    base, local, theirs = (None if text is None else json.loads(text) for text in row[6:9])
    return ConflictRow(
        id=row[0],
        crm=row[1],
        object_type=row[2],
        local_id=row[3],
        crm_id=row[4],
        field=row[5],
        base_value=base,
        local_value=local,
        crm_value=theirs,
        detected_at=row[9],
        run_id=row[10],
        account_name=row[11],
    )


def resolve(
    db: Database,
    found: ConflictRow,
    keep: Literal["local", "crm"],
    rules: OutreachRules,
    *,
    now: str,
) -> None:
    """Keep one side: the CRM's value is written locally, or the local one stays; either way the CRM's
    value becomes the agreed base, so only a new change on a side raises the field again."""
    task_items = {table: item_type for item_type, table in TASK_OBJECTS.items()}
    if found.object_type in task_items:
        _resolve_task(db, task_items[found.object_type], found, keep, rules, now=now)
    else:
        _resolve_record(db, found, keep, now=now)
    db.execute(
        "UPDATE sync_conflicts SET resolved_at = ?, resolution = ? WHERE id = ?", [now, keep, found.id]
    )


def _resolve_record(db: Database, found: ConflictRow, keep: Literal["local", "crm"], *, now: str) -> None:
    if keep == "crm":
        db.execute(
            f"UPDATE [{found.object_type}] SET [{found.field}] = ?, updated_at = ? WHERE id = ?",
            [found.crm_value, now, found.local_id],
        )
    row = db.execute(
        "SELECT fields FROM sync_snapshots WHERE crm = ? AND object_type = ? AND crm_id = ?",
        [found.crm, found.object_type, found.crm_id],
    ).fetchone()
    fields = dict(json.loads(row[0])) if row else {}
    fields[found.field] = found.crm_value
    db.execute(
        "UPDATE sync_snapshots SET fields = ? WHERE crm = ? AND object_type = ? AND crm_id = ?",
        [json.dumps(fields, sort_keys=True), found.crm, found.object_type, found.crm_id],
    )


def _resolve_task(
    db: Database,
    item_type: TaskItem,
    found: ConflictRow,
    keep: Literal["local", "crm"],
    rules: OutreachRules,
    *,
    now: str,
) -> None:
    """A task's field: the CRM's value applied (a done or a move by the CRM), or the local one kept; the
    CRM's becomes the value last pushed, so a value kept goes out with the next push."""
    if keep == "crm":
        apply_task(db, item_type, found.local_id, {found.field: found.crm_value}, found.crm, rules, now=now)
    db.execute(
        "UPDATE sync_pushes SET pushed_values = json_set(coalesce(pushed_values, '{}'), ?, json(?)) "
        "WHERE crm = ? AND item_type = ? AND local_id = ?",
        [f"$.{found.field}", json.dumps(found.crm_value), found.crm, item_type, found.local_id],
    )


# The outbox ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    item_type: ItemType
    local_id: str
    """The item's id; a follow-up's is its interaction's."""
    sync_key: str
    """The item's sync key; a follow-up's is its interaction's (the follow-up's own is made from it:
    `cockpit.domain.records.follow_up_sync_key`)."""
    kind: str
    """Interaction kind or outreach channel; a follow-up's is its interaction's kind."""
    direction: str
    occurred_at: str
    """When the interaction happened; an outreach item's or a follow-up's due day."""
    subject: str | None
    body: str
    account_id: str
    account_crm_id: str | None
    contact_crm_id: str | None
    crm_id: str | None
    state: str | None
    """This CRM's push state of the item: None if never tried."""
    version: str
    done: bool
    """An outreach task the CSM did, or a follow-up done (marked done, or settled by a later touch): filed
    in the CRM as completed; SQLite gives it as 0 or 1."""


_LATER_TOUCHES = (
    "FROM interactions j WHERE j.account_id = i.account_id AND j.occurred_at > i.occurred_at AND " + TOUCHES
)
"""The touches of the follow-up's account after its interaction, which settle it (as on the Today screen:
`store/today.py`); `:touches` is bound as there."""
_FOLLOW_UP_DONE = f"(d.interaction_id IS NOT NULL OR EXISTS (SELECT 1 {_LATER_TOUCHES}))"
_FOLLOW_UP_VERSION = (
    "max(coalesce(datetime(i.updated_at), i.updated_at), coalesce(datetime(m.moved_at), ''), "
    f"coalesce(datetime(d.done_at), ''), coalesce((SELECT min(datetime(j.created_at)) {_LATER_TOUCHES}), ''))"
)
"""A follow-up's version: the latest of its interaction's edit, its move, its done and the first touch that
settled it, each in UTC (the interaction's stamp may carry the CSM's zone, the others UTC: text order
would not be time order)."""

_TASK_HELD = (
    "p.crm_deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM sync_conflicts x WHERE x.crm = :crm "
    "AND x.object_type = '{object}' AND x.local_id = {id} AND x.resolved_at IS NULL)"
)
"""A task held back (`{object}` its conflicts' object type, `{id}` its item's id): its task was deleted in
the CRM (never made again), or it has an open conflict (the CRM changed it too: the push must not undo that
before the CSM settles it)."""

_PENDING = {
    "interaction": (
        "i.id, i.sync_key, i.kind, i.direction, i.occurred_at, NULL, i.summary, i.account_id, "
        "a.{col}, c.{col}, coalesce(p.crm_id, i.{col}), p.state, i.updated_at, 0",
        "FROM interactions i JOIN accounts a ON a.id = i.account_id "
        "LEFT JOIN contacts c ON c.id = i.contact_id "
        "LEFT JOIN sync_pushes p ON p.crm = :crm AND p.item_type = 'interaction' AND p.local_id = i.id "
        "WHERE i.sync_state = 'pending' AND {account} AND i.id > :after {pushable}",
    ),
    "outreach": (
        "o.id, o.sync_key, o.channel, 'outbound', o.due_on, o.subject, o.body, o.account_id, "
        "a.{col}, c.{col}, coalesce(p.crm_id, o.{col}), p.state, o.updated_at, o.status = 'sent'",
        "FROM outreach o JOIN accounts a ON a.id = o.account_id "
        "LEFT JOIN contacts c ON c.id = o.contact_id "
        "LEFT JOIN sync_pushes p ON p.crm = :crm AND p.item_type = 'outreach' AND p.local_id = o.id "
        "WHERE (o.status IN ('approved', 'sent') OR (o.status = 'synced' AND p.state IS NOT NULL)) "
        f"AND {_TASK_HELD.format(object='outreach', id='o.id')} AND {{account}} AND o.id > :after {{pushable}}",
    ),
    "follow_up": (
        "i.id, i.sync_key, i.kind, 'outbound', i.follow_up_on, NULL, i.summary, i.account_id, "
        f"a.{{col}}, c.{{col}}, p.crm_id, p.state, {_FOLLOW_UP_VERSION}, {_FOLLOW_UP_DONE}",
        "FROM interactions i JOIN accounts a ON a.id = i.account_id "
        "LEFT JOIN contacts c ON c.id = i.contact_id "
        "LEFT JOIN follow_ups_done d ON d.interaction_id = i.id "
        "LEFT JOIN follow_up_moves m ON m.interaction_id = i.id "
        "LEFT JOIN sync_pushes p ON p.crm = :crm AND p.item_type = 'follow_up' AND p.local_id = i.id "
        "WHERE i.follow_up_on IS NOT NULL AND (i.sync_state = 'pending' OR EXISTS (SELECT 1 FROM sync_pushes q "
        "WHERE q.crm = :crm AND q.item_type = 'interaction' AND q.local_id = i.id)) "
        f"AND (p.state IS NOT NULL OR NOT {_FOLLOW_UP_DONE}) AND {_TASK_HELD.format(object='follow_ups', id='i.id')} "
        "AND {account} AND i.id > :after {pushable}",
    ),
}
"""Each item type's outbox: the columns of an `OutboxRow` and where they come from."""
# Outreach goes to the CRM once approved, or done (status `sent`: a task the CSM did, `cockpit.domain.today`);
# and to a CRM that has it again once it changed since (a task moved to another day).
# A follow-up goes with its interaction: of one the CSM logged that waits in the outbox or went to this CRM
# through it (not one imported from or pulled out of a CRM); once there, again whenever it is moved or done.
# Done (marked done, or settled by a later touch of the account, as on the Today screen), it is completed
# there; one done before it ever went out is not sent at all (no task to complete). Both are held back as
# `_TASK_HELD` says.
# Not yet in this CRM as it is now: never pushed, in flight or refused for a passing reason, or pushed or
# given up on before its last edit.
_PUSHABLE = (
    "AND (p.state IS NULL OR p.state IN ('in_flight', 'error') OR p.pushed_version IS NULL "
    "OR p.pushed_version < {version})"
)
_VERSIONS = {"interaction": "i.updated_at", "outreach": "o.updated_at", "follow_up": _FOLLOW_UP_VERSION}


_LIVE_ACCOUNT = "a.deleted_at IS NULL"
_DELETED_ACCOUNT = "a.deleted_at IS NOT NULL"
"""An item of an account deleted in cockpit is held back: it never enters the outbox (it goes out if the
account comes back)."""


def _outbox_sql(crm: str, item_type: ItemType, account: str) -> tuple[str, str]:
    """The item type's outbox columns and the rest of its query from FROM on (unordered)."""
    columns, body = _PENDING[item_type]
    col = _column(crm)
    pushable = _PUSHABLE.format(version=_VERSIONS[item_type])
    return columns.format(col=col), body.format(col=col, pushable=pushable, account=account)


def _params(crm: str, touches: Collection[tuple[str, str]], **more: Any) -> dict[str, Any]:
    return {"crm": crm, "touches": json_pairs(touches), **more}


def pending(
    db: Database,
    crm: str,
    item_type: ItemType,
    touches: Collection[tuple[str, str]],
    *,
    after: str,
    limit: int,
) -> list[OutboxRow]:
    """The outbox for `crm`, in id order from after `after` (items of deleted accounts held back). A
    follow-up is settled by a later interaction of its account whose (kind, direction) is one of
    `touches`."""
    columns, body = _outbox_sql(crm, item_type, _LIVE_ACCOUNT)
    alias = "o" if item_type == "outreach" else "i"
    rows = db.execute(
        f"SELECT {columns} {body} ORDER BY {alias}.id LIMIT :limit",
        _params(crm, touches, after=after, limit=limit),
    ).fetchall()
    return [OutboxRow(item_type, *row) for row in rows]


def _count(
    db: Database, crm: str, item_type: ItemType, account: str, touches: Collection[tuple[str, str]]
) -> int:
    _columns, body = _outbox_sql(crm, item_type, account)
    return int(db.execute(f"SELECT count(*) {body}", _params(crm, touches, after="")).fetchone()[0])


def count_pending(
    db: Database, crm: str, item_types: Sequence[ItemType], touches: Collection[tuple[str, str]]
) -> dict[str, int]:
    """How many items of each of `item_types` wait in the outbox for `crm` (`touches` as for `pending`)."""
    return {item_type: _count(db, crm, item_type, _LIVE_ACCOUNT, touches) for item_type in item_types}


def count_held(
    db: Database, crm: str, item_types: Sequence[ItemType], touches: Collection[tuple[str, str]]
) -> int:
    """Items that would wait in the outbox for `crm` but that their account is deleted in cockpit."""
    return sum(_count(db, crm, item_type, _DELETED_ACCOUNT, touches) for item_type in item_types)


def mark_in_flight(
    db: Database, crm: str, rows: Sequence[tuple[ItemType, str, str]], *, run_id: int, now: str
) -> None:
    """Before a batch goes out: (item_type, local_id, crm_object) rows are in flight."""
    db.conn.executemany(
        "INSERT INTO sync_pushes (crm, item_type, local_id, state, crm_object, run_id, updated_at) "
        "VALUES (?, ?, ?, 'in_flight', ?, ?, ?) ON CONFLICT (crm, item_type, local_id) DO UPDATE SET "
        "state = 'in_flight', crm_object = excluded.crm_object, run_id = excluded.run_id, "
        "updated_at = excluded.updated_at",
        [(crm, item_type, local_id, target, run_id, now) for item_type, local_id, target in rows],
    )


@dataclass(frozen=True)
class PushOutcome:
    item_type: ItemType
    local_id: str
    crm_object: str
    crm_id: str | None
    error: str | None
    state: str
    """`synced`, `error` or `failed`, as `cockpit.services.sync.states` decided."""
    refusals: int
    """The CRM's refusals of the item so far."""
    pushed_version: str | None
    """The item's version now synced or given up on in this CRM; None keeps the one stored."""
    pushed_values: dict[str, Any] | None = None
    """A task's values the CRM now has (`TASK_FIELDS`); None keeps those stored."""


def _item_table(item_type: StatedItem) -> tuple[str, str, str]:
    """The item's table, the column of its own state, and that state while it waits in the outbox."""
    if item_type == "interaction":
        return "interactions", "sync_state", "pending"
    return "outreach", "status", "approved"


def refusals(db: Database, crm: str, items: Iterable[tuple[ItemType, str]]) -> dict[tuple[str, str], int]:
    """The CRM's refusals so far of each (item_type, local_id) that has a push state in it."""
    found: dict[tuple[str, str], int] = {}
    for item_type, local_id in items:
        row = db.execute(
            "SELECT attempts FROM sync_pushes WHERE crm = ? AND item_type = ? AND local_id = ?",
            [crm, item_type, local_id],
        ).fetchone()
        if row is not None:
            found[item_type, local_id] = int(row[0])
    return found


def record_pushes(db: Database, crm: str, outcomes: Sequence[PushOutcome], *, run_id: int, now: str) -> None:
    """Store each item's outcome in this CRM: its state, refusals and version as given, its CRM id, its
    error."""
    column = _column(crm)
    for outcome in outcomes:
        db.execute(
            "INSERT INTO sync_pushes (crm, item_type, local_id, state, crm_object, crm_id, attempts, error, "
            "pushed_version, run_id, updated_at, pushed_values) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (crm, item_type, local_id) DO UPDATE SET state = excluded.state, "
            "crm_object = excluded.crm_object, crm_id = coalesce(excluded.crm_id, crm_id), "
            "attempts = excluded.attempts, error = excluded.error, "
            "pushed_version = coalesce(excluded.pushed_version, pushed_version), run_id = excluded.run_id, "
            "updated_at = excluded.updated_at, pushed_values = coalesce(excluded.pushed_values, pushed_values)",
            [
                crm,
                outcome.item_type,
                outcome.local_id,
                outcome.state,
                outcome.crm_object,
                outcome.crm_id,
                outcome.refusals,
                outcome.error,
                outcome.pushed_version,
                run_id,
                now,
                None if outcome.pushed_values is None else json.dumps(outcome.pushed_values, sort_keys=True),
            ],
        )
        if outcome.item_type == "follow_up":
            continue
        table = _item_table(outcome.item_type)[0]
        if outcome.crm_id is not None:
            db.execute(
                f"UPDATE [{table}] SET [{column}] = ?, sync_error = ? WHERE id = ?",
                [outcome.crm_id, outcome.error, outcome.local_id],
            )
        else:
            db.execute(f"UPDATE [{table}] SET sync_error = ? WHERE id = ?", [outcome.error, outcome.local_id])


def current_push_states(
    db: Database, item_type: StatedItem, local_ids: Sequence[str], crms: Sequence[str]
) -> dict[str, list[str]]:
    """Each item's push states in those of `crms` that have it as it is now (pushed or given up on since its
    last edit)."""
    table = _item_table(item_type)[0]
    marks = ", ".join("?" for _ in crms)
    return {
        local_id: [
            row[0]
            for row in db.execute(
                f"SELECT p.state FROM sync_pushes p JOIN [{table}] t ON t.id = p.local_id "
                f"WHERE p.item_type = ? AND p.local_id = ? AND p.crm IN ({marks}) "
                "AND p.pushed_version >= t.updated_at",
                [item_type, local_id, *crms],
            ).fetchall()
        ]
        for local_id in local_ids
    }


def settle_items(db: Database, item_type: StatedItem, settled: Iterable[tuple[str, str]]) -> None:
    """Set each (local_id, state) item's own state, if it still waits in the outbox. `updated_at` is left
    alone: it is the item's version, and a push must not look like an edit."""
    table, column, waiting = _item_table(item_type)
    for local_id, state in settled:
        db.execute(
            f"UPDATE [{table}] SET [{column}] = ? WHERE id = ? AND [{column}] = ?", [state, local_id, waiting]
        )


# Status ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemProblem:
    crm: str
    item_type: ItemType
    local_id: str
    state: str
    """`error` (tried again next run) or `failed` (given up on until the item is edited or retried)."""
    attempts: int
    error: str
    updated_at: str


def item_problems(db: Database, *, limit: int) -> list[ItemProblem]:
    rows = db.execute(
        "SELECT crm, item_type, local_id, state, attempts, coalesce(error, ''), updated_at FROM sync_pushes "
        "WHERE state IN ('error', 'failed') ORDER BY updated_at DESC, local_id LIMIT ?",
        [limit],
    ).fetchall()
    return [ItemProblem(*row) for row in rows]


def retry_failed(db: Database, crm: str | None) -> int:
    """Put items given up on back in the outbox; returns how many."""
    where = "state = 'failed'" + ("" if crm is None else " AND crm = ?")
    params = [] if crm is None else [crm]
    keys = db.execute(f"SELECT item_type, local_id FROM sync_pushes WHERE {where}", params).fetchall()
    db.execute(
        f"UPDATE sync_pushes SET state = 'error', attempts = 0, pushed_version = NULL WHERE {where}", params
    )
    for item_type, local_id in keys:
        if item_type == "follow_up":
            continue
        table, column, waiting = _item_table(item_type)
        db.execute(
            f"UPDATE [{table}] SET [{column}] = ? WHERE id = ? AND [{column}] = 'failed'", [waiting, local_id]
        )
    return len(keys)


# Tasks coming back: follow-ups' and outreach's ---------------------------------------------------------

TaskItem = Literal["follow_up", "outreach"]
"""The outbox items that are tasks in a CRM, whose changes there come back."""
FOLLOW_UPS = "follow_ups"
"""The object type of a follow-up's conflicts (its `local_id`: the interaction's)."""
TASK_OBJECTS: dict[TaskItem, str] = {"follow_up": FOLLOW_UPS, "outreach": "outreach"}
"""The object type of each task item's conflicts, changes and counts."""
TASK_FIELDS = ("due_on", "done")
"""What a task carries back: its day (ISO) and whether it is done."""


@dataclass(frozen=True)
class OutreachRules:
    """How a CRM's change lands on an outreach item (`cockpit.domain.today`'s rules): done only from one of
    the statuses still open, to the done status, closed on `today`."""

    open_statuses: Sequence[str]
    done_status: str
    today: date


@dataclass(frozen=True)
class PushedTask:
    """A follow-up or an outreach item pushed to a CRM as a task, as cockpit holds it."""

    item_type: TaskItem
    local_id: str
    crm_id: str | None
    values: dict[str, Any]
    """Its `TASK_FIELDS` in cockpit now (a follow-up done: marked done or settled by a later touch; an
    outreach item: of status `sent`)."""
    pushed_values: dict[str, Any] | None
    """Those the CRM was last sent (None: pushed before they were kept)."""
    waiting: bool
    """Changed here since (or its last push's answer unknown): it waits in the outbox."""
    deleted: bool
    """Its task was deleted in the CRM."""

    @property
    def object_type(self) -> str:
        return TASK_OBJECTS[self.item_type]


_TASK_ITEMS: dict[TaskItem, tuple[str, str, str]] = {
    "follow_up": (
        f"i.id, p.crm_id, i.follow_up_on, {_FOLLOW_UP_DONE}, p.pushed_values, "
        "p.state != 'synced' OR p.pushed_version IS NULL "
        f"OR p.pushed_version < {_FOLLOW_UP_VERSION}, p.crm_deleted_at IS NOT NULL",
        "FROM (SELECT id FROM interactions WHERE sync_key = :key UNION SELECT local_id FROM sync_pushes "
        "WHERE crm = :crm AND crm_id = :crm_id AND item_type = 'follow_up') found "
        "JOIN sync_pushes p ON p.crm = :crm AND p.item_type = 'follow_up' AND p.local_id = found.id "
        "JOIN interactions i ON i.id = found.id "
        "LEFT JOIN follow_ups_done d ON d.interaction_id = i.id "
        "LEFT JOIN follow_up_moves m ON m.interaction_id = i.id "
        "WHERE i.follow_up_on IS NOT NULL",
        f"SELECT {_FOLLOW_UP_VERSION} FROM interactions i LEFT JOIN follow_ups_done d ON d.interaction_id = i.id "
        "LEFT JOIN follow_up_moves m ON m.interaction_id = i.id WHERE i.id = :id",
    ),
    "outreach": (
        "o.id, p.crm_id, o.due_on, o.status = 'sent', p.pushed_values, "
        "p.state != 'synced' OR p.pushed_version IS NULL OR p.pushed_version < o.updated_at, "
        "p.crm_deleted_at IS NOT NULL",
        "FROM (SELECT id FROM outreach WHERE sync_key = :key UNION SELECT local_id FROM sync_pushes "
        "WHERE crm = :crm AND crm_id = :crm_id AND item_type = 'outreach') found "
        "JOIN sync_pushes p ON p.crm = :crm AND p.item_type = 'outreach' AND p.local_id = found.id "
        "JOIN outreach o ON o.id = found.id",
        "SELECT updated_at FROM outreach WHERE id = :id",
    ),
}
"""Per task item: its `PushedTask` columns, where it is found (by the key it was pushed under, or the
task's CRM id: two index lookups), and its version (as the outbox reads it)."""


def pushed_task(
    db: Database,
    crm: str,
    item_type: TaskItem,
    touches: Collection[tuple[str, str]],
    *,
    sync_key: str | None,
    crm_id: str,
) -> PushedTask | None:
    """The follow-up (`sync_key`: its interaction's, the task's key less its suffix) or outreach item (its
    own key) whose task in `crm` this is, known by that key or by the task's CRM id; None if it is no such
    item's pushed there. `touches` as for `pending`."""
    columns, where, _version = _TASK_ITEMS[item_type]
    row = db.execute(
        f"SELECT {columns} {where} LIMIT 1", _params(crm, touches, key=sync_key, crm_id=crm_id)
    ).fetchone()
    if row is None:
        return None
    local_id, task_id, due_on, done, pushed, waiting, deleted = row
    return PushedTask(
        item_type=item_type,
        local_id=str(local_id),
        crm_id=task_id,
        values={"due_on": due_on, "done": bool(done)},
        pushed_values=None if pushed is None else dict(json.loads(pushed)),
        waiting=bool(waiting),
        deleted=bool(deleted),
    )


def apply_task(
    db: Database,
    item_type: TaskItem,
    local_id: str,
    values: dict[str, Any],
    crm: str,
    rules: OutreachRules,
    *,
    now: str,
) -> None:
    """The CRM's change of a task, made to its item: done (never undone here), or moved to its day; each
    stamped as a new version, with the CRM as its source (a follow-up's `source`; an outreach item's
    `reason.closed.by`, and its new day a person's edit, which the planner keeps)."""
    day = values.get("due_on")
    if item_type == "follow_up":
        if values.get("done"):
            close_follow_ups(db, [local_id], now, source=crm)
        if day:
            move_follow_up(db, local_id, date.fromisoformat(day), now, source=crm)
        return
    if values.get("done"):
        close_items(
            db,
            [(local_id, f"completed in {crm}")],
            crm,
            rules.today,
            now,
            status=rules.done_status,
            only=rules.open_statuses,
        )
    status = task_status(db, local_id)
    if day and status is not None and status in rules.open_statuses:
        move_item(db, local_id, status, date.fromisoformat(day), now)


def agree_task(
    db: Database,
    crm: str,
    item_type: TaskItem,
    local_id: str,
    touches: Collection[tuple[str, str]],
    *,
    crm_id: str,
    agreed: dict[str, Any],
    caught_up: bool,
) -> None:
    """What the item and its task in `crm` now agree on, and the task's id; `caught_up`: the CRM has the item
    as it is now (it made the last change itself), so the push does not send it back."""
    db.execute(
        "UPDATE sync_pushes SET pushed_values = :agreed, crm_id = coalesce(crm_id, :crm_id), "
        "crm_deleted_at = NULL, pushed_version = CASE WHEN :caught_up THEN "
        f"({_TASK_ITEMS[item_type][2]}) ELSE pushed_version END "
        "WHERE crm = :crm AND item_type = :item_type AND local_id = :id",
        _params(
            crm,
            touches,
            agreed=json.dumps(agreed, sort_keys=True),
            crm_id=crm_id,
            caught_up=caught_up,
            id=local_id,
            item_type=item_type,
        ),
    )


def task_deleted(db: Database, crm: str, item_type: TaskItem, local_id: str, *, now: str) -> None:
    """The item's task is gone from `crm`: the push never makes it again, and its open conflicts there are
    over."""
    db.execute(
        "UPDATE sync_pushes SET crm_deleted_at = ? WHERE crm = ? AND item_type = ? AND local_id = ?",
        [now, crm, item_type, local_id],
    )
    settle_conflicts(db, crm, TASK_OBJECTS[item_type], local_id, TASK_FIELDS, now=now)


# Pulled engagements -------------------------------------------------------------------------------------


def is_own_item(db: Database, crm: str, *, sync_key: str | None, crm_id: str, pulled_key: str) -> bool:
    """Whether an engagement pulled from `crm` is one of cockpit's own pushed items coming back: its sync key
    is an interaction's or an outreach item's (a follow-up's task: the caller gives its interaction's key,
    `domain.records.item_sync_key`), or its CRM id is one a push recorded (a follow-up's too)."""
    col = _column(crm)
    if sync_key is not None:
        for table in ("interactions", "outreach"):
            if db.execute(f"SELECT 1 FROM {table} WHERE sync_key = ?", [sync_key]).fetchone():
                return True
    found = db.execute(
        f"SELECT 1 FROM interactions WHERE {col} = ? AND sync_key != ? "
        f"UNION ALL SELECT 1 FROM outreach WHERE {col} = ? "
        "UNION ALL SELECT 1 FROM sync_pushes WHERE crm = ? AND crm_id = ? LIMIT 1",
        [crm_id, pulled_key, crm_id, crm, crm_id],
    ).fetchone()
    return found is not None


def account_by_crm_ids(db: Database, crm: str, crm_ids: Sequence[str]) -> str | None:
    """The live local account with one of these CRM ids (the first found), if any."""
    if not crm_ids:
        return None
    marks = ", ".join("?" * len(crm_ids))
    row = db.execute(
        f"SELECT id FROM accounts WHERE {_column(crm)} IN ({marks}) AND deleted_at IS NULL ORDER BY id LIMIT 1",
        list(crm_ids),
    ).fetchone()
    return None if row is None else str(row[0])


def contact_by_crm_ids(
    db: Database, crm: str, crm_ids: Sequence[str], account_id: str | None
) -> tuple[str, str] | None:
    """The live local contact with one of these CRM ids (the first found), of `account_id` when one is
    given: (its id, its account's id)."""
    if not crm_ids:
        return None
    marks = ", ".join("?" * len(crm_ids))
    of_account = "" if account_id is None else " AND account_id = ?"
    row = db.execute(
        f"SELECT id, account_id FROM contacts WHERE {_column(crm)} IN ({marks}) AND deleted_at IS NULL"
        f"{of_account} ORDER BY id LIMIT 1",
        [*crm_ids, *([] if account_id is None else [account_id])],
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


PULLED_FIELDS = ("account_id", "contact_id", "kind", "direction", "occurred_at", "summary", "author")


def save_pulled_interaction(
    db: Database, crm: str, values: dict[str, Any], *, now: str
) -> Literal["inserted", "updated", "unchanged"]:
    """Insert or update a colleague's interaction pulled from `crm`, by its sync key (`values` holds `id`,
    `sync_key`, the CRM id and `PULLED_FIELDS`); it is in the CRM already, so it never waits in the outbox."""
    col = _column(crm)
    current = db.execute(
        f"SELECT {', '.join(PULLED_FIELDS)} FROM interactions WHERE sync_key = ?", [values["sync_key"]]
    ).fetchone()
    if current is None:
        db.table("interactions").insert(
            {
                **{name: values[name] for name in ("id", "sync_key", *PULLED_FIELDS)},
                col: values[col],
                "sync_state": "synced",
                "created_at": now,
                "updated_at": now,
            }
        )
        return "inserted"
    if tuple(current) == tuple(values[name] for name in PULLED_FIELDS):
        return "unchanged"
    assignments = ", ".join(f"{name} = ?" for name in PULLED_FIELDS)
    db.execute(
        f"UPDATE interactions SET {assignments}, updated_at = ? WHERE sync_key = ?",
        [*(values[name] for name in PULLED_FIELDS), now, values["sync_key"]],
    )
    return "updated"


def remove_pulled_interaction(db: Database, sync_key: str) -> str | None:
    """Take an engagement pulled from a CRM, and deleted there since, out of the journey; its id, if it was
    there. Only pulled copies are removed (by their pulled key): a CSM's own items are never removed here."""
    row = db.execute("SELECT id FROM interactions WHERE sync_key = ?", [sync_key]).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM interactions WHERE id = ?", [row[0]])
    return str(row[0])


def is_pulled(db: Database, sync_key: str) -> bool:
    return db.execute("SELECT 1 FROM interactions WHERE sync_key = ?", [sync_key]).fetchone() is not None
