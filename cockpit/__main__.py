"""The program's entry point: `python -m cockpit` and the `cockpit` console script (see pyproject.toml).

Ctrl-C is taken over here, first thing, before the commands and their libraries load (they take a second
or so): at any moment it ends the program with exit code 130 and a sentence saying what it left behind,
never a traceback. The first Ctrl-C raises KeyboardInterrupt wherever the program is: the transaction under
way rolls back (`Store.write`), a book being built is removed, the demo's generator process is stopped.
A second Ctrl-C, should that cleanup take long, stops the program at once, as the system does; the
database stays whole (SQLite's journal sees to that, as after kill -9).
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

INTERRUPTED_EXIT_CODE = 130
"""128 + SIGINT, as shells report a program that Ctrl-C stopped."""

_stopping = False


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    global _stopping
    _stopping = True
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    raise KeyboardInterrupt


def _left_behind() -> str:
    """What the interrupt left: nothing, unless a transaction had committed before it (the store counts
    them; not loaded yet means none), with the command's own account of that when it gave one."""
    saved: dict[str, int] = {}
    if "cockpit.store.db" in sys.modules:
        from cockpit.store.db import saved_in_this_process

        saved = {str(path): count for path, count in saved_in_this_process().items()}
    if not saved:
        return "interrupted; nothing was written."
    if "cockpit.cli.common" in sys.modules:
        from cockpit.cli.common import interrupt_note

        note = interrupt_note()
        if note is not None:
            return f"interrupted; {note}"
    kept = "; ".join(f"{count:,} transaction(s) committed to {path}" for path, count in saved.items())
    return f"interrupted; what was saved before it is kept ({kept}); the change under way was rolled back."


def main() -> None:
    signal.signal(signal.SIGINT, _on_interrupt)
    try:
        from cockpit.cli import main as run_command

        run_command()
    except KeyboardInterrupt:
        pass
    except SystemExit:
        if not _stopping:
            raise
    if _stopping:
        sys.stderr.write(_left_behind() + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
        # At once, the cleanup done: a KeyboardInterrupt that passed through exec() of a string (as while
        # dataclasses are being made, at import) leaves CPython set to kill itself with SIGINT at the end
        # of a normal exit, whatever the exit code asked.
        os._exit(INTERRUPTED_EXIT_CODE)


if __name__ == "__main__":
    main()
