"""What an events source answers: the aggregates of the usage events and the few signal rows that scoring,
the churn fit and journeys read, whichever engine computes them.

Every day is a UTC day as ISO text ('YYYY-MM-DD'), as the store cuts its timestamps (`substr(occurred_at, 1,
10)`); every window runs from its first day to the end of `as_of` (rows after it are never read). The
account is the source's key as text (`account_key` in `[events]` says whether it is cockpit's id or an
alias); the caller maps it to accounts and keeps those of its book. An adapter for an engine is one module
of this package with a `connect(settings) -> EventsSource` (see `cockpit.events.ADAPTERS`); those Ibis
speaks to need only open the connection and the two tables (`cockpit.events.ibis_source.IbisSource`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple


class UsageGroup(NamedTuple):
    """One account's use of one feature as of a day (what `cockpit.store.scoring._USAGE_GROUPS` gives)."""

    account: str
    feature: str
    active_days: int
    """Distinct days of use within the adoption window."""
    active_users: int
    """Distinct contacts (not NULL, not '') within the adoption window."""
    first_day: str
    last_day: str
    last_30: int
    """Uses (the sum of `count`) in the 30 days up to the day."""
    prior_30: int
    """Uses in the 30 days before those."""


class UsageBucket(NamedTuple):
    """One account's use of one feature in one bucket of days counted back from the newest day (what
    `cockpit.store.churn._USAGE_BUCKETS` gives)."""

    account: str
    feature: str
    bucket: int
    uses: int
    days: int
    users: int | list[str]
    """Distinct contacts: a count, or (asked for a list) their ids."""
    first_day: str
    last_day: str


class UsagePeriod(NamedTuple):
    """One account's uses in one period of days counted back from a day (0: the period that ends on it)."""

    account: str
    period: int
    uses: int


class SignalRow(NamedTuple):
    account: str
    kind: str
    day: str
    value: float | None
    detail: str | None
    """Text an explanation may quote (a ticket's subject)."""
    ref: str | None
    """The signal's own reference (an email's message id)."""


class SignalMoment(NamedTuple):
    """One signal of one account at its moment, as its journey and the checks on it read it."""

    at: str
    """ISO-8601 text as the store keeps it: the source's text, or its timestamp in UTC
    (`2026-11-02T09:30:00+00:00`)."""
    kind: str
    value: float | None


class UnopenedEmail(NamedTuple):
    """An account's latest email sent in a window, when nothing shows it opened (what
    `cockpit.store.outreach._unopened_emails` finds in the store's signals)."""

    account: str
    contact: str | None
    """The recipient (`[events.signals] contact`), None when the source does not say."""
    sent_at: str
    """As `SignalMoment.at`."""
    subject: str | None
    """The send's `detail`."""
    campaign: str | None
    """The bulk campaign that sent it; None for a person's own email."""


class Spans(NamedTuple):
    """The first and last days the source holds (None: none), for the book's coverage and history."""

    usage_first: str | None
    usage_last: str | None
    signals_first: str | None
    signals_last: str | None
    tickets_first: str | None
    """The first support ticket's day."""


class Reach(NamedTuple):
    """Whether the source holds anything on a day or before it (`EventsSource.reaches`)."""

    usage: bool
    tickets: bool
    """Support tickets."""


@dataclass
class Traffic:
    """What crossed from the engine to cockpit: rows, and the bytes of their values (the Arrow columns' an engine
    answers in; for an engine that answers in rows, a text's characters and 8 bytes for any other value)."""

    rows: int = 0
    bytes: int = 0


class EventsSource(ABC):
    """An engine holding the usage events and signals. Opened by `cockpit.events.open_source`; close it."""

    name: str
    traffic: Traffic

    @abstractmethod
    def usage_groups(self, as_of: date, adoption_days: int) -> Iterator[UsageGroup]:
        """Per account and feature used up to the end of `as_of`: the adoption window is the
        `adoption_days` up to `as_of`."""

    @abstractmethod
    def usage_buckets(self, newest: date, width: int, cap: int, *, user_ids: bool) -> Iterator[UsageBucket]:
        """Per account, feature and bucket: the uses up to the end of `newest` in buckets of `width` days back
        from it, bucket `cap` holding every older day; the users as a count, or with `user_ids` their ids."""

    @abstractmethod
    def usage_periods(self, as_of: date, days: int, period_days: int) -> Iterator[UsagePeriod]:
        """Per account and period of `period_days` back from `as_of`: the uses of the `days` up to `as_of`."""

    @abstractmethod
    def signals(self, as_of: date, since: Mapping[str, date]) -> Iterator[SignalRow]:
        """The signals of the kinds in `since` from that kind's first day up to the end of `as_of`, by account
        and, within one, oldest first."""

    @abstractmethod
    def signal_counts(self, kind: str, since: date, as_of: date) -> dict[str, int]:
        """Account -> how many signals of `kind` it has from `since` up to the end of `as_of`."""

    @abstractmethod
    def account_signals(
        self,
        keys: Collection[str],
        *,
        limit: int,
        kind: str | None = None,
        skip: Collection[str] = (),
        since: date | None = None,
        through: date | None = None,
    ) -> list[SignalMoment]:
        """The signals of the account that `keys` name (its id, or its aliases), newest first (then by kind),
        at most `limit`: those of `kind` (None: of every kind but those in `skip`), from `since` up to the end
        of `through` (None: no bound)."""

    @abstractmethod
    def unopened_emails(
        self, since: date, as_of: date, campaigns: Collection[str]
    ) -> Iterator[UnopenedEmail]:
        """Per account, its latest `email_sent` from `since` up to the end of `as_of` that a person sent (no
        campaign and not bulk) or a campaign of `campaigns` did, when no `email_opened` or `email_clicked` of
        the account at or after it (up to the end of `as_of`) has its reference (or, for a send without one,
        when none comes after it at all)."""

    @abstractmethod
    def spans(self) -> Spans: ...

    @abstractmethod
    def reaches(self, day: date) -> Reach:
        """Whether the usage and the support tickets reach back to `day` (hold one on it or before): what
        `Spans` tells too, found without reading every event."""

    @abstractmethod
    def problems(self) -> list[str]:
        """What keeps the source from being read (unreachable, a table or a mapped column missing, a column
        of the wrong type), each said so that a person can fix it; [] when it reads."""

    @abstractmethod
    def close(self) -> None: ...

    def twin(self) -> EventsSource | None:
        """Another source over the same events, opened, that answers beside this one (a connection of its
        own), so that a question put to it runs while this one computes another; None (the default): the
        engine works one question at a time, with all of the machine (an in-process DuckDB). Close it."""
        return None

    def interrupt(self) -> None:
        """Stop the question being computed, from another thread: there it raises `SourceUnavailable`. What
        the caller of a `twin` does when it stops early, rather than wait for the other question's end; a
        source without a twin computes nothing beside its caller (the default does nothing)."""
        return None

    def describe(self) -> str:
        """Where the events are, for a person (no secret)."""
        return self.name
