"""sqlite-utils, as the store imports it: without NumPy and pandas.

On import, sqlite-utils loads NumPy and pandas when they are installed, only to map their scalar types to
column types, which cockpit never hands it (it creates its tables in SQL). Loading them would cost every
process that opens the store 0.1-0.5 s of CPU before anything shows (the TUI's first paint included), so
they are hidden while sqlite-utils loads; a process that loaded NumPy already keeps it, and NumPy loads as
usual for the services that need it. Every module of cockpit takes `Database` and `Migrations` from here.
"""

from __future__ import annotations

import sys


def _import_without_dataframes() -> None:
    if "sqlite_utils.db" in sys.modules:
        return
    hidden = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # None: importing it fails as "not installed"
    try:
        import sqlite_utils.db  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


_import_without_dataframes()

from sqlite_utils import Database, Migrations  # noqa: E402

__all__ = ["Database", "Migrations"]
