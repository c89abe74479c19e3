"""What every cockpit screen shares."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual import on
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from cockpit.tui import bindings

ResultT = TypeVar("ResultT")


class CockpitScreen(Screen[None]):
    """A screen whose failed workers are reported by the app.

    Screens own their workers, and `Worker.StateChanged` does not bubble; the failure is passed on to the app,
    which reports every worker error in one place.
    """

    @on(Worker.StateChanged)
    def _pass_on_worker_error(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.app.post_message(event)


class KeysModal(ModalScreen[ResultT]):
    """A modal screen that lists its keys on `?`, as every other screen does.

    The app's keys never reach a modal screen, so it binds `?` itself (with the app's binding id: a key a user
    remaps for help is remapped here too). A focused text field takes `?` as a character typed: Textual leaves
    out a screen's binding of a key its focused widget consumes.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "app.show_help_panel", "Help", id=bindings.HELP, tooltip="Show the keys."),
    ]
