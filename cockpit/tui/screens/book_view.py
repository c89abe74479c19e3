"""The book as a whole (`b` from the book): the spreads of the tiers against a month and a year before, the
retention figures, LTV:CAC, the renewals ahead (`services/book_view.py`), and the accounts that moved
between tiers one key away (`m`), each opening its account.

A worker paints the view last computed for today at once (`book_view_cache`), then computes it afresh when
the data changed since, so the screen never waits on the whole computation to show something."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.domain.book_figures import BookView
from cockpit.domain.book_text import book_text, mover_line
from cockpit.domain.display import visible
from cockpit.services.book_view import BookViewRequest, CachedView, book_view, cached_book_view
from cockpit.store.db import Store
from cockpit.tui import bindings
from cockpit.tui.screens.account import AccountScreen
from cockpit.tui.screens.base import CockpitScreen

COMPARISONS = ("1m", "1y")


def mover_prompt(view: BookView, index: int) -> Text:
    move = view.movers[index]
    return Text(visible(mover_line(move)), style="red" if move.worse else "green", no_wrap=True)


class BookViewScreen(CockpitScreen):
    """The view of the book; `m` shows the accounts that moved, Enter opens one, Escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "back", "Back", id=bindings.BOOK_VIEW_BACK, tooltip="Back (from the movers: the view)."
        ),
        Binding(
            "m",
            "movers",
            "Movers",
            id=bindings.BOOK_VIEW_MOVERS,
            tooltip="The accounts that moved between tiers since the day compared with; Enter opens one.",
        ),
        Binding(
            "c",
            "compare",
            "Compare",
            id=bindings.BOOK_VIEW_COMPARE,
            tooltip="Compare with a month or a year before.",
        ),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            id=bindings.BOOK_VIEW_REFRESH,
            tooltip="Compute the view again now.",
        ),
    ]

    body = getters.query_one("#book-view-body", Static)
    status = getters.query_one("#book-view-status", Static)
    movers = getters.query_one("#book-view-movers", OptionList)

    def __init__(self, store: Store, settings: Settings, *, clock: Clock) -> None:
        super().__init__()
        self._store = store
        self._settings = settings
        self._clock = clock
        self._compare = COMPARISONS[0]
        self.view: BookView | None = None
        """The view on screen (None until one is read)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with ScrollableContainer(id="book-view-panel"):
            yield Static("Loading…", id="book-view-body", markup=False)
        yield OptionList(id="book-view-movers")
        yield Static(id="book-view-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.movers.display = False
        self._load(self._request(), force=False)

    def _request(self) -> BookViewRequest:
        return BookViewRequest(as_of=self._clock.today(), compare=self._compare)

    @work(thread=True, exclusive=True, group="book-view", exit_on_error=False)
    def _load(self, request: BookViewRequest, *, force: bool) -> None:
        """Paint the kept view at once, then compute a fresh one unless the data is still as it read it."""
        kept = None if force else cached_book_view(self._store, self._settings, request)
        if kept is not None:
            self.app.call_from_thread(self._show, kept, "checking the data…")
            if kept.fresh(self._store):
                self.app.call_from_thread(self._show_status, kept, "")
                return
            self.app.call_from_thread(self._show_status, kept, "the data changed since: computing again…")
        else:
            self.app.call_from_thread(self._say, "Computing the view of the book…")
        fresh = book_view(self._store, self._settings, request, clock=self._clock, reuse=False)
        self.app.call_from_thread(self._show, fresh, "")

    def _say(self, text: str) -> None:
        self.status.update(text)

    def _show(self, shown: CachedView, state: str) -> None:
        self.view = shown.view
        self.body.update(Text("\n".join(visible(line) for line in book_text(shown.view)), no_wrap=True))
        self._show_status(shown, state)
        self.movers.clear_options()
        self.movers.add_options(
            Option(mover_prompt(shown.view, index), id=str(index)) for index in range(len(shown.view.movers))
        )

    def _show_status(self, shown: CachedView, state: str) -> None:
        other = "a year" if self._compare == "1m" else "a month"
        self._say(
            f"Computed {shown.computed_at[:16].replace('T', ' ')}{' · ' + state if state else ''}"
            f" · m movers · c compare with {other} before"
        )

    def action_movers(self) -> None:
        if self.view is None:
            return
        if not self.view.movers:
            self.notify("No account moved between tiers since the day compared with.", title="Movers")
            return
        self.movers.display = True
        if self.movers.highlighted is None:
            self.movers.highlighted = 0
        self.movers.focus()

    def action_back(self) -> None:
        if self.movers.display:
            self.movers.display = False
            return
        self.app.pop_screen()

    def action_compare(self) -> None:
        self._compare = COMPARISONS[(COMPARISONS.index(self._compare) + 1) % len(COMPARISONS)]
        self._load(self._request(), force=False)

    def action_refresh(self) -> None:
        self._load(self._request(), force=True)

    @on(OptionList.OptionSelected, "#book-view-movers")
    def _open_account(self, event: OptionList.OptionSelected) -> None:
        if self.view is None or event.option.id is None:
            return
        account_id = self.view.movers[int(event.option.id)].account_id
        self.app.push_screen(AccountScreen(self._store, account_id, self._settings, clock=self._clock))
