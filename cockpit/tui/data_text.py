"""Data as the TUI shows it: plain text, never markup (a name holding `[link=...]` stays those characters),
with every character a terminal would act on shown instead (`cockpit.domain.display.visible`)."""

from __future__ import annotations

from typing import Final

from rich.text import Text

from cockpit.domain.display import clipped, visible

NAME_CHARS: Final = 32
"""The most characters of a name (an account's, a contact's, a role, an email) a table cell shows: a
10,000-character name ends in an ellipsis there instead of pushing the other columns off screen."""
TEXT_CHARS: Final = 160
"""The most characters of a longer text (a subject, a summary, a CRM's error) a table cell shows."""


def plain(value: object, *, lines: bool = False, style: str = "") -> Text:
    """`value` as plain text; with `lines`, its line breaks kept (a message body)."""
    return Text(visible(str(value), lines=lines), style=style)


def cell(value: object, limit: int = NAME_CHARS) -> Text:
    """`value` in a table cell: plain text on one line, at most `limit` characters."""
    return Text(clipped(str(value), limit), no_wrap=True, end="")
