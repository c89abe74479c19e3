"""Text from data as a terminal may show it: every character a terminal would act on shown, never acted on.

An account name, a summary or a CRM's error message can hold anything. Written raw, an escape sequence clears
the screen, retitles the window or hides a link; a carriage return or backspaces overwrite what was shown; a
bidi override or a zero-width character makes text read other than it is. `visible` is what the CLI's text
output and the TUI show instead of the raw value (JSON and CSV keep the exact value):

- C0 controls and DEL as their Unicode pictures (`␛` for ESC, `␍` for CR, `␇` for BEL, `␡` for DEL);
- C1 controls (an 8-bit CSI, ...) as `\\x9b`;
- format characters (bidi overrides and isolates, zero-width spaces and joiners, the BOM, ...), line and
  paragraph separators and lone surrogates as `\\u202e`.

Rich and Textual markup (`[bold]`, `[link=...]`) is the shells' to escape: there, data goes in as plain text.
"""

from __future__ import annotations

import unicodedata
from typing import Final

_ACTED_ON: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
"""Unicode categories a terminal or a text layout acts on: controls, format characters, line and paragraph
separators, surrogates. Other characters Python does not call printable (spaces such as U+00A0, private use,
unassigned) are shown as they are."""
ELLIPSIS: Final = "…"


def _shown(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(text: str, *, lines: bool = False) -> str:
    """`text` with every character a terminal would act on shown instead; with `lines`, line breaks (LF,
    CRLF) and tabs stay as they are, for text that is shown on several lines (a message body)."""
    if text.isprintable():
        return text
    if lines:
        text = text.replace("\r\n", "\n")
    return "".join(
        _shown(char)
        if not char.isprintable()
        and unicodedata.category(char) in _ACTED_ON
        and not (lines and char in "\n\t")
        else char
        for char in text
    )


def clipped(text: str, limit: int) -> str:
    """`visible(text)` in at most `limit` characters: a longer one ends in an ellipsis."""
    shown = visible(text)
    return shown if len(shown) <= limit else shown[: max(limit - 1, 0)] + ELLIPSIS
