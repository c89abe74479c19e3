"""The sync screen: the last CRM sync runs, what waits in the outbox, the items the CRM refused and the
conflicts left for the CSM, who settles each one here (keep ours, or take the CRM's)."""

from __future__ import annotations

from typing import ClassVar, Literal

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Header, Static

from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.services.sync import SyncStatus, resolve_conflict, retry_failed, sync_status
from cockpit.store.db import Store
from cockpit.tui import bindings
from cockpit.tui.data_text import TEXT_CHARS, cell
from cockpit.tui.screens.base import CockpitScreen
from cockpit.tui.widgets.footer import KeyFooter


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {number}" for name, number in counts.items() if number) or "nothing"


class SyncScreen(CockpitScreen):
    """Read in a worker; `k` / `c` settle the conflict under the cursor, `r` retries refused items."""

    FOOTER_KEYS: ClassVar[tuple[str, ...]] = (
        bindings.SYNC_BACK,
        bindings.SYNC_KEEP_LOCAL,
        bindings.SYNC_TAKE_CRM,
        bindings.SYNC_RETRY,
        bindings.HELP,
        bindings.SYNC_REFRESH,
        bindings.QUIT,
    )
    """The keys the footer keeps first on a narrow terminal (`widgets/footer.py`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id=bindings.SYNC_BACK, tooltip="Back to the book."),
        Binding(
            "k",
            "resolve('local')",
            "Keep ours",
            id=bindings.SYNC_KEEP_LOCAL,
            tooltip="Settle the conflict under the cursor with the cockpit's value.",
        ),
        Binding(
            "c",
            "resolve('crm')",
            "Take CRM's",
            id=bindings.SYNC_TAKE_CRM,
            tooltip="Settle the conflict under the cursor with the CRM's value.",
        ),
        Binding(
            "r",
            "retry",
            "Retry refused",
            id=bindings.SYNC_RETRY,
            tooltip="Put the items the CRM refused back in the outbox.",
        ),
        Binding(
            "ctrl+r", "reload", "Refresh", id=bindings.SYNC_REFRESH, tooltip="Read the sync state again."
        ),
    ]

    def __init__(self, store: Store, settings: Settings, *, clock: Clock) -> None:
        super().__init__()
        self._store = store
        self._clock = clock
        self._settings = settings
        self._conflict_ids: list[int] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="sync-body"):
            yield Static("Loading…", id="sync-pending", markup=False)
            yield Static("Last runs", classes="sync-title")
            yield DataTable(id="sync-runs", cursor_type="row")
            yield Static(
                "Conflicts (changed on both sides; k keeps ours, c takes the CRM's)", classes="sync-title"
            )
            yield DataTable(id="sync-conflicts", cursor_type="row")
            yield Static("Refused by the CRM (r puts them back in the outbox)", classes="sync-title")
            yield DataTable(id="sync-problems", cursor_type="row")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "CRM sync"
        self.query_one("#sync-runs", DataTable).add_columns(
            "Run", "CRM", "Started", "Status", "Counts", "Errors"
        )
        self.query_one("#sync-conflicts", DataTable).add_columns(
            "CRM", "Record", "Field", "Was", "Ours", "CRM's"
        )
        self.query_one("#sync-problems", DataTable).add_columns("CRM", "Item", "State", "Tries", "Error")
        self._load()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="sync-status", exit_on_error=False)
    def _load(self) -> None:
        status = sync_status(self._store, self._settings)
        self.app.call_from_thread(self._show, status)

    def _show(self, status: SyncStatus) -> None:
        pending = "; ".join(f"{crm}: {_counts(kinds)}" for crm, kinds in status.pending.items())
        self.query_one("#sync-pending", Static).update(
            f"Waiting for the next sync: {pending or 'no CRM is enabled ([crm.hubspot] / [crm.salesforce])'}"
        )
        runs = self.query_one("#sync-runs", DataTable)
        runs.clear()
        for run in status.runs:
            runs.add_row(
                f"{run.id}{' (dry)' if run.dry_run else ''}",
                run.crm,
                run.started_at[:16].replace("T", " "),
                run.status,
                _counts(run.counts),
                str(len(run.errors)) if run.errors else "",
            )
        conflicts = self.query_one("#sync-conflicts", DataTable)
        conflicts.clear()
        self._conflict_ids = [conflict.id for conflict in status.conflicts]
        for conflict in status.conflicts:
            conflicts.add_row(
                conflict.crm,
                cell(conflict.record, TEXT_CHARS),
                conflict.field,
                cell(conflict.base_value, TEXT_CHARS),
                cell(conflict.local_value, TEXT_CHARS),
                cell(conflict.crm_value, TEXT_CHARS),
            )
        problems = self.query_one("#sync-problems", DataTable)
        problems.clear()
        for problem in status.problems:
            problems.add_row(
                problem.crm,
                cell(f"{problem.item_type} {problem.local_id}", TEXT_CHARS),
                problem.state,
                str(problem.attempts),
                cell(problem.error or "", TEXT_CHARS),
            )

    def action_resolve(self, keep: Literal["local", "crm"]) -> None:
        table = self.query_one("#sync-conflicts", DataTable)
        if not self._conflict_ids or table.cursor_row >= len(self._conflict_ids):
            self.notify("No conflict to settle.", severity="warning")
            return
        self._resolve(self._conflict_ids[table.cursor_row], keep)

    @work(thread=True, exclusive=True, group="sync-write", exit_on_error=False)
    def _resolve(self, conflict_id: int, keep: Literal["local", "crm"]) -> None:
        resolved = resolve_conflict(self._store, conflict_id, keep, clock=self._clock)
        side = "ours" if keep == "local" else "the CRM's"
        self.app.call_from_thread(self._changed, f"{resolved.field} of {resolved.record}: kept {side}.")

    def action_retry(self) -> None:
        self._retry()

    @work(thread=True, exclusive=True, group="sync-write", exit_on_error=False)
    def _retry(self) -> None:
        count = retry_failed(self._store)
        self.app.call_from_thread(
            self._changed, f"{count} item{'' if count == 1 else 's'} back in the outbox."
        )

    def _changed(self, report: str) -> None:
        """Back on the event loop after a change: say what it did, read the state again."""
        self.notify(report)
        self._load()
