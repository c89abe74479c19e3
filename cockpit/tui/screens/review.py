"""The review actions (approve, snooze, cancel) as both the review queue and the account's Outreach tab offer
them: on the marked items or the one under the cursor, through `cockpit.services.outreach`, in a worker;
approving or cancelling more than one item asks first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from textual import work

from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.errors import CockpitError
from cockpit.outreach.items import ReviewResult
from cockpit.store.db import Store
from cockpit.tui.screens.base import CockpitScreen
from cockpit.tui.screens.confirm import ConfirmScreen

SNOOZE_DAYS = 7
"""How long `z` holds an item when the CSM accepts the suggested day."""

Act = Callable[[list[str]], ReviewResult]


class ReviewingScreen(CockpitScreen):
    """A screen whose CSM reviews outreach items; it says which (`chosen_items`) and reads them again after an
    action (`reviewed`)."""

    _store: Store
    _settings: Settings
    _clock: Clock

    def chosen_items(self) -> list[str]:
        """The ids of the items an action applies to."""
        raise NotImplementedError

    def reviewed(self) -> None:
        """Back on the event loop after a review action: read the items again."""
        raise NotImplementedError

    def action_approve(self) -> None:
        from cockpit.services import outreach as service  # the planner's code: only once asked for

        self._review(
            "Approve {} drafts?",
            "Approved",
            lambda ids: service.approve(self._store, self._settings, ids, clock=self._clock),
        )

    def action_snooze(self) -> None:
        from cockpit.services import outreach as service

        until = self._clock.today() + timedelta(days=SNOOZE_DAYS)
        self._review(
            None,
            f"Snoozed until {until}",
            lambda ids: service.snooze(self._store, ids, until, clock=self._clock),
        )

    def action_cancel_items(self) -> None:
        from cockpit.services import outreach as service

        self._review(
            "Cancel {} items?", "Cancelled", lambda ids: service.cancel(self._store, ids, clock=self._clock)
        )

    def _review(self, ask: str | None, done: str, act: Act) -> None:
        """Run `act` on the chosen items; on more than one, first ask (`ask` with their number), unless `ask`
        is None."""
        ids = self.chosen_items()
        if not ids:
            return
        if ask is None or len(ids) == 1:
            self._act(done, ids, act)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(done, ids, act)

        self.app.push_screen(ConfirmScreen(ask.format(len(ids))), answered)

    @work(thread=True, exclusive=True, group="outreach-write", exit_on_error=False)
    def _act(self, done: str, ids: list[str], act: Act) -> None:
        try:
            result = act(ids)
        except CockpitError as error:
            self.app.call_from_thread(self.notify, str(error), title=error.title, severity="error")
            return
        lines = [f"{done}: {len(result.changed)}"]
        lines += [f"{refusal.item_id}: not done, {refusal.why}" for refusal in result.refused]
        lines += [f"{item_id}: {note}" for item_id, note in result.notes.items()]
        self.app.call_from_thread(self._acted, "\n".join(lines), bool(result.refused))

    def _acted(self, report: str, refused: bool) -> None:
        self.notify(report, severity="warning" if refused else "information")
        self.reviewed()
