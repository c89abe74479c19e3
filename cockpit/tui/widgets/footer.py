"""The footer every screen shows: Textual's, but one that keeps the keys that matter on a narrow terminal.

Textual's footer lays its keys out left to right and cuts whatever passes the right edge, so at 80 columns
the book lost Drafts, Sync, Quit and Help. This one goes compact (less spacing) below `WIDE` columns and,
when the keys still do not fit, shows the most important that do: a screen ranks its keys in `FOOTER_KEYS`
(binding ids, most important first, the app's Quit and Help among them), which are placed first, then the
keys it does not rank, from the left; each where it stands on the screen. Every key still works, and `?` and
the command palette list them all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Final

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

WIDE: Final = 100
"""Below this many columns the footer is compact."""
_PALETTE_WIDTH: Final = 11
"""The command palette's key on the right ("^p palette" with its border and padding), less the margin the
last key leaves after it."""


class KeyFooter(Footer):
    """The footer of every cockpit screen (see the module docstring)."""

    _shown: tuple[object, ...] = ()
    """What the keys on show were laid out for (`_laid_out_for`)."""

    def on_resize(self, event: events.Resize) -> None:
        self.compact = event.size.width < WIDE
        self.call_after_refresh(self.recompose)

    async def recompose(self) -> None:
        """Lay the keys out again if what they show changed. A resize and each change of the screen's
        bindings (its focus, a screen pushed over it) ask for a layout, which makes some twenty keys and
        styles them: asked five times as the book opens and Today is pushed over it, 0.1-0.2 s of CPU."""
        if self.is_attached and self._laid_out_for() != self._shown:  # its screen may have gone meanwhile
            await super().recompose()

    def _laid_out_for(self) -> tuple[object, ...]:
        """What the layout depends on: the width, compactness and the screen's keys (enabled or not)."""
        keys = tuple(
            (binding.key, binding.action, enabled)
            for _, binding, enabled, _ in self.screen.active_bindings.values()
        )
        return self.size.width, self.compact, keys

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._shown = self._laid_out_for()
        shown: dict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                shown[binding.action].append((binding, enabled, tooltip))
        keys = [choices[0] for choices in shown.values()]
        ranked = tuple(getattr(self.screen, "FOOTER_KEYS", ()))
        displays = [(binding, self.app.get_key_display(binding)) for binding, _, _ in keys]
        kept = fitting(displays, ranked, self.size.width - _PALETTE_WIDTH, compact=self.compact)
        keys = [key for key in keys if key[0] in kept]
        index = 0
        while index < len(keys):
            binding, enabled, tooltip = keys[index]
            group = binding.group
            members = [binding]
            while group is not None and index + len(members) < len(keys):
                following = keys[index + len(members)][0]
                if following.group is not group:
                    break
                members.append(following)
            if group is not None and len(members) > 1:
                with KeyGroup(classes="-compact" if group.compact else ""):
                    for member, member_enabled, member_tooltip in keys[index : index + len(members)]:
                        yield FooterKey(
                            member.key,
                            self.app.get_key_display(member),
                            "",
                            member.action,
                            disabled=not member_enabled,
                            tooltip=member_tooltip or member.description,
                            classes="-grouped",
                        ).data_bind(compact=Footer.compact)
                yield FooterLabel(group.description)
            else:
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    disabled=not enabled,
                    tooltip=tooltip,
                ).data_bind(compact=Footer.compact)
            index += len(members)
        yield from self._palette_key()

    def _palette_key(self) -> ComposeResult:
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is None:
            return
        _, binding, enabled, _ = found
        yield FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            binding.description,
            binding.action,
            classes="-command-palette",
            disabled=not enabled,
            tooltip=binding.tooltip or binding.description,
        )


def key_width(display: str, description: str, *, grouped: bool, compact: bool) -> int:
    """The cells a key takes in the footer: its display, its title and the spacing Textual's CSS gives."""
    if grouped:
        return len(display) + 1
    return len(display) + len(description) + (2 if compact else 3)


def fitting(
    keys: Sequence[tuple[Binding, str]], ranked: Sequence[str], width: int, *, compact: bool
) -> set[Binding]:
    """The keys (each with how it is displayed) to show in `width` cells: all if they fit, else the most
    important that do (see the module docstring); a group of keys (the book's sorts) is kept or left out
    whole."""
    units: list[list[tuple[Binding, str]]] = []
    for binding, display in keys:
        if units and binding.group is not None and units[-1][-1][0].group is binding.group:
            units[-1].append((binding, display))
        else:
            units.append([(binding, display)])
    sized: list[tuple[list[Binding], int]] = []
    for unit in units:
        group = unit[0][0].group if len(unit) > 1 else None
        cells = sum(
            key_width(display, binding.description, grouped=group is not None, compact=compact)
            for binding, display in unit
        )
        cells += len(group.description) + 2 if group is not None else 0
        sized.append(([binding for binding, _ in unit], cells))
    order = list(ranked)

    def importance(position: int) -> tuple[int, int]:
        ids = [member.id for member in sized[position][0] if member.id in order]
        rank = min((order.index(one) for one in ids), default=len(order))
        return rank, position  # unranked last; among equals, the leftmost first

    kept: set[int] = set()
    used = 0
    for position in sorted(range(len(sized)), key=importance):
        if used + sized[position][1] <= width:
            kept.add(position)
            used += sized[position][1]
    return {member for position in kept for member in sized[position][0]}
