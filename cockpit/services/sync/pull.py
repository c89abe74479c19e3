"""Pull: CRM accounts and contacts into the store, through the import's records and row mapping.

Each page lands in one transaction together with the watermark it advances, so a run killed mid-pull
starts the next time from the last page it stored (less the overlap); a deletion listing's watermark moves
only once the whole listing is stored (`Puller._store_listings`: listings need not be in time order). Every record is validated as an
import row would be (`AccountRecord`, `ContactRecord`), matched to a local record by id, CRM id, domain or
email, and merged field by field against the last agreed snapshot (`merge.py`): nothing changed on both
sides is overwritten. Deleted records are marked, never dropped.

The pulls are read ahead (`flight.Prefetch`): `start` sets every one of them going at once (the changes of
each kind, then the deletions), a few pages ahead each and at most `sync.requests_in_flight` requests out
between them, while the run stores the pages in the order it always has: accounts before contacts, changes
before deletions. A deletion older than the record's last stored change is a record restored since (maybe
while this run read ahead) and is not applied (`Puller._restored`; an engagement's, by those pulled in the
run). Any other deletion that would change something is applied only once the CRM's live records confirm it
(`Puller._confirmed`, as each page is stored): a restore in the same millisecond as the deletion, one of a
deletion listed without its time, or one search does not show yet, is live there. A record merged into
another in the CRM (named by the pulled winner's `hs_merged_object_ids`, or a Salesforce deletion's
`MasterRecordId`) is marked deleted and recorded as merged into the winner's record (`Puller._merges`);
nothing of it moves.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from cockpit.clock import Clock, stamp
from cockpit.crm.base import (
    PULL_KINDS,
    Confirmation,
    CrmAdapter,
    Deletion,
    PulledEngagement,
    PulledRecord,
    PullKind,
    TaskState,
    Unfinished,
    parse_time,
)
from cockpit.crm.transport import CrmError, DailyLimitReached
from cockpit.domain.provenance import older_fields
from cockpit.domain.records import (
    FOLLOW_UP_KEY_SUFFIX,
    AccountRecord,
    ContactRecord,
    Record,
    item_sync_key,
)
from cockpit.domain.today import DONE_STATUS, OPEN_TASK_STATUSES
from cockpit.domain.touches import CSM_TOUCHES
from cockpit.importer.kinds import KINDS, Unresolved
from cockpit.services.sync.flight import Page, Prefetch
from cockpit.services.sync.merge import churn_from_stage, merge, merge_task
from cockpit.services.sync.report import Change, ConflictNote, CrmRun
from cockpit.store import Store
from cockpit.store import sync as store_sync
from cockpit.store.history import record_changes, sync_source
from cockpit.store.imports import References, integrity_message, upsert_row
from cockpit.store.outreach import close_items
from cockpit.store.provenance import modified_times, record_sources
from cockpit.store.sqlite import Database
from cockpit.store.sync import OutreachRules, PushedTask
from cockpit.store.today import close_follow_ups

RECORDS: dict[PullKind, type[Record]] = {"accounts": AccountRecord, "contacts": ContactRecord}


IDENTITY = frozenset({"hubspot_id", "salesforce_id", "account"})
"""Fields a pulled record cannot do without; any other invalid field is dropped and the rest kept."""
ENGAGEMENTS_MARK = "engagements"
"""The watermark key of the engagements pulled from a CRM: `engagements:<object>` for each of its objects
(pulled in turn: one mark for all would let a run stopped in the second skip its older records next time);
the bare key, from before, stands in for an object without its own yet. Their deletions likewise:
`engagements:deleted:<object>`, the bare `engagements:deleted` standing in."""
DELETED = "deleted"
PAGES_AHEAD = 2
"""Pages each pull reads ahead of the one being stored."""


Pulled = TypeVar("Pulled", PulledRecord, PulledEngagement)
Verdict = Literal["mark", "restored", "nothing"]
"""What a listed deletion would do, told from the store: `mark` a record deleted (take an engagement out of the
journey) once the CRM confirms it gone; nothing, for a record a change stored after the deletion shows
`restored`; `nothing`, for one not in the store or marked already (its restore comes with its changes, which
unmark it)."""


def _modified_at(pulled: PulledRecord | PulledEngagement) -> datetime:
    return pulled.modified_at


def _engagement_mark(page: list[PulledEngagement]) -> str:
    """A page's engagements are all of one object: its watermark."""
    return f"{ENGAGEMENTS_MARK}:{page[0].crm_object}"


def _newer(changed: datetime | None, deletion: Deletion) -> bool:
    """Whether a record was changed in the CRM after this deletion (restored since). A deletion without its
    time (HubSpot's without `archivedAt`) always applies: its stand-in, the record's `updatedAt`, may be
    older than the change stored."""
    return deletion.timed and changed is not None and changed > deletion.deleted_at


def since(mark: str | None, overlap_minutes: int) -> datetime | None:
    return None if mark is None else parse_time(mark) - timedelta(minutes=overlap_minutes)


def validate(kind: PullKind, fields: dict[str, Any]) -> tuple[Record | None, list[str]]:
    """The record, and the problems met: invalid optional fields are dropped (and named)."""
    model = RECORDS[kind]
    data = dict(fields)
    problems: list[str] = []
    for _ in range(2):
        try:
            return model.model_validate(data), problems
        except ValidationError as error:
            found = {str(e["loc"][0]): str(e["msg"]) for e in error.errors() if e["loc"]}
            droppable = {name for name in found if name in data and name not in IDENTITY}
            problems += [f"{name}: {message} ({data.get(name)!r})" for name, message in found.items()]
            if not droppable or set(found) - droppable:
                return None, problems
            for name in droppable:
                del data[name]
    return None, problems


def outreach_rules(today: date) -> OutreachRules:
    """How a CRM's change lands on a queued outreach item: as the Today screen's done (`domain.today`)."""
    return OutreachRules(OPEN_TASK_STATUSES, DONE_STATUS, today)


class Puller:
    """Pulls one CRM's records of each kind into the store (or, in a dry run, reports what would change)."""

    def __init__(
        self,
        store: Store,
        adapter: CrmAdapter,
        run: CrmRun,
        *,
        overlap_minutes: int,
        in_flight: int,
        churned_stages: Sequence[str],
        clock: Clock,
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.crm = adapter.name
        self.run = run
        self.overlap = overlap_minutes
        self.churned_stages = churned_stages
        self.clock = clock
        self._new_accounts: set[str] = set()
        """CRM ids of accounts a dry run would insert: their contacts would find them."""
        self._slots = threading.BoundedSemaphore(in_flight)
        self._changes: dict[PullKind, Prefetch[list[PulledRecord]]] = {}
        self._deletions: dict[PullKind, Prefetch[list[Deletion]]] = {}
        self._engagements: Prefetch[list[PulledEngagement]] | None = None
        self._engagement_deletions: dict[str, Prefetch[list[Deletion]]] = {}
        """Each engagement object's deletion listing on its own: one that fails leaves the others' marks
        free to move."""
        self._engagements_pulled: dict[str, datetime] = {}
        """Sync key -> CRM modified time of each engagement pulled in this run: one restored while the run
        read ahead is not taken out again by the deletion listed before (`_newer`)."""

    def start(self) -> None:
        """Set every pull reading, each from its own watermark (less the overlap)."""
        for kind in PULL_KINDS:
            mark = store_sync.watermark(self.store.db, self.crm, kind)
            self._changes[kind] = self._prefetch(self.adapter.pull_changes(kind, since(mark, self.overlap)))
        for kind in PULL_KINDS:
            mark = store_sync.watermark(self.store.db, self.crm, f"{kind}:{DELETED}")
            self._deletions[kind] = self._prefetch(
                self.adapter.pull_deletions(kind, since(mark, self.overlap))
            )
        shared = store_sync.watermark(self.store.db, self.crm, ENGAGEMENTS_MARK)
        marks = {
            obj: store_sync.watermark(self.store.db, self.crm, f"{ENGAGEMENTS_MARK}:{obj}") or shared
            for obj in self.adapter.engagement_objects
        }
        self._engagements = self._prefetch(
            self.adapter.pull_engagements({obj: since(mark, self.overlap) for obj, mark in marks.items()})
        )
        key = f"{ENGAGEMENTS_MARK}:{DELETED}"
        shared = store_sync.watermark(self.store.db, self.crm, key)
        marks = {
            obj: store_sync.watermark(self.store.db, self.crm, f"{key}:{obj}") or shared
            for obj in self.adapter.engagement_objects
        }
        self._engagement_deletions = {
            obj: self._prefetch(self.adapter.pull_engagement_deletions({obj: since(mark, self.overlap)}))
            for obj, mark in marks.items()
        }

    def _prefetch(self, pages: Iterator[Page | Unfinished[Page]]) -> Prefetch[Page]:
        return Prefetch(pages, depth=PAGES_AHEAD, slots=self._slots, name=f"pull-{self.crm}")

    def stop(self) -> None:
        """Stop the pulls still reading (one that failed, or a run that stopped, leaves the rest unread)."""
        for changes in self._changes.values():
            changes.close()
        for deletions in [*self._deletions.values(), *self._engagement_deletions.values()]:
            deletions.close()
        if self._engagements is not None:
            self._engagements.close()

    def _store_pages(
        self,
        pages: Iterable[list[Pulled]],
        mark: str | Callable[[list[Pulled]], str],
        store_page: Callable[[Database, list[Pulled], bool], None],
        moment: Callable[[Pulled], datetime],
    ) -> None:
        """Each page stored (`store_page(db, page, write)`) in one transaction with the watermark `mark` (or
        the page's own `mark(page)`) it advances to its newest `moment`; in a dry run only looked at."""
        for page in pages:
            if self.run.dry_run:
                store_page(self.store.db, page, False)
                continue
            with self.store.write() as db:
                store_page(db, page, True)
                key = mark if isinstance(mark, str) else mark(page)
                self._advance(db, key, max(moment(item) for item in page))

    def _advance(self, db: Database, key: str, newest: datetime) -> None:
        store_sync.set_watermark(db, self.crm, key, newest.isoformat(), now=stamp(self.clock()))

    def _store_listings(
        self,
        pages: Iterable[list[Deletion]],
        mark: str,
        check: Callable[[Database, Deletion], Verdict],
        store_page: Callable[[Database, list[Deletion], bool], None],
    ) -> None:
        """One object's deletion listing: each page's deletions that would change something (`check`)
        confirmed against the CRM's live records (`_confirmed`), those confirmed gone stored in one
        transaction, and the object's watermark `mark` moved to the newest deletion listed only once the whole
        listing is stored and confirmed. A listing need not go in time order (HubSpot's archived one goes by
        id): a mark moved page by page would let a run stopped part-way skip the older deletions on the pages
        after it for good; a mark moved past a deletion the CRM did not answer for would skip it likewise.
        The next run reads such a listing again from the old mark: marking a deletion again changes
        nothing."""
        newest: datetime | None = None
        complete = True
        for page in pages:
            gone, answered = self._confirmed(page[0].crm_object, page, check)
            complete = complete and answered
            timed = [deletion.deleted_at for deletion in page if deletion.timed]
            if timed:
                newest = max(timed) if newest is None else max(newest, *timed)
            if not gone:
                continue
            if self.run.dry_run:
                store_page(self.store.db, gone, False)
                continue
            with self.store.write() as db:
                store_page(db, gone, True)
        if newest is not None and complete and not self.run.dry_run:
            with self.store.write() as db:
                self._advance(db, mark, newest)

    def _confirmed(
        self, obj: str, page: list[Deletion], check: Callable[[Database, Deletion], Verdict]
    ) -> tuple[list[Deletion], bool]:
        """The deletions of `page` to apply: those that would change something, and that the CRM's live
        records confirm gone (a record restored since its deletion was listed, even in the same millisecond
        or while search did not show it yet, is live there); and whether every one asked about was answered
        for. One the CRM did not answer for (the confirming read failed) is not applied, and the caller holds
        its object's mark, so that the next run asks again."""
        verdicts = [(deletion, check(self.store.db, deletion)) for deletion in page]
        asked = [deletion for deletion, verdict in verdicts if verdict == "mark"]
        self.run.counts["deletions_restored"] += sum(verdict == "restored" for _d, verdict in verdicts)
        if not asked:
            return [], True
        why = "the CRM did not answer for them"
        try:
            with self._slots:
                answer = self.adapter.confirm_deleted(obj, [deletion.crm_id for deletion in asked])
        except DailyLimitReached:
            raise
        except CrmError as error:
            answer, why = Confirmation(frozenset(), frozenset()), error.message
        self.run.counts["deletions_restored"] += sum(deletion.crm_id in answer.live for deletion in asked)
        gone = [d for d in asked if d.crm_id in answer.gone and d.crm_id not in answer.live]
        unconfirmed = [d for d in asked if d.crm_id not in answer.gone | answer.live]
        if unconfirmed:
            self.run.counts["deletions_unconfirmed"] += len(unconfirmed)
            self.run.problem(
                f"{self.crm} {obj}: {len(unconfirmed)} deletion(s) not confirmed ({why}): not applied; "
                "the next run asks again"
            )
        return gone, not unconfirmed

    def pull(self, kind: PullKind) -> None:
        def store_page(db: Database, page: list[PulledRecord], write: bool) -> None:
            self.run.counts[f"pulled_{kind}"] += len(page)
            self._apply_page(db, kind, page, write=write)

        self._store_pages(self._changes[kind], kind, store_page, _modified_at)

    def pull_deletions(self, kind: PullKind) -> None:
        def check(db: Database, deletion: Deletion) -> Verdict:
            if store_sync.live_record(db, self.crm, kind, deletion.crm_id) is None:
                return "nothing"
            return "restored" if self._restored(db, kind, deletion) else "mark"

        def store_page(db: Database, page: list[Deletion], write: bool) -> None:
            self._delete_page(db, kind, page, write=write)

        self._store_listings(self._deletions[kind], f"{kind}:{DELETED}", check, store_page)

    def pull_engagements(self) -> None:
        """Colleagues' calls, meetings, emails, notes and tasks on accounts of the book, into the journey
        with their author; cockpit's own pushed items coming back are recognised and left as they are."""
        assert self._engagements is not None

        def store_page(db: Database, page: list[PulledEngagement], write: bool) -> None:
            self.run.counts["pulled_engagements"] += len(page)
            self._engagement_page(db, page, write=write)

        self._store_pages(self._engagements, _engagement_mark, store_page, _modified_at)

    def pull_engagement_deletions(self) -> None:
        """Engagements deleted in the CRM leave the journey: those pulled from it (a CSM's own items, which
        cockpit pushed, stay: they are the CSM's record). A follow-up's or an outreach item's task deleted
        there closes the item (`_task_deleted`)."""
        for obj, pages in self._engagement_deletions.items():
            self._store_listings(
                pages,
                f"{ENGAGEMENTS_MARK}:{DELETED}:{obj}",
                self._engagement_verdict,
                self._engagement_deletion_page,
            )

    def _engagement_verdict(self, db: Database, deletion: Deletion) -> Verdict:
        key = f"{self.crm}:{deletion.crm_object}:{deletion.crm_id}"
        if not store_sync.is_pulled(db, key):
            # Not in the journey (a CSM's own item never goes out of it); a follow-up's or outreach task may
            # be gone.
            found = self._pushed_task(db, deletion.crm_id, None)
            if found is None or found.deleted:
                return "nothing"
        return "restored" if _newer(self._engagements_pulled.get(key), deletion) else "mark"

    def _engagement_deletion_page(self, db: Database, page: list[Deletion], write: bool) -> None:
        now = stamp(self.clock())
        logged = []
        for deletion in page:
            key = f"{self.crm}:{deletion.crm_object}:{deletion.crm_id}"
            if write:
                local_id = store_sync.remove_pulled_interaction(db, key)
            else:
                local_id = key if store_sync.is_pulled(db, key) else None
            if local_id is None:
                self._task_deleted(db, deletion, write=write, now=now)
            else:
                self.run.counts["engagements_deleted"] += 1
                logged.append(("pull", "interactions", local_id, deletion.crm_id, "delete", "ok", None))
        if write and logged and self.run.run_id is not None:
            store_sync.add_items(db, self.run.run_id, self.crm, logged, now=now)

    def _task_deleted(self, db: Database, deletion: Deletion, *, write: bool, now: str) -> None:
        """A follow-up's or an outreach item's task deleted in the CRM: someone there dropped it, so it is
        closed here (a follow-up done, an open outreach item cancelled; source: the CRM, with a note saying
        so) and its task is never made again."""
        found = self._pushed_task(db, deletion.crm_id, None)
        if found is None or found.deleted:
            return
        self.run.counts[f"{found.object_type}_deleted_in_crm"] += 1
        if write:
            note = f"its task was deleted in {self.crm}"
            if found.item_type == "follow_up":
                close_follow_ups(db, [found.local_id], now, source=self.crm, note=note)
            else:
                close_items(
                    db, [(found.local_id, note)], self.crm, self.clock.today(), now, only=OPEN_TASK_STATUSES
                )
            store_sync.task_deleted(db, self.crm, found.item_type, found.local_id, now=now)

    def _engagement_page(self, db: Database, page: list[PulledEngagement], *, write: bool) -> None:
        now = stamp(self.clock())
        column = store_sync.CRM_COLUMNS[self.crm]
        for engagement in page:
            key = f"{self.crm}:{engagement.crm_object}:{engagement.crm_id}"
            self._engagements_pulled[key] = engagement.modified_at
            own_key = None if engagement.sync_key is None else item_sync_key(engagement.sync_key)
            if store_sync.is_own_item(
                db, self.crm, sync_key=own_key, crm_id=engagement.crm_id, pulled_key=key
            ):
                self.run.counts["engagements_own"] += 1
                if engagement.task is not None:
                    self._task_back(db, engagement, engagement.task, write=write)
                continue
            account = store_sync.account_by_crm_ids(db, self.crm, engagement.account_crm_ids)
            contact = store_sync.contact_by_crm_ids(db, self.crm, engagement.contact_crm_ids, account)
            if account is None and contact is not None:  # linked to a contact of the book only
                account = contact[1]
            if account is None:
                self.run.counts["engagements_outside_book"] += 1
                continue
            values = {
                "id": f"{self.crm}-{engagement.crm_object}-{engagement.crm_id}",
                "sync_key": key,
                column: engagement.crm_id,
                "account_id": account,
                "contact_id": None if contact is None else contact[0],
                "kind": engagement.kind,
                "direction": engagement.direction,
                "occurred_at": engagement.occurred_at.isoformat(),
                "summary": engagement.summary,
                "author": engagement.author,
            }
            if write:
                outcome = store_sync.save_pulled_interaction(db, self.crm, values, now=now)
            else:
                outcome = "unchanged" if store_sync.is_pulled(db, key) else "inserted"
            self.run.counts[f"engagements_{outcome}"] += 1

    def _pushed_task(self, db: Database, crm_id: str, key: str | None) -> PushedTask | None:
        """The follow-up or outreach item whose task this is (by its key, or the CRM id a push stored), if
        any: a follow-up's task's key is its interaction's with a suffix."""
        follow_up_key = key is not None and key.endswith(FOLLOW_UP_KEY_SUFFIX)
        found = store_sync.pushed_task(
            db,
            self.crm,
            "follow_up",
            CSM_TOUCHES,
            sync_key=item_sync_key(key) if key is not None and follow_up_key else None,
            crm_id=crm_id,
        )
        if found is not None:
            return found
        own_key = None if follow_up_key else key
        return store_sync.pushed_task(db, self.crm, "outreach", CSM_TOUCHES, sync_key=own_key, crm_id=crm_id)

    def _task_back(self, db: Database, engagement: PulledEngagement, task: TaskState, *, write: bool) -> None:
        """A follow-up's or an outreach item's task as the CRM has it now, merged with the item
        (`merge_task`): a completion or a new day made in the CRM since cockpit's last push is made to the
        item (source: the CRM); the same field changed on both sides is a conflict, which holds the item's
        push until the CSM settles it."""
        found = self._pushed_task(db, engagement.crm_id, engagement.sync_key)
        if found is None:
            return
        theirs = {"due_on": task.due_on or found.values["due_on"], "done": task.done}
        result = merge_task(theirs, found.values, found.pushed_values, waiting=found.waiting)
        if result.apply.get("done"):
            self.run.counts[f"{found.object_type}_done_in_crm"] += 1
        if "due_on" in result.apply:
            self.run.counts[f"{found.object_type}_moved_in_crm"] += 1
        if task.done is False and found.values["done"] and (found.pushed_values or {}).get("done"):
            self.run.notes.append(
                f"{self.crm} {found.item_type.replace('_', '-')} {found.local_id}: its task was re-opened in {self.crm}; it stays done "
                "in cockpit"
            )
        fields = {name: (found.values[name], value) for name, value in result.apply.items()}
        new_conflicts = result.conflicts
        if not write:
            if fields:
                self.run.changes.append(
                    Change(
                        "local",
                        self.crm,
                        "update",
                        found.object_type,
                        found.local_id,
                        engagement.crm_id,
                        fields,
                    )
                )
        else:
            assert self.run.run_id is not None
            now = stamp(self.clock())
            rules = outreach_rules(self.clock.today())
            store_sync.apply_task(db, found.item_type, found.local_id, result.apply, self.crm, rules, now=now)
            settled = [*result.settled, *result.apply]
            store_sync.settle_conflicts(db, self.crm, found.object_type, found.local_id, settled, now=now)
            new_conflicts = [
                clash
                for clash in result.conflicts
                if store_sync.record_conflict(
                    db,
                    self.crm,
                    found.object_type,
                    found.local_id,
                    engagement.crm_id,
                    clash.field,
                    (clash.base, clash.local, clash.crm),
                    run_id=self.run.run_id,
                    now=now,
                )
            ]
            store_sync.agree_task(
                db,
                self.crm,
                found.item_type,
                found.local_id,
                CSM_TOUCHES,
                crm_id=engagement.crm_id,
                agreed=result.agreed,
                caught_up=not found.waiting,
            )
            if fields:
                store_sync.add_items(
                    db,
                    self.run.run_id,
                    self.crm,
                    [("pull", found.object_type, found.local_id, engagement.crm_id, "update", "ok", None)],
                    now=now,
                )
        self.run.counts["new_conflicts"] += len(new_conflicts)
        for clash in new_conflicts:
            self.run.conflicts.append(
                ConflictNote(
                    found.object_type,
                    found.local_id,
                    engagement.crm_id,
                    clash.field,
                    clash.base,
                    clash.local,
                    clash.crm,
                )
            )

    def _delete_page(self, db: Database, kind: PullKind, page: list[Deletion], *, write: bool) -> None:
        now = stamp(self.clock())
        logged = []
        for deletion in page:
            when = deletion.deleted_at.isoformat()
            winner = None
            if deletion.merged_into is not None:  # a Salesforce merge's losing record
                winner = store_sync.live_record(db, self.crm, kind, deletion.merged_into)
            if not write:
                local_id = store_sync.live_record(db, self.crm, kind, deletion.crm_id)
            elif winner is not None:
                local_id = store_sync.record_merge(db, self.crm, kind, deletion.crm_id, winner, when, now=now)
            else:
                local_id = store_sync.mark_deleted(db, self.crm, kind, deletion.crm_id, when, now=now)
            if local_id is None:
                continue
            self.run.counts["deleted"] += 1
            logged.append(("pull", kind, local_id, deletion.crm_id, "delete", "ok", None))
            if winner is not None:
                logged.append(self._merged(kind, local_id, deletion.crm_id, winner, when, write=write))
            if not write:
                self.run.changes.append(
                    Change(
                        "local",
                        self.crm,
                        "delete",
                        kind,
                        local_id,
                        deletion.crm_id,
                        {"deleted_at": (None, when)},
                    )
                )
        if write and logged and self.run.run_id is not None:
            store_sync.add_items(db, self.run.run_id, self.crm, logged, now=now)

    def _merged_fields(self, db: Database, kind: PullKind, record: PulledRecord) -> dict[str, Any]:
        """The record's fields, matched to a record of the book merged into it when the book does not hold
        it by its own id: HubSpot makes a merge's outcome a new record with a new id (its changelog), with
        the primary's values, whose `hs_merged_object_ids` names the records merged. It lands on the one of
        those the book holds live whose last pulled values it shares most (the primary's; the first named,
        in a tie), rather than coming in as a new record beside them."""
        if not record.merged_ids or store_sync.live_record(db, self.crm, kind, record.crm_id) is not None:
            return record.fields
        best: tuple[int, str] | None = None
        for crm_id in record.merged_ids:
            local_id = store_sync.live_record(db, self.crm, kind, crm_id)
            if local_id is None:
                continue
            pulled = store_sync.snapshot(db, self.crm, kind, crm_id) or {}
            shared = sum(pulled.get(name) == value for name, value in record.fields.items())
            if best is None or shared > best[0]:
                best = (shared, local_id)
        return record.fields if best is None else {**record.fields, "id": best[1]}

    def _merges(
        self, db: Database, kind: PullKind, record: PulledRecord, winner: str, *, write: bool
    ) -> list[tuple[Any, ...]]:
        """Record that the records of the book the pulled record names as merged into it (HubSpot's
        `hs_merged_object_ids`) were merged into `winner`, its local record: each marked deleted (as of the
        record's modification, which the merge moved: HubSpot gives no time of merge) and naming `winner`.
        Only the merge is recorded: the loser's interactions and outreach stay where they are."""
        when = record.modified_at.isoformat()
        now = stamp(self.clock())
        logged = []
        for crm_id in record.merged_ids:
            if write:
                loser = store_sync.record_merge(db, self.crm, kind, crm_id, winner, when, now=now)
            else:
                loser = store_sync.merged_id(db, self.crm, kind, crm_id, winner)
            if loser is not None:
                logged.append(self._merged(kind, loser, crm_id, winner, when, write=write))
        return logged

    def _merged(
        self, kind: PullKind, loser: str, crm_id: str, winner: str, when: str, *, write: bool
    ) -> tuple[Any, ...]:
        """Count a merge recorded (or, in a dry run, that would be) and say it in the report."""
        self.run.counts["merged"] += 1
        self.run.notes.append(
            f"{self.crm} {kind} {loser} was merged into {winner} in {self.crm}: marked deleted; move what "
            "cockpit holds of it (interactions, outreach) by hand"
        )
        if not write:
            fields = {"merged_into": (None, winner), "deleted_at": (None, when)}
            self.run.changes.append(Change("local", self.crm, "merge", kind, loser, crm_id, fields))
        return ("pull", kind, loser, crm_id, "merge", "ok", None)

    def _restored(self, db: Database, kind: PullKind, deletion: Deletion) -> bool:
        """Whether the record was stored as changed after this deletion: restored in the CRM since. The
        deletion and change listings are read at once, changes stored first: a record restored after its
        deletion was listed but before its changes were comes with both, and the changes watermark passes
        its restore; marked deleted, nothing would bring it back. (The same for engagements, by those pulled
        in this run: `_engagements_pulled`.)"""
        changed = store_sync.modified_at(db, self.crm, kind, deletion.crm_id)
        return _newer(None if changed is None else parse_time(changed), deletion)

    def _apply_page(self, db: Database, kind: PullKind, page: list[PulledRecord], *, write: bool) -> None:
        refs = References(db)
        logged: list[tuple[Any, ...]] = []
        for record in page:
            logged += self._apply(db, refs, kind, record, write=write)
        if write and logged and self.run.run_id is not None:
            store_sync.add_items(db, self.run.run_id, self.crm, logged, now=stamp(self.clock()))

    def _skip(self, kind: PullKind, record: PulledRecord, why: str) -> tuple[Any, ...]:
        self.run.counts["skipped"] += 1
        self.run.problem(f"{self.crm} {kind} {record.crm_id}: not imported: {why}")
        return ("pull", kind, None, record.crm_id, "import", "skipped", why)

    def _apply(
        self, db: Database, refs: References, kind: PullKind, record: PulledRecord, *, write: bool
    ) -> list[tuple[Any, ...]]:
        parsed, problems = validate(kind, self._merged_fields(db, kind, record))
        if parsed is None:
            return [self._skip(kind, record, "; ".join(problems))]
        if problems:
            self.run.notes.append(f"{self.crm} {kind} {record.crm_id}: left out {'; '.join(problems)}")
        to_row = KINDS[kind].to_row
        assert to_row is not None
        try:
            row = to_row(parsed, refs)
        except Unresolved as error:
            if not write and error.field == "account" and error.value in self._new_accounts:
                self.run.counts["inserted"] += 1
                fields = {name: (None, value) for name, value in record.fields.items()}
                self.run.changes.append(
                    Change("local", self.crm, "insert", kind, None, record.crm_id, fields)
                )
                return []
            return [self._skip(kind, record, f"{error.field}: {error.message} ({error.value})")]
        local_id = str(row.key["id"])
        columns = list(row.values)
        churn = [
            name for name in ("lifecycle_stage", "churned_on") if kind == "accounts" and name not in columns
        ]
        current = store_sync.current_values(db, row.table, local_id, [*columns, *churn])
        local = None if current is None else {column: current[column] for column in columns}
        base = store_sync.snapshot(db, self.crm, kind, record.crm_id)
        result = merge(row.values, local, base)
        modified_at = record.modified_at.astimezone(UTC).isoformat()
        older = frozenset[str]()
        if kind == "accounts" and current is not None:
            # A value another source changed after this CRM did stays (by the sources' own modified times).
            older = older_fields(modified_at, modified_times(db, local_id, row.values))
        apply = {name: value for name, value in result.apply.items() if name not in older}
        if kind == "accounts":
            apply.update(
                churn_from_stage(
                    row.values,
                    apply,
                    current,
                    changed_on=record.modified_at.date().isoformat(),
                    churned_stages=self.churned_stages,
                )
            )
        if current is not None and current["deleted_at"] is not None:
            apply["deleted_at"] = None  # live again in the CRM
        outcome = "inserted" if current is None else "updated" if apply else "unchanged"
        if outcome == "inserted" and kind == "accounts":
            self._new_accounts.add(record.crm_id)
        action = {"inserted": "insert", "updated": "update"}.get(outcome, "")
        self.run.counts[outcome] += 1
        now = stamp(self.clock())
        new_conflicts = []
        logged: list[tuple[Any, ...]] = []
        if write:
            try:
                assert self.run.run_id is not None
                with db.atomic():
                    if apply:
                        _outcome, changed = upsert_row(db, row.table, row.key, apply, now=now)
                        if kind == "accounts":
                            source = sync_source(self.run.run_id)
                            record_changes(db, local_id, changed, day=self.clock.today(), source=source)
                    if kind == "accounts":
                        record_sources(
                            db,
                            local_id,
                            [name for name in (*apply, *result.settled) if name not in older],
                            system=self.crm,
                            written_by=sync_source(self.run.run_id),
                            file=None,
                            modified_at=modified_at,
                            now=now,
                        )
                    store_sync.save_snapshot(
                        db,
                        self.crm,
                        kind,
                        record.crm_id,
                        local_id,
                        result.agreed,
                        modified_at=record.modified_at.isoformat(),
                        now=now,
                    )
                    store_sync.settle_conflicts(
                        db, self.crm, kind, local_id, [*result.settled, *result.apply], now=now
                    )
                    for clash in result.conflicts:
                        values = (clash.base, clash.local, clash.crm)
                        if store_sync.record_conflict(
                            db,
                            self.crm,
                            kind,
                            local_id,
                            record.crm_id,
                            clash.field,
                            values,
                            run_id=self.run.run_id,
                            now=now,
                        ):
                            new_conflicts.append(clash)
                    logged = self._merges(db, kind, record, local_id, write=True)
            except sqlite3.IntegrityError as error:
                self.run.counts[outcome] -= 1
                return [self._skip(kind, record, integrity_message(error))]
        else:
            logged = self._merges(db, kind, record, local_id, write=False)
            new_conflicts = list(result.conflicts)
            if apply:
                before = current or {}
                fields = {name: (before.get(name), value) for name, value in apply.items()}
                self.run.changes.append(
                    Change("local", self.crm, action, kind, local_id, record.crm_id, fields)
                )
        self.run.counts["new_conflicts"] += len(new_conflicts)
        for clash in new_conflicts:
            self.run.conflicts.append(
                ConflictNote(kind, local_id, record.crm_id, clash.field, clash.base, clash.local, clash.crm)
            )
        if action:
            logged.append(("pull", kind, local_id, record.crm_id, action, "ok", None))
        logged += [
            (
                "pull",
                kind,
                local_id,
                record.crm_id,
                "merge",
                "conflict",
                f"{clash.field} changed on both sides",
            )
            for clash in new_conflicts
        ]
        return logged
