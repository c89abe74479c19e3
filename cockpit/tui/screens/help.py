"""The keys of the screen beneath, a line each (key, what it does), over the whole width.

Textual's own keys panel is a third of the screen wide: at 80 columns each key's text wrapped over two or
three lines and a CSM saw about eight keys at a time. Here a key's text is cut at the edge instead, and the
highlighted key's whole text is shown below the table.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from cockpit.domain.display import visible
from cockpit.tui import bindings


class HelpKey(NamedTuple):
    """One key of a screen: how it is shown, its name and what it does."""

    key: str
    name: str
    does: str


def screen_keys(screen: Screen[object]) -> list[HelpKey]:
    """The keys `screen` answers now (the keys Textual's panel lists: its focused widget's, its own, the
    app's), one per action, keys of the same action together."""
    by_action: dict[str, list[Binding]] = {}
    for active in screen.active_bindings.values():
        if not active.binding.system:
            by_action.setdefault(active.binding.action, []).append(active.binding)
    keys = []
    for same in by_action.values():
        shown = " ".join(dict.fromkeys(screen.app.get_key_display(binding) for binding in same))
        keys.append(HelpKey(shown, visible(same[0].description), visible(same[0].tooltip)))
    return keys


class HelpScreen(ModalScreen[None]):
    """`keys` in a scrollable table; Esc or ? closes it (a modal screen: the app's keys do not reach it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,question_mark", "dismiss", "Close", id=bindings.HELP_CLOSE, tooltip="Close the keys."
        ),
    ]

    def __init__(self, keys: list[HelpKey]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("Keys · ↑↓ to scroll · Esc or ? to close", id="help-title", markup=False)
            yield DataTable[Text](id="help-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="help-detail", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#help-table", DataTable)
        table.add_columns("Key", "What it does")
        for key in self.keys:
            does = Text(key.name, style="bold")
            if key.does:
                does.append(" " + key.does, style="dim")
            table.add_row(Text(key.key, justify="right"), does)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = self.keys[event.cursor_row]
        does = f": {key.does}" if key.does else ""
        self.query_one("#help-detail", Static).update(f"{key.key}  {key.name}{does}")
