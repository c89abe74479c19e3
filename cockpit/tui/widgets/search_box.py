"""A text box whose editing keys take effect in the order they were typed, and the keys of a screen that
searches its rows with one (the book, the outreach queue)."""

from __future__ import annotations

from textual import events
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Input

from cockpit.tui.screens.base import CockpitScreen


class SearchBox(Input):
    """An `Input` that runs its own key bindings (backspace, delete, the arrows, home, end) as each key
    arrives, as it inserts a typed character.

    Textual's `Input` inserts a character at once but sends a bound key up to the app, which runs the
    binding when the key gets there: keys typed in a burst (a held backspace, then typing) could run after
    the characters typed behind them, and `c`, backspace, `zzz` became `czz`.
    """

    async def _on_key(self, event: events.Key) -> None:
        for binding in self._bindings.key_to_bindings.get(event.key, []):
            if not binding.priority and await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()  # handled: neither Input nor Widget looks at this key again
                return


def search_bindings(search: str, keep: str, clear: str, *, tooltip: str) -> list[BindingType]:
    """`/` into the search box, Enter keeps the search, Esc clears it; `search`, `keep` and `clear` are the
    binding ids. Priority bindings: the app runs them as each key arrives, so the keys typed right after
    them in a burst (`/acme`, or a search then `m`) go where the focus now is."""
    return [
        Binding("slash", "search", "Search", id=search, tooltip=tooltip, priority=True),
        Binding(
            "enter",
            "keep_search",
            "Keep search",
            show=False,
            id=keep,
            tooltip="In the search box: keep the search, back to the rows.",
            priority=True,
        ),
        Binding(
            "escape",
            "clear_search",
            "Clear search",
            show=False,
            id=clear,
            tooltip="In the search box: clear it, back to the rows.",
            priority=True,
        ),
    ]


class SearchingScreen(CockpitScreen):
    """A screen with a `SearchBox` over its rows (`search_bindings`): Enter and Esc are the box's only while
    it has the focus; elsewhere they are the rows' (or the screen's)."""

    def searched_rows(self) -> Widget:
        """The widget the focus goes back to from the search box."""
        raise NotImplementedError

    def action_search(self) -> None:
        # At once, not after the queued events (Widget.focus waits): the keys typed next are the search.
        self.set_focus(self.query_one(SearchBox))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("keep_search", "clear_search"):
            return self.focused is self.query_one(SearchBox)
        return True

    def action_keep_search(self) -> None:
        self.set_focus(self.searched_rows())

    def action_clear_search(self) -> None:
        """Back to the rows at once; the box empties after the keys typed before Esc have reached it."""
        search = self.query_one(SearchBox)
        self.set_focus(self.searched_rows())
        search.call_later(search.clear)
