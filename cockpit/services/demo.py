"""Building a demo database: the committed demo book (or a generated one of any size), scored with history,
with the learned churn model fitted on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from cockpit import resources
from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.demo.generator import generate_into_store
from cockpit.demo.seedfiles import load_seeds
from cockpit.services.scoring import run_scoring
from cockpit.store import Store
from cockpit.store.db import build_database

HISTORY_MONTHS = 4
"""Monthly score runs kept for the demo book, so that trends and "a month ago" have something to show (each
reads the 60 days of use before it, all within the demo's usage: `cockpit.demo.generator.USAGE_DAYS`)."""


def build_demo(
    target: Path,
    settings: Settings,
    *,
    clock: Clock,
    accounts: int | None = None,
    seed: int = 7,
    score: bool = True,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write the demo book (or, with `accounts`, a generated book of that size) to a new database at `target`,
    as a nightly run leaves it when `score`: valued (lifetime value), scored monthly over the last four months,
    today's outreach planned for review, and the learned churn model fitted as of today where the book's churn
    history allows (`refit_when_due`, as the nightly run does), for the next scoring run to use. The stored
    runs are the rules' (no model had learned before them), so that `cockpit score evaluate` judges no run by
    a model that learned from what followed it. Returns rows per table."""
    today = clock.today()

    def fill(store: Store) -> dict[str, int]:
        if accounts is None:
            counts = load_seeds(store, resources.seeds_dir(), today=today)
        else:
            counts = generate_into_store(store, accounts=accounts, seed=seed, anchor=today, progress=progress)
        if score:
            from cockpit.services.churn import refit_when_due
            from cockpit.services.clv import run_clv  # NumPy and SciPy: only when a book is valued

            run_clv(store, settings, today, clock=clock)
            for months_ago in range(HISTORY_MONTHS, -1, -1):
                run_scoring(store, settings, today - timedelta(days=30 * months_ago), clock=clock)
            from cockpit.services.outreach import plan  # Jinja2: only when a book is planned

            plan(store, settings, as_of=today, clock=clock)
            refit_when_due(store, settings, today, clock=clock)
        return counts

    return build_database(target, fill, replace=replace)
