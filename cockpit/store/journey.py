"""An account's journey (interactions, signals, tickets, outreach and contract dates, newest first), its
contacts with their consent, and the writing of a logged interaction."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from cockpit.store.sqlite import Database

JourneyKind = Literal["interaction", "signal", "ticket", "outreach", "contract"]
JOURNEY_KINDS: tuple[JourneyKind, ...] = ("interaction", "signal", "ticket", "outreach", "contract")
JOURNEY_LIMIT = 500
"""The newest events a journey shows."""
SKIPPED_SIGNALS = ("login",)
"""Logins are usage, counted by the scores; they would bury the journey."""


@dataclass(frozen=True)
class JourneyEvent:
    on: str
    """ISO date or timestamp; events sort by it, newest first."""
    kind: JourneyKind
    what: str
    """e.g. "call", "cancel click", "ticket (urgent)", "outreach: save-now", "renewal"."""
    detail: str


# An interaction names who logged it
# (a colleague's, pulled from the CRM, say) unless that is the account's owner.
_SELECTS: dict[JourneyKind, str] = {
    "interaction": """
        SELECT i.occurred_at, 'interaction', i.kind || CASE WHEN c.name IS NULL THEN '' ELSE ' with ' || c.name END,
            i.summary || CASE WHEN i.sentiment IS NULL THEN '' ELSE ' (' || i.sentiment || ')' END
                || CASE WHEN i.follow_up_on IS NULL THEN '' ELSE ' · follow up ' || i.follow_up_on END
                || CASE WHEN i.author IS NULL OR i.author = a.owner THEN '' ELSE ' · ' || i.author END
        FROM interactions i JOIN accounts a ON a.id = i.account_id LEFT JOIN contacts c ON c.id = i.contact_id
        WHERE i.account_id = :account""",
    "signal": """
        SELECT s.occurred_at, 'signal', s.kind, s.value
        FROM signals s WHERE s.account_id = :account AND s.kind NOT IN (SELECT value FROM json_each(:skip))""",
    "ticket": """
        SELECT t.opened_at, 'ticket', 'ticket' || CASE WHEN t.priority IS NULL THEN '' ELSE ' (' || t.priority || ')' END,
            coalesce(t.subject, '') || ' · ' || t.status || CASE WHEN t.escalated THEN ' · escalated' ELSE '' END
        FROM tickets t WHERE t.account_id = :account""",
    "outreach": """
        SELECT o.created_at, 'outreach', 'outreach: ' || o.playbook, o.status || ' · ' || o.subject
        FROM outreach o WHERE o.account_id = :account""",
    "contract": """
        SELECT day, 'contract', what, '' FROM (
            SELECT start_date AS day, 'became a customer' AS what FROM accounts WHERE id = :account
            UNION ALL SELECT renewal_date, 'renewal' FROM accounts WHERE id = :account
            UNION ALL SELECT churned_on, 'churned' FROM accounts WHERE id = :account
        ) WHERE day IS NOT NULL""",
}


def signal_event(on: str, kind: str, value: float | None) -> JourneyEvent:
    """A signal as its journey shows it, whether the store or an events source holds it."""
    return JourneyEvent(on, "signal", kind.replace("_", " "), "" if value is None else f"value {value!r}")


def newest_first(events: Iterable[JourneyEvent], limit: int = JOURNEY_LIMIT) -> list[JourneyEvent]:
    """The newest `limit` of `events`, newest first, those of one moment by kind, what and detail: the order
    `journey` reads in, for a journey put together from the store's events and a source's."""
    ordered = sorted(events, key=lambda event: (event.kind, event.what, event.detail))
    return sorted(ordered, key=lambda event: event.on, reverse=True)[:limit]


def journey(
    db: Database,
    account_id: str,
    kinds: tuple[JourneyKind, ...] = JOURNEY_KINDS,
    *,
    limit: int = JOURNEY_LIMIT,
) -> list[JourneyEvent]:
    """The newest `limit` events of the chosen kinds, newest first (see `newest_first`)."""
    if not kinds:
        return []
    union = " UNION ALL ".join(_SELECTS[kind] for kind in kinds)
    rows = db.execute(
        f"SELECT * FROM ({union}) ORDER BY 1 DESC, 2, 3, 4 LIMIT :limit",
        {"account": account_id, "limit": limit, "skip": json.dumps(SKIPPED_SIGNALS)},
    ).fetchall()
    return newest_first(
        signal_event(on, what, detail) if kind == "signal" else JourneyEvent(on, kind, what, detail)
        for on, kind, what, detail in rows
    )


@dataclass(frozen=True)
class ContactRow:
    id: str
    name: str
    email: str | None
    role: str | None
    phone: str | None
    email_opt_in: bool
    do_not_contact: bool
    personalization_consent: bool
    last_touch: str | None
    """When the contact was last touched (an interaction with them)."""


def contacts(db: Database, account_id: str) -> list[ContactRow]:
    rows = db.execute(
        """
        SELECT c.id, c.name, c.email, c.role, c.phone, c.email_opt_in, c.do_not_contact,
            c.personalization_consent,
            (SELECT max(i.occurred_at) FROM interactions i WHERE i.contact_id = c.id)
        FROM contacts c WHERE c.account_id = ? AND c.deleted_at IS NULL
        ORDER BY c.do_not_contact, c.name COLLATE NOCASE
        """,
        [account_id],
    ).fetchall()
    return [
        ContactRow(cid, name, email, role, phone, bool(opt_in), bool(dnc), bool(consent), touched)
        for cid, name, email, role, phone, opt_in, dnc, consent, touched in rows
    ]


def insert_interaction(db: Database, values: dict[str, Any]) -> None:
    """One new interaction row (the caller's transaction); it waits in the CRM outbox as 'pending'."""
    db.table("interactions").insert({**values, "sync_state": "pending"})
