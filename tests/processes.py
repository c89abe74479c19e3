"""The process table, read from /proc (Linux): which processes a process started, and whether one runs; and
`cockpit` run on a pseudo-terminal, as a person at a terminal sees it."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

PROC = Path("/proc")
ROOT = Path(__file__).resolve().parent.parent

needs_proc = pytest.mark.skipif(
    not (PROC / "self" / "stat").exists(), reason="reads the process table from /proc (Linux)"
)


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses)."""
    return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found: dict[int, str] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):  # ended meanwhile
            continue
        if parent == pid:
            found[int(entry.name)] = command.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def running(pid: int) -> bool:
    """Whether the process exists and has not ended (a zombie waiting to be reaped has ended)."""
    try:
        state = _stat_fields(pid)[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_until(condition: Callable[[], bool], what: str, *, seconds: float = 60.0) -> None:
    """Poll `condition` until it holds; fail, saying `what` did not happen, after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        time.sleep(0.02)


def on_a_terminal(
    arguments: Sequence[str], environment: Mapping[str, str] | None = None, *, exit_code: int | None = 0
) -> bytes:
    """What `cockpit ARGUMENTS` writes to a pseudo-terminal (its stdin, stdout and stderr), once it has ended
    with `exit_code` (None: any)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cockpit", *arguments],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", **(environment or {})},
    )
    os.close(terminal)
    written = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the process ended and closed the terminal
            break
        if not chunk:
            break
        written += chunk
    code = process.wait(timeout=60)
    os.close(controller)
    assert exit_code is None or code == exit_code, (code, written[-2000:])
    return written
