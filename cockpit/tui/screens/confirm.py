"""A yes/no question before an action that is hard to take back (approving many drafts, dropping edits)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from cockpit.tui import bindings
from cockpit.tui.screens.base import KeysModal


class ConfirmScreen(KeysModal[bool]):
    """`question`, answered with y (True) or n / Esc (False)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id=bindings.CONFIRM_YES, tooltip="Yes, do it."),
        Binding("n,escape", "answer(False)", "No", id=bindings.CONFIRM_NO, tooltip="No, leave it as it is."),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, id="confirm-question", markup=False)
            yield Static("y yes · n no", classes="confirm-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
