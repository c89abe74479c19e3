"""A text box whose editing keys take effect in the order they were typed."""

from __future__ import annotations

from textual import events
from textual.widgets import Input


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
