"""What a sync run did, or in a dry run would do: counts, errors, durations, conflicts and changes."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

RunStatus = Literal["running", "ok", "partial", "failed", "stopped"]

LISTED_PROBLEMS = 100
"""Per-record problems listed in one run's report; the rest are counted (`sync_items` has every one)."""

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_STOPPED = 4
"""A daily limit stopped the run cleanly; the next run carries on."""


def _shown(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Change:
    """One record a run writes, or in a dry run would write, on one side, field by field."""

    side: Literal["local", "crm"]
    crm: str
    action: str
    """local: insert, update, delete; crm: create, update, create or update (an earlier attempt may have
    reached the CRM: the upsert decides)."""
    object_type: str
    local_id: str | None
    crm_id: str | None
    fields: dict[str, tuple[Any, Any]]
    """field -> (before, after); before is None for a new record."""

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "crm": self.crm,
            "action": self.action,
            "object": self.object_type,
            "local_id": self.local_id,
            "crm_id": self.crm_id,
            "fields": {name: {"from": old, "to": new} for name, (old, new) in self.fields.items()},
        }

    def lines(self) -> list[str]:
        where = "cockpit" if self.side == "local" else self.crm
        names = f"{self.local_id or '(new)'} / {self.crm} {self.crm_id or '(new)'}"
        head = f"{where}: {self.action} {self.object_type} {names}"
        return [head] + [
            f"    {name}: {_shown(old)} -> {_shown(new)}" for name, (old, new) in self.fields.items()
        ]


@dataclass(frozen=True)
class ConflictNote:
    object_type: str
    local_id: str
    crm_id: str
    field: str
    base: Any
    local: Any
    crm: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "object": self.object_type,
            "local_id": self.local_id,
            "crm_id": self.crm_id,
            "field": self.field,
            "last_synced": self.base,
            "local": self.local,
            "crm": self.crm,
        }


@dataclass
class CrmRun:
    """One CRM's part of a sync (one `sync_runs` row unless a dry run)."""

    crm: str
    dry_run: bool
    started_at: str
    run_id: int | None = None
    status: RunStatus = "running"
    finished_at: str | None = None
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    """Run-level errors and per-item problems, each a line a person can act on."""
    durations: dict[str, float] = field(default_factory=dict)
    conflicts: list[ConflictNote] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: bool = False
    failed: bool = False
    unlisted: int = 0
    """Per-record problems past LISTED_PROBLEMS, counted only."""

    def problem(self, text: str) -> None:
        """A per-record problem: listed while the list is short, counted after."""
        if len(self.errors) < LISTED_PROBLEMS:
            self.errors.append(text)
        else:
            self.unlisted += 1

    def settle(self) -> RunStatus:
        """The run's status from what happened: stopped by a limit, failed outright, short of complete."""
        incomplete = any(
            self.counts[name]
            for name in (
                "skipped",
                "deletions_unconfirmed",
                "push_errors",
                "unconfirmed",
                "blocked",
                "failed_items",
                "new_conflicts",
            )
        )
        if self.failed:
            self.status = "failed"
        elif self.stopped:
            self.status = "stopped"
        elif incomplete:
            self.status = "partial"
        else:
            self.status = "ok"
        return self.status

    def to_json(self) -> dict[str, Any]:
        return {
            "crm": self.crm,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "counts": dict(sorted(self.counts.items())),
            "errors": self.errors,
            "unlisted_errors": self.unlisted,
            "durations": {name: round(seconds, 3) for name, seconds in self.durations.items()},
            "conflicts": [conflict.to_json() for conflict in self.conflicts],
            "notes": self.notes,
            **({"changes": [change.to_json() for change in self.changes]} if self.dry_run else {}),
        }


@dataclass
class SyncReport:
    dry_run: bool
    runs: list[CrmRun]
    scoring: dict[str, Any] | None = None
    churn_model: dict[str, Any] | None = None
    """What the run made of the learned churn model (`services.churn.Refit`): fitted, kept or not fitted,
    why, and its words (`line`)."""
    outreach: dict[str, int] | None = None
    """What outreach planning queued, updated, kept, cancelled and skipped."""
    history: dict[str, Any] | None = None
    """What the score history retention dropped after scoring (`services.history.Compaction`)."""
    errors: list[str] = field(default_factory=list)
    """Errors outside any one CRM (scoring, outreach planning)."""
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        statuses = {run.status for run in self.runs}
        if self.errors or statuses & {"failed", "partial", "running"}:
            return EXIT_INCOMPLETE
        if "stopped" in statuses:
            return EXIT_STOPPED
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "exit_code": self.exit_code,
            "runs": [run.to_json() for run in self.runs],
            "scoring": self.scoring,
            "churn_model": self.churn_model,
            "outreach": self.outreach,
            "history": self.history,
            "errors": self.errors,
            "durations": {name: round(seconds, 3) for name, seconds in self.durations.items()},
        }
