"""An account's journey (interactions, signals, tickets, outreach and contract dates, newest first), its
contacts with their consent, and the writing of a logged interaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cockpit.store.sqlite import Database

JourneyKind = Literal["interaction", "signal", "ticket", "outreach", "contract"]
JOURNEY_KINDS: tuple[JourneyKind, ...] = ("interaction", "signal", "ticket", "outreach", "contract")


@dataclass(frozen=True)
class JourneyEvent:
    on: str
    """ISO date or timestamp; events sort by it, newest first."""
    kind: JourneyKind
    what: str
    """e.g. "call", "cancel click", "ticket (urgent)", "outreach: save-now", "renewal"."""
    detail: str


# Logins are usage, counted by the scores; they would bury the journey. An interaction names who logged it
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
        SELECT s.occurred_at, 'signal', replace(s.kind, '_', ' '),
            CASE WHEN s.value IS NULL THEN '' ELSE 'value ' || s.value END
        FROM signals s WHERE s.account_id = :account AND s.kind != 'login'""",
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


def journey(
    db: Database, account_id: str, kinds: tuple[JourneyKind, ...] = JOURNEY_KINDS, *, limit: int = 500
) -> list[JourneyEvent]:
    """The newest `limit` events of the chosen kinds, newest first."""
    if not kinds:
        return []
    union = " UNION ALL ".join(_SELECTS[kind] for kind in kinds)
    rows = db.execute(
        f"SELECT * FROM ({union}) ORDER BY 1 DESC LIMIT :limit", {"account": account_id, "limit": limit}
    ).fetchall()
    return [JourneyEvent(on, kind, what, detail) for on, kind, what, detail in rows]


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
