"""The log-an-interaction form: a few keystrokes from the book or the account, checked field by field as
the CSM saves, written in a worker (a write may wait for an import's lock)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.domain.display import visible
from cockpit.domain.records import InteractionRecord
from cockpit.domain.today import TodayItem
from cockpit.errors import CockpitError
from cockpit.services.interactions import (
    FORM_FIELDS,
    InteractionInvalid,
    LoggedInteraction,
    check_interaction,
    log_interaction,
)
from cockpit.services.today import done, open_call_tasks
from cockpit.store.db import Store, translate_sqlite_error
from cockpit.store.journey import ContactRow, contacts
from cockpit.tui import bindings
from cockpit.tui.data_text import cell
from cockpit.tui.screens.base import KeysModal
from cockpit.tui.screens.confirm import ConfirmScreen

KINDS = ("call", "meeting", "email", "note", "qbr")
SENTIMENTS = ("positive", "neutral", "negative")


class LogInteractionScreen(KeysModal[LoggedInteraction | None]):
    """Returns the logged interaction, or None when cancelled. Opens on the summary: most logs are a call
    happening now, so a summary and Enter are enough."""

    AUTO_FOCUS = "#log-summary"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s", "save", "Save", id=bindings.FORM_SAVE, tooltip="Save the interaction.", priority=True
        ),
        Binding(
            "escape", "cancel", "Cancel", id=bindings.FORM_CANCEL, tooltip="Close the form without saving."
        ),
    ]

    def __init__(
        self, store: Store, account_id: str, account_name: str, *, author: str | None, clock: Clock
    ) -> None:
        super().__init__()
        self._store = store
        self._clock = clock
        self.account_id = account_id
        self._account_name = account_name
        self._author = author
        self._contact_ids: set[str] = set()

    @classmethod
    def by_the_csm(
        cls, store: Store, settings: Settings, account_id: str, account_name: str, *, clock: Clock
    ) -> LogInteractionScreen:
        """The form for an interaction the cockpit's CSM (`general.me`, if set) logs."""
        return cls(store, account_id, account_name, author=settings.general.me or None, clock=clock)

    def compose(self) -> ComposeResult:
        with Vertical(id="log-form"):
            yield Static(
                f"Log an interaction with {visible(self._account_name)}", id="log-title", markup=False
            )
            yield from self._field(
                "kind",
                "Kind",
                Select([(kind, kind) for kind in KINDS], value="call", allow_blank=False, compact=True),
            )
            yield from self._field(
                "contact", "Contact", Select([], prompt="— nobody in particular —", compact=True)
            )
            yield from self._field(
                "occurred_at",
                "When",
                Input(value="now", placeholder="now, yesterday, 2026-11-20 14:30", compact=True),
            )
            yield from self._field(
                "summary", "Summary", Input(placeholder="What was said, what was agreed", compact=True)
            )
            yield from self._field(
                "sentiment",
                "Sentiment",
                Select([(s, s) for s in SENTIMENTS], prompt="— not noted —", compact=True),
            )
            yield from self._field(
                "follow_up_on", "Follow up on", Input(placeholder="YYYY-MM-DD, or blank", compact=True)
            )
            yield Static(id="log-problem", markup=False)
            with Horizontal(id="log-buttons"):
                yield Button("Save ^s", id="log-save", variant="primary", compact=True)
                yield Button("Cancel esc", id="log-cancel", compact=True)

    def _field(self, name: str, label: str, widget: Input | Select[str]) -> ComposeResult:
        widget.id = f"log-{name}"
        with Horizontal(classes="log-row"):
            yield Label(label, classes="log-label")
            with Vertical(classes="log-input"):
                yield widget
                yield Static(id=f"log-{name}-error", classes="log-error", markup=False)

    def on_mount(self) -> None:
        self._load_contacts()

    @work(thread=True, exclusive=True, group="log-contacts", exit_on_error=False)
    def _load_contacts(self) -> None:
        found = contacts(self._store.db, self.account_id)
        self.app.call_from_thread(self._show_contacts, found)

    def _show_contacts(self, found: list[ContactRow]) -> None:
        self._contact_ids = {contact.id for contact in found}
        options = [
            (cell(f"{contact.name}{f' ({contact.role})' if contact.role else ''}"), contact.id)
            for contact in found
            if not contact.do_not_contact
        ]
        self.query_one("#log-contact", Select).set_options(options)

    def form(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for name in FORM_FIELDS:
            widget = self.query_one(f"#log-{name}")
            if isinstance(widget, Input):
                values[name] = widget.value
            elif isinstance(widget, Select):
                values[name] = "" if widget.is_blank() else str(widget.value)
        return values

    def _show_problems(self, problems: dict[str, str]) -> None:
        for name in FORM_FIELDS:
            error = self.query_one(f"#log-{name}-error", Static)
            error.update(visible(problems.get(name, ""), lines=True))
            error.display = name in problems
        first = next((name for name in FORM_FIELDS if name in problems), None)
        if first is not None:
            self.query_one(f"#log-{first}").focus()

    def action_save(self) -> None:
        now = self._clock().astimezone()  # the CSM's own zone: "yesterday" and "14:30" are theirs
        try:
            record = check_interaction(self.account_id, self.form(), contact_ids=self._contact_ids, now=now)
        except InteractionInvalid as invalid:
            self._show_problems(invalid.problems)
            return
        self._show_problems({})
        self.query_one("#log-problem", Static).update("Saving…")
        self._save(record, now)

    @work(thread=True, exclusive=True, group="log-save", exit_on_error=False)
    def _save(self, record: InteractionRecord, now: datetime) -> None:
        try:
            logged = log_interaction(self._store, record, author=self._author, now=now)
        except (CockpitError, sqlite3.Error) as error:  # the database is busy or gone: say so, keep the form
            problem = (
                error if isinstance(error, CockpitError) else translate_sqlite_error(error, self._store.path)
            )
            shown = visible(str(problem), lines=True)
            self.app.call_from_thread(self.query_one("#log-problem", Static).update, shown)
            return
        tasks = open_call_tasks(self._store, self.account_id)
        if tasks:
            self.app.call_from_thread(self._offer_to_close, logged, tasks)
        else:
            self.app.call_from_thread(self.dismiss, logged)

    def _offer_to_close(self, logged: LoggedInteraction, tasks: list[TodayItem]) -> None:
        """The account has open call tasks: ask whether this interaction did them."""
        listed = "\n".join(f"· {task.title} (due {task.day})" for task in tasks)
        question = f"Close {'its open call task' if len(tasks) == 1 else f'its {len(tasks)} open call tasks'}?\n{listed}"

        def answered(close: bool | None) -> None:
            if close:
                self._close(logged, tasks)
            else:
                self.dismiss(logged)

        self.app.push_screen(ConfirmScreen(visible(question, lines=True)), answered)

    @work(thread=True, exclusive=True, group="log-save", exit_on_error=False)
    def _close(self, logged: LoggedInteraction, tasks: list[TodayItem]) -> None:
        app = self.app
        try:
            closed = done(self._store, tasks, clock=self._clock)
        finally:
            app.call_from_thread(self.dismiss, logged)
        note = f"Closed {closed} call task{'' if closed == 1 else 's'}; the CRM is told with the next sync."
        app.call_from_thread(app.notify, note)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#log-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#log-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted)
    def _enter_saves(self) -> None:
        self.action_save()
