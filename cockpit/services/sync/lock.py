"""One sync at a time per database: an OS file lock beside the database file.

The operating system releases the lock when its holder exits, however it exits (kill -9 included), so a
killed run never leaves a stale lock behind. The file keeps the holder's pid, for the message.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from cockpit.errors import CockpitError

POLL_SECONDS = 0.1


class SyncBusy(CockpitError):
    title = "Another sync is running"
    exit_code = 5


def lock_path(db_path: Path) -> Path:
    """The lock file of the database at `db_path`: beside the real file, so that every name of one database
    (a symbolic link, a relative path) takes the same lock."""
    real = Path(os.path.realpath(db_path))
    return real.with_name(f"{real.name}.sync-lock")


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def sync_running(db_path: Path) -> bool:
    """Whether a sync holds the lock of the database at `db_path` now (a run whose row still says `running`
    while no sync holds it was stopped before it could say so)."""
    path = lock_path(db_path)
    try:
        handle = path.open("r", encoding="utf-8")  # read only: a status needs no right to write here
    except FileNotFoundError:
        return False  # no sync ever ran on it
    except OSError:
        return True  # cannot tell: the run is shown as its row says
    with handle:
        return not _try_lock(handle)  # taken for a moment, and let go as the file closes


class SyncLock:
    """Held for the life of a run; `wait_seconds` is how long to wait for another run to finish."""

    def __init__(self, db_path: Path, *, wait_seconds: float) -> None:
        self.path = lock_path(db_path)
        self.wait_seconds = wait_seconds
        self._handle: IO[str] | None = None

    def __enter__(self) -> SyncLock:
        handle = self.path.open("a+", encoding="utf-8")
        deadline = time.monotonic() + self.wait_seconds
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise SyncBusy(
                    f"another cockpit sync (pid {holder}) is running on this database; "
                    f"waited {self.wait_seconds:g} s.",
                    hint="Let it finish, or raise sync.lock_wait_seconds to wait longer.",
                )
            time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.close()  # closing releases the lock
            self._handle = None
