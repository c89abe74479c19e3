"""The store: all SQL lives in this package."""

from cockpit.store.db import Store, open_store

__all__ = ["Store", "open_store"]
