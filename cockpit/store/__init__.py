"""The store: all SQL lives in this package.

`Store` and `open_store` load on first use (and sqlite-utils with them), so that the command line can read
the store's vocabulary (sort keys, export tables) without paying for the database layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cockpit.store.db import Store, open_store

__all__ = ["Store", "open_store"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from cockpit.store import db

        return getattr(db, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
