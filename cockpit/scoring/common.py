"""What the scoring rules share: the account's events by kind and age, the one linear scale, JSON types.

Windows: "the last N days" are the N days up to and including as_of (ages 0 .. N - 1), the same reading as
`AccountFacts.usage_last_30`. Anything dated after as_of is left out, so facts that hold later data by
mistake still score as of their day.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from functools import cache
from typing import Any, Final, TypeAlias, TypeVar

from cockpit.domain.names import SignalKindName
from cockpit.scoring.facts import AccountFacts, Event

Json: TypeAlias = "str | int | float | bool | list[Json] | dict[str, Json] | None"
JsonDict: TypeAlias = "dict[str, Json]"
Aged: TypeAlias = tuple[int, Event]
"""An event with its age: the days from its date to as_of."""

Record = TypeVar("Record", bound="tuple[Any, ...]")

read_record: Final = tuple.__new__
"""A named tuple from a JSON array read back: `read_record(SurveyAnswer, array)`. `_make` would check the
length too, which costs 40% more for the tens of records an explanation reads back; the arrays were written
from records of the type, in the layout of the explanation's VERSION."""


def read_nested(record: type[Record], row: Sequence[Any], index: int, items: list[Any]) -> Record:
    """A named tuple from its JSON array `row` read back, with its field at `index` (a list of records) given
    as `items`: that field's arrays, read back."""
    fields = list(row)
    fields[index] = items
    return read_record(record, fields)


RECENT_DAYS = 30
"""The "last 30 days" of the usage totals in AccountFacts; support burden counts tickets over the same days."""


class Timeline:
    """An account's events grouped by kind, each with its age, built once so that no rule re-reads them all."""

    __slots__ = ("_by_kind",)

    def __init__(self, facts: AccountFacts) -> None:
        as_of = facts.as_of
        by_kind: dict[SignalKindName, list[Aged]] = {}
        for event in facts.events:
            age = (as_of - event.on).days
            if age >= 0:
                aged = by_kind.get(event.kind)
                if aged is None:
                    by_kind[event.kind] = [(age, event)]
                else:
                    aged.append((age, event))
        self._by_kind = by_kind

    def within(self, kind: SignalKindName, days: int) -> list[Aged]:
        """The events of a kind in the last `days` days, in the facts' order (newest first)."""
        aged = self._by_kind.get(kind)
        return [] if aged is None else [item for item in aged if item[0] < days]

    def ages(self, kind: SignalKindName) -> list[Aged]:
        """Every event of a kind the facts hold, newest first (do not change the list)."""
        return self._by_kind.get(kind, _NONE)


_NONE: list[Aged] = []


def scale(value: float, worst: float, best: float, *, higher_is_better: bool) -> float:
    """0 at `worst` or beyond, 100 at `best` or beyond, linear between.

    The direction is given rather than read from the thresholds so that equal thresholds make a clean step
    (at or past `best` is 100, anything else 0) instead of a division by zero.
    """
    if value >= best if higher_is_better else value <= best:
        return 100.0
    if value <= worst if higher_is_better else value >= worst:
        return 0.0
    return 100.0 * (value - worst) / (best - worst)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@cache
def day_before(as_of: date, age: int | None) -> str | None:
    """The ISO day `age` days before as_of (None stays None): how an explanation's ages read. Kept once
    worked out: an explanation has tens of dates, and a book few distinct ones."""
    return None if age is None else (as_of - timedelta(days=age)).isoformat()


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while a book is read and scored.

    Scoring (and outreach planning) build millions of small containers, none in a cycle (reference counting
    frees them); the collector would walk them again and again for nothing (a third of a plan's time). It is switched back on at the end, unless it
    was off to begin with.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
