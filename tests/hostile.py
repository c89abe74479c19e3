"""Hostile data: text that would take over a terminal if printed raw, landed in a book the way a CSM's data
lands (real CSV imports into a real SQLite file, a score run, an outreach plan), for the CLI and TUI tests."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Final

from typer.testing import CliRunner

from cockpit.cli import app

HOSTILE: Final[dict[str, str]] = {
    "csi": "\x1b[2J\x1b[HWiped Corp",
    "sgr": "\x1b[31mRed Inc\x1b[0m",
    "osc-title": "\x1b]0;pwned\x07Title Co",
    "osc-st": "\x1b]2;renamed\x1b\\Title ST",
    "osc8": "\x1b]8;;https://evil.example/\x1b\\Click me\x1b]8;;\x1b\\",
    "cr": "Good name\rEvil overwrite",
    "backspace": "Backspace\x08\x08\x08\x08gone",
    "bell-del": "Bell\x07 and del\x7f Co",
    "c1-csi": "C1 \x9b2J csi",
    "bidi": "Invoice \u202efdp.exe\u202c Ltd \u2066iso\u2069 \u202amark\u202c",
    "zero-width": "Zero\u200bWidth\u200c\u200d\u200e\u200f\u2060\ufeff Co",
    "markup": "[bold red]Markup[/] [link=https://evil.example/]link[/link] [@click=app.quit]quit[/]",
    "long-word": "L" * 10_000,
}
"""Each kind of takeover, one per account: its name, owner, plan, segment, contact and the rest."""

RAW_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
"""A character a terminal or a text layout would act on: C0 and C1 controls, DEL, bidi overrides and isolates,
zero-width characters. None may reach the screen (text output may end its lines, no more)."""

JOURNEY_ACCOUNT: Final = "acc-csi"
"""The account whose journey holds every hostile text, as interaction summaries and ticket subjects."""
AS_OF: Final = "2026-11-25"
"""A Wednesday: the plan's messages are due that day."""

_PLAYBOOK: Final = """
[[outreach.playbooks]]
id = "call-everyone"
title = "Call every account"
trigger = "mrr > 0"
about = "account"
channel = "call_task"
template = "call"
priority = 1
cooldown_days = 30

[outreach.templates.call]
subject = "Call {{ contact.name }} at {{ account.name }}"
body = "{{ account.name }} ({{ account.owner }}, {{ account.plan }})\\n{{ contact.role }}: {{ contact.name }}"
"""


def without_raw_control(text: str) -> str | None:
    """The first line of `text` that holds a raw control character, or None."""
    for line in text.splitlines():
        if RAW_CONTROL.search(line):
            return line
    return None


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def cockpit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def build_hostile_book(folder: Path) -> Path:
    """Import the hostile accounts, contacts, interactions and tickets from CSV files, score them and plan
    an outreach call for each; the database's path."""
    db = folder / "hostile.db"
    files = {
        "accounts": _write(
            folder / "accounts.csv",
            ["id", "name", "owner", "plan", "segment", "domain", "mrr", "Industry"],
            [
                [f"acc-{key}", text, text, text, text, f"{key}.example.com", 100 + index, text]
                for index, (key, text) in enumerate(HOSTILE.items())
            ],
        ),
        "contacts": _write(
            folder / "contacts.csv",
            ["id", "account", "name", "role", "email", "email_opt_in"],
            [
                [f"con-{key}", f"acc-{key}", text, text, f"{key}@example.com", "yes"]
                for key, text in HOSTILE.items()
            ],
        ),
        "interactions": _write(
            folder / "interactions.csv",
            ["id", "account", "kind", "occurred_at", "summary"],
            [
                [f"int-{key}", JOURNEY_ACCOUNT, "call", f"2026-11-{index + 1:02d}T10:00:00+00:00", text]
                for index, (key, text) in enumerate(HOSTILE.items())
            ],
        ),
        "tickets": _write(
            folder / "tickets.csv",
            ["id", "account", "opened_at", "subject"],
            [
                [f"tic-{key}", JOURNEY_ACCOUNT, f"2026-10-{index + 1:02d}T10:00:00+00:00", text]
                for index, (key, text) in enumerate(HOSTILE.items())
            ],
        ),
    }
    config = folder / "config.toml"
    config.write_text(_PLAYBOOK, encoding="utf-8")
    steps = [
        ("init", "--db", str(db)),
        *(("import", kind, str(path), "--db", str(db)) for kind, path in files.items()),
        ("score", "--as-of", AS_OF, "--db", str(db)),
        ("outreach", "plan", "--as-of", AS_OF, "--db", str(db), "--config", str(config)),
    ]
    for step in steps:
        code, _out, err = cockpit(*step)
        assert code == 0, (step, err)
    return db
