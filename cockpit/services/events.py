"""The book's usage and signals from the configured events source (`[events]`, `cockpit.events`), in the
shapes the store reads its own tables into, so that scoring, the churn fit, journeys, an account's journey,
the outreach plan's unopened emails and a lifetime value's cancel click give the same answers whichever engine
holds the events.

The source answers with aggregates by its own account key; here they are mapped to cockpit's accounts (the
key is the id, or an alias the store resolves: only aggregates come back, so this is cheap) and the keys that
name no account are left out.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from datetime import date, timedelta
from typing import Any, NamedTuple

from cockpit.config import EventsSettings
from cockpit.domain.parsing import calendar_day
from cockpit.events import SourceUnavailable, open_source
from cockpit.events.source import EventsSource, UnopenedEmail
from cockpit.outreach.facts import LastEmail
from cockpit.scoring.common import cyclic_gc_paused
from cockpit.scoring.facts import BookCoverage, Event
from cockpit.store import clv
from cockpit.store.churn import PrefetchedBuckets, bucket_plan
from cockpit.store.scoring import (
    ByAccount,
    Prefetched,
    Windows,
    aliases,
    aliases_of,
    customers_on,
    pack_events,
    pack_usage,
)
from cockpit.store.sqlite import Database


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


def book_usage(
    source: EventsSource, accounts: Accounts, as_of: date, windows: Windows
) -> ByAccount[list[Any]]:
    """What `BookFacts` reads from the store's usage_events, computed by the source."""
    return ByAccount(pack_usage(accounts.rows(source.usage_groups(as_of, windows.adoption_days))))


def book_signals(
    source: EventsSource, accounts: Accounts, as_of: date, windows: Windows
) -> ByAccount[list[Event]]:
    """What `BookFacts` reads from the store's signals, computed by the source."""
    return ByAccount(pack_events(accounts.rows(source.signals(as_of, kinds_since(as_of, windows))), as_of))


def coverage(source: EventsSource, as_of: date, window_days: int) -> BookCoverage:
    """`cockpit.store.scoring.book_coverage` of the source: whether its usage and its support tickets reach
    back to the window's first day."""
    reach = source.reaches(as_of - timedelta(days=window_days - 1))
    return BookCoverage(usage=reach.usage, tickets=reach.tickets)


def tickets_within(
    source: EventsSource, accounts: Accounts, customers: Iterable[str], as_of: date, days: int
) -> int:
    """`cockpit.store.scoring.tickets_within` of the source: the support tickets of the accounts that are
    customers on `as_of` (`customers`, `customers_on`), of the `days` before it up to its end."""
    counts: dict[str, int] = {}
    found = source.signal_counts("support_ticket", as_of - timedelta(days=days), as_of)
    for account_id, count in accounts.rows(found.items()):
        counts[account_id] = counts.get(account_id, 0) + count
    return sum(counts.get(account_id, 0) for account_id in customers)


def open_checked(settings: EventsSettings) -> EventsSource | None:
    """The configured events source, opened (close it); None for `local`. A source that lacks a table or
    column its mapping names is refused here, by name, before any question is put to it."""
    source = open_source(settings)
    try:
        problems = [] if source is None else source.problems()
        if source is not None and problems:
            raise SourceUnavailable(
                f"{source.describe()}: " + "; ".join(problems),
                hint="Name the source's columns in [events.usage] and [events.signals] (`cockpit doctor` checks them).",
            )
    except BaseException:
        if source is not None:
            source.close()
        raise
    return source


@contextmanager
def opened(settings: EventsSettings) -> Iterator[EventsSource | None]:
    """The configured events source (`open_checked`), open within the block; None for `local`."""
    source = open_checked(settings)
    try:
        yield source
    finally:
        if source is not None:
            source.close()


class KeptSource:
    """The configured events source kept open for one reader's questions, asked one at a time (an account
    screen's journey, read again at each change of its kinds): opened at the first, closed by `close` (by
    the question under way, if one is, when it ends). A source that cannot be opened is not tried again
    (each try may wait for a connection's timeout); one that fails a question is opened afresh for the next.
    Not for `local`, whose tables the store reads itself."""

    def __init__(self, settings: EventsSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._source: EventsSource | None = None
        self._refused: SourceUnavailable | None = None
        self._closed = False

    @contextmanager
    def use(self) -> Iterator[EventsSource]:
        """The source, for one question; SourceUnavailable when it cannot be opened or the question fails."""
        try:
            with self._lock:
                if self._closed:
                    raise SourceUnavailable("the events source was closed: its reader is gone.")
                if self._refused is not None:
                    raise self._refused
                if self._source is None:
                    try:
                        self._source = open_checked(self._settings)
                    except SourceUnavailable as refused:
                        self._refused = refused
                        raise
                    assert self._source is not None, "a kept source is not local"
                try:
                    yield self._source
                except SourceUnavailable:
                    self._source.close()
                    self._source = None
                    raise
        finally:
            self._close_if_closed()

    def close(self) -> None:
        """Close the source now, or, if a question is under way, when it ends (this never waits for it)."""
        self._closed = True
        self._close_if_closed()

    def _close_if_closed(self) -> None:
        # Both sides set their part (the flag; the lock released) before they try the lock, so whichever
        # comes second closes the source.
        if self._closed and self._lock.acquire(blocking=False):
            try:
                if self._source is not None:
                    self._source.close()
                    self._source = None
            finally:
                self._lock.release()


def spans(source: EventsSource) -> list[tuple[str | None, str | None]]:
    """The (first, last) days of the source's usage and of its signals, as `cockpit.store.churn.history`
    takes them."""
    held = source.spans()
    return [(held.usage_first, held.usage_last), (held.signals_first, held.signals_last)]


def snapshot_buckets(
    source: EventsSource, accounts: Accounts, days: Sequence[date], windows: Windows
) -> PrefetchedBuckets:
    """What `SnapshotFacts` reads from the store's usage_events and signals for snapshots as of `days`
    (newest first), computed by the source."""
    plan = bucket_plan(days, windows.adoption_days)
    usage: dict[str, list[list[Any]]] = defaultdict(list)
    buckets = source.usage_buckets(days[0], plan.width, plan.cap, user_ids=plan.user_ids)
    for row in accounts.rows(buckets):
        found = list(row)
        if plan.user_ids and found[5] is None:
            found[5] = []  # no contact at all: no ids
        usage[found[0]].append(found)
    events = pack_events(accounts.rows(source.signals(days[0], kinds_since(days[-1], windows))), days[0])
    return PrefetchedBuckets(ByAccount(usage), ByAccount(events))


def journey_signals(
    source: EventsSource, accounts: Accounts, as_of: date, days: int, kinds: Iterable[str]
) -> Iterator[tuple[str, int, str, None]]:
    """The signals of `kinds` of the `days` up to `as_of` as `cockpit.store.journeys.events` gives them:
    (account id, days before `as_of`, kind, no value)."""
    first = as_of - timedelta(days=days - 1)
    for account_id, kind, day, *_ in accounts.rows(source.signals(as_of, dict.fromkeys(kinds, first))):
        yield account_id, (as_of - date.fromisoformat(day)).days, kind, None


def usage_periods(
    source: EventsSource, accounts: Accounts, as_of: date, days: int, period_days: int
) -> Iterator[tuple[Any, ...]]:
    """The use per account and period as `cockpit.store.journeys.usage` gives it."""
    return accounts.rows(source.usage_periods(as_of, days, period_days))


INTERRUPT_AGAIN_SECONDS = 0.5
"""How long a run waits for an interrupted usage question to stop before it interrupts it again."""


class SourceBook(NamedTuple):
    """What a scoring run reads of usage and signals, from the events source."""

    prefetched: Prefetched
    coverage: BookCoverage
    tickets: int
    """`tickets_within` the churn horizon."""
    crossed: str
    """What the source computed and what came back, for a person."""


def read_source_book(
    db: Database, settings: EventsSettings, as_of: date, windows: Windows, window_days: int, horizon_days: int
) -> SourceBook | None:
    """The usage and signals of the book as of `as_of` from the configured source, None for `local` (the
    store reads its own tables). Read before the scoring's write: a warehouse's GROUP BY may take minutes,
    and the store's other writers would wait for it all that time."""
    with opened(settings) as source:
        if source is None:
            return None
        accounts = Accounts(db, settings)
        customers = customers_on(db, as_of)
        twin = source.twin()
        # With a twin, the usage (the long question) is taken in by a thread of its own as the engine sends
        # it, while the twin answers the rest beside it; the collector held off meanwhile, as the streamed
        # answers come as millions of small objects.
        with (
            cyclic_gc_paused() if twin is not None else nullcontext(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="cockpit-events-usage") as pool,
        ):
            if twin is None:  # the usage first, the largest answer, before the signals are held too
                usage: Future[ByAccount[list[Any]]] = Future()
                usage.set_result(book_usage(source, accounts, as_of, windows))
            else:
                usage = pool.submit(book_usage, source, accounts, as_of, windows)
            other = source if twin is None else twin
            try:
                events = book_signals(other, accounts, as_of, windows)
                held = coverage(other, as_of, window_days)
                tickets = tickets_within(other, accounts, customers, as_of, horizon_days)
                prefetched = Prefetched(usage.result(), events)
            except BaseException:
                # The usage's question stops, rather than be waited for (Ctrl-C, an error); asked again until
                # it has, as a cancel that reaches the engine before the question does is lost.
                while not usage.done():
                    source.interrupt()
                    wait([usage], timeout=INTERRUPT_AGAIN_SECONDS)
                raise
            finally:
                if twin is not None:
                    twin.close()
        traffic = source.traffic
        if twin is not None:
            traffic.rows += twin.traffic.rows
            traffic.bytes += twin.traffic.bytes
    unknown = f"; {len(accounts.unknown):,} keys named no account" if accounts.unknown else ""
    crossed = (
        f"usage and signals computed by {source.name}: {traffic.rows:,} rows of aggregates came back "
        f"({traffic.bytes / 1e6:.1f} MB){unknown}"
    )
    return SourceBook(prefetched, held, tickets, crossed)


def account_keys(db: Database, settings: EventsSettings, account_id: str) -> list[str]:
    """The keys the source may name the account by: its id, or its aliases (`[events] account_key`)."""
    return [account_id] if settings.account_key == "id" else aliases_of(db, account_id, settings.alias_system)


def latest_cancel_click(
    db: Database, settings: EventsSettings, account_id: str, since: date, until: date
) -> str | None:
    """`cockpit.store.clv.latest_cancel_click` from wherever the signals are."""
    with opened(settings) as source:
        if source is None:
            return clv.latest_cancel_click(db, account_id, since, until)
        found = source.account_signals(
            account_keys(db, settings, account_id), limit=1, kind="cancel_click", since=since, through=until
        )
    return found[0].at[:10] if found else None


def unopened_emails(
    db: Database, settings: EventsSettings, today: date, window_days: int, campaigns: Iterable[str]
) -> dict[str, LastEmail] | None:
    """Account id -> its unopened email as the outreach plan reads it (`cockpit.store.outreach.plan_accounts`)
    of the `window_days` up to `today`, computed by the source; None for `local`, whose signals the plan reads
    itself. Read before the plan's write: the source's query may take a while."""
    with opened(settings) as source:
        if source is None:
            return None
        accounts = Accounts(db, settings)
        since = today - timedelta(days=window_days - 1)
        latest: dict[str, UnopenedEmail] = {}
        for row in accounts.rows(source.unopened_emails(since, today, frozenset(campaigns))):
            email = UnopenedEmail(*row)
            known = latest.get(email.account)
            if known is None or email.sent_at > known.sent_at:  # two aliases of one account
                latest[email.account] = email
    return {
        account_id: LastEmail(
            email.subject, date.fromisoformat(email.sent_at[:10]), email.contact, email.campaign
        )
        for account_id, email in latest.items()
        if calendar_day(email.sent_at[:10])
    }
