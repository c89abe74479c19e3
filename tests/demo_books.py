"""The demo book loaded as of a day and scored on it once, in a new database file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cockpit import resources
from cockpit.config import load_settings
from cockpit.demo import load_seeds
from cockpit.services.scoring import run_scoring
from cockpit.store import Store
from cockpit.store.db import build_database
from tests.clocks import at


def build_scored_demo(path: Path, today: date) -> Path:
    def fill(store: Store) -> None:
        load_seeds(store, resources.seeds_dir(), today=today)
        run_scoring(store, load_settings(), today, clock=at(today))

    build_database(path, fill)
    return path
