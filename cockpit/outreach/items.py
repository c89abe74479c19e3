"""Outreach items as the review shows them, the filters that select them, and the results of a review action.

These are what the service functions return to the CLI and the TUI (`cockpit.services.outreach`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:  # the command line reads the statuses without the config models
    from cockpit.config import Channel

ItemStatus = Literal["draft", "approved", "sent", "synced", "failed", "cancelled", "snoozed"]
ITEM_STATUSES: Final[tuple[ItemStatus, ...]] = (
    "draft", "approved", "snoozed", "sent", "synced", "failed", "cancelled",
)  # fmt: skip
OPEN_STATUSES: Final[tuple[ItemStatus, ...]] = ("draft", "approved", "snoozed")
"""Statuses of items still in the review: one per dedupe key at a time."""
CLOSED_STATUSES: Final[tuple[ItemStatus, ...]] = ("sent", "synced", "failed", "cancelled")
"""Statuses of items that left the review: they went out (or the CRM refused them), or were cancelled."""


@dataclass(frozen=True)
class ClosedItem:
    """An item that left the review, as far as its rule's cooldown needs to know."""

    dedupe_key: str
    status: ItemStatus
    due_on: date
    closed_on: date | None
    """The day a cancellation recorded (None for items that went out)."""
    closed_by: str | None
    """Who cancelled it: `csm`, `plan` (the planner withdrew it), ..."""


@dataclass(frozen=True)
class OutreachItem:
    id: str
    account_id: str
    account_name: str
    owner: str | None
    """The account's owner (its CSM)."""
    contact_id: str | None
    contact_name: str | None
    contact_email: str | None
    playbook: str
    channel: Channel
    subject: str
    body: str
    status: ItemStatus
    due_on: date
    snoozed_until: date | None
    priority: int
    dedupe_key: str
    reason: dict[str, Any]
    """Why it was queued: the playbook, its trigger and the values that fired it, the contact chosen and why,
    why the day moved; `closed` says who cancelled it, when and why."""
    sync_key: str
    sync_error: str | None
    edited_at: str | None
    """When a CSM last edited the text; the planner leaves edited items as they are."""
    created_at: str
    updated_at: str

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["due_on"] = self.due_on.isoformat()
        record["snoozed_until"] = None if self.snoozed_until is None else self.snoozed_until.isoformat()
        return record


@dataclass(frozen=True)
class ItemFilter:
    """Which items to list or act on; each field given narrows the selection (all fields: AND). An empty
    filter selects every item."""

    ids: tuple[str, ...] = ()
    statuses: tuple[ItemStatus, ...] = ()
    playbooks: tuple[str, ...] = ()
    account_id: str | None = None
    owner: str | None = None
    contact_id: str | None = None
    due_by: date | None = None
    """Only items due on or before this day."""
    limit: int | None = None


@dataclass(frozen=True)
class Refusal:
    item_id: str
    why: str


@dataclass
class ReviewResult:
    """What a review action did: the items it changed (as they are now) and the ones it refused, with why."""

    changed: list[OutreachItem] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    """Item id -> what else happened, e.g. the due day moved on approval to keep the policy."""

    def to_json(self) -> dict[str, Any]:
        return {
            "changed": [item.to_json() for item in self.changed],
            "refused": [asdict(refusal) for refusal in self.refused],
            "notes": self.notes,
        }
