"""Keys typed in bursts into the book's search box, as a terminal delivers a fast typist's keys (all queued
before the app handles the first): the box holds what was typed, in order, the book lists what
`cockpit accounts list` lists for that text, and a filter word that is not understood shows in the status.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.events import Key
from textual.widgets import Input, Static
from typer.testing import CliRunner

from cockpit.cli import app as cli
from cockpit.clock import PIN_VARIABLE
from cockpit.config import Settings
from cockpit.demo import SEED_ANCHOR
from cockpit.services.views import FilterError, split_search
from cockpit.tui.app import CockpitApp
from cockpit.tui.widgets.book_table import BookTable
from tests.clocks import at

from . import test_demo_snapshots
from .books import settle

demo_app = test_demo_snapshots.demo_app
runner = CliRunner()

SEARCH_BITS = ("a", "e", "ca", "on", "st", "ma", "io", "wave", "ledge", "z", "q", " ")
GOOD_FILTERS = (
    "churn:high", "band:red", "band:green,yellow", "value:high", "xsell:yes", "renewal:90",
    "segment:smb", "owner:me", "advocacy:lover",
)  # fmt: skip
BAD_FILTERS = ("foo:bar", "churn:hi", "band:", "renewal:soon")
KEY_NAMES = {" ": "space", ":": "colon", ",": "comma", "/": "slash"}


@dataclass
class SearchBoxModel:
    """What Textual's Input does with each key: the text, the selection (`anchor` to `cursor`), the focus."""

    text: str = ""
    anchor: int = 0
    cursor: int = 0
    focused: bool = False

    def _selection(self) -> tuple[int, int]:
        start, end = sorted((self.anchor, self.cursor))
        return start, end

    def _replace(self, start: int, end: int, text: str) -> None:
        self.text = self.text[:start] + text + self.text[end:]
        self.anchor = self.cursor = start + len(text)

    def _move(self, position: int) -> None:
        self.anchor = self.cursor = max(0, min(position, len(self.text)))

    def press(self, key: str) -> None:
        start, end = self._selection()
        selected = start != end
        if not self.focused:
            assert key == "slash", key
            self.focused = True
            self.anchor, self.cursor = 0, len(self.text)  # the box selects its text when it takes the focus
        elif key == "enter":
            self.focused = False
        elif key == "escape":
            self.focused = False
            self.text = ""
            self._move(0)
        elif key == "backspace":
            self._replace(*((start, end) if selected else (max(self.cursor - 1, 0), self.cursor)), "")
        elif key == "delete":
            self._replace(
                *((start, end) if selected else (self.cursor, min(self.cursor + 1, len(self.text)))), ""
            )
        elif key == "left":
            self._move(start if selected else self.cursor - 1)
        elif key == "right":
            self._move(end if selected else self.cursor + 1)
        elif key == "home":
            self._move(0)
        elif key == "end":
            self._move(len(self.text))
        else:
            character = next((char for char, name in KEY_NAMES.items() if name == key), key)
            self._replace(start, end, character)


def random_burst(rng: random.Random, model: SearchBoxModel) -> list[str]:
    """The key names of one burst of edits: words, filter words (good and bad), held backspace, cursor
    moves, and leaving the box (enter, escape) and coming back to it (/) mid-burst."""
    keys = [] if model.focused else ["slash"]
    for _ in range(rng.randint(3, 12)):
        roll = rng.random()
        if roll < 0.35:
            keys += [KEY_NAMES.get(char, char) for char in rng.choice(SEARCH_BITS)]
        elif roll < 0.55:
            word = rng.choice(GOOD_FILTERS if rng.random() < 0.7 else BAD_FILTERS)
            keys += [KEY_NAMES.get(char, char) for char in f" {word} "]
        elif roll < 0.75:
            keys += ["backspace"] * rng.randint(1, 8)
        elif roll < 0.9:
            keys += rng.choices(("left", "right", "home", "end", "delete"), k=rng.randint(1, 3))
        else:
            keys += [rng.choice(("enter", "escape")), "slash"]
    if rng.random() < 0.2:
        keys.append(rng.choice(("enter", "escape")))
    return keys


def is_valid(text: str, settings: Settings) -> bool:
    try:
        split_search(text, settings, SEED_ANCHOR)
    except FilterError:
        return False
    return True


def list_arguments(text: str) -> list[str]:
    """`cockpit accounts list` options for a search box's text: words with a colon are filter options."""
    words = text.split()
    given: dict[str, list[str]] = {}
    for word in words:
        if ":" in word:
            name, _, raw = word.partition(":")
            given[name.lower()] = [value for value in raw.split(",") if value]
    arguments = ["--search", " ".join(word for word in words if ":" not in word)]
    for name, values in given.items():
        if name == "xsell":
            arguments.append("--cross-sell" if values == ["yes"] else "--no-cross-sell")
        elif name == "renewal":
            arguments += ["--renewal-within", *values]
        else:
            arguments += [part for value in values for part in (f"--{name}", value)]
    return arguments


def listed_ids(db: Path, text: str) -> list[str]:
    result = runner.invoke(cli, ["accounts", "list", "--db", str(db), "--json", *list_arguments(text)])
    assert result.exit_code == 0, result.output
    return [json.loads(line)["id"] for line in result.stdout.splitlines()]


def expected_status(count: int, text: str) -> str:
    words = text.split()
    search = " ".join(word for word in words if ":" not in word)
    filters = " ".join(word for word in words if ":" in word)
    return (
        f"All accounts · {count} account{'' if count == 1 else 's'}"
        + (f" matching {search!r}" if search else "")
        + (f" · {filters}" if filters else "")
        + " · sorted by Name ▲"
    )


def filter_error(text: str, settings: Settings) -> str:
    with pytest.raises(FilterError) as raised:
        split_search(text, settings, SEED_ANCHOR)
    return str(raised.value).replace("\n", " · ")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
async def test_bursts_of_edits_end_with_the_book_the_cli_lists(
    demo_app: CockpitApp, settings: Settings, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setenv(PIN_VARIABLE, at(SEED_ANCHOR)().isoformat())  # the CLI's today: the app's
    rng = random.Random(seed)
    model = SearchBoxModel()
    last_valid = ""  # the text the book shows while the box's text has a filter word that is not understood
    async with demo_app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        box = demo_app.screen.query_one("#book-search", Input)
        status = demo_app.screen.query_one("#book-status", Static)
        table = demo_app.screen.query_one(BookTable)
        for _ in range(8):
            keys = random_burst(rng, model)
            for key in keys:
                before = model.text
                model.press(key)
                if model.text != before and is_valid(model.text, settings):
                    last_valid = model.text
                character = next((char for char, name in KEY_NAMES.items() if name == key), key)
                demo_app.post_message(Key(key, character if len(character) == 1 else None))
            await settle(pilot)
            assert (box.value, box.has_focus) == (model.text, model.focused), keys
            rows = [table.row_at(index) for index in range(table.row_count or 0)]
            shown = [row.id for row in rows if row is not None]
            if is_valid(model.text, settings):
                assert shown == listed_ids(demo_app.store.path, model.text), keys
                assert str(status.content) == expected_status(len(shown), model.text), keys
                assert not status.has_class("-error")
            else:
                assert shown == listed_ids(demo_app.store.path, last_valid), keys
                assert str(status.content) == filter_error(model.text, settings), keys
                assert status.has_class("-error")
