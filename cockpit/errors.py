"""Errors a user can cause and fix, shared by the CLI and the TUI.

Each carries a short `title` and a message that says what is wrong and how to fix it; the CLI prints them
without a traceback and exits with `exit_code`, the TUI shows them in a notification or a modal.
"""

from __future__ import annotations


class CockpitError(Exception):
    """A foreseeable problem with the user's input, files or environment."""

    title = "Error"
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n{self.hint}"


class ConfigError(CockpitError):
    title = "Configuration error"
    exit_code = 2


class DatabaseError(CockpitError):
    title = "Database error"
    exit_code = 3


class DatabaseMissing(DatabaseError):
    title = "Database not found"


class DatabaseFromFuture(DatabaseError):
    title = "Database is newer than this cockpit"


class DatabaseBusy(DatabaseError):
    title = "Database is busy"


class DatabaseReadOnly(DatabaseError):
    title = "Database is read-only"


class DiskFull(DatabaseError):
    title = "Disk is full"


class NotACockpitDatabase(DatabaseError):
    title = "Not a cockpit database"
