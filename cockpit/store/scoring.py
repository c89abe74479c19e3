"""The SQL side of scoring: the facts of every account as of a day, and the score runs kept over time.

Usage is read by one GROUP BY over `usage_events` (in its primary-key order, so SQLite needs no sort), and
the signals by one walk of their account index, both range by range of account ids (`BookFacts`): each
range is one SQLite step that hands its result back as one JSON text, so that a thread reading the ranges
runs beside the thread scoring them. The smaller tables are read by one query each. Scores go back in
multi-row INSERTs (`insert_scores`), which a thread of their own can run the same way. Nothing here decides
a score: `cockpit.scoring` does, without I/O. As of a day means every row dated up to the end of that day
and none after: the account fields whose history is kept (MRR, renewal date, contract term, plan, segment,
seats) as they stood then (`cockpit.store.history.PastValues`), the others (owner, start) as they are now.

A stored explanation is compact (`cockpit.scoring.explain`); `latest_score` and `latest_scores` give it
back worded, in the one shape every reader gets, whichever version of cockpit stored it.
"""

from __future__ import annotations

import json
import sqlite3
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from itertools import islice, pairwise
from operator import attrgetter
from typing import Any, Final, Generic, NamedTuple, TypeVar

from cockpit.domain.names import SignalKindName
from cockpit.scoring.facts import AccountFacts, BookCoverage, Complement, Contract, Event, FeatureUse
from cockpit.store.book import STAGE_SQL, record_unscored
from cockpit.store.compact_scores import run_scores
from cockpit.store.db import Store
from cockpit.store.history import PastValues
from cockpit.store.provenance import SYSTEM_NAMES
from cockpit.store.sqlite import Database

T = TypeVar("T")

TOUCHES = (
    "(kind, direction) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
    "FROM json_each(:touches))"
)
"""The interactions whose (kind, direction) is a pair of the JSON list bound to `:touches` (`json_pairs`)."""


def json_pairs(pairs: Collection[tuple[str, str]]) -> str:
    return json.dumps(sorted(pairs))


@dataclass(frozen=True)
class Windows:
    """What scoring reads besides the accounts: the look-back windows, in days before as_of, and which
    interactions are a CSM's touch."""

    adoption_days: int
    events: Mapping[SignalKindName, int]
    """Signal kind -> how far back its events matter (of age 0 up to these days, not included); kinds not
    named are not read."""
    csm_touches: Collection[tuple[str, str]]
    """The (kind, direction) of the interactions that are a CSM's touch (`cockpit.domain.touches`)."""


class _Days(dict[str | None, date | None]):
    """The day of a stored date (None for none): `_DAYS[text]`. Each distinct text is parsed once, and a book
    has few days while scoring reads millions of them; so only dates come here, timestamps cut to their day
    in SQL (`substr(..., 1, 10)`), not each distinct time."""

    def __missing__(self, text: str | None) -> date | None:
        day = self[text] = date.fromisoformat(text[:10]) if text else None
        return day


_DAYS = _Days()


def _next_day(as_of: date) -> str:
    """The exclusive upper bound for text dates and timestamps of `as_of`."""
    return (as_of + timedelta(days=1)).isoformat()


_USAGE_GROUPS = """
    SELECT account_id, feature_id,
        count(DISTINCT CASE WHEN occurred_at >= :window THEN substr(occurred_at, 1, 10) END) AS active_days,
        count(DISTINCT CASE WHEN occurred_at >= :window THEN nullif(contact_id, '') END) AS active_users,
        min(occurred_at) AS first_use, max(occurred_at) AS last_use,
        sum(CASE WHEN occurred_at >= :last30 THEN count ELSE 0 END) AS last_30,
        sum(CASE WHEN occurred_at >= :prior30 AND occurred_at < :last30 THEN count ELSE 0 END) AS prior_30
    FROM usage_events
    WHERE occurred_at < :end {accounts}
    GROUP BY account_id, feature_id
"""
"""Per account and feature: active days and users in the adoption window, first and last use, and usage in
the last 30 days and the 30 before. The one pass over the big table that scoring makes."""

_USAGE_PACKED = f"""
    SELECT json_group_object(account_id, json_array(last_30, prior_30, substr(last_use, 1, 10), json(features))) FROM (
        SELECT account_id, sum(last_30) AS last_30, sum(prior_30) AS prior_30, max(last_use) AS last_use,
            json_group_object(
                feature_id, json_array(active_days, active_users, substr(first_use, 1, 10), substr(last_use, 1, 10))
            ) AS features
        FROM ({_USAGE_GROUPS}) GROUP BY account_id
    )
"""
"""The usage groups of a range of accounts as one JSON object: account id -> [usage in the last 30 days, in
the 30 before, last use, {feature id: [active days, active users, first use, last use]}]."""

_EVENTS_PACKED = """
    SELECT json_group_array(json_array(
        account_id, kind, substr(occurred_at, 1, 10),
        CASE typeof(value) WHEN 'real' THEN quote(value) ELSE value END,
        coalesce(json_extract(payload, '$.subject'), json_extract(payload, '$.comment')),
        coalesce(json_extract(payload, '$.message_id'), nullif(source_id, ''))
    )) FROM (
        SELECT * FROM signals INDEXED BY signals_account_time
        WHERE occurred_at >= {since} AND occurred_at < :end {accounts}
        ORDER BY account_id, occurred_at
    )
"""
"""The signals scoring reads of a range of accounts as one JSON array, oldest first for each account (the
order of signals_account_time, which the query walks whatever the planner makes of the ORDER BY); each as
[account id, kind, day, value, detail, ref]. A value, a REAL, comes as the exact text of `quote`: JSON
would round it to 15 digits. `since` gives each kind's first day, NULL for the kinds not read."""


def _usage_parameters(as_of: date, adoption_days: int) -> dict[str, str]:
    return {
        "window": (as_of - timedelta(days=adoption_days - 1)).isoformat(),
        "last30": (as_of - timedelta(days=29)).isoformat(),
        "prior30": (as_of - timedelta(days=59)).isoformat(),
        "end": _next_day(as_of),
    }


def usage_by_feature(db: Database, as_of: date, adoption_days: int) -> Iterator[tuple[Any, ...]]:
    """The usage groups of every account as plain rows (account id, feature id, then the columns of
    _USAGE_GROUPS): the practical floor of a scoring run, which bench/score.py times against a full run."""
    return iter(db.execute(_USAGE_GROUPS.format(accounts=""), _usage_parameters(as_of, adoption_days)))


class _Range(NamedTuple):
    """What a range of accounts brings from the big tables."""

    usage: dict[str, list[Any]]
    """Account id -> [usage in the last 30 days, in the 30 before, last use, {feature id: [active days,
    active users, first use, last use]}], for the accounts with any use."""
    events: dict[str, list[Event]]
    """Account id -> its events, oldest first, for the accounts with any."""


def account_bounds(low: str | None, high: str | None) -> str:
    """The SQL condition on `account_id` of a range from `low` up to, not including, `high` (None: no bound),
    bound as :low and :high."""
    return ("AND account_id >= :low " if low is not None else "") + (
        "AND account_id < :high" if high is not None else ""
    )


def signals_since(as_of: date, events: Mapping[SignalKindName, int]) -> str:
    """The SQL expression of the first day a signal of each kind is read from, for facts as of `as_of` (NULL
    for the kinds not named, never read)."""
    return "CASE kind {} END".format(
        " ".join(
            f"WHEN '{kind}' THEN '{(as_of - timedelta(days=days - 1)).isoformat()}'"
            for kind, days in events.items()
        )
    )


def read_events(
    db: Database, since: str, values: dict[str, str], bounds: str, as_of: date
) -> dict[str, list[Event]]:
    """Account id -> its signals from `since` (`signals_since`) up to :end, oldest first, of the accounts
    within `bounds` (`account_bounds`), for those with any (_EVENTS_PACKED)."""
    events: dict[str, list[Event]] = defaultdict(list)
    packed = db.execute(_EVENTS_PACKED.format(since=since, accounts=bounds), values).fetchone()[0]
    for account_id, kind, occurred_at, value, detail, ref in json.loads(packed) if packed else ():
        if value.__class__ is str:
            value = float(value)
        events[account_id].append(Event(kind, _DAYS[occurred_at] or as_of, value, detail, ref))
    return events


def pack_usage(groups: Iterable[Sequence[Any]]) -> dict[str, list[Any]]:
    """Usage groups computed elsewhere (an events source), as rows of account id, feature id, active days,
    active users, first day, last day, usage in the last 30 days and in the 30 before, packed as
    `_Range.usage` holds them. Two groups of one account and feature (two keys of the source naming one
    account) make one: their uses added, their first and last days widened, and the larger of their
    distinct days and users kept (a lower bound: the engine counted them apart)."""
    usage: dict[str, list[Any]] = {}
    for account_id, feature_id, days, users, first, last, last_30, prior_30 in groups:
        packed = usage.get(account_id)
        if packed is None:
            packed = usage[account_id] = [0, 0, last, {}]
        packed[0] += last_30
        packed[1] += prior_30
        packed[2] = max(packed[2], last)
        had = packed[3].get(feature_id)
        packed[3][feature_id] = (
            [days, users, first, last]
            if had is None
            else [max(had[0], days), max(had[1], users), min(had[2], first), max(had[3], last)]
        )
    return usage


def pack_events(rows: Iterable[Sequence[Any]], as_of: date) -> dict[str, list[Event]]:
    """Signals read elsewhere (an events source), as rows of account id, kind, day, value, detail and ref,
    as `read_events` gives them: account id -> its events, oldest first."""
    events: dict[str, list[Event]] = defaultdict(list)
    for account_id, kind, day, value, detail, ref in rows:
        events[account_id].append(Event(kind, _DAYS[day] or as_of, value, detail, ref))
    for found in events.values():
        found.sort(key=_ON)  # stable: one key's order stands; two keys naming one account are merged
    return events


_ON = attrgetter("on")


class ByAccount(Generic[T]):
    """What was read for the whole book at once (from an events source), handed out range by range of
    account ids as the store's own tables are read (`RangesAhead`)."""

    def __init__(self, found: Mapping[str, T]) -> None:
        self._found = found
        self._ids = sorted(found)

    def within(self, low: str | None, high: str | None) -> dict[str, T]:
        """Those of the accounts with ids from `low` up to, not including, `high` (None: no bound)."""
        ids, found = self._ids, self._found
        start = 0 if low is None else bisect_left(ids, low)
        stop = len(ids) if high is None else bisect_left(ids, high)
        return {account_id: found[account_id] for account_id in ids[start:stop]}


class Prefetched(NamedTuple):
    """Usage and signals of the whole book computed by an events source, by account id, as `_Range` holds a
    range's."""

    usage: ByAccount[list[Any]]
    events: ByAccount[list[Event]]

    def read(self, _db: Database, low: str | None, high: str | None) -> _Range:
        return _Range(self.usage.within(low, high), self.events.within(low, high))


def aliases(db: Database, system: str) -> dict[str, str]:
    """Alias -> the account it names, of `system` ('' for every system)."""
    return dict(
        db.execute(
            "SELECT value, account_id FROM account_aliases WHERE :system = '' OR system = :system",
            {"system": system},
        ).fetchall()
    )


def aliases_of(db: Database, account_id: str, system: str) -> list[str]:
    """The account's aliases of `system` ('' for every system): the keys an events source may name it by."""
    return [
        row[0]
        for row in db.execute(
            "SELECT value FROM account_aliases WHERE account_id = :account AND (:system = '' OR system = :system)",
            {"account": account_id, "system": system},
        )
    ]


def customers_on(db: Database, day: date) -> list[str]:
    """The ids of the accounts that are customers on `day`."""
    return [
        row[0]
        for row in db.execute(f"SELECT id FROM accounts WHERE {CUSTOMERS_ON_DAY}", {"day": day.isoformat()})
    ]


def _read_range(
    db: Database, parameters: dict[str, str], since: str, as_of: date, low: str | None, high: str | None
) -> _Range:
    """Usage and signals of the accounts with ids from `low` up to, not including, `high` (None: no bound).

    SQLite computes each in one step and hands it back as one text (_USAGE_PACKED, _EVENTS_PACKED): Python's
    sqlite3 lets go of the GIL during a step, so a thread reading ranges this way runs beside the thread
    that scores them, where reading row by row would wait for the GIL at every row.
    """
    bounds = account_bounds(low, high)
    values = {**parameters, "low": low or "", "high": high or ""}
    packed = db.execute(_USAGE_PACKED.format(accounts=bounds), values).fetchone()[0]
    usage: dict[str, list[Any]] = json.loads(packed) if packed else {}
    return _Range(usage, read_events(db, since, values, bounds, as_of))


RANGE_ACCOUNTS = 1000
"""Accounts per range read at once: small enough that scoring starts soon after the reading does, large
enough that a range costs far more than its queries' overhead."""
READ_AHEAD = 8
"""Ranges read ahead of the one being scored: the reader keeps ahead, and the book is never all in memory."""

ACCOUNT_COLUMNS = "id, name, mrr, owner, segment, start_date, renewal_date, churned_on, contract_months"
"""The columns of `accounts` that facts are made of (`assemble_facts`), in its order."""
PAST_COLUMNS: Final = {"mrr": 2, "segment": 4, "renewal_date": 6, "contract_months": 8}
"""Where the fields of ACCOUNT_COLUMNS whose history is kept stand in its rows (`PastValues.row`)."""
CUSTOMERS_ON_DAY = "deleted_at IS NULL AND (start_date IS NULL OR start_date <= :day) AND (churned_on IS NULL OR churned_on > :day)"
"""The accounts that are customers on the day bound to `:day`: the book a scoring run scores."""


class RangesAhead(Generic[T]):
    """What `read(db, low, high)` gives for each range of `size` accounts of `ids` (in id order), read ahead
    of its use: given a `reader`, by a thread of its own through that store's connection for the thread,
    which must see what `db` sees (see BookFacts); else each when it is asked for. Ranges cover all ids,
    those between the given ones included, so that each is one index range. Close it to stop the thread."""

    def __init__(
        self,
        db: Database,
        ids: Sequence[str],
        read: Callable[[Database, str | None, str | None], T],
        *,
        reader: Store | None,
        size: int = RANGE_ACCOUNTS,
    ) -> None:
        starts = list(range(0, len(ids), size)) or [0]
        bounds = [None if start == 0 else ids[start] for start in starts] + [None]
        self._slices = deque(slice(start, start + size) for start in starts)
        self._bounds = deque(pairwise(bounds))
        self._db, self._read, self._reader = db, read, reader
        self._pool = (
            None
            if reader is None
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="cockpit-scoring-reader")
        )
        self._reads: deque[Callable[[], T]] = deque()
        try:
            while len(self._reads) < READ_AHEAD and self._bounds:
                self._read_next()
        except BaseException:  # an interrupt: nobody will close it
            self.close()
            raise

    def _read_next(self) -> None:
        low, high = self._bounds.popleft()
        reader, read = self._reader, self._read
        if self._pool is None or reader is None:
            self._reads.append(partial(read, self._db, low, high))
            return
        # reader.db in the pool's thread: that thread's own connection.
        self._reads.append(self._pool.submit(lambda: read(reader.db, low, high)).result)

    def __iter__(self) -> Iterator[tuple[slice, T]]:
        """(the range's slice of `ids`, what was read for it), range by range."""
        while self._reads:
            read, accounts = self._reads.popleft(), self._slices.popleft()
            if self._bounds:
                self._read_next()
            yield accounts, read()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _accounts_on(db: Database, day: date) -> list[Any]:
    """The rows (ACCOUNT_COLUMNS) of the accounts that are customers on `day`, by id, with the values whose
    history is kept as they stood that day."""
    past = PastValues(db, [day])
    return [
        past.row(row, PAST_COLUMNS, 0) if row[0] in past else row
        for row in db.execute(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {CUSTOMERS_ON_DAY} ORDER BY id",
            {"day": day.isoformat()},
        )
    ]


def _contract(row: Any) -> Contract:
    return Contract(_DAYS[row[5]], _DAYS[row[6]], row[8])


def contracts_on(db: Database, day: date) -> list[Contract]:
    """The contract of every account that is a customer on `day`, as it stood that day."""
    return [_contract(row) for row in _accounts_on(db, day)]


class BookFacts:
    """The facts of every account that was a customer on `as_of` (started by then, not churned before), in
    the order of their ids, read as they are iterated.

    The accounts (`book`) and the smaller tables are read up front; usage and signals range by range of
    account ids (`_read_range`), or, given `prefetched` (an events source's), taken from those. Given a `reader`, a thread of its own reads the ranges through that store's
    connection for the thread while the caller scores the ranges already read: that connection must see
    what `db` sees, so `db` must hold no uncommitted changes to the tables read (holding the write lock is
    what keeps other writers from changing them meanwhile). Use it as a context manager, which stops the
    thread.
    """

    def __init__(
        self,
        db: Database,
        as_of: date,
        windows: Windows,
        *,
        reader: Store | None = None,
        range_accounts: int = RANGE_ACCOUNTS,
        prefetched: Prefetched | None = None,
    ) -> None:
        self.as_of = as_of
        day = as_of.isoformat()
        self._accounts = _accounts_on(db, as_of)
        self.book = [(row[0], float(row[2] or 0)) for row in self._accounts]
        """(account id, MRR) of every account, in the order the facts come."""
        self.contracts = [_contract(row) for row in self._accounts]
        """Every account's contract as of the day, in the same order: what the book's norms are read from."""
        parameters = _usage_parameters(as_of, windows.adoption_days)
        since = signals_since(as_of, windows.events)
        self._catalogue = Catalogue(db)
        self._owned: dict[str, list[str]] = defaultdict(list)
        for account_id, product_id in db.execute(
            "SELECT account_id, product_id FROM entitlements "
            "WHERE started_on <= :day AND (ended_on IS NULL OR ended_on > :day) ORDER BY account_id, product_id",
            {"day": day},
        ):
            self._owned[account_id].append(product_id)
        self._touches = dict(
            db.execute(
                f"SELECT account_id, substr(max(occurred_at), 1, 10) FROM interactions WHERE {TOUCHES} "
                "AND occurred_at < :end "
                "GROUP BY account_id",
                {"touches": json_pairs(windows.csm_touches), "end": parameters["end"]},
            ).fetchall()
        )
        # Last: from here a thread reads ahead, which only closing the facts (or an error here) stops.
        self._ranges = RangesAhead(
            db,
            [row[0] for row in self._accounts],
            (lambda db, low, high: _read_range(db, parameters, since, as_of, low, high))
            if prefetched is None
            else (lambda db, low, high: prefetched.read(db, low, high)),
            reader=reader if prefetched is None else None,
            size=range_accounts,
        )

    def __iter__(self) -> Iterator[AccountFacts]:
        catalogue, owned, touches, as_of = self._catalogue, self._owned, self._touches, self.as_of
        for accounts, (usage, events) in self._ranges:
            for row in self._accounts[accounts]:
                account_id = row[0]
                yield assemble_facts(
                    as_of,
                    row,
                    catalogue.entitled(tuple(owned.get(account_id, ()))),
                    touches.get(account_id),
                    usage.get(account_id),
                    events.get(account_id),
                )

    def __enter__(self) -> BookFacts:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._ranges.close()


def assemble_facts(
    as_of: date,
    row: Sequence[Any],
    entitled: Entitled,
    touch: str | None,
    used: list[Any] | None,
    events: list[Event] | None,
) -> AccountFacts:
    """One account's facts from its row (ACCOUNT_COLUMNS), what its products entitle it to, the day of its
    last CSM touch, its usage (as `_Range.usage` holds it) and its events (oldest first; reversed here)."""
    account_id, name, mrr, owner, segment, start, renewal, churned, contract_months = row
    features = entitled.unused
    last_30 = prior_30 = 0
    last_use = None
    if used is not None:
        last_30, prior_30, last_use, by_feature = used
        features = tuple(
            [
                unused
                if (use := by_feature.get(unused.feature_id)) is None
                else FeatureUse(
                    unused.feature_id,
                    unused.feature_name,
                    unused.product_id,
                    use[0],
                    use[1],
                    _DAYS[use[2]],
                    _DAYS[use[3]],
                )
                for unused in entitled.unused
            ]
        )
    if events is not None:
        events.reverse()  # newest first
    return AccountFacts(
        account_id,
        name,
        as_of,
        float(mrr or 0),
        owner,
        segment,
        _DAYS[start],
        _DAYS[renewal],
        _DAYS[churned],
        features,
        entitled.products,
        last_30,
        prior_30,
        _DAYS[last_use],
        () if events is None else tuple(events),
        _DAYS[touch],
        entitled.complements,
        contract_months,
    )


def book_coverage(db: Database, as_of: date, window_days: int) -> BookCoverage:
    """Whether the book's usage, and its support tickets, cover the `window_days` up to the end of `as_of`:
    recorded since the window's first day or before (a book whose usage begins within the window cannot
    tell an account that did not use the product from one whose use was not recorded yet). Each stops at
    the first row found: usage in its primary key's order, tickets off `signals_kind_time`."""
    usage, tickets = db.execute(
        "SELECT EXISTS (SELECT 1 FROM usage_events WHERE occurred_at < :first_day_end), "
        "EXISTS (SELECT 1 FROM signals WHERE kind = 'support_ticket' AND occurred_at < :first_day_end)",
        {"first_day_end": _next_day(as_of - timedelta(days=window_days - 1))},
    ).fetchone()
    return BookCoverage(usage=bool(usage), tickets=bool(tickets))


def tickets_within(db: Database, as_of: date, days: int) -> int:
    """The support tickets of the accounts that are customers on `as_of`, dated from `days` days before it
    up to its end (ages 0 .. days)."""
    (count,) = db.execute(
        f"""
        SELECT count(*) FROM signals
        WHERE kind = 'support_ticket' AND occurred_at >= :since AND occurred_at < :end
            AND account_id IN (SELECT id FROM accounts WHERE {CUSTOMERS_ON_DAY})
        """,
        {
            "day": as_of.isoformat(),
            "since": (as_of - timedelta(days=days)).isoformat(),
            "end": _next_day(as_of),
        },
    ).fetchone()
    return int(count)


def account_facts(db: Database, as_of: date, windows: Windows) -> list[AccountFacts]:
    """The facts of every account that was a customer on `as_of`, read in this thread (see BookFacts)."""
    with BookFacts(db, as_of, windows) as book:
        return list(book)


class Entitled(NamedTuple):
    """What owning a set of products means, the same for every account that owns that set."""

    products: frozenset[str]
    unused: tuple[FeatureUse, ...]
    """Every feature of those products (in product, then feature id order), as if never used."""
    complements: tuple[Complement, ...]
    """Complementary products not owned, best first (by list price)."""


class Catalogue:
    """Products, their features and complements; what each set of owned products entitles to, worked out
    once per set (a book has many accounts and few distinct sets)."""

    def __init__(self, db: Database) -> None:
        self.names = {row[0]: row[1] for row in db.execute("SELECT id, name FROM products")}
        self.features_of: dict[str, list[FeatureUse]] = defaultdict(list)
        for feature_id, product_id, name in db.execute(
            "SELECT id, product_id, name FROM features ORDER BY id"
        ):
            self.features_of[product_id].append(FeatureUse(feature_id, name, product_id, 0, 0, None, None))
        self.complements_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for product_id, complement_id, reason in db.execute(
            "SELECT c.product_id, c.complement_id, c.reason FROM product_complements c "
            "JOIN products p ON p.id = c.complement_id ORDER BY coalesce(p.list_price, 0) DESC, c.complement_id"
        ):
            self.complements_of[product_id].append((complement_id, reason))
        self._entitled: dict[tuple[str, ...], Entitled] = {}

    def entitled(self, products: tuple[str, ...]) -> Entitled:
        """`products` in id order."""
        found = self._entitled.get(products)
        if found is None:
            owned = frozenset(products)
            complements: dict[str, Complement] = {}
            for product_id in products:
                for complement_id, reason in self.complements_of.get(product_id, []):
                    if complement_id not in owned and complement_id not in complements:
                        name = self.names.get(complement_id, complement_id)
                        complements[complement_id] = Complement(complement_id, name, product_id, reason)
            unused = tuple(use for product_id in products for use in self.features_of.get(product_id, []))
            found = self._entitled[products] = Entitled(owned, unused, tuple(complements.values()))
        return found


def start_score_run(db: Database, as_of: date, started_at: str, settings_json: str, terms_json: str) -> int:
    """A new score run; `terms_json`: the terms its explanations quote (`explain.encode_terms`), which its
    rows then leave out (`explain.RUN_TERMS`)."""
    cursor = db.execute(
        "INSERT INTO score_runs (as_of, started_at, settings, terms) VALUES (?, ?, ?, ?)",
        [as_of.isoformat(), started_at, settings_json, terms_json],
    )
    return int(cursor.lastrowid or 0)


SCORE_COLUMNS = (
    "run_id",
    "account_id",
    "as_of",
    "health",
    "health_band",
    "components",
    "adoption_status",
    "adoption_share",
    "churn_risk",
    "churn_tier",
    "value_tier",
    "priority",
    "cross_sell_ready",
    "cross_sell_product",
    "advocacy",
    "value",
    "stage",
    "explanation",
)


def stage_fields(db: Database) -> dict[str, tuple[str | None, str | None]]:
    """The account fields the lifecycle stage reads (the CRM's stage, the start date) of the accounts that
    have either: what a run stores each score's stage from (`book.stage_of`)."""
    return {
        row[0]: (row[1], row[2])
        for row in db.execute(
            "SELECT id, lifecycle_stage, start_date FROM accounts "
            "WHERE lifecycle_stage IS NOT NULL OR start_date IS NOT NULL"
        )
    }


INSERT_BATCH = 500
"""Rows per INSERT: few enough that a batch is soon made, many enough that SQLite runs long in each step
(and inserting a batch at a time runs faster than inserting each row as soon as Python has made it, the two
taking turns on the CPU's caches)."""


def insert_scores(
    db: Database, rows: Iterable[Sequence[Any]], *, beside: bool = False, batch: int = INSERT_BATCH
) -> int:
    """Store scores (rows in SCORE_COLUMNS order), taking them as they come; returns how many.

    Each batch of rows is one multi-row INSERT: one SQLite step, during which Python's sqlite3 lets go of
    the GIL. With `beside`, a thread of its own runs the steps while the caller makes the next batch; the
    caller must then leave `db` alone (not read through it) until this returns.

    The table's CHECK constraints are not evaluated for these rows: SQLite builds a small table for each
    IN-list constraint of each row, which would double the time of the insert, and the values come from the
    rules, whose tests hold a stored run to every constraint (`PRAGMA quick_check(scores)`).
    """
    width = len(SCORE_COLUMNS)
    size = max(1, min(batch, db.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    one = f"({', '.join('?' for _ in SCORE_COLUMNS)})"
    statements: dict[int, str] = {}

    def insert(rows_now: list[Sequence[Any]]) -> None:
        statement = statements.get(len(rows_now))
        if statement is None:
            statement = statements[len(rows_now)] = (
                f"INSERT INTO scores ({', '.join(SCORE_COLUMNS)}) VALUES {', '.join([one] * len(rows_now))}"
            )
        db.conn.execute(statement, [value for row in rows_now for value in row])

    stored = 0
    pending = iter(rows)
    db.execute("PRAGMA ignore_check_constraints = ON")
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cockpit-scores-writer") as writer:
            inserting: Future[None] | None = None
            while rows_now := list(islice(pending, size)):
                stored += len(rows_now)
                if not beside:
                    insert(rows_now)
                    continue
                if inserting is not None:
                    inserting.result()  # one batch in SQLite at a time, the next one waiting
                inserting = writer.submit(insert, rows_now)
            if inserting is not None:
                inserting.result()
    finally:
        db.execute("PRAGMA ignore_check_constraints = OFF")
    return stored


def finish_score_run(db: Database, run_id: int, finished_at: str, accounts: int) -> None:
    db.execute(
        "UPDATE score_runs SET finished_at = ?, accounts = ? WHERE id = ?", [finished_at, accounts, run_id]
    )
    record_unscored(db, run_id)


def latest_score(db: Database, account_id: str, as_of: date | None) -> dict[str, Any] | None:
    """The account's most recent stored score (of a run as of `as_of` or before): its explanation, with the
    run it came from."""
    row = db.execute(
        "SELECT s.run_id, s.as_of, s.explanation, (SELECT terms FROM score_runs WHERE id = s.run_id) "
        "FROM scores s WHERE s.account_id = ? AND s.as_of <= ? ORDER BY s.as_of DESC, s.run_id DESC LIMIT 1",
        [account_id, (as_of or date.max).isoformat()],
    ).fetchone()
    if row is None:
        return None
    # The scoring rules that word an explanation load when one is first read, not with the store: the
    # book and the Today screen paint before.
    from cockpit.scoring import explain

    return {
        "account_id": account_id,
        "run_id": row[0],
        "as_of": row[1],
        **explain.decode(row[2], run_terms=row[3]),
    }


def latest_scores(
    db: Database,
    account_ids: Iterable[str] | None = None,
    as_of: date | None = None,
    sections: Collection[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The stored scores of the latest finished run (as of `as_of` or before) for many accounts at once, by
    account id, each as `latest_score` gives it: the explanation with the run it came from. All the accounts
    the run scored, or those of `account_ids` it scored; {} before any run. Only the explanation's
    `sections` asked for (None: all), which costs less the fewer they are."""
    run = db.execute(
        "SELECT id, as_of, terms FROM score_runs WHERE finished_at IS NOT NULL AND as_of <= ? "
        "ORDER BY as_of DESC, id DESC LIMIT 1",
        [(as_of or date.max).isoformat()],
    ).fetchone()
    if run is None:
        return {}
    run_id, run_as_of, run_terms = run
    from cockpit.scoring import explain  # see latest_score

    sections = explain.SECTIONS if sections is None else sections
    if account_ids is None:
        rows = db.execute("SELECT account_id, explanation FROM scores WHERE run_id = ?", [run_id])
    else:
        rows = db.execute(
            "SELECT account_id, explanation FROM scores "
            "WHERE run_id = ? AND account_id IN (SELECT value FROM json_each(?))",
            [run_id, json.dumps(list(account_ids))],
        )
    return {
        account_id: {
            "account_id": account_id,
            "run_id": run_id,
            "as_of": run_as_of,
            **explain.decode(text, sections, run_terms),
        }
        for account_id, text in rows
    }


@dataclass(frozen=True)
class Merged:
    """A CRM merged the account into another (`merged_records`): it is marked deleted, its local data stays."""

    winner_id: str
    winner_name: str
    crm: str
    on: str
    """The day of the merge (as the CRM gave it: Salesforce's deletion, HubSpot's change of the winner)."""

    @property
    def text(self) -> str:
        """`merged into Acme in HubSpot on 2026-11-25`."""
        return f"merged into {self.winner_name} in {SYSTEM_NAMES.get(self.crm, self.crm)} on {self.on}"


@dataclass(frozen=True)
class AccountView:
    """What the account screen shows: the account, its latest explained score, and its health over time."""

    id: str
    name: str
    domain: str | None
    owner: str | None
    segment: str | None
    plan: str | None
    mrr: float
    renewal_date: str | None
    score: dict[str, Any] | None
    """The latest stored score's explanation (with run_id and as_of), or None if never scored."""
    health_history: list[tuple[str, float | None]]
    """(as_of, health) of every finished run that scored the account, oldest first."""
    contract_months: int | None = None
    churned_on: str | None = None
    lifecycle_stage: str | None = None
    """The CRM's stage, or the one read from the latest run's scores (`cockpit.scoring.lifecycle`)."""
    custom: dict[str, str] = field(default_factory=dict)
    """The account's custom fields (what its imports carried beyond cockpit's fields), by key."""
    deleted_on: str | None = None
    """The day a CRM deleted it (it is kept, out of the book)."""
    merged: Merged | None = None


def account_view(db: Database, account_id: str) -> AccountView | None:
    row = db.execute(
        "SELECT a.id, a.name, a.domain, a.owner, a.segment, a.plan, a.mrr, a.renewal_date, a.contract_months, "
        f"a.churned_on, {STAGE_SQL}, a.custom, a.deleted_at, m.winner_id, w.name, m.crm, m.merged_at "
        "FROM accounts a LEFT JOIN scores s ON s.account_id = a.id "
        "AND s.run_id = (SELECT id FROM score_runs WHERE finished_at IS NOT NULL ORDER BY as_of DESC, id DESC "
        "LIMIT 1) LEFT JOIN merged_records m ON m.tbl = 'accounts' AND m.local_id = a.id "
        "LEFT JOIN accounts w ON w.id = m.winner_id WHERE a.id = ?",
        [account_id],
    ).fetchone()
    if row is None:
        return None
    history = [
        (as_of, health)
        for run_id, as_of in db.execute(
            "SELECT id, as_of FROM score_runs WHERE finished_at IS NOT NULL ORDER BY as_of, id"
        ).fetchall()
        for _account_id, health in run_scores(db, run_id, ("health",), [account_id])
    ]
    (
        account_id_,
        name,
        domain,
        owner,
        segment,
        plan,
        mrr,
        renewal,
        contract_months,
        churned_on,
        stage,
        custom,
        deleted_at,
        winner_id,
        winner_name,
        merged_crm,
        merged_at,
    ) = row
    deleted_on = None if deleted_at is None else str(deleted_at)[:10]
    return AccountView(
        id=account_id_,
        name=name,
        domain=domain,
        owner=owner,
        segment=segment,
        plan=plan,
        mrr=float(mrr or 0),
        renewal_date=renewal,
        score=latest_score(db, account_id, None),
        health_history=history,
        contract_months=contract_months,
        churned_on=churned_on,
        lifecycle_stage=stage,
        custom={str(key): str(value) for key, value in json.loads(custom or "{}").items()},
        deleted_on=deleted_on,
        merged=None
        if winner_id is None or deleted_on is None  # live again: restored in the CRM since
        else Merged(winner_id, str(winner_name or winner_id), str(merged_crm), str(merged_at)[:10]),
    )
