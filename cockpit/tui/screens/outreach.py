"""The outreach review queue: every open item exactly as it will be sent (to whom, subject, body) and why it
was queued; the CSM edits, approves, snoozes or cancels one item or every marked one. Only approved items
reach the CRM outbox. The service (`cockpit.services.outreach`) checks the contact policy again on approval."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Header, Input, Label, Static, TextArea

from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.domain.display import visible
from cockpit.errors import CockpitError
from cockpit.outreach.items import ItemFilter, ItemStatus, OutreachItem
from cockpit.outreach.search import matches
from cockpit.services import outreach as service
from cockpit.store.db import Store
from cockpit.tui import bindings
from cockpit.tui.data_text import TEXT_CHARS, cell
from cockpit.tui.outreach_text import message_text
from cockpit.tui.screens.base import KeysModal
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.review import SNOOZE_DAYS, ReviewingScreen
from cockpit.tui.widgets.footer import KeyFooter
from cockpit.tui.widgets.search_box import SearchBox, SearchingScreen, search_bindings

OPEN: tuple[ItemStatus, ...] = ("draft", "snoozed", "approved")


class OutreachScreen(ReviewingScreen, SearchingScreen):
    """Open items, drafts first; `space` marks the item under the cursor (the cursor stays: Down moves it) so
    that an action applies to every marked item; `/` narrows the list by playbook, account or channel."""

    FOOTER_KEYS: ClassVar[tuple[str, ...]] = (
        bindings.OUTREACH_BACK,
        bindings.OUTREACH_MARK,
        bindings.OUTREACH_APPROVE,
        bindings.OUTREACH_SEARCH,
        bindings.OUTREACH_SNOOZE,
        bindings.OUTREACH_CANCEL,
        bindings.OUTREACH_EDIT,
        bindings.HELP,
        bindings.OUTREACH_ALL,
        bindings.QUIT,
    )
    """The keys the footer keeps first on a narrow terminal (`widgets/footer.py`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id=bindings.OUTREACH_BACK, tooltip="Back to the book."),
        Binding(
            "space",
            "mark",
            "Mark",
            id=bindings.OUTREACH_MARK,
            tooltip="Mark or unmark the item for an action on many (the cursor stays; Down moves it).",
        ),
        Binding(
            "a",
            "approve",
            "Approve",
            id=bindings.OUTREACH_APPROVE,
            tooltip="Approve the marked items (or this one) for the CRM outbox.",
        ),
        Binding(
            "e", "edit", "Edit", id=bindings.OUTREACH_EDIT, tooltip="Edit the subject and body of this draft."
        ),
        Binding(
            "z",
            "snooze",
            "Snooze",
            id=bindings.OUTREACH_SNOOZE,
            tooltip=f"Hold the marked items (or this one) for {SNOOZE_DAYS} days.",
        ),
        Binding(
            "x",
            "cancel_items",
            "Cancel",
            id=bindings.OUTREACH_CANCEL,
            tooltip="Cancel the marked items (or this one).",
        ),
        *search_bindings(
            bindings.OUTREACH_SEARCH,
            bindings.OUTREACH_SEARCH_KEEP,
            bindings.OUTREACH_SEARCH_CLEAR,
            tooltip="Narrow the list as you type: account, playbook, channel or due day "
            "(playbook:save channel:email due:today).",
        ),
        Binding(
            "A",
            "toggle_all",
            "All statuses",
            id=bindings.OUTREACH_ALL,
            tooltip="Show closed items too, or only open ones.",
        ),
    ]

    def __init__(self, store: Store, settings: Settings, *, clock: Clock) -> None:
        super().__init__()
        self._store = store
        self._settings = settings
        self._clock = clock
        self._loaded: list[OutreachItem] = []
        """Every item read, before the search narrows them to `_items` (the rows shown)."""
        self._items: list[OutreachItem] = []
        self._marked: set[str] = set()
        self._all = False
        self._muted: frozenset[str] = frozenset()

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="outreach-body"):
            yield Static("Loading…", id="outreach-status", markup=False)
            yield Static(id="outreach-playbooks", markup=False)
            yield DataTable(id="outreach-table", cursor_type="row")
            yield SearchBox(
                placeholder="/ search: account, playbook:save channel:email due:today (overdue, 7, a date)",
                id="outreach-search",
            )
            with VerticalScroll(id="outreach-preview-box"):
                yield Static(id="outreach-preview")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "Outreach review"
        self.query_one(DataTable).add_columns(" ", "Status", "Due", "Account", "To", "Playbook", "Subject")
        self._load()

    @work(thread=True, exclusive=True, group="outreach", exit_on_error=False)
    def _load(self) -> None:
        selection = ItemFilter() if self._all else ItemFilter(statuses=OPEN)
        items = service.list_items(self._store, selection)
        self._muted = service.muted_playbooks(self._store)
        self.app.call_from_thread(self._show, items)

    def searched_rows(self) -> DataTable[object]:
        return self.query_one(DataTable)

    @on(Input.Changed, "#outreach-search")
    def _search_as_you_type(self) -> None:
        self._show(self._loaded)

    def _show(self, loaded: list[OutreachItem]) -> None:
        """Show the items read that the search picks; marks on items no longer shown are dropped, so that an
        action never applies to an item out of sight."""
        self._loaded = loaded
        search = self.query_one(SearchBox).value
        today = self._clock.today()
        items = [item for item in loaded if matches(item, search, today)]
        self._items = items
        self._marked &= {item.id for item in items}
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for item in items:
            table.add_row(
                "●" if item.id in self._marked else "",
                item.status,
                str(item.due_on),
                cell(item.account_name),
                cell(item.contact_name or "(to-do)"),
                item.playbook,
                cell(item.subject, TEXT_CHARS),
                key=item.id,
            )
        if items:
            table.move_cursor(row=min(row, len(items) - 1))
        self._show_status()
        self._preview()

    def _show_status(self) -> None:
        items, search = self._items, self.query_one(SearchBox).value
        drafts = sum(item.status == "draft" for item in items)
        shown = "every item" if self._all else "open items"
        matching = f" matching {search.strip()!r}" if search.strip() else ""
        self.query_one("#outreach-status", Static).update(
            f"{len(items)} {shown}{matching}, {drafts} draft{'' if drafts == 1 else 's'} to review"
            f"{f' · {len(self._marked)} marked' if self._marked else ''} · only approved items go to the CRM"
        )
        self.query_one("#outreach-playbooks", Static).update(playbook_counts(self._items, self._muted))

    @on(DataTable.RowHighlighted)
    def _preview(self) -> None:
        item = self._current()
        self.query_one("#outreach-preview", Static).update(
            message_text(item) if item else "Nothing to review: `cockpit outreach plan` queues drafts."
        )

    def _current(self) -> OutreachItem | None:
        row = self.query_one(DataTable).cursor_row
        return self._items[row] if 0 <= row < len(self._items) else None

    def chosen_items(self) -> list[str]:
        """The marked items, or the one under the cursor."""
        if self._marked:
            return [item.id for item in self._items if item.id in self._marked]
        current = self._current()
        return [current.id] if current else []

    def action_mark(self) -> None:
        current = self._current()
        if current is None:
            return
        self._marked ^= {current.id}
        table = self.query_one(DataTable)
        table.update_cell_at(Coordinate(table.cursor_row, 0), "●" if current.id in self._marked else "")
        self._show_status()

    def action_toggle_all(self) -> None:
        self._all = not self._all
        self._load()

    def reviewed(self) -> None:
        self._marked.clear()
        self._load()

    def action_edit(self) -> None:
        item = self._current()
        if item is None:
            return
        self.app.push_screen(
            EditDraftScreen(self._store, self._settings, item, clock=self._clock), self._edited
        )

    def _edited(self, edited: OutreachItem | None) -> None:
        if edited is not None:
            self._load()


def playbook_counts(items: list[OutreachItem], muted: frozenset[str]) -> str:
    """The muted playbooks, then the drafts of the items shown per playbook, most first (one line: what does
    not fit is cut, the smallest counts first)."""
    drafts = Counter(item.playbook for item in items if item.status == "draft")
    counts = " · ".join(f"{p} {n}" for p, n in sorted(drafts.items(), key=lambda kv: (-kv[1], kv[0])))
    mutes = f"muted: {', '.join(sorted(muted))} · " if muted else ""
    return visible(f"{mutes}drafts by playbook: {counts or 'none'}")


class EditDraftScreen(KeysModal[OutreachItem | None]):
    """The subject and body of one draft; the service checks them (one-line subject, nothing blank, no
    template markup left) and says what is wrong. A control character in the text shows as its picture
    (`visible`), and what is saved is the text as shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id=bindings.EDIT_SAVE, tooltip="Save the text.", priority=True),
        Binding(
            "escape",
            "dismiss_edit",
            "Cancel",
            id=bindings.EDIT_CANCEL,
            tooltip="Close without saving (asks first if the text was changed).",
        ),
    ]

    def __init__(self, store: Store, settings: Settings, item: OutreachItem, *, clock: Clock) -> None:
        super().__init__()
        self._store = store
        self._settings = settings
        self._clock = clock
        self.item = item

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-form"):
            yield Static(
                visible(f"{self.item.account_name} · {self.item.playbook}"), id="edit-title", markup=False
            )
            with Horizontal(classes="edit-row"):
                yield Label("Subject")
                # The cursor at the end of the subject, nothing selected: the first key typed adds to it.
                yield Input(
                    visible(self.item.subject), id="edit-subject", compact=True, select_on_focus=False
                )
            yield TextArea(visible(self.item.body, lines=True), id="edit-body")
            yield Static(id="edit-problem", markup=False)
            yield Static(
                "ctrl+s saves · esc closes (asks first if you changed the text)", classes="edit-hint"
            )

    def action_save(self) -> None:
        self._save(self.query_one("#edit-subject", Input).value, self.query_one("#edit-body", TextArea).text)

    @work(thread=True, exclusive=True, group="edit-save", exit_on_error=False)
    def _save(self, subject: str, body: str) -> None:
        try:
            edited = service.update_draft(
                self._store, self._settings, self.item.id, subject, body, clock=self._clock
            )
        except CockpitError as error:
            self.app.call_from_thread(
                self.query_one("#edit-problem", Static).update, visible(str(error), lines=True)
            )
            return
        self.app.call_from_thread(self.dismiss, edited)

    def action_dismiss_edit(self) -> None:
        """Close; if the text was changed, only once the CSM says to discard the edits."""
        subject, body = (
            self.query_one("#edit-subject", Input).value,
            self.query_one("#edit-body", TextArea).text,
        )
        if (subject, body) == (visible(self.item.subject), visible(self.item.body, lines=True)):
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen("Discard your edits to this draft?"), answered)
