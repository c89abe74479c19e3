"""The cockpit themes. Stylesheets use only theme variables ($primary, $panel, ...), never literal colours."""

from __future__ import annotations

from textual.theme import Theme

COCKPIT_DARK = Theme(
    name="cockpit-dark",
    dark=True,
    primary="#3D8FD1",
    secondary="#7A9CC6",
    accent="#F0A04B",
    foreground="#D8DEE9",
    background="#12161C",
    surface="#181E26",
    panel="#232B36",
    success="#7FB77E",
    warning="#E5C07B",
    error="#E06C75",
)

COCKPIT_LIGHT = Theme(
    name="cockpit-light",
    dark=False,
    primary="#1F6FB2",
    secondary="#4F6D8F",
    accent="#B85C00",
    foreground="#1F2933",
    background="#F4F6F8",
    surface="#FFFFFF",
    panel="#E2E7EE",
    success="#2E7D32",
    warning="#A86B00",
    error="#C62828",
)

THEMES: tuple[Theme, ...] = (COCKPIT_DARK, COCKPIT_LIGHT)
