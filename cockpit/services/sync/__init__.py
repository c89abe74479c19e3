"""CRM sync: the nightly run (`engine.run_sync`) and what the sync screen shows (`status`).

Service API (plain functions, typed results), for the CLI and the TUI alike:

- `run_sync(store, settings, crm=None, dry_run=False) -> SyncReport`
- `setup_crms(settings, store, crm=None) -> dict[crm, state]`
- `sync_status(store, settings) -> SyncStatus` (runs, pending, problems, conflicts), or each part:
  `last_runs`, `pending_counts`, `item_problems`, `open_conflicts`
- `resolve_conflict(store, conflict_id, keep="local" | "crm")`, `retry_failed(store, crm=None)`
"""

from cockpit.services.sync.engine import run_sync, setup_crms
from cockpit.services.sync.lock import SyncBusy
from cockpit.services.sync.report import Change, ConflictNote, CrmRun, SyncReport
from cockpit.services.sync.status import (
    NoSuchConflict,
    SyncStatus,
    item_problems,
    last_runs,
    open_conflicts,
    pending_counts,
    resolve_conflict,
    retry_failed,
    sync_status,
)

__all__ = [
    "Change",
    "ConflictNote",
    "CrmRun",
    "NoSuchConflict",
    "SyncBusy",
    "SyncReport",
    "SyncStatus",
    "item_problems",
    "last_runs",
    "open_conflicts",
    "pending_counts",
    "resolve_conflict",
    "retry_failed",
    "run_sync",
    "setup_crms",
    "sync_status",
]
