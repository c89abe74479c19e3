"""The cockpit TUI: the app, its themes and keymap, and the one place worker errors are reported."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from collections.abc import Iterable
from functools import partial
from typing import Any, ClassVar

from textual import on
from textual.actions import parse as parse_action
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.domain.display import visible
from cockpit.errors import CockpitError
from cockpit.store.db import Store, translate_sqlite_error
from cockpit.tui import bindings
from cockpit.tui.screens.book import BookScreen
from cockpit.tui.screens.help import HelpScreen, screen_keys
from cockpit.tui.theme import THEMES


class CockpitApp(App[None]):
    """The cockpit over `store`; `db_label` names the database in the header (default: the file name)."""

    CSS_PATH = "app.tcss"
    TITLE = "Cockpit"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id=bindings.QUIT, tooltip="Quit the cockpit."),
        Binding(
            "question_mark", "show_help_panel", "Help", id=bindings.HELP, tooltip="Show or hide the keys."
        ),
    ]

    def action_show_help_panel(self) -> None:
        """The screen's keys in cockpit's own help (also the palette's "Keys"), a line each at any width."""
        self.push_screen(HelpScreen(screen_keys(self.screen)))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action of the screen in the command palette, beside Textual's own (theme, keys, quit): the
        book's own list (each view and sort too), or else each key the screen offers now."""
        yield from super().get_system_commands(screen)
        if isinstance(screen, BookScreen):
            yield from screen.commands()
            return
        for binding in screen.BINDINGS:
            if not isinstance(binding, Binding) or not binding.tooltip:
                continue
            namespace, action, parameters = parse_action(binding.action)
            if namespace or screen.check_action(action, parameters):
                yield SystemCommand(
                    binding.description,
                    binding.tooltip,
                    partial(self.call_next, self.run_action, binding.action, screen),
                )

    def __init__(
        self, store: Store, settings: Settings, *, clock: Clock, db_label: str | None = None
    ) -> None:
        """`clock` is the one clock every screen reads (the shell's; tests pin it)."""
        super().__init__()
        self.store = store
        self.settings = settings
        self.clock = clock
        self.sub_title = db_label if db_label is not None else store.path.name
        # A CSM's write never fails because another process writes (an import applying its rows): the
        # worker that saves waits, the screen says so, and the write lands when the other is done.
        store.write_wait_seconds = settings.database.write_wait_seconds
        store.on_wait = self._write_waits
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = settings.ui.theme
        self.set_keymap(settings.ui.keymap)
        self._error_shown_until: dict[tuple[str, str], float] = {}
        """When each error notice on screen goes (`time.monotonic`), by its title and text."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notice in plain text, with what it quotes from data shown, never acted on: no caller's text is
        markup."""
        super().notify(
            visible(message, lines=True),
            title=visible(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def get_default_screen(self) -> Screen[None]:
        return BookScreen(self.store, self.settings, clock=self.clock)

    def on_mount(self) -> None:
        # What the app holds once it shows the book (modules, widgets, styles) is left out of the cycle
        # collector's full passes: at 100,000 accounts they took up to 190 ms in a keystroke, about 2 s over
        # the TUI bench's keys. Given back when the app ends, for a process that runs it again (the tests).
        self.call_after_refresh(gc.freeze)

    def on_unmount(self) -> None:
        gc.unfreeze()

    def _write_waits(self, what: str | None) -> None:
        """A write (in a worker) waits for another cockpit process to finish writing: say so."""
        text = (
            "Waiting for the import to finish…"
            if what == "import"
            else "Waiting for another cockpit process to finish writing…"
        )
        notice = partial(self.notify, text, title="Saving as soon as the database is free", markup=False)
        if threading.get_ident() == self._thread_id:
            notice()
        else:
            self.call_from_thread(notice)

    @on(Worker.StateChanged)
    def _report_worker_error(self, event: Worker.StateChanged) -> None:
        """Show a failed worker's error as a notification; the app keeps running."""
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        error: BaseException = event.worker.error
        if isinstance(error, sqlite3.Error):
            error = translate_sqlite_error(error, self.store.path)
        if isinstance(error, CockpitError):
            self._notify_error(error.title, str(error))
        else:
            self.log.error(event.worker, repr(error))
            self._notify_error("Unexpected error", f"{type(error).__name__}: {error}")

    def _notify_error(self, title: str, text: str) -> None:
        """Show an error notice, unless the same notice is on screen: one broken database fails every read
        alike (a sort and the reload after the file changed), and one error gets one notice."""
        now = time.monotonic()
        self._error_shown_until = {
            key: until for key, until in self._error_shown_until.items() if until > now
        }
        if (title, text) in self._error_shown_until:
            return
        self._error_shown_until[title, text] = now + self.NOTIFICATION_TIMEOUT
        self.notify(text, title=title, severity="error", markup=False)
