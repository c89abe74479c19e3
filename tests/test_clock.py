"""One clock: only the shells read the time; everything below is handed it."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cockpit.clock import PIN_VARIABLE, fixed_clock, system_clock
from cockpit.errors import ConfigError

PACKAGE = Path(__file__).resolve().parent.parent / "cockpit"
CLOCK_MODULE = PACKAGE / "clock.py"
SHELLS = (PACKAGE / "cli",)
"""Where `system_clock()` may be called: the CLI reads the clock and hands it to the TUI and the services."""

WALL_CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("time", "ctime"),
    ("time", "strftime"),
}
"""Calls that read the calendar time. `time.monotonic` and `time.perf_counter` measure durations and are
allowed anywhere."""
SQL_CLOCK_WORDS = ("current_timestamp", "current_date", "current_time", "'now'", "localtime")


def clock_reads(source: str, *, shell: bool) -> list[str]:
    """Where `source` reads the wall clock (or, outside a shell, calls `system_clock`), as `line: what`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute):
                owner = function.value
                owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
                if (owner_name, function.attr) in WALL_CLOCK_READS:
                    found.append(f"{node.lineno}: {owner_name}.{function.attr}()")
            name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
            if name == "system_clock" and not shell:
                found.append(f"{node.lineno}: system_clock()")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            if any(word in text for word in SQL_CLOCK_WORDS) and any(
                keyword in text for keyword in ("select", "insert", "update", "default", "where")
            ):
                found.append(f"{node.lineno}: SQL that reads the clock")
    return found


def test_no_module_below_the_shells_reads_the_clock() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == CLOCK_MODULE:
            continue
        shell = any(path.is_relative_to(folder) for folder in SHELLS)
        offenders += [
            f"{path.relative_to(PACKAGE.parent)}:{where}"
            for where in clock_reads(path.read_text(), shell=shell)
        ]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\nx = datetime.now()",
        "import datetime\nx = datetime.datetime.now(datetime.UTC)",
        "from datetime import date\nx = date.today()",
        "import time\nx = time.time()",
        "from cockpit.clock import system_clock\nclock = system_clock()",
        "db.execute(\"UPDATE t SET at = datetime('now')\")",
        'db.execute("INSERT INTO t VALUES (CURRENT_TIMESTAMP)")',
    ],
)
def test_the_check_catches_each_way_of_reading_the_clock(source: str) -> None:
    assert clock_reads(source, shell=False), source


def test_the_check_lets_durations_and_passed_clocks_through() -> None:
    source = "import time\nstarted = time.perf_counter()\nnow = clock()\nday = clock.today()\n"
    assert clock_reads(source, shell=False) == []
    assert clock_reads("clock = system_clock()", shell=True) == []


def test_a_fixed_clock_counts_days_in_its_zone() -> None:
    late = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    assert fixed_clock(late).today() == date(2026, 11, 25)
    assert fixed_clock(late, timezone(timedelta(hours=2))).today() == date(2026, 11, 26)
    with pytest.raises(ValueError):
        fixed_clock(datetime(2026, 11, 25, 9))


def test_cockpit_now_pins_the_shells_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PIN_VARIABLE, "2031-02-03T04:05:06+00:00")
    clock = system_clock()
    assert clock() == datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert clock.today() == date(2031, 2, 3)  # the tests' TZ is UTC
    for wrong in ("tomorrow", "2031-02-03T04:05:06"):
        monkeypatch.setenv(PIN_VARIABLE, wrong)
        with pytest.raises(ConfigError, match=PIN_VARIABLE):
            system_clock()
    monkeypatch.delenv(PIN_VARIABLE)
    assert abs(system_clock()() - datetime.now(UTC)) < timedelta(minutes=1)
