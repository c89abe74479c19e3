"""The demo book: a deterministic generator (any size) and the small book committed in `seeds/`."""

from cockpit.demo.generator import (
    STORY_ACCOUNTS,
    TABLE_COLUMNS,
    StoreNotEmpty,
    generate_book,
    generate_into_store,
)
from cockpit.demo.seedfiles import SEED_ANCHOR, load_seeds, write_seeds

__all__ = [
    "SEED_ANCHOR",
    "STORY_ACCOUNTS",
    "TABLE_COLUMNS",
    "StoreNotEmpty",
    "generate_book",
    "generate_into_store",
    "load_seeds",
    "write_seeds",
]
