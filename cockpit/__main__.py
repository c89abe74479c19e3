"""The program's entry point: `python -m cockpit` and the `cockpit` console script (see pyproject.toml).

Ctrl-C is taken over here, first thing, before the commands and their libraries load (they take a second
or so): at any moment it ends the program with exit code 130 and a sentence saying what it left behind,
never a traceback. The first Ctrl-C raises KeyboardInterrupt wherever the program is: the transaction under
way rolls back (`Store.write`), a book being built is removed, the demo's generator process is stopped.
A second Ctrl-C, should that cleanup take long, stops the program at once, as the system does; the
database stays whole (SQLite's journal sees to that, as after kill -9).

SIGTERM (`kill`, systemd stopping a service, a cron daemon's timeout) stops the program the same way, then ends
it by that signal, as it ended before it was taken over: a shell says 143, systemd a clean stop.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

INTERRUPTED_EXIT_CODE = 130
"""128 + SIGINT, as shells report a program that Ctrl-C stopped."""

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_stopped_by: int | None = None
"""The signal that is stopping the program, once one came."""


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    global _stopped_by
    _stopped_by = signum
    for stopping in STOPPING_SIGNALS:  # a second one stops the program at once
        signal.signal(stopping, signal.SIG_DFL)
    raise KeyboardInterrupt


def _left_behind(interrupted: str) -> str:
    """What the interrupt left: nothing, unless a transaction had committed before it (the store counts
    them; not loaded yet means none), with the command's own account of that when it gave one."""
    saved: dict[str, int] = {}
    if "cockpit.store.db" in sys.modules:
        from cockpit.store.db import saved_in_this_process

        saved = {str(path): count for path, count in saved_in_this_process().items()}
    if not saved:
        return f"{interrupted}; nothing was written."
    if "cockpit.cli.common" in sys.modules:
        from cockpit.cli.common import interrupt_note

        note = interrupt_note()
        if note is not None:
            return f"{interrupted}; {note}"
    kept = "; ".join(f"{count:,} transaction(s) committed to {path}" for path, count in saved.items())
    return f"{interrupted}; what was saved before it is kept ({kept}); the change under way was rolled back."


def main() -> None:
    for stopping in STOPPING_SIGNALS:
        signal.signal(stopping, _on_interrupt)
    try:
        from cockpit.cli import main as run_command

        run_command()
    except KeyboardInterrupt:
        pass
    except SystemExit:
        if _stopped_by is None:
            raise
    if _stopped_by is not None:
        interrupted = "interrupted" if _stopped_by == signal.SIGINT else "interrupted (SIGTERM)"
        sys.stderr.write(_left_behind(interrupted) + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
        if _stopped_by == signal.SIGTERM:
            signal.raise_signal(signal.SIGTERM)  # handled by the system now (the default): the end
        # At once, the cleanup done: a KeyboardInterrupt that passed through exec() of a string (as while
        # dataclasses are being made, at import) leaves CPython set to kill itself with SIGINT at the end
        # of a normal exit, whatever the exit code asked.
        os._exit(INTERRUPTED_EXIT_CODE)


if __name__ == "__main__":
    main()
