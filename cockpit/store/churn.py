"""The SQL side of the learned churn model: the book's facts as of many past days in one pass
(`SnapshotFacts`), what the model reads of an account besides its facts (`account_traits`), and the fitted
models (`churn_models`).
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from math import gcd
from typing import Any, Final, NamedTuple

from sqlite_utils import Database

from cockpit.scoring.common import RECENT_DAYS
from cockpit.scoring.facts import AccountFacts, Event
from cockpit.scoring.learned import AccountTraits
from cockpit.store.db import Store
from cockpit.store.history import PastValues
from cockpit.store.scoring import (
    ACCOUNT_COLUMNS,
    PAST_COLUMNS,
    RANGE_ACCOUNTS,
    TOUCHES,
    ByAccount,
    Catalogue,
    RangesAhead,
    Windows,
    account_bounds,
    assemble_facts,
    json_pairs,
    read_events,
    signals_since,
)


def account_traits(db: Database, as_of: date) -> dict[str, AccountTraits]:
    """Plan and seats of every account, as they stood at the end of `as_of` (`PastValues`)."""
    past = PastValues(db, [as_of])
    columns = {"plan": 1, "seats": 2}
    return {
        row[0]: AccountTraits(*(past.row(row, columns, 0) if row[0] in past else row)[1:])
        for row in db.execute("SELECT id, plan, seats FROM accounts WHERE deleted_at IS NULL")
    }


class History(NamedTuple):
    """The days the book holds activity (uses, signals) over; without any, from its first account's start."""

    first: date | None
    last: date | None


def history(db: Database, spans: Sequence[tuple[str | None, str | None]] | None = None) -> History:
    """`spans`: the (first, last) times of the usage events and of the signals when they are not the
    store's own (an events source's); else read from its tables."""
    if spans is None:
        spans = [
            db.execute(f"SELECT min(occurred_at), max(occurred_at) FROM {table}").fetchone()
            for table in ("usage_events", "signals")
        ]
    firsts = [date.fromisoformat(first[:10]) for first, _ in spans if first]
    lasts = [date.fromisoformat(last[:10]) for _, last in spans if last]
    if firsts:
        return History(min(firsts), max(lasts))
    start = db.execute(
        "SELECT min(start_date) FROM accounts WHERE deleted_at IS NULL AND start_date != ''"
    ).fetchone()[0]
    return History(date.fromisoformat(start[:10]) if start else None, None)


def churned_accounts(db: Database) -> int:
    return int(
        db.execute(
            "SELECT count(*) FROM accounts WHERE deleted_at IS NULL AND churned_on IS NOT NULL"
        ).fetchone()[0]
    )


_USAGE_BUCKETS = """
    SELECT json_group_array(json_array(account_id, feature_id, bucket, uses, days, json(users), first_day, last_day))
    FROM (
        SELECT account_id, feature_id,
            min(:cap, CAST(julianday(:newest) - julianday(substr(occurred_at, 1, 10)) AS INTEGER) / :width)
                AS bucket,
            sum(count) AS uses, count(DISTINCT substr(occurred_at, 1, 10)) AS days, {users} AS users,
            substr(min(occurred_at), 1, 10) AS first_day, substr(max(occurred_at), 1, 10) AS last_day
        FROM usage_events WHERE occurred_at < :end {accounts}
        GROUP BY account_id, feature_id, bucket
    )
"""
"""Usage of a range of accounts per account, feature and bucket of `width` days back from the newest day (0:
the newest `width` days), bucket `cap` holding everything older: uses, distinct days and users (a count, or
the distinct contacts where a window spans buckets), first and last day of use."""


_TRAITS: Final = len(ACCOUNT_COLUMNS.split(","))
"""Where an account's traits (plan, seats) start in the rows `SnapshotFacts` reads: after ACCOUNT_COLUMNS."""
_PAST_COLUMNS: Final = {**PAST_COLUMNS, "plan": _TRAITS, "seats": _TRAITS + 1}


class _Bucket(NamedTuple):
    uses: int
    days: int
    users: Any
    """A count, or a list of contact ids (with None for uses without one)."""
    first: str
    last: str


class _FeatureUse(NamedTuple):
    """One feature's buckets, newest first, by their index."""

    indexes: list[int]
    buckets: dict[int, _Bucket]


class Snapshot(NamedTuple):
    day: int
    """Its day's index into the days, newest first."""
    facts: AccountFacts
    traits: AccountTraits


class BucketPlan(NamedTuple):
    """How `SnapshotFacts` sums usage for snapshot days: in buckets of `width` days back from the newest day,
    bucket `cap` holding every older day, users as their ids when a window spans buckets (else a count)."""

    step: int
    width: int
    cap: int
    user_ids: bool


def bucket_plan(days: Sequence[date], adoption_days: int) -> BucketPlan:
    """The buckets for snapshot `days` (newest first, evenly spaced)."""
    if not days:
        raise ValueError("no snapshot days")
    steps = {(newer - older).days for newer, older in pairwise(days)}
    if len(steps) > 1 or min(steps, default=1) <= 0:
        raise ValueError("snapshot days must be evenly spaced, newest first")
    step = steps.pop() if steps else RECENT_DAYS
    width = gcd(gcd(step, RECENT_DAYS), adoption_days)
    cap = (len(days) - 1) * step // width + max(2 * RECENT_DAYS, adoption_days) // width
    return BucketPlan(step, width, cap, width != adoption_days)


class PrefetchedBuckets(NamedTuple):
    """The usage buckets (rows as `_USAGE_BUCKETS` gives them) and the signals of the whole book, by account
    id, computed by an events source."""

    usage: ByAccount[list[list[Any]]]
    events: ByAccount[list[Event]]

    def rows(self, low: str | None, high: str | None) -> tuple[list[Any], dict[str, list[Event]]]:
        """What `SnapshotFacts` reads of the accounts from `low` up to, not including, `high`."""
        return [row for rows in self.usage.within(low, high).values() for row in rows], self.events.within(
            low, high
        )


class SnapshotFacts:
    """The facts of the accounts as of each of `days` (newest first, evenly spaced), as `BookFacts` gives them
    as of each day, with their traits as of each day too: account by account in id order, each with the days
    it was a customer on (started by then, not churned), newest first. The fields whose history is kept
    (MRR, renewal date, contract term, plan, segment, seats) are as they stood on each day (`PastValues`).

    One pass over `usage_events` for all the days (`_USAGE_BUCKETS`), where `BookFacts` would make one per
    day: usage is summed in buckets whose width (the greatest common divisor of the spacing, 30 and the
    adoption window) makes every day's windows whole buckets. The signals are read once from the oldest day's
    windows on, the entitlements and CSM touches once with their dates, and each day takes its own.
    Range by range of account ids like `BookFacts` (and, given a `reader`, read ahead in a thread of its own:
    see `RangesAhead`), or from the `prefetched` buckets and signals of an events source; use it as a context
    manager.
    """

    def __init__(
        self,
        db: Database,
        days: Sequence[date],
        windows: Windows,
        *,
        reader: Store | None = None,
        range_accounts: int = RANGE_ACCOUNTS,
        prefetched: PrefetchedBuckets | None = None,
    ) -> None:
        plan = bucket_plan(days, windows.adoption_days)
        width, cap = plan.width, plan.cap
        self.days = list(days)
        self._texts = [day.isoformat() for day in days]
        adoption = windows.adoption_days
        self._offsets = [index * plan.step // width for index in range(len(days))]
        self._recent, self._adoption = RECENT_DAYS // width, adoption // width
        newest, oldest = self._texts[0], self._texts[-1]
        end = date.fromordinal(days[0].toordinal() + 1).isoformat()
        self._since = {
            kind: [date.fromordinal(day.toordinal() - window + 1) for day in days]
            for kind, window in windows.events.items()
        }
        self._past = PastValues(db, days)
        self._accounts = db.execute(
            f"""
            SELECT {ACCOUNT_COLUMNS}, plan, seats FROM accounts
            WHERE deleted_at IS NULL AND (start_date IS NULL OR start_date <= :newest)
                AND (churned_on IS NULL OR churned_on > :oldest)
            ORDER BY id
            """,
            {"newest": newest, "oldest": oldest},
        ).fetchall()
        usage = _USAGE_BUCKETS.format(
            users="json_group_array(DISTINCT nullif(contact_id, ''))"
            if plan.user_ids
            else "count(DISTINCT nullif(contact_id, ''))",
            accounts="{accounts}",
        )
        parameters: dict[str, Any] = {"newest": newest, "end": end, "cap": cap, "width": width}
        since = signals_since(days[-1], windows.events)

        def read(db: Database, low: str | None, high: str | None) -> tuple[list[Any], dict[str, list[Event]]]:
            if prefetched is not None:
                return prefetched.rows(low, high)
            bounds = account_bounds(low, high)
            values = {**parameters, "low": low or "", "high": high or ""}
            packed = db.execute(usage.format(accounts=bounds), values).fetchone()[0]
            return (json.loads(packed) if packed else []), read_events(db, since, values, bounds, days[0])

        self._catalogue = Catalogue(db)
        self._entitlements: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
        for account_id, product_id, started, ended in db.execute(
            "SELECT account_id, product_id, started_on, ended_on FROM entitlements WHERE started_on <= :newest "
            "ORDER BY account_id, product_id",
            {"newest": newest},
        ):
            self._entitlements[account_id].append((product_id, started, ended))
        self._touches: dict[str, list[str]] = defaultdict(list)
        for account_id, day in db.execute(
            f"SELECT account_id, substr(occurred_at, 1, 10) AS day FROM interactions WHERE {TOUCHES} "
            "AND occurred_at < :end GROUP BY account_id, day ORDER BY account_id, day",
            {"touches": json_pairs(windows.csm_touches), "end": end},
        ):
            self._touches[account_id].append(day)
        # Last: from here a thread reads ahead, which only closing the snapshots (or an error here) stops.
        self._ranges = RangesAhead(
            db,
            [row[0] for row in self._accounts],
            read,
            reader=reader if prefetched is None else None,
            size=range_accounts,
        )

    def __enter__(self) -> SnapshotFacts:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._ranges.close()

    def __iter__(self) -> Iterator[Snapshot]:
        texts, days, past = self._texts, self.days, self._past
        for accounts, (usage_rows, events) in self._ranges:
            usage = _by_account(usage_rows)
            for now in self._accounts[accounts]:
                account_id, start, churned = now[0], now[5], now[7]
                row, traits = now, AccountTraits(*now[_TRAITS:])
                changed = account_id in past
                features = usage.get(account_id, {})
                account_events = events.get(account_id, [])
                entitlements = self._entitlements.get(account_id, [])
                touches = self._touches.get(account_id, [])
                for index, text in enumerate(texts):
                    if (start is not None and start > text) or (churned is not None and churned <= text):
                        continue
                    owned = tuple(
                        product
                        for product, started, ended in entitlements
                        if started <= text and (ended is None or ended > text)
                    )
                    touched = bisect_right(touches, text)
                    if changed:
                        row = past.row(now, _PAST_COLUMNS, index)
                        traits = AccountTraits(*row[_TRAITS:])
                    yield Snapshot(
                        index,
                        assemble_facts(
                            days[index],
                            row[:_TRAITS],
                            self._catalogue.entitled(owned),
                            touches[touched - 1] if touched else None,
                            self._usage(features, self._offsets[index]),
                            self._events(account_events, index),
                        ),
                        traits,
                    )

    def _events(self, events: list[Event], index: int) -> list[Event] | None:
        """The events as of the day of `index`, oldest first, as `BookFacts` reads them."""
        day, since = self.days[index], self._since
        kept = [
            event
            for event in events
            if event.on <= day and (first := since.get(event.kind)) and event.on >= first[index]
        ]
        return kept or None

    def _usage(self, features: dict[str, _FeatureUse], offset: int) -> list[Any] | None:
        """The usage as of the day whose newest bucket is `offset`, as `_Range.usage` holds it: [usage in the
        last 30 days, in the 30 before, last use, {feature id: [active days, active users, first, last use]}]
        (None when never used by then)."""
        recent, adoption = self._recent, self._adoption
        last_30 = prior_30 = 0
        last_use = ""
        by_feature: dict[str, list[Any]] = {}
        for feature_id, (indexes, buckets) in features.items():
            at = bisect_left(indexes, offset)
            if at == len(indexes):
                continue  # not used by then
            last = buckets[indexes[at]].last
            last_use = max(last_use, last)
            days = users = 0
            contacts: set[str] = set()
            for index in indexes[at:]:
                bucket = buckets[index]
                age = index - offset
                if age < recent:
                    last_30 += bucket.uses
                elif age < 2 * recent:
                    prior_30 += bucket.uses
                if age < adoption:
                    days += bucket.days
                    if isinstance(bucket.users, list):
                        contacts.update(user for user in bucket.users if user is not None)
                    else:
                        users = bucket.users
                elif age >= 2 * recent:
                    break
            by_feature[feature_id] = [days, len(contacts) or users, buckets[indexes[-1]].first, last]
        if not by_feature:
            return None
        return [last_30, prior_30, last_use, by_feature]


def _by_account(rows: list[Any]) -> dict[str, dict[str, _FeatureUse]]:
    found: dict[str, dict[str, _FeatureUse]] = defaultdict(dict)
    for account_id, feature_id, index, uses, days, users, first, last in rows:
        feature = found[account_id].get(feature_id)
        if feature is None:
            feature = found[account_id][feature_id] = _FeatureUse([], {})
        feature.indexes.append(index)
        feature.buckets[index] = _Bucket(uses, days, users, first, last)
    for features in found.values():
        for feature in features.values():
            feature.indexes.sort()
    return found


@dataclass(frozen=True)
class ChurnModelRun:
    """A stored fit of the learned churn model (`cockpit churn fit`)."""

    id: int
    as_of: str
    horizon_days: int
    fitted_at: str
    snapshots: int
    accounts: int
    churned: int
    model: dict[str, Any]
    metrics: dict[str, Any]
    settings: dict[str, Any]


def save_churn_model(
    db: Database,
    *,
    as_of: date,
    horizon_days: int,
    fitted_at: str,
    snapshots: int,
    accounts: int,
    churned: int,
    model: dict[str, Any],
    metrics: dict[str, Any],
    settings: dict[str, Any],
) -> int:
    cursor = db.execute(
        "INSERT INTO churn_models (as_of, horizon_days, fitted_at, snapshots, accounts, churned, model, metrics, "
        "settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            as_of.isoformat(),
            horizon_days,
            fitted_at,
            snapshots,
            accounts,
            churned,
            json.dumps(model),
            json.dumps(metrics),
            json.dumps(settings),
        ],
    )
    return int(cursor.lastrowid or 0)


def latest_churn_model(db: Database) -> ChurnModelRun | None:
    """The model fitted last (a fit as of an earlier day, made later, replaces it)."""
    row = db.execute(
        "SELECT id, as_of, horizon_days, fitted_at, snapshots, accounts, churned, model, metrics, settings "
        "FROM churn_models ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return ChurnModelRun(
        id=row[0],
        as_of=row[1],
        horizon_days=row[2],
        fitted_at=row[3],
        snapshots=row[4],
        accounts=row[5],
        churned=row[6],
        model=json.loads(row[7]),
        metrics=json.loads(row[8]),
        settings=json.loads(row[9]),
    )
