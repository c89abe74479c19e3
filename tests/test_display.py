"""No data takes over the terminal: what the CLI prints as text shows every control character instead of
sending it, while JSON and CSV keep each value exactly."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from cockpit.domain.display import clipped, visible
from tests.hostile import HOSTILE, JOURNEY_ACCOUNT, RAW_CONTROL, cockpit, without_raw_control


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J\x1b[H", "␛[2J␛[H"),
        ("\x1b]0;pwned\x07", "␛]0;pwned␇"),
        ("a\rb\x08c\x7f", "a␍b␈c␡"),
        ("line\nbreak\ttab", "line␊break␉tab"),
        ("C1 \x9b2J \x85", "C1 \\x9b2J \\x85"),
        ("\u202etxt\u202c \u2066x\u2069", "\\u202etxt\\u202c \\u2066x\\u2069"),
        ("a\u200bb\u200dc\ufeffd\u2060e\u2028f", "a\\u200bb\\u200dc\\ufeffd\\u2060e\\u2028f"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("Zoë Ωmega 東京 🚀 no\u00a0break [bold]", "Zoë Ωmega 東京 🚀 no\u00a0break [bold]"),
    ],
)
def test_what_a_terminal_would_act_on_is_shown(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_text_on_several_lines_keeps_its_line_breaks_only() -> None:
    assert visible("Hi\r\nthere,\n\tsee\rthis\x1b[2J", lines=True) == "Hi\nthere,\n\tsee␍this␛[2J"


def test_a_long_value_is_clipped_with_an_ellipsis() -> None:
    assert clipped("L" * 10_000, 8) == "LLLLLLL…"
    assert clipped("short", 8) == "short"
    assert clipped("\x1b[2Jabcdefgh", 8) == "␛[2Jabc…"


def test_accounts_list_shows_hostile_names_inert(hostile_db: Path) -> None:
    code, out, err = cockpit("accounts", "list", "--db", str(hostile_db))
    assert code == 0, err
    assert without_raw_control(out) is None
    lines = out.splitlines()
    assert len(lines) == 1 + len(HOSTILE)
    assert any("␛[2J␛[HWiped Corp" in line for line in lines)
    assert any("Good name␍Evil overwrite" in line for line in lines)
    assert any("L" * 31 + "…" in line for line in lines)
    assert {len(line) for line in lines[1:]} == {len(lines[1])}  # each row ends with its MRR, in one column
    assert sorted(line.rsplit(" ", 1)[1] for line in lines[1:]) == [str(100 + i) for i in range(len(HOSTILE))]


def test_json_and_csv_keep_the_exact_values(hostile_db: Path) -> None:
    code, out, err = cockpit("accounts", "list", "--json", "--db", str(hostile_db))
    assert code == 0, err
    assert {json.loads(line)["name"] for line in out.splitlines()} == set(HOSTILE.values())
    assert {json.loads(line)["owner"] for line in out.splitlines()} == set(HOSTILE.values())
    code, out, err = cockpit("accounts", "list", "--csv", "--db", str(hostile_db))
    assert code == 0, err
    assert {row["name"] for row in csv.DictReader(io.StringIO(out, newline=""))} == set(HOSTILE.values())


def test_outreach_explain_and_errors_show_hostile_text_inert(hostile_db: Path) -> None:
    db = str(hostile_db)
    code, out, err = cockpit("outreach", "list", "--db", db)
    assert code == 0, err
    assert without_raw_control(out) is None
    assert "Call ␛[2J␛[HWiped Corp" in out
    for item in ("out-00001", "out-00012"):
        code, out, err = cockpit("outreach", "show", item, "--db", db)
        assert code == 0, err
        assert without_raw_control(out) is None
    code, out, _ = cockpit("outreach", "list", "--json", "--db", db)
    assert {json.loads(line)["account_name"] for line in out.splitlines()} == set(HOSTILE.values()) - {
        HOSTILE["long-word"]  # its subject is longer than a message may be: skipped
    }
    code, out, err = cockpit("outreach", "skipped", "--db", db)
    assert code == 0, err
    assert without_raw_control(out) is None and "longer than 20,000 characters" in out
    code, out, err = cockpit("explain", JOURNEY_ACCOUNT, "--db", db)
    assert code == 0, err
    assert without_raw_control(out) is None
    code, out, err = cockpit("explain", HOSTILE["osc-title"] + "x", "--db", db)
    assert code == 1
    assert "no account matches '\\x1b]0;pwned\\x07Title Cox'" in err
    assert not RAW_CONTROL.search(err.replace("\n", ""))
