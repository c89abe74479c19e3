"""The adapter interface every CRM implements, and the records that cross it.

The sync engine (`cockpit/services/sync/`) speaks only this interface: pull the accounts and contacts changed since a
watermark, page by page; pull deletions; push a batch of outbox items to one CRM object with a result per
item; make sure the CRM is set up (the external-id property or field). Pulled records come back in
cockpit's own field names (those of `AccountRecord` and `ContactRecord`), so they go through the same
validation and row mapping as an import.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from cockpit.crm.secrets import redact
from cockpit.crm.transport import Transport, TransportStats

PullKind = Literal["accounts", "contacts"]
PULL_KINDS: tuple[PullKind, ...] = ("accounts", "contacts")
ItemType = Literal["interaction", "outreach", "follow_up"]
Page = TypeVar("Page")


@dataclass(frozen=True)
class PulledRecord:
    crm_id: str
    modified_at: datetime
    fields: dict[str, Any]
    """Fields of `AccountRecord` / `ContactRecord` (e.g. `hubspot_id`, `name`, `domain`, `account`): only
    those the CRM has a value for."""
    merged_ids: tuple[str, ...] = ()
    """The CRM ids of records merged into this one (HubSpot's `hs_merged_object_ids`)."""


@dataclass(frozen=True)
class PulledEngagement:
    """A call, meeting, email, note or task on accounts of the book, logged by whoever (a colleague, or this
    CSM's own push coming back)."""

    crm_id: str
    crm_object: str
    """The CRM's object (`calls`, `Task` ...): with `crm_id`, what identifies it."""
    modified_at: datetime
    kind: str
    """An interaction kind: call, meeting, email or note (a task is kept as a note saying so)."""
    direction: str
    occurred_at: datetime
    summary: str
    author: str | None
    """The CRM user who owns it (a name where the CRM gives one, else the user's id)."""
    account_crm_ids: tuple[str, ...]
    sync_key: str | None
    """Cockpit's external id on it: set when a CSM's push made it."""
    contact_crm_ids: tuple[str, ...] = ()
    """The contacts it is linked to (HubSpot's associations, Salesforce's WhoId)."""
    task: TaskState | None = None
    """A task's status and due day (None for other engagements): a follow-up's task changed in the CRM
    comes back to the follow-up."""


@dataclass(frozen=True)
class TaskState:
    """What a CRM task says of a follow-up: completed or not, and the day it is due (UTC)."""

    done: bool
    due_on: str | None
    """ISO date; None if the task has none."""


@dataclass(frozen=True)
class Unfinished(Generic[Page]):
    """A page whose first request (a search) is made and whose rest (its association reads) `finish` makes:
    the pull calls it on another thread, so that the next page's search need not wait for it."""

    finish: Callable[[], Page]


@dataclass(frozen=True)
class Deletion:
    crm_id: str
    deleted_at: datetime
    crm_object: str = ""
    """The CRM object it was (`companies`, `calls`, `Task` ...): with `crm_id`, what identifies an
    engagement."""
    timed: bool = True
    """False: the CRM gave no time of deletion (`deleted_at` is the record's last modification instead): such
    a deletion is never filtered out by a watermark, nor moves one."""
    merged_into: str | None = None
    """The CRM id of the record this one was merged into, where its deletion was a merge's (Salesforce's
    `MasterRecordId`)."""


@dataclass(frozen=True)
class Confirmation:
    """What the CRM's live records say of deletions listed: the ids it no longer has (`gone`) and those it
    still has (`live`: restored since they were listed). An id in neither was not answered for: unconfirmed."""

    gone: frozenset[str]
    live: frozenset[str]


@dataclass(frozen=True)
class OutboxItem:
    """A logged interaction, an approved outreach item or a follow-up, with what a CRM needs to file it. An
    outreach item and a follow-up are filed as tasks alike."""

    item_type: ItemType
    local_id: str
    sync_key: str
    kind: str
    """Interaction kind (call, meeting, email, note, qbr) or task channel (email, call_task, todo: an outreach
    item's, or the one a follow-up takes from its interaction's kind)."""
    direction: str
    occurred_at: str
    """When the interaction happened; for a task, the due date."""
    subject: str | None
    body: str
    account_crm_id: str
    contact_crm_id: str | None
    crm_id: str | None
    """The CRM's id from an earlier push, if any."""
    retried: bool
    """An earlier attempt may have reached the CRM (it was in flight when a run stopped, or it failed)."""
    done: bool = False
    """A task the CSM did (an outreach task or a follow-up): the CRM's task is completed."""

    @property
    def is_task(self) -> bool:
        """Filed as a task: an outreach item or a follow-up."""
        return self.item_type != "interaction"


@dataclass(frozen=True)
class PushResult:
    sync_key: str
    crm_id: str | None = None
    error: str | None = None
    transient: bool = False
    """The error may go away by itself (a lock, a partial batch): retry rather than count it against the item."""
    note: str | None = None
    """Pushed, with something the run's report should say (e.g. linked to its contact only)."""

    def __post_init__(self) -> None:
        for name in (
            "error",
            "note",
        ):  # a CRM's per-item message may quote the request: no secret leaves here
            text = getattr(self, name)
            if text is not None:
                object.__setattr__(self, name, redact(text))

    @property
    def ok(self) -> bool:
        return self.crm_id is not None and self.error is None

    @property
    def refused(self) -> bool:
        """The CRM refused the item itself: the refusal counts against it (`sync.max_item_attempts`)."""
        return self.error is not None and not self.transient


class CrmAdapter(ABC):
    """One CRM. Construct it with the settings; it reads its secrets and opens its transport."""

    name: str
    """`hubspot`, `salesforce`: also the prefix of the CRM id columns (`hubspot_id`)."""
    batch_size: int
    transport: Transport
    engagement_objects: tuple[str, ...] = ()
    """The CRM objects `pull_engagements` reads, in turn (each has its own watermark)."""

    @property
    def stats(self) -> TransportStats:
        return self.transport.stats

    def close(self) -> None:
        self.transport.close()

    @abstractmethod
    def setup(self) -> dict[str, str]:
        """Create what the CRM lacks for an idempotent push (idempotent itself); returns what to remember
        about the CRM for later runs, e.g. how each object is made idempotent."""

    def notes(self) -> list[str]:
        """What the run's report should say about this CRM beyond its counts (e.g. time spent waiting for
        the CRM's search to catch up)."""
        return []

    def use_state(self, state: Mapping[str, str]) -> None:  # noqa: B027 - optional hook
        """Take what `setup` found, as remembered in the store."""

    @abstractmethod
    def pull_changes(self, kind: PullKind, since: datetime | None) -> Iterator[list[PulledRecord]]:
        """Records modified at or after `since` (all when None), oldest first, one page at a time."""

    @abstractmethod
    def pull_deletions(self, kind: PullKind, since: datetime | None) -> Iterator[list[Deletion]]:
        """Records deleted (archived) at or after `since`, one page at a time."""

    def pull_engagements(
        self, since: Mapping[str, datetime | None]
    ) -> Iterator[list[PulledEngagement] | Unfinished[list[PulledEngagement]]]:
        """Engagements of each of `engagement_objects` in turn, modified at or after its `since` (all when
        None), oldest first, one page (of one object) at a time (a CRM without them pulls none); a page that
        needs more requests than its first comes `Unfinished`."""
        return iter(())

    def pull_engagement_deletions(self, since: Mapping[str, datetime | None]) -> Iterator[list[Deletion]]:
        """Engagements of each object of `since` (some of `engagement_objects`) in turn, deleted at or after
        its `since` (all when None), one page (of one object) at a time, each naming its object (a CRM
        without them pulls none). The pull reads each object's listing on its own, so that one failing
        leaves the others' marks free to move."""
        return iter(())

    @abstractmethod
    def confirm_deleted(self, crm_object: str, crm_ids: Sequence[str]) -> Confirmation:
        """Ask the live records of `crm_object` (`companies`, `Account`, `calls`, `Task` ...) whether the
        records of `crm_ids`, listed as deleted, are gone still: a listing may trail a restore (or show a
        deletion and its restore in the same millisecond), and only a deletion confirmed is marked."""

    @abstractmethod
    def target(self, item: OutboxItem) -> str:
        """The CRM object the item becomes (`calls`, `tasks`, `Task`, `Event` ...)."""

    @abstractmethod
    def fields(self, item: OutboxItem) -> dict[str, Any]:
        """The fields the item is written with, the external id included (shown by a dry run)."""

    @abstractmethod
    def push(self, target: str, items: Sequence[OutboxItem]) -> list[PushResult]:
        """Upsert the items (at most `batch_size`, all of `target`) by their sync key; one result per item."""


def parse_time(value: str) -> datetime:
    """A CRM timestamp (ISO 8601 with `Z` or `+0000`, or epoch milliseconds) as an aware UTC datetime."""
    text = value.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def utc_text(moment: datetime) -> str:
    """`2026-11-21T14:05:00Z`: the form both CRMs accept for a datetime."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_time(value: str) -> datetime:
    """A cockpit date or timestamp (naive means UTC; a bare date is its midnight UTC)."""
    return parse_time(value if "T" in value else f"{value}T00:00:00")


def title(text: str, limit: int = 100) -> str:
    """The first line of a summary, short enough for a subject."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def end_of_meeting(start: datetime, minutes: int) -> datetime:
    return start + timedelta(minutes=minutes)
