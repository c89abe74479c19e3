"""What every cockpit screen shares."""

from __future__ import annotations

from textual import on
from textual.screen import Screen
from textual.worker import Worker, WorkerState


class CockpitScreen(Screen[None]):
    """A screen whose failed workers are reported by the app.

    Screens own their workers, and `Worker.StateChanged` does not bubble; the failure is passed on to the app,
    which reports every worker error in one place.
    """

    @on(Worker.StateChanged)
    def _pass_on_worker_error(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.app.post_message(event)
