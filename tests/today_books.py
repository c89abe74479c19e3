"""A small book with a day to plan: follow-ups, call tasks and to-dos, renewals, and two score runs that
moved accounts. Written straight into a real database, as imports, logging and planning would leave it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from cockpit.store import Store

DAY = date(2026, 11, 25)
"""The day the book is planned for (a Wednesday)."""
STAMP = "2026-01-01T00:00:00+00:00"

ACCOUNTS = (
    # id, name, renewal date, churned on
    ("acc-1", "Acme", "2026-11-28", None),
    ("acc-2", "Globex", "2026-11-03", None),
    ("acc-3", "Initech", "2026-12-01", None),
    ("acc-4", "Umbrella", "2026-11-30", "2026-10-01"),
)


def _interaction(
    interaction_id: str, account_id: str, occurred_at: str, follow_up_on: str | None, kind: str = "call"
) -> dict[str, Any]:
    return {
        "id": interaction_id, "account_id": account_id, "kind": kind, "occurred_at": occurred_at,
        "summary": f"{kind} {interaction_id}", "follow_up_on": follow_up_on, "sync_key": f"key-{interaction_id}",
        "sync_state": "synced", "created_at": STAMP, "updated_at": STAMP,
    }  # fmt: skip


def _item(
    item_id: str, account_id: str, channel: str, status: str, due_on: str, **more: Any
) -> dict[str, Any]:
    return {
        "id": item_id, "account_id": account_id, "contact_id": "con-1" if account_id == "acc-1" else None,
        "playbook": "rescue", "channel": channel, "subject": f"Subject {item_id}", "body": "Body",
        "status": status, "due_on": due_on, "dedupe_key": f"dedupe-{item_id}", "sync_key": f"sync-{item_id}",
        "created_at": STAMP, "updated_at": STAMP, **more,
    }  # fmt: skip


def fill_day(store: Store) -> None:
    with store.write() as db:
        db.table("accounts").insert_all(
            {"id": account_id, "name": name, "renewal_date": renewal, "churned_on": churned, "mrr": 1200,
             "created_at": STAMP, "updated_at": STAMP}
            for account_id, name, renewal, churned in ACCOUNTS
        )  # fmt: skip
        db.table("contacts").insert(
            {"id": "con-1", "account_id": "acc-1", "name": "Ana", "email_opt_in": 1, "created_at": STAMP,
             "updated_at": STAMP}
        )  # fmt: skip
        db.table("interactions").insert_all(
            [
                # Due today, overdue, and later: the first two are on the day's list.
                _interaction("int-due", "acc-1", "2026-11-20T10:00:00+00:00", "2026-11-25"),
                _interaction("int-late", "acc-2", "2026-11-01T10:00:00+00:00", "2026-11-10"),
                _interaction("int-later", "acc-3", "2026-11-20T10:00:00+00:00", "2026-11-30"),
                # Settled by a later call of the account; a later note settles nothing.
                _interaction("int-settled", "acc-3", "2026-10-01T10:00:00+00:00", "2026-10-15"),
                _interaction("int-then", "acc-3", "2026-10-20T10:00:00+00:00", None),
                _interaction("int-noted", "acc-2", "2026-11-02T10:00:00+00:00", None, kind="note"),
            ]
        )
        db.table("outreach").insert_all(
            [
                _item("out-call", "acc-1", "call_task", "approved", "2026-11-25"),
                _item("out-todo", "acc-2", "todo", "draft", "2026-11-27"),
                _item("out-synced", "acc-3", "call_task", "synced", "2026-11-20"),
                _item("out-woken", "acc-3", "todo", "snoozed", "2026-11-18", snoozed_until="2026-11-24"),
                _item(
                    "out-asleep", "acc-2", "call_task", "snoozed", "2026-11-18", snoozed_until="2026-12-09"
                ),
                _item("out-far", "acc-1", "call_task", "draft", "2026-12-20"),
                _item("out-email", "acc-1", "email", "draft", "2026-11-25"),
                _item("out-cancelled", "acc-2", "call_task", "cancelled", "2026-11-25"),
            ]
        )
        db.table("sync_pushes").insert(
            {"crm": "hubspot", "item_type": "outreach", "local_id": "out-synced", "state": "synced",
             "crm_object": "tasks", "crm_id": "901", "pushed_version": STAMP, "updated_at": STAMP}
        )  # fmt: skip
        db.table("score_runs").insert_all(
            [
                {"id": 1, "as_of": "2026-11-24", "started_at": STAMP, "finished_at": STAMP, "accounts": 3},
                {"id": 2, "as_of": "2026-11-25", "started_at": STAMP, "finished_at": STAMP, "accounts": 3},
            ]
        )
        standings = {
            # before, after: (churn tier, priority)
            "acc-1": (("medium", "protect"), ("high", "save now")),
            "acc-2": (("high", "rescue"), ("low", "nurture")),
            "acc-3": (("low", "nurture"), ("low", "nurture")),
        }
        db.table("scores").insert_all(
            {"run_id": run_id, "account_id": account_id, "as_of": as_of, "churn_tier": tier, "priority": priority,
             "explanation": json.dumps({"churn": {"tier": tier, "signals": SIGNALS}})}
            for account_id, pair in standings.items()
            for run_id, as_of, (tier, priority) in zip((1, 2), ("2026-11-24", "2026-11-25"), pair, strict=True)
        )  # fmt: skip


SIGNALS = [
    {"detail": "a login", "on": "2026-11-20", "effect": 0.01},
    {"detail": "cancel click", "on": "2026-11-19", "effect": 0.3},
]
"""The churn signals of every stored explanation: the cancel click weighs most."""
