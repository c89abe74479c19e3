"""Push: the outbox (pending interactions, approved outreach, follow-ups as tasks) to one CRM, in batches,
never twice.

For each batch: the items are marked in flight (committed) before the request goes out; the CRM upserts
them by their sync key; each item's outcome is stored with the CRM's id. A run killed between those steps
leaves the items in flight, and the next run sends them again, which the upsert turns into an update. An
item the CRM refuses keeps its error and is tried again next run, until `sync.max_item_attempts` refusals
set it aside as failed (`states.py` decides, the store records); a batch that fails for a passing reason
(timeouts, 5xx after every retry, a partial answer) goes round again in the same run, up to
`sync.max_retries` more passes. A batch refused as a whole is split in halves until the item at fault is
alone.

Up to `sync.requests_in_flight` batches are out at once (`flight.Window`), each sent by a worker thread (its
write, then its associations); the marking and the outcomes are stored here, on the run's thread, as each
batch comes back. A pass ends once all its batches are back, so an item is never out twice at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from cockpit.clock import Clock, stamp
from cockpit.config import Settings
from cockpit.crm.base import CrmAdapter, OutboxItem, PushResult, title
from cockpit.crm.transport import DailyLimitReached, PermanentError, TransientError
from cockpit.domain.records import follow_up_sync_key
from cockpit.domain.today import follow_up_channel, follow_up_title
from cockpit.domain.touches import CSM_TOUCHES
from cockpit.services.sync.flight import Window
from cockpit.services.sync.report import Change, CrmRun
from cockpit.services.sync.states import answered, settled
from cockpit.store import Store
from cockpit.store import sync as store_sync
from cockpit.store.sqlite import Database
from cockpit.store.sync import OutboxRow

PAGE = 1000
"""Outbox rows read at a time."""

Batch = list[tuple[OutboxRow, OutboxItem]]
PushWindow = Window[tuple[str, Batch], list[PushResult]]
"""Batches out, each known by its target and its rows."""


def item_types(settings: Settings) -> tuple[store_sync.ItemType, ...]:
    """What the outbox holds: interactions and outreach, and follow-ups unless `sync.push_follow_ups` is off."""
    if settings.sync.push_follow_ups:
        return store_sync.ITEM_TYPES
    return tuple(item_type for item_type in store_sync.ITEM_TYPES if item_type != "follow_up")


def outbox_item(row: OutboxRow) -> OutboxItem:
    """What the CRM files for an outbox row; a follow-up is a task with its own key, of the channel its
    interaction's kind makes (`domain.today.follow_up_channel`), due on its day."""
    assert row.account_crm_id is not None
    follow_up = row.item_type == "follow_up"
    return OutboxItem(
        item_type=row.item_type,
        local_id=row.local_id,
        sync_key=follow_up_sync_key(row.sync_key) if follow_up else row.sync_key,
        kind=follow_up_channel(row.kind) if follow_up else row.kind,
        direction=row.direction,
        occurred_at=row.occurred_at,
        subject=follow_up_title(title(row.body)) if follow_up else row.subject,
        body=row.body,
        account_crm_id=row.account_crm_id,
        contact_crm_id=row.contact_crm_id,
        crm_id=row.crm_id,
        retried=row.state is not None,
        done=bool(row.done),
    )


def _task_values(row: OutboxRow) -> dict[str, Any] | None:
    """What a follow-up's or an outreach item's task in the CRM now says (`store.sync.TASK_FIELDS`): the pull
    tells a change made there from them."""
    if row.item_type == "interaction":
        return None
    return {"due_on": row.occurred_at, "done": bool(row.done)}


class Pusher:
    def __init__(
        self,
        store: Store,
        adapter: CrmAdapter,
        run: CrmRun,
        *,
        crms: Sequence[str],
        item_types: Sequence[store_sync.ItemType],
        max_retries: int,
        max_attempts: int,
        in_flight: int,
        clock: Clock,
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.crm = adapter.name
        self.run = run
        self.crms = list(crms)
        """Every enabled CRM: an item is synced once all of them have it."""
        self.item_types = list(item_types)
        self.max_retries = max_retries
        self.max_attempts = max_attempts
        self.in_flight = in_flight
        self.clock = clock
        self._done: set[tuple[str, str]] = set()
        """Items this run will not try again: refused, or blocked."""
        self._unconfirmed: set[tuple[str, str]] = set()
        """Items of the current pass whose outcome came back unknown (to be sent again)."""

    def push(self) -> None:
        held = store_sync.count_held(self.store.db, self.crm, self.item_types, CSM_TOUCHES)
        if held:
            self.run.counts["held_deleted_accounts"] = held
            self.run.notes.append(
                f"{self.crm}: {held:,} item(s) held back: their account is deleted in cockpit "
                "(they stay in the journey and go out if the account comes back)"
            )
        window = PushWindow(self.in_flight, f"push-{self.crm}")
        for _pass in range(self.max_retries + 1):
            self._unconfirmed.clear()
            if not self._pass(window) or self.run.dry_run:
                return
        # Every pass spent and some items still without an answer: a run short of complete, never an "ok".
        self.run.counts["unconfirmed"] = len(self._unconfirmed)
        self.run.problem(
            f"{self.crm}: {len(self._unconfirmed):,} item(s) without an answer after {self.max_retries + 1} "
            "passes (timeouts, 5xx or partial answers); the next run sends them again"
        )

    def _pass(self, window: PushWindow) -> bool:
        """One pass over the outbox, every batch back; True if some batch should go round again."""
        again = False
        buckets: dict[str, Batch] = {}
        for item_type in self.item_types:
            after = ""
            while rows := store_sync.pending(
                self.store.db, self.crm, item_type, CSM_TOUCHES, after=after, limit=PAGE
            ):
                after = rows[-1].local_id
                for row in rows:
                    if (item_type, row.local_id) in self._done:
                        continue
                    if row.account_crm_id is None:
                        self._blocked(row)
                        continue
                    if row.state == "in_flight":
                        self.run.counts["resumed"] += 1
                    item = outbox_item(row)
                    target = self.adapter.target(item)
                    if self.run.dry_run:
                        self._describe(row, item, target)
                        continue
                    bucket = buckets.setdefault(target, [])
                    bucket.append((row, item))
                    if len(bucket) >= self.adapter.batch_size:
                        again |= self._send(window, target, bucket)
                        buckets[target] = []
        for target, bucket in buckets.items():
            if bucket:
                again |= self._send(window, target, bucket)
        while window.out:
            again |= self._collect(window)
        return again

    def _blocked(self, row: OutboxRow) -> None:
        self._done.add((row.item_type, row.local_id))
        self.run.counts["blocked"] += 1
        self.run.problem(
            f"{self.crm} {row.item_type} {row.local_id}: not pushed: its account {row.account_id} has no "
            f"{self.crm} id (pull it from {self.crm} first, or link it)"
        )

    def _describe(self, row: OutboxRow, item: OutboxItem, target: str) -> None:
        self._done.add((row.item_type, row.local_id))
        self.run.counts["would_push"] += 1
        if row.item_type == "follow_up":
            self.run.counts["would_push_follow_ups"] += 1
        if row.crm_id:
            action = "update"
        elif row.state is not None:
            action = "create or update"
        else:
            action = "create"
        fields = {name: (None, value) for name, value in self.adapter.fields(item).items()}
        self.run.changes.append(Change("crm", self.crm, action, target, row.local_id, row.crm_id, fields))

    def _send(self, window: PushWindow, target: str, batch: Batch) -> bool:
        """Send one batch once the window has room (storing the outcomes of the batches that came back
        meanwhile); True if some of those should be tried again this run."""
        again = False
        while window.full:
            again |= self._collect(window)
        with self.store.write() as db:
            store_sync.mark_in_flight(
                db,
                self.crm,
                [(row.item_type, row.local_id, target) for row, _item in batch],
                run_id=self._run_id(),
                now=stamp(self.clock()),
            )
        window.submit((target, batch), partial(self._results, target, [item for _row, item in batch]))
        return again

    def _collect(self, window: PushWindow) -> bool:
        """Store the outcomes of the batches that come back next; True if some item should be tried again
        this run. An error that ends the push (a daily limit) is raised once every batch still out has come
        back and been stored."""
        again = False
        failure: BaseException | None = None
        while True:
            for (target, batch), future in window.finished():
                error = future.exception()
                if error is None:
                    again |= self._record(target, batch, future.result())
                elif failure is None:
                    failure = error
            if failure is None:
                return again
            if not window.out:
                raise failure

    def _record(self, target: str, batch: Batch, results: list[PushResult]) -> bool:
        """Store one batch's outcomes; True if some of it should be tried again this run."""
        now = stamp(self.clock())
        with self.store.write() as db:
            outcomes = self._outcomes(db, target, batch, results)
            store_sync.record_pushes(db, self.crm, outcomes, run_id=self._run_id(), now=now)
            self._settle(db, outcomes)
            store_sync.add_items(
                db,
                self._run_id(),
                self.crm,
                [
                    (
                        "push",
                        o.crm_object,
                        o.local_id,
                        o.crm_id,
                        "upsert",
                        "ok" if o.error is None else "error",
                        o.error,
                    )
                    for o in outcomes
                ],
                now=now,
            )
        again = False
        for outcome, result in zip(outcomes, results, strict=True):
            if outcome.error is None:
                self.run.counts["pushed"] += 1
                if outcome.item_type == "follow_up":
                    self.run.counts["pushed_follow_ups"] += 1
                if result.note is not None:
                    self.run.counts["partly_linked"] += 1
                    self.run.notes.append(f"{self.crm} {outcome.item_type} {outcome.local_id}: {result.note}")
            elif result.refused:
                self._done.add((outcome.item_type, outcome.local_id))
                self.run.counts["push_errors"] += 1
                self.run.problem(f"{self.crm} {outcome.item_type} {outcome.local_id}: {outcome.error}")
            else:
                self.run.counts["push_retries"] += 1
                self._unconfirmed.add((outcome.item_type, outcome.local_id))
                again = True
        self.run.counts["failed_items"] += sum(outcome.state == "failed" for outcome in outcomes)
        return again

    def _outcomes(
        self, db: Database, target: str, batch: Batch, results: Sequence[PushResult]
    ) -> list[store_sync.PushOutcome]:
        """Each item's outcome in this CRM, its state there decided (`sync.states`) from its refusals so far."""
        before = store_sync.refusals(db, self.crm, [(row.item_type, row.local_id) for row, _item in batch])
        outcomes = []
        for (row, _item), result in zip(batch, results, strict=True):
            after = answered(
                error=result.error,
                refused=result.refused,
                refusals=before.get((row.item_type, row.local_id), 0),
                max_attempts=self.max_attempts,
            )
            outcomes.append(
                store_sync.PushOutcome(
                    item_type=row.item_type,
                    local_id=row.local_id,
                    crm_object=target,
                    crm_id=result.crm_id,
                    error=result.error,
                    state=after.state,
                    refusals=after.refusals,
                    pushed_version=row.version if after.done else None,
                    pushed_values=_task_values(row) if after.state == "synced" else None,
                )
            )
        return outcomes

    def _settle(self, db: Database, outcomes: Sequence[store_sync.PushOutcome]) -> None:
        """Each item's own state, once every enabled CRM has it as it is now (`sync.states.settled`); a
        follow-up has none (it leaves the outbox by its push states alone)."""
        for item_type in store_sync.STATED_ITEMS:
            ids = [outcome.local_id for outcome in outcomes if outcome.item_type == item_type]
            if not ids:
                continue
            states = store_sync.current_push_states(db, item_type, ids, self.crms)
            store_sync.settle_items(
                db,
                item_type,
                [
                    (local_id, state)
                    for local_id, found in states.items()
                    if (state := settled(found, len(self.crms))) is not None
                ],
            )

    def _results(self, target: str, items: list[OutboxItem]) -> list[PushResult]:
        """The adapter's results; a batch refused whole is split until the refused item is alone."""
        try:
            return self.adapter.push(target, items)
        except DailyLimitReached:
            raise
        except PermanentError as error:
            if len(items) > 1:
                half = len(items) // 2
                return self._results(target, items[:half]) + self._results(target, items[half:])
            return [PushResult(items[0].sync_key, error=error.message)]
        except TransientError as error:
            # The outcome is unknown (a timeout may follow a write): the next pass upserts again.
            return [PushResult(item.sync_key, error=error.message, transient=True) for item in items]

    def _run_id(self) -> int:
        assert self.run.run_id is not None
        return self.run.run_id
