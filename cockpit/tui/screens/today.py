"""Today: the CSM's day on one screen (`cockpit.services.today`): follow-ups due, call tasks and to-dos of the
week, renewals this month, accounts the latest score run moved; one key acts on the item under the cursor.
Reads and writes run in workers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Input, Static

from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.domain.display import visible
from cockpit.domain.today import (
    SECTION_LIMIT,
    LongOverdue,
    TodayItem,
    TodayList,
    fold_long_overdue,
    parse_day,
    when,
)
from cockpit.errors import CockpitError
from cockpit.services import today as service
from cockpit.store.db import Store
from cockpit.tui import bindings
from cockpit.tui.data_text import cell, plain
from cockpit.tui.screens.base import CockpitScreen, KeysModal

if TYPE_CHECKING:  # the log form (and pydantic's records) loads when first opened
    from cockpit.services.interactions import LoggedInteraction

WHAT = {"follow_up": "Follow-up", "task": "Task", "renewal": "Renewal", "score_change": "Score"}
"""The item's kind as the table's What column says it."""
ITEM_CHARS = 72
"""The most characters of an item the table shows (the detail below shows it whole): a narrow table is
repainted faster as the cursor moves."""


def status_line(day: TodayList) -> str:
    """E.g. `Today 2026-11-22 · 3 follow-ups due · 2 tasks this week · 10 renewals this month · 4 score changes`."""
    words = {
        "follow_up": "follow-ups due",
        "task": "tasks this week",
        "renewal": "renewals this month",
        "score_change": "score changes",
    }
    parts = [f"Today {day.day}"]
    for section in day.sections:
        if section.total is None:
            parts.append(
                f"{len(section.items):,}{'+' if section.items else ''} {words[section.kind]} (reading…)"
            )
            continue
        more = f" (first {len(section.items)})" if len(section.items) < section.total else ""
        parts.append(f"{section.total:,} {words[section.kind]}{more}")
    return " · ".join(parts)


class ItemDetail(Widget):
    """The item under the cursor, in full: repainted as the cursor moves, never laid out again (its height is
    fixed), so that a key press repaints only it and the table."""

    text: reactive[str] = reactive("", layout=False)

    def render(self) -> Text:
        return plain(self.text, lines=True)


class TodayScreen(CockpitScreen):
    """The day's items, by kind; the detail of the one under the cursor below the table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id=bindings.TODAY_BACK, tooltip="Back to the book."),
        Binding("enter", "open", "Open", id=bindings.TODAY_OPEN, tooltip="Open the item's account."),
        Binding(
            "l", "log", "Log", id=bindings.TODAY_LOG, tooltip="Log an interaction with the item's account."
        ),
        Binding(
            "x",
            "done",
            "Done",
            id=bindings.TODAY_DONE,
            tooltip="Mark the follow-up or task done (the CRM is told).",
        ),
        Binding(
            "z",
            "snooze",
            "Snooze",
            id=bindings.TODAY_SNOOZE,
            tooltip="Move the follow-up or task to tomorrow.",
        ),
        Binding(
            "r",
            "reschedule",
            "Reschedule",
            id=bindings.TODAY_RESCHEDULE,
            tooltip="Move the follow-up or task to a day you type.",
        ),
        Binding("ctrl+r", "refresh", "Refresh", id=bindings.TODAY_REFRESH, tooltip="Read the day again now."),
    ]

    def __init__(self, store: Store, settings: Settings, *, clock: Clock) -> None:
        super().__init__()
        self._store = store
        self._settings = settings
        self._clock = clock
        self._rows: list[TodayItem | LongOverdue] = []
        self._day: TodayList | None = None
        self._long_overdue_open = False
        """Whether the follow-ups long overdue are listed (Enter on their line), or only that line."""
        self._today = clock.today()

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="today-body"):
            yield Static("Loading…", id="today-status", markup=False)
            yield DataTable(id="today-table", cursor_type="row")
            yield ItemDetail(id="today-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Today"
        self.query_one(DataTable).add_columns("When", "What", "Account", "Item")

    @work(thread=True, exclusive=True, group="today", exit_on_error=False)
    def _load(self) -> None:
        """The day's first items at once, no more of a kind than the terminal has rows; then, once they are
        painted, the whole day if some were left out (on a large book the first open follow-ups are found
        among thousands settled, the score changes and the count of the follow-ups take longer still)."""
        first = min(self.app.size.height, SECTION_LIMIT)
        day = service.today_list(self._store, self._settings, clock=self._clock, limit=first, quick=True)
        self.app.call_from_thread(self._show, day)
        if any(section.total is None or len(section.items) < section.total for section in day.sections):
            self.app.call_from_thread(self.call_after_refresh, self._load_whole_day)

    @work(thread=True, exclusive=True, group="today", exit_on_error=False)
    def _load_whole_day(self) -> None:
        self.app.call_from_thread(
            self._show, service.today_list(self._store, self._settings, clock=self._clock)
        )

    def _show(self, day: TodayList) -> None:
        """Show the day's items, the cursor on the item it was on (else on the same row)."""
        was = self._current_row()
        self._day = day
        self._today = day.day
        self._rows = fold_long_overdue(
            day.items(),
            day.day,
            days=self._settings.today.fold_overdue_after_days,
            opened=self._long_overdue_open,
        )
        table = self.query_one(DataTable)
        row = table.cursor_row
        if was is not None:
            row = next((at for at, shown in enumerate(self._rows) if _key(shown) == _key(was)), row)
        table.clear()
        table.add_rows(self._cells(shown, day.day) for shown in self._rows)
        if self._rows:
            table.move_cursor(row=min(max(row, 0), len(self._rows) - 1))
        self._show_status(day)
        self._show_detail()

    def _cells(self, row: TodayItem | LongOverdue, today: date) -> tuple[str | Text, ...]:
        if isinstance(row, LongOverdue):
            accounts = len({item.account_id for item in row.items})
            return (
                f"> {row.days} days late",
                "Follow-ups",
                f"{'▾' if self._long_overdue_open else '▸'} {len(row.items):,} follow-ups",
                f"of {accounts:,} account{'' if accounts == 1 else 's'}, overdue by more than {row.days} days",
            )
        return (
            when(row.day, today) if row.actionable else str(row.day),
            WHAT[row.kind],
            cell(row.account_name),
            cell(row.title, ITEM_CHARS),
        )

    def _show_status(self, day: TodayList) -> None:
        self.query_one("#today-status", Static).update(status_line(day))

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        row = self._current_row()
        if isinstance(row, LongOverdue):
            oldest = row.items[0]
            text = f"{row.title}: the oldest {when(oldest.day, self._today)} ({oldest.account_name}).\n" + (
                "Enter folds them into this line again." if self._long_overdue_open else "Enter lists them."
            )
        else:
            text = f"{row.account_name} · {row.title}\n{row.detail}" if row else "Nothing due today."
        self.query_one(ItemDetail).text = text

    def _current_row(self) -> TodayItem | LongOverdue | None:
        row = self.query_one(DataTable).cursor_row
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def _current(self) -> TodayItem | None:
        """The item under the cursor (None on the line of the follow-ups long overdue)."""
        row = self._current_row()
        return row if isinstance(row, TodayItem) else None

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        from cockpit.tui.screens.account import AccountScreen

        if isinstance(self._current_row(), LongOverdue) and self._day is not None:
            self._long_overdue_open = not self._long_overdue_open
            self._show(self._day)
            return
        item = self._current()
        if item is not None:
            self.app.push_screen(
                AccountScreen(self._store, item.account_id, self._settings, clock=self._clock)
            )

    def action_refresh(self) -> None:
        self._load()

    def on_screen_resume(self) -> None:
        """Shown, or back from the account or the log form (what was done there shows): read the day."""
        self._load()

    def action_log(self) -> None:
        item = self._current()
        if item is None:
            return
        from cockpit.tui.screens.log_interaction import LogInteractionScreen

        form = LogInteractionScreen.by_the_csm(
            self._store, self._settings, item.account_id, item.account_name, clock=self._clock
        )
        self.app.push_screen(form, self._logged)

    def _logged(self, logged: LoggedInteraction | None) -> None:
        if logged is not None:
            self.notify("Logged; it waits in the CRM outbox.", title="Interaction saved")

    def _actionable(self) -> TodayItem | None:
        if isinstance(self._current_row(), LongOverdue):
            self.notify(
                "x, z and r act on one follow-up: move to one below this line."
                if self._long_overdue_open
                else "x, z and r act on one follow-up: Enter lists them."
            )
            return None
        item = self._current()
        if item is not None and not item.actionable:
            self.notify("A renewal or a score change is acted on in its account: enter opens it.")
            return None
        return item

    def action_done(self) -> None:
        item = self._actionable()
        if item is not None:
            self._done(item)

    @work(thread=True, exclusive=True, group="today-write", exit_on_error=False)
    def _done(self, item: TodayItem) -> None:
        closed = service.done(self._store, [item], clock=self._clock)
        note = "Done." if closed else "It was done already."
        self.app.call_from_thread(self._acted, note)

    def action_snooze(self) -> None:
        item = self._actionable()
        if item is not None:
            self._move(item, self._today + timedelta(days=1))

    def action_reschedule(self) -> None:
        item = self._actionable()
        if item is None:
            return

        def chosen(day: date | None) -> None:
            if day is not None:
                self._move(item, day)

        self.app.push_screen(DayScreen(item, self._today), chosen)

    @work(thread=True, exclusive=True, group="today-write", exit_on_error=False)
    def _move(self, item: TodayItem, day: date) -> None:
        try:
            service.move(self._store, item, day, clock=self._clock)
        except CockpitError as error:
            self.app.call_from_thread(self.notify, str(error), title=error.title, severity="error")
            return
        self.app.call_from_thread(self._acted, f"Moved to {day}.")

    def _acted(self, note: str) -> None:
        self.notify(note)
        self._load()


def _key(row: TodayItem | LongOverdue) -> tuple[str, str]:
    """What a row shows, to find it again among the rows of the day read afresh."""
    return ("long_overdue", "") if isinstance(row, LongOverdue) else (row.kind, row.ref)


class DayScreen(KeysModal[date | None]):
    """The day to move an item to: a date, `tomorrow` or `+N` days; Enter moves it, Esc leaves it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=bindings.DAY_CANCEL, tooltip="Leave the item on its day."),
    ]

    def __init__(self, item: TodayItem, today: date) -> None:
        super().__init__()
        self._item = item
        self._today = today

    def compose(self) -> ComposeResult:
        with Vertical(id="day-box"):
            yield Static(visible(f"Move: {self._item.title}"), id="day-title", markup=False)
            yield Input(placeholder="YYYY-MM-DD, tomorrow, +3", id="day-input", compact=True)
            yield Static("enter moves it · esc leaves it", id="day-hint", markup=False)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        day = parse_day(event.value, self._today)
        if day is None or day <= self._today:
            self.query_one("#day-hint", Static).update(
                f"A day after {self._today}: YYYY-MM-DD, tomorrow or +3."
            )
            return
        self.dismiss(day)

    def action_cancel(self) -> None:
        self.dismiss(None)
