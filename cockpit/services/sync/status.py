"""What the sync screen and `cockpit sync status` show: the last runs, the outbox, problems, conflicts;
and the two things a CSM does about them: settle a conflict, put failed items back in the outbox."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from cockpit.clock import Clock, stamp
from cockpit.config import Settings
from cockpit.crm import enabled_crms
from cockpit.domain.touches import CSM_TOUCHES
from cockpit.errors import CockpitError
from cockpit.services.sync.lock import sync_running
from cockpit.services.sync.pull import outreach_rules
from cockpit.services.sync.push import item_types
from cockpit.store import Store
from cockpit.store import sync as store_sync
from cockpit.store.history import CLI_SOURCE, record_changes, sync_source
from cockpit.store.provenance import record_sources
from cockpit.store.sync import ConflictRow, ItemProblem, RunRow


class NoSuchConflict(CockpitError):
    title = "No such conflict"


@dataclass(frozen=True)
class SyncStatus:
    runs: list[RunRow]
    """The latest runs, newest first."""
    pending: dict[str, dict[str, int]]
    """Per enabled CRM: interactions, outreach items and follow-ups (unless `sync.push_follow_ups` is off)
    waiting to be pushed."""
    problems: list[ItemProblem]
    """Items a CRM refused: `error` (tried again next run) or `failed` (set aside)."""
    conflicts: list[ConflictRow]
    """Fields changed on both sides, waiting for the CSM."""

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": [run.__dict__ for run in self.runs],
            "pending": self.pending,
            "problems": [problem.__dict__ for problem in self.problems],
            "conflicts": [conflict.__dict__ for conflict in self.conflicts],
        }


def last_runs(store: Store, limit: int = 10) -> list[RunRow]:
    """The latest runs, newest first; one still `running` with no sync holding the lock is `interrupted`
    (killed, or stopped by a signal: the next run closes it so, and resumes its work)."""
    runs = store_sync.recent_runs(store.db, limit)
    if any(run.status == "running" for run in runs) and not sync_running(store.path):
        return [replace(run, status="interrupted") if run.status == "running" else run for run in runs]
    return runs


def pending_counts(store: Store, settings: Settings) -> dict[str, dict[str, int]]:
    types = item_types(settings)
    return {
        crm: store_sync.count_pending(store.db, crm, types, CSM_TOUCHES) for crm in enabled_crms(settings)
    }


def item_problems(store: Store, limit: int = 50) -> list[ItemProblem]:
    return store_sync.item_problems(store.db, limit=limit)


def open_conflicts(store: Store, limit: int | None = None) -> list[ConflictRow]:
    return store_sync.open_conflicts(store.db, limit=limit)


def sync_status(store: Store, settings: Settings, *, runs: int = 10, problems: int = 50) -> SyncStatus:
    return SyncStatus(
        runs=last_runs(store, runs),
        pending=pending_counts(store, settings),
        problems=item_problems(store, problems),
        conflicts=open_conflicts(store),
    )


def resolve_conflict(
    store: Store, conflict_id: int, keep: Literal["local", "crm"], *, clock: Clock
) -> ConflictRow:
    """Settle a conflict by keeping the local value or taking the CRM's; returns the conflict settled."""
    with store.write() as db:
        found = store_sync.conflict(db, conflict_id)
        if found is None:
            raise NoSuchConflict(
                f"no open conflict {conflict_id}.", hint="`cockpit sync status` lists the open ones."
            )
        store_sync.resolve(db, found, keep, outreach_rules(clock.today()), now=stamp(clock()))
        if keep == "crm" and found.object_type == "accounts" and found.crm_value != found.local_value:
            source = CLI_SOURCE if found.run_id is None else sync_source(found.run_id)
            changed = {found.field: found.crm_value}
            record_changes(db, found.local_id, changed, day=clock.today(), source=source)
            record_sources(
                db,
                found.local_id,
                changed,
                system=found.crm,
                written_by=source,
                file=None,
                modified_at=None,
                now=stamp(clock()),
            )
    return found


def retry_failed(store: Store, crm: str | None = None) -> int:
    """Put the items set aside as failed back in the outbox (all CRMs, or one); returns how many."""
    with store.write() as db:
        return store_sync.retry_failed(db, crm)
