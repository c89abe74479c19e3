"""The book's usage and signals from the configured events source (`[events]`, `cockpit.events`), in the
shapes the store reads its own tables into, so that scoring, the churn fit and journeys give the same numbers
whichever engine holds the events.

The source answers with aggregates by its own account key; here they are mapped to cockpit's accounts (the
key is the id, or an alias the store resolves: only aggregates come back, so this is cheap) and the keys that
name no account are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlite_utils import Database

from cockpit.config import EventsSettings
from cockpit.events import open_source
from cockpit.events.source import EventsSource
from cockpit.scoring.facts import BookCoverage
from cockpit.store.scoring import (
    ByAccount,
    Prefetched,
    Windows,
    aliases,
    customers_on,
    pack_events,
    pack_usage,
)


class Accounts:
    """The source's account keys as cockpit's account ids (`[events] account_key`)."""

    def __init__(self, db: Database, settings: EventsSettings) -> None:
        self._aliases = None if settings.account_key == "id" else aliases(db, settings.alias_system)
        self.unknown: set[str] = set()
        """The keys seen that name no account (with account_key = "alias")."""

    def rows(self, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        """`rows` whose first field is a key, with the account id in its place; those of no account left out."""
        names = self._aliases
        if names is None:
            yield from rows
            return
        for row in rows:
            account_id = names.get(row[0])
            if account_id is None:
                self.unknown.add(row[0])
            else:
                yield (account_id, *row[1:])


def kinds_since(as_of: date, windows: Windows) -> dict[str, date]:
    """Signal kind -> the first day it is read from, as of `as_of` (`cockpit.store.scoring.signals_since`)."""
    return {kind: as_of - timedelta(days=days - 1) for kind, days in windows.events.items()}


def book_usage_and_signals(
    source: EventsSource, accounts: Accounts, as_of: date, windows: Windows
) -> Prefetched:
    """What `BookFacts` reads from the store's usage_events and signals, computed by the source."""
    usage = pack_usage(accounts.rows(source.usage_groups(as_of, windows.adoption_days)))
    events = pack_events(accounts.rows(source.signals(as_of, kinds_since(as_of, windows))), as_of)
    return Prefetched(ByAccount(usage), ByAccount(events))


def coverage(source: EventsSource, as_of: date, window_days: int) -> BookCoverage:
    """`cockpit.store.scoring.book_coverage` of the source: whether its usage and its support tickets reach
    back to the window's first day."""
    spans, first = source.spans(), (as_of - timedelta(days=window_days - 1)).isoformat()
    return BookCoverage(
        usage=spans.usage_first is not None and spans.usage_first <= first,
        tickets=spans.tickets_first is not None and spans.tickets_first <= first,
    )


def tickets_within(source: EventsSource, accounts: Accounts, db: Database, as_of: date, days: int) -> int:
    """`cockpit.store.scoring.tickets_within` of the source: the support tickets of the accounts that are
    customers on `as_of`, of the `days` before it up to its end."""
    counts: dict[str, int] = {}
    found = source.signal_counts("support_ticket", as_of - timedelta(days=days), as_of)
    for account_id, count in accounts.rows(found.items()):
        counts[account_id] = counts.get(account_id, 0) + count
    return sum(counts.get(account_id, 0) for account_id in customers_on(db, as_of))


class SourceBook(NamedTuple):
    """What a scoring run reads of usage and signals, from the events source."""

    prefetched: Prefetched
    coverage: BookCoverage
    tickets: int
    """`tickets_within` the churn horizon."""


def read_source_book(
    db: Database, settings: EventsSettings, as_of: date, windows: Windows, window_days: int, horizon_days: int
) -> SourceBook | None:
    """The usage and signals of the book as of `as_of` from the configured source; None for `local` (the
    store reads its own tables)."""
    source = open_source(settings)
    if source is None:
        return None
    try:
        accounts = Accounts(db, settings)
        return SourceBook(
            book_usage_and_signals(source, accounts, as_of, windows),
            coverage(source, as_of, window_days),
            tickets_within(source, accounts, db, as_of, horizon_days),
        )
    finally:
        source.close()
