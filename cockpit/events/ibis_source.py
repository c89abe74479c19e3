"""An events source over any engine Ibis speaks to: each question is one Ibis expression, which Ibis compiles
to that engine's SQL; the engine computes the aggregates and only they come back, as Arrow tables.

The expressions keep the store's semantics exactly (`cockpit.store.scoring`, `cockpit.store.churn`,
`cockpit.store.journeys`): a timestamp held as text is cut to its day at the 10th character and compared as
text, so ISO-8601 UTC text reads as the store reads it; a timestamp column is read as its UTC day; a contact
that is NULL or '' is no user; a count of uses is summed, 0 where none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from cockpit.config import EventsSettings
from cockpit.events import SourceUnavailable
from cockpit.events.source import (
    EventsSource,
    Reach,
    SignalRow,
    Spans,
    Traffic,
    UsageBucket,
    UsageGroup,
    UsagePeriod,
)

BATCH_ROWS = 100_000
"""Rows per Arrow batch made Python objects at once."""


class _Time:
    """An event's time column, text or timestamp, as days."""

    def __init__(self, column: ir.Column) -> None:
        self.column = column
        self.text = column.type().is_string()
        self.day: ir.StringValue = column.substr(0, 10) if self.text else column.cast("date").cast("string")
        """The day as ISO text."""
        self.date: ir.DateValue = self.day.cast("date")
        self.key: ir.Value = self.day if self.text else column.cast("date")
        """The day as the engine counts and orders it cheapest, in the order of `day`: a timestamp's date, not
        made text at every event (`as_day` makes an aggregate of it text)."""

    def as_day(self, key: ir.Value) -> ir.StringValue:
        """An aggregate of `key` (its min or max) as ISO text."""
        return key if self.text else key.cast("string")

    def _start(self, day: date) -> ir.Value:
        """The start of `day` as the column compares it: its text, or its UTC midnight (with no time zone:
        the engines' sessions run in UTC, and DuckDB without its ICU extension makes no zoned literal),
        which the column is compared to as it is, not made a date at every event."""
        if self.text:
            return ibis.literal(day.isoformat())
        if self.column.type().is_date():
            return ibis.literal(day)
        return ibis.literal(datetime(day.year, day.month, day.day), type="timestamp")

    def since(self, day: date) -> ir.BooleanValue:
        """On `day` or later."""
        return self.column >= self._start(day)

    def before(self, day: date) -> ir.BooleanValue:
        """Before `day` (not on it)."""
        return self.column < self._start(day)

    def through(self, day: date) -> ir.BooleanValue:
        """Up to the end of `day`."""
        return self.before(day + timedelta(days=1))


def _days_ago(time: _Time, day: date) -> ir.IntegerValue:
    """Whole days from the event's day to `day`."""
    return ibis.date(day).delta(time.date, unit="day")


class IbisSource(EventsSource):
    """The usage events and signals as two tables of one Ibis backend, their columns named by the settings'
    `[events.usage]` and `[events.signals]`."""

    def __init__(
        self,
        name: str,
        backend: BaseBackend,
        usage: ir.Table,
        signals: ir.Table,
        settings: EventsSettings,
        where: str,
        errors: tuple[type[Exception], ...],
    ) -> None:
        """`where`: the events' place for a person (no secret); `errors`: what the engine's library raises
        when the engine refuses (made a `SourceUnavailable`)."""
        self.name, self.traffic = name, Traffic()
        self._errors = errors
        self._backend, self._usage_table, self._signals_table = backend, usage, signals
        self._settings, self._where = settings, where
        self._spans: Spans | None = None

    def describe(self) -> str:
        return f"{self.name}: {self._where}"

    def close(self) -> None:
        self._backend.disconnect()

    # The tables with cockpit's names for their columns.

    def _usage(self) -> tuple[ir.Table, _Time]:
        table, columns = self._usage_table, self._settings.usage
        count = table[columns.count].cast("int64") if columns.count else ibis.literal(1, "int64")
        # A row without an account or feature names nothing (the store's columns are NOT NULL).
        usage = table.filter(table[columns.account].notnull(), table[columns.feature].notnull()).select(
            account=table[columns.account].cast("string"),
            feature=table[columns.feature].cast("string"),
            at=table[columns.occurred_at],
            contact=table[columns.contact].cast("string").nullif(""),
            uses=count,
        )
        return usage, _Time(usage.at)

    def _signals(self) -> tuple[ir.Table, _Time]:
        table, columns = self._signals_table, self._settings.signals

        def optional(name: str, kind: str) -> ir.Value:
            return table[name].cast(kind) if name else ibis.null(kind)

        signals = table.filter(table[columns.account].notnull()).select(
            account=table[columns.account].cast("string"),
            kind=table[columns.kind].cast("string"),
            at=table[columns.occurred_at],
            value=optional(columns.value, "float64"),
            detail=optional(columns.detail, "string"),
            ref=optional(columns.ref, "string").nullif(""),
        )
        return signals, _Time(signals.at)

    # The questions.

    def usage_groups(self, as_of: date, adoption_days: int) -> Iterator[UsageGroup]:
        usage, time = self._usage()
        window = time.since(as_of - timedelta(days=adoption_days - 1))
        last30, prior30 = as_of - timedelta(days=29), as_of - timedelta(days=59)
        groups = (
            usage.filter(time.through(as_of))
            .group_by("account", "feature")
            .aggregate(
                active_days=time.key.nunique(where=window),
                active_users=usage.contact.nunique(where=window),
                first_day=time.as_day(time.key.min()),
                last_day=time.as_day(time.key.max()),
                last_30=usage.uses.sum(where=time.since(last30)).fill_null(0).cast("int64"),
                prior_30=usage.uses.sum(where=time.since(prior30) & time.before(last30))
                .fill_null(0)
                .cast("int64"),
            )
        )
        return (UsageGroup(*row) for row in self._fetch(groups))

    def usage_buckets(self, newest: date, width: int, cap: int, *, user_ids: bool) -> Iterator[UsageBucket]:
        usage, time = self._usage()
        ago = _days_ago(time, newest) // width
        bucketed = usage.filter(time.through(newest)).mutate(
            bucket=ibis.ifelse(ago < cap, ago, cap).cast("int64"), day=time.key
        )
        users = bucketed.contact.collect(distinct=True) if user_ids else bucketed.contact.nunique()
        buckets = bucketed.group_by("account", "feature", "bucket").aggregate(
            uses=bucketed.uses.sum().cast("int64"),
            days=bucketed.day.nunique(),
            users=users,
            first_day=time.as_day(bucketed.day.min()),
            last_day=time.as_day(bucketed.day.max()),
        )
        return (UsageBucket(*row) for row in self._fetch(buckets))

    def usage_periods(self, as_of: date, days: int, period_days: int) -> Iterator[UsagePeriod]:
        usage, time = self._usage()
        within = usage.filter(time.since(as_of - timedelta(days=days - 1)) & time.through(as_of))
        periods = (
            within.mutate(period=(_days_ago(time, as_of) // period_days).cast("int64"))
            .group_by("account", "period")
            .aggregate(uses=within.uses.sum().cast("int64"))
        )
        return (UsagePeriod(*row) for row in self._fetch(periods))

    def signals(self, as_of: date, since: Mapping[str, date]) -> Iterator[SignalRow]:
        if not since:
            return iter(())
        signals, time = self._signals()
        read = ibis.or_(*((signals.kind == kind) & time.since(first) for kind, first in since.items()))
        rows = (
            signals.filter(read & time.through(as_of))
            .order_by("account", "at", "kind")
            .select("account", "kind", day=time.day, value="value", detail="detail", ref="ref")
        )
        return (SignalRow(*row) for row in self._fetch(rows))

    def signal_counts(self, kind: str, since: date, as_of: date) -> dict[str, int]:
        signals, time = self._signals()
        counts = (
            signals.filter((signals.kind == kind) & time.since(since) & time.through(as_of))
            .group_by("account")
            .aggregate(count=ibis._.count())
        )
        return {account: int(count) for account, count in self._fetch(counts)}

    def spans(self) -> Spans:
        if self._spans is None:
            usage, usage_time = self._usage()
            signals, signals_time = self._signals()
            tickets = signals.filter(signals.kind == "support_ticket")
            (usage_first, usage_last), (signals_first, signals_last) = (
                next(self._fetch(table.aggregate(first=time.day.min(), last=time.day.max())))
                for table, time in ((usage, usage_time), (signals, signals_time))
            )
            (tickets_first,) = next(self._fetch(tickets.aggregate(first=_Time(tickets.at).day.min())))
            self._spans = Spans(usage_first, usage_last, signals_first, signals_last, tickets_first)
        return self._spans

    def reaches(self, day: date) -> Reach:
        usage, usage_time = self._usage()
        signals, _ = self._signals()
        tickets = signals.filter(signals.kind == "support_ticket")
        first = day.isoformat()
        found = (
            # One row is enough: the engine stops at the first it finds.
            any(self._fetch(table.filter(time.day <= first).select(time.day).limit(1)))
            for table, time in ((usage, usage_time), (tickets, _Time(tickets.at)))
        )
        return Reach(*found)

    def problems(self) -> list[str]:
        found: list[str] = []
        for what, table, columns in (
            ("usage", self._usage_table, self._settings.usage),
            ("signals", self._signals_table, self._settings.signals),
        ):
            try:
                schema = table.schema()
            except self._errors as error:
                raise self._refused(error) from None
            missing = [
                f"{key} = {name!r}"
                for key, name in columns.model_dump().items()
                if key != "table" and name and name not in schema
            ]
            if missing:
                found.append(
                    f"[events.{what}]: the source's {what} table has no column "
                    + ", ".join(missing)
                    + f" (its columns: {', '.join(schema.names)})"
                )
                continue
            kind = schema[columns.occurred_at]
            if not (kind.is_string() or kind.is_timestamp() or kind.is_date()):
                found.append(
                    f"[events.{what}] occurred_at = {columns.occurred_at!r} is {kind}: "
                    "it must be ISO-8601 text or a timestamp"
                )
        return found

    def _refused(self, error: Exception) -> SourceUnavailable:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return SourceUnavailable(f"{self.describe()}: the engine refused: {first}")

    def _fetch(self, expression: ir.Table) -> Iterator[tuple[Any, ...]]:
        """The rows of `expression`, computed by the engine, in the types of the expression's schema (which
        Ibis holds the engine's answer to: DuckDB's sums are 128-bit decimals)."""
        try:
            table = self._backend.to_pyarrow(expression)
        except self._errors as error:
            raise self._refused(error) from None
        self.traffic.rows += table.num_rows
        self.traffic.bytes += table.nbytes
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)
