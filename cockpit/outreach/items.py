"""Outreach items as the review shows them, the filters that select them, and the results of a review action.

These are what the service functions return to the CLI and the TUI (`cockpit.services.outreach`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Literal

from cockpit.outreach.facts import PlanContact

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


# --- What the planner decides (records the store reads and writes) ----------------------------------


@dataclass(frozen=True)
class OpenItem:
    """An open outreach item (draft, approved or snoozed), with its contact as it is now."""

    id: str
    account_id: str
    contact_id: str | None
    playbook: str
    channel: Channel
    status: str
    due_on: date
    snoozed_until: date | None
    dedupe_key: str
    edited: bool
    subject: str
    body: str
    priority: int
    reason: dict[str, Any]
    contact: PlanContact | None = None

    def woken(self, today: date) -> bool:
        """A snoozed item whose day has come: it is a draft again."""
        return self.status == "snoozed" and (self.snoozed_until is None or self.snoozed_until <= today)


@dataclass(frozen=True)
class Draft:
    """A draft to queue (`item_id` None) or the new state of an open item."""

    item_id: str | None
    dedupe_key: str
    account_id: str
    contact_id: str | None
    playbook: str
    channel: Channel
    subject: str
    body: str
    due_on: date
    priority: int
    reason: dict[str, Any]


@dataclass(frozen=True)
class Kept:
    item_id: str
    dedupe_key: str
    account_id: str
    playbook: str
    why: str


@dataclass(frozen=True)
class Cancellation:
    item_id: str
    dedupe_key: str
    account_id: str
    playbook: str
    why: str


@dataclass(frozen=True)
class Skip:
    """A rule that fired and queued nothing, and why."""

    account_id: str
    contact_id: str | None
    playbook: str
    dedupe_key: str | None
    why: str
    values: dict[str, Any] = field(default_factory=dict)
