"""The book: every account, sorted, paged from the store by thread workers."""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import getters, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.widgets import Header, Input, Static
from textual.worker import get_current_worker

from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.domain.display import visible
from cockpit.services.views import FilterError, refine, split_search, view_query
from cockpit.store.book import BookQuery, book_marks, count_book, fetch_book_after, fetch_book_before
from cockpit.store.db import Store
from cockpit.tui import bindings
from cockpit.tui.widgets.book_table import COLUMNS, BookTable, sort_label
from cockpit.tui.widgets.footer import KeyFooter
from cockpit.tui.widgets.search_box import SearchBox, SearchingScreen, search_bindings

if TYPE_CHECKING:  # the account and the log form (and their scoring and pydantic) load when first opened
    from cockpit.services.interactions import LoggedInteraction


def book_status(event: BookTable.BookChanged, view: str, filters: str = "") -> str:
    """The status line, e.g. `Save now · 12 accounts · band:red · sorted by MRR ▼`."""
    if event.failed:
        size = "Book not loaded"
    elif event.row_count is None:
        size = "Loading…"
    else:
        size = f"{event.row_count:,} account{'' if event.row_count == 1 else 's'}"
    matching = f" matching {event.query.search.strip()!r}" if event.query.search.strip() else ""
    narrowed = f" · {filters}" if filters else ""
    return f"{view} · {size}{matching}{narrowed} · sorted by {sort_label(event.query)}"


_GIVE_WAY_SECONDS = 0.002
"""How often the walk for marks looks whether the table still waits for a page."""


class BookScreen(SearchingScreen):
    """The accounts list. It serves the table's row requests; SQL runs only in its workers.

    Changes committed by other processes (an import, a sync) show within `ui.refresh_seconds`: a worker
    watches the database files and reloads the rows on screen when they change; ctrl+r reloads at once.
    """

    FOOTER_KEYS: ClassVar[tuple[str, ...]] = (
        bindings.BOOK_SEARCH,
        bindings.BOOK_OUTREACH,
        bindings.BOOK_LOG_INTERACTION,
        bindings.BOOK_SYNC,
        bindings.BOOK_NEXT_VIEW,
        bindings.QUIT,
        bindings.HELP,
        bindings.BOOK_SORT_NAME,
        bindings.BOOK_SELECT,
        bindings.REFRESH,
    )
    """The keys the footer keeps first on a narrow terminal (`widgets/footer.py`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "f", "view(1)", "Views", id=bindings.BOOK_NEXT_VIEW, tooltip="The next saved view of the book."
        ),
        Binding(
            "F",
            "view(-1)",
            "Previous view",
            show=False,
            id=bindings.BOOK_PREVIOUS_VIEW,
            tooltip="The previous saved view.",
        ),
        *search_bindings(
            bindings.BOOK_SEARCH,
            bindings.BOOK_SEARCH_KEEP,
            bindings.BOOK_SEARCH_CLEAR,
            tooltip="Search by name or domain as you type; words like churn:high filter.",
        ),
        Binding(
            "l",
            "log",
            "Log",
            id=bindings.BOOK_LOG_INTERACTION,
            tooltip="Log an interaction with the account under the cursor.",
        ),
        Binding(
            "d",
            "outreach",
            "Drafts",
            id=bindings.BOOK_OUTREACH,
            tooltip="Review the outreach drafts: edit, approve, snooze, cancel.",
        ),
        Binding(
            "T",
            "today",
            "Today",
            id=bindings.BOOK_TODAY,
            tooltip="What is due today: follow-ups, tasks, renewals, score changes.",
        ),
        Binding(
            "s", "sync", "Sync", id=bindings.BOOK_SYNC, tooltip="The CRM sync: last runs, outbox, conflicts."
        ),
        Binding(
            "g",
            "score_quality",
            "Score quality",
            show=False,
            id=bindings.BOOK_SCORE_QUALITY,
            tooltip="How good are these scores: past runs against the churn that followed.",
        ),
        Binding(
            "b",
            "book_view",
            "Book view",
            show=False,
            id=bindings.BOOK_VIEW,
            tooltip="The book as a whole: tiers against a month and a year ago, retention, LTV:CAC, renewals ahead.",
        ),
        Binding(
            "j",
            "journeys",
            "Journeys",
            show=False,
            id=bindings.BOOK_JOURNEYS,
            tooltip="The journeys that preceded churn or renewal, and the accounts on each path now.",
        ),
        Binding("ctrl+r", "refresh", "Refresh", id=bindings.REFRESH, tooltip="Read the book again now."),
    ]

    status = getters.query_one("#book-status", Static)
    search = getters.query_one("#book-search", SearchBox)
    table = getters.query_one("#book-table", BookTable)

    def __init__(self, store: Store, settings: Settings, *, clock: Clock) -> None:
        super().__init__()
        self._store = store
        self._settings = settings
        self._clock = clock
        self._marker = store.change_marker()
        self._filters = ""
        self._filter_error: str | None = None
        """Why the search box's filter is not understood, while it is not."""
        self._book_status = ""
        self._view = settings.ui.view_index(settings.ui.default_view) or 0  # checked when the config loads

    def _view_query(self) -> BookQuery:
        return view_query(self._settings.ui.views[self._view], self._settings, self._clock.today())

    def action_view(self, step: int) -> None:
        """Show the next (or previous) saved view, in the order of `[[ui.views]]`; the search stays."""
        self.show_view((self._view + step) % len(self._settings.ui.views))

    def show_view(self, index: int) -> None:
        self._view = index
        self._apply_search(self.search.value, keep_sort=False)

    def _apply_search(self, text: str, *, keep_sort: bool) -> None:
        """Show the view narrowed by the search box's `text`: its filter words (`churn:high`) and its search
        words. A filter that is not understood (yet: the CSM may be typing it) says why in the status line,
        for as long as the box holds it, and leaves the list as it was."""
        try:
            search, fields = split_search(text, self._settings, self._clock.today())
        except FilterError as error:
            self._filter_error = str(error).replace("\n", " · ")
            self._show_status_line()
            return
        self._filter_error = None
        self._filters = " ".join(word for word in text.split() if ":" in word)
        query = replace(refine(self._view_query(), fields), search=search)
        if keep_sort:
            current = self.table.book_query
            query = replace(query, sort=current.sort, descending=current.descending)
        self.table.set_query(query)

    def commands(self) -> Iterable[SystemCommand]:
        """The book's actions for the command palette: each view, each sort, search and refresh."""
        for index, view in enumerate(self._settings.ui.views):
            yield SystemCommand(
                f"View: {view.name}", "Show this saved view of the book", partial(self.show_view, index)
            )
        for column in COLUMNS:
            yield SystemCommand(
                f"Sort by {column.title}",
                "Sort the book; again to reverse",
                partial(self.table.sort_by, column.key),
            )
        yield SystemCommand(
            "Search and filter",
            "Search the book by name or domain; filter with words like churn:high band:red renewal:90",
            self.action_search,
        )
        yield SystemCommand(
            "Today: what is due",
            "Follow-ups due, call tasks and to-dos, renewals this month, accounts that entered save now",
            self.action_today,
        )
        yield SystemCommand("Refresh", "Read the book again now", self.action_refresh)
        yield SystemCommand("Log an interaction", "With the account under the cursor", self.action_log)
        yield SystemCommand(
            "Outreach review: the drafts to approve",
            "Read, edit, approve, snooze or cancel the outreach drafts the plan queued",
            self.action_outreach,
        )
        yield SystemCommand(
            "CRM sync", "Last runs, the outbox, refused items and conflicts", self.action_sync
        )
        yield SystemCommand(
            "How good are these scores",
            "Past score runs against the churn that followed: churn rate per tier and band, AUC, lift",
            self.action_score_quality,
        )
        yield SystemCommand(
            "The book as a whole",
            "Tiers against a month and a year ago, movers, retention (GRR, NRR), LTV:CAC, renewals ahead",
            self.action_book_view,
        )
        yield SystemCommand(
            "Journeys: the paths to churn and renewal",
            "The event sequences that preceded churn or renewal, and the accounts on each path now",
            self.action_journeys,
        )

    def searched_rows(self) -> BookTable:
        return self.table

    @on(Input.Changed, "#book-search")
    def _search_as_you_type(self, event: Input.Changed) -> None:
        # Each text the box held, in order: the status and the list end with the last.
        self._apply_search(event.value, keep_sort=True)

    def on_mount(self) -> None:
        self.set_interval(self._settings.ui.refresh_seconds, self._watch_for_changes)

    def action_refresh(self) -> None:
        self.table.reload()

    @work(thread=True, exclusive=True, group="book-watch", exit_on_error=False)
    def _watch_for_changes(self) -> None:
        marker = self._store.change_marker()
        if marker != self._marker:
            self._marker = marker
            self.app.call_from_thread(self.table.reload)

    def compose(self) -> ComposeResult:
        yield Header()
        yield BookTable(page_size=self._settings.ui.page_size, query=self._view_query(), id="book-table")
        yield SearchBox(
            placeholder="/ search by name or domain; filter: churn:high band:red owner:me renewal:90",
            id="book-search",
        )
        yield Static(id="book-status", markup=False)
        yield KeyFooter()

    @on(BookTable.FetchRows)
    def _serve_rows(self, request: BookTable.FetchRows) -> None:
        self._fetch_rows(request)

    @work(thread=True, exclusive=False, group="book-pages", exit_on_error=False)
    def _fetch_rows(self, request: BookTable.FetchRows) -> None:
        """Read one page in this worker's thread, on a kept connection (`Store.reader`: warm from the reads
        before), and send it at once; then ask for the count, when the request did (on a 100,000-account book
        the count takes longer than the page). A request the table has moved on from (a new sort, search or
        reload) is not read: its rows would be dropped."""
        table = request.table
        if request.generation != table.generation:
            return
        try:
            seek, query, limit = request.seek, request.query, request.limit
            with self._store.reader() as db:
                if seek.backward:
                    page = fetch_book_before(db, query, seek.cursor, limit=limit)
                else:
                    page = fetch_book_after(db, query, seek.cursor, limit=limit, offset=seek.offset)
            fetched = BookTable.RowsFetched(
                request.generation, request.page, page.rows, page.previous, page.next
            )
            table.post_message(fetched)
        except Exception:
            table.post_message(BookTable.RowsFailed(request.generation, request.page))
            raise
        if request.with_count and request.page == 0 and len(page.rows) < limit:
            table.post_message(BookTable.RowsCounted(request.generation, len(page.rows)))  # all there is
        elif request.with_count:
            self.app.call_from_thread(self._count_rows, request)

    @work(thread=True, exclusive=True, group="book-count", exit_on_error=False)
    def _count_rows(self, request: BookTable.FetchRows) -> None:
        """Count the rows of the request's query, unless the table moved on: a newer count cancels this one
        (the group is exclusive), whose answer is then not sent."""
        table = request.table
        if request.generation != table.generation:
            return
        try:
            with self._store.reader() as db:
                count = count_book(db, request.query)
        except Exception:
            table.post_message(BookTable.RowsFailed(request.generation, request.page))
            raise
        if not get_current_worker().is_cancelled:
            table.post_message(BookTable.RowsCounted(request.generation, count))

    @on(BookTable.MarkBook)
    def _serve_marks(self, request: BookTable.MarkBook) -> None:
        self._walk_marks(request)

    @work(thread=True, exclusive=True, group="book-marks", exit_on_error=False)
    def _walk_marks(self, request: BookTable.MarkBook) -> None:
        """Walk the request's query for its marks and send each as it is found, until the table moves on (a
        new sort, search or reload; a newer walk cancels this one: the group is exclusive). Between two marks
        it waits while the table waits for a page, so that the walk never slows what the user asked for on
        a busy machine."""
        table = request.table
        worker = get_current_worker()

        def moved_on() -> bool:
            return worker.is_cancelled or request.generation != table.generation

        with self._store.reader() as db, closing(book_marks(db, request.query, request.every)) as marks:
            for mark in marks:
                while table.reading and not moved_on():
                    time.sleep(_GIVE_WAY_SECONDS)
                if moved_on():
                    return
                table.post_message(BookTable.MarksFound(request.generation, mark))

    @on(BookTable.BookChanged)
    def _show_status(self, event: BookTable.BookChanged) -> None:
        self._book_status = book_status(event, self._settings.ui.views[self._view].name, self._filters)
        self._show_status_line()

    def _show_status_line(self) -> None:
        """The book's status, or the search's filter error while there is one: news of the book (a count, a
        reload) never hides it."""
        error = self._filter_error
        self.status.set_class(error is not None, "-error")
        self.status.update(visible(self._book_status if error is None else error), layout=False)  # one line

    @on(BookTable.AccountSelected)
    def _account_selected(self, event: BookTable.AccountSelected) -> None:
        from cockpit.tui.screens.account import AccountScreen

        self.app.push_screen(AccountScreen(self._store, event.account_id, self._settings, clock=self._clock))

    def action_outreach(self) -> None:
        from cockpit.tui.screens.outreach import OutreachScreen

        self.app.push_screen(OutreachScreen(self._store, self._settings, clock=self._clock))

    def action_today(self) -> None:
        from cockpit.tui.screens.today import TodayScreen

        self.app.push_screen(TodayScreen(self._store, self._settings, clock=self._clock))

    def action_sync(self) -> None:
        from cockpit.tui.screens.sync import SyncScreen  # the CRM code (httpx) loads when first asked for

        self.app.push_screen(SyncScreen(self._store, self._settings, clock=self._clock))

    def action_score_quality(self) -> None:
        from cockpit.tui.screens.score_quality import ScoreQualityScreen

        self.app.push_screen(ScoreQualityScreen(self._store, self._settings, clock=self._clock))

    def action_book_view(self) -> None:
        from cockpit.tui.screens.book_view import BookViewScreen

        self.app.push_screen(BookViewScreen(self._store, self._settings, clock=self._clock))

    def action_journeys(self) -> None:
        from cockpit.tui.screens.journeys import JourneysScreen  # NumPy and SciPy load when first asked for

        self.app.push_screen(JourneysScreen(self._store, self._settings, clock=self._clock))

    def action_log(self) -> None:
        """Log an interaction with the account under the cursor."""
        row = self.table.row_at(self.table.cursor_row) if self.table.row_count else None
        if row is None:
            return
        from cockpit.tui.screens.log_interaction import LogInteractionScreen

        form = LogInteractionScreen.by_the_csm(
            self._store, self._settings, row.id, row.name, clock=self._clock
        )
        self.app.push_screen(form, self._logged)

    def _logged(self, logged: LoggedInteraction | None) -> None:
        if logged is not None:
            self.notify("Logged; it waits in the CRM outbox.", title="Interaction saved")
