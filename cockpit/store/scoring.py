"""The SQL side of scoring: the facts of every account as of a day, and the score runs kept over time.

Usage is read by one GROUP BY over `usage_events` (in its primary-key order, so SQLite needs no sort); the
smaller tables by one query each. Nothing here decides a score: `cockpit.scoring` does, without I/O.
As of a day means every row dated up to the end of that day and none after. Account fields that have no
history (MRR, owner, renewal date) are as they are now.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, get_args

from sqlite_utils import Database

from cockpit.domain.records import SignalKindName
from cockpit.scoring.facts import AccountFacts, Complement, Event, FeatureUse

EVENT_KINDS = tuple(kind for kind in get_args(SignalKindName) if kind != "login")
"""The signals scoring reads (logins are not scored: usage says more)."""
CSM_TOUCH = "kind IN ('call', 'meeting', 'qbr') OR (kind = 'email' AND direction = 'outbound')"


@dataclass(frozen=True)
class Windows:
    """The look-back windows scoring needs, in days before as_of."""

    adoption_days: int
    lookback_days: int
    """The longest of the churn horizon and the survey, email and advocacy windows."""


_DAYS: dict[str, date] = {}


def _day(text: str | None) -> date | None:
    """The day of a stored date or timestamp. Parsed once per distinct day: a book has few, and scoring
    reads millions of them."""
    if not text:
        return None
    key = text[:10]
    found = _DAYS.get(key)
    if found is None:
        found = _DAYS[key] = date.fromisoformat(key)
    return found


def _next_day(as_of: date) -> str:
    """The exclusive upper bound for text dates and timestamps of `as_of`."""
    return (as_of + timedelta(days=1)).isoformat()


def usage_by_feature(db: Database, as_of: date, adoption_days: int) -> Iterator[tuple[Any, ...]]:
    """Per account and feature: active days and users in the adoption window, first and last use, and
    usage in the last 30 days and the 30 before. The one pass over the big table that scoring makes."""
    window = (as_of - timedelta(days=adoption_days - 1)).isoformat()
    last30 = (as_of - timedelta(days=29)).isoformat()
    prior30 = (as_of - timedelta(days=59)).isoformat()
    return iter(
        db.execute(
            """
            SELECT account_id, feature_id,
                count(DISTINCT CASE WHEN occurred_at >= :window THEN substr(occurred_at, 1, 10) END),
                count(DISTINCT CASE WHEN occurred_at >= :window THEN nullif(contact_id, '') END),
                min(occurred_at), max(occurred_at),
                sum(CASE WHEN occurred_at >= :last30 THEN count ELSE 0 END),
                sum(CASE WHEN occurred_at >= :prior30 AND occurred_at < :last30 THEN count ELSE 0 END)
            FROM usage_events
            WHERE occurred_at < :end
            GROUP BY account_id, feature_id
            """,
            {"window": window, "last30": last30, "prior30": prior30, "end": _next_day(as_of)},
        )
    )


def account_facts(db: Database, as_of: date, windows: Windows) -> list[AccountFacts]:
    """The facts of every account that was a customer on `as_of` (started by then, not churned before)."""
    end = _next_day(as_of)
    day = as_of.isoformat()
    accounts = db.execute(
        """
        SELECT id, name, mrr, owner, segment, start_date, renewal_date, churned_on FROM accounts
        WHERE deleted_at IS NULL AND (start_date IS NULL OR start_date <= :day)
            AND (churned_on IS NULL OR churned_on > :day)
        ORDER BY id
        """,
        {"day": day},
    ).fetchall()

    products = {row[0]: row[1] for row in db.execute("SELECT id, name FROM products")}
    owned: dict[str, set[str]] = defaultdict(set)
    for account_id, product_id in db.execute(
        "SELECT account_id, product_id FROM entitlements WHERE started_on <= :day AND (ended_on IS NULL OR ended_on > :day)",
        {"day": day},
    ):
        owned[account_id].add(product_id)
    features_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
    # A feature never used by an account looks the same in every account: one shared (immutable) record.
    unused: dict[str, FeatureUse] = {}
    for feature_id, product_id, name in db.execute("SELECT id, product_id, name FROM features ORDER BY id"):
        features_of[product_id].append((feature_id, name))
        unused[feature_id] = FeatureUse(feature_id, name, product_id, 0, 0, None, None)
    complements_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for product_id, complement_id, reason in db.execute(
        "SELECT c.product_id, c.complement_id, c.reason FROM product_complements c "
        "JOIN products p ON p.id = c.complement_id ORDER BY coalesce(p.list_price, 0) DESC, c.complement_id"
    ):
        complements_of[product_id].append((complement_id, reason))

    usage: dict[str, dict[str, tuple[Any, ...]]] = defaultdict(dict)
    for row in usage_by_feature(db, as_of, windows.adoption_days):
        usage[row[0]][row[1]] = row[2:]

    events: dict[str, list[Event]] = defaultdict(list)
    since = (as_of - timedelta(days=windows.lookback_days)).isoformat()
    marks = ", ".join("?" for _ in EVENT_KINDS)
    for account_id, kind, occurred_at, value, detail, ref in db.execute(
        "SELECT account_id, kind, occurred_at, value, "
        "coalesce(json_extract(payload, '$.subject'), json_extract(payload, '$.comment')), "
        "coalesce(json_extract(payload, '$.message_id'), nullif(source_id, '')) "
        f"FROM signals WHERE occurred_at >= ? AND occurred_at < ? AND kind IN ({marks}) "
        "ORDER BY account_id, occurred_at",  # the index's order: no sort
        [since, end, *EVENT_KINDS],
    ):
        events[account_id].append(Event(kind, _day(occurred_at) or as_of, value, detail, ref))
    for listed in events.values():
        listed.reverse()  # newest first

    touches = dict(
        db.execute(
            f"SELECT account_id, max(occurred_at) FROM interactions WHERE ({CSM_TOUCH}) AND occurred_at < ? "
            "GROUP BY account_id",
            [end],
        ).fetchall()
    )

    facts = []
    for account_id, name, mrr, owner, segment, start, renewal, churned in accounts:
        mine = owned.get(account_id, set())
        used = usage.get(account_id, {})
        feature_uses = []
        for product_id in sorted(mine):
            for feature_id, feature_name in features_of.get(product_id, []):
                use = used.get(feature_id)
                if use is None:
                    feature_uses.append(unused[feature_id])
                    continue
                days, users, first, last, _last30, _prior30 = use
                feature_uses.append(
                    FeatureUse(feature_id, feature_name, product_id, days, users, _day(first), _day(last))
                )
        last_uses = [row[3] for row in used.values() if row[3]]
        facts.append(
            AccountFacts(
                account_id=account_id,
                name=name,
                as_of=as_of,
                mrr=float(mrr or 0),
                owner=owner,
                segment=segment,
                start_date=_day(start),
                renewal_date=_day(renewal),
                churned_on=_day(churned),
                features=tuple(feature_uses),
                owned_products=frozenset(mine),
                usage_last_30=sum(row[4] or 0 for row in used.values()),
                usage_prior_30=sum(row[5] or 0 for row in used.values()),
                last_usage=_day(max(last_uses)) if last_uses else None,
                events=tuple(events.get(account_id, ())),
                last_csm_touch=_day(touches.get(account_id)),
                complements=_complements(mine, complements_of, products),
            )
        )
    return facts


def _complements(
    owned: set[str], complements_of: dict[str, list[tuple[str, str]]], products: dict[str, str]
) -> tuple[Complement, ...]:
    found: dict[str, Complement] = {}
    for product_id in sorted(owned):
        for complement_id, reason in complements_of.get(product_id, []):
            if complement_id not in owned and complement_id not in found:
                found[complement_id] = Complement(
                    complement_id, products.get(complement_id, complement_id), product_id, reason
                )
    return tuple(found.values())


def start_score_run(db: Database, as_of: date, started_at: str, settings_json: str) -> int:
    cursor = db.execute(
        "INSERT INTO score_runs (as_of, started_at, settings) VALUES (?, ?, ?)",
        [as_of.isoformat(), started_at, settings_json],
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
    "clv",
    "clv_low",
    "clv_high",
    "explanation",
)


def write_scores(db: Database, run_id: int, rows: Sequence[Sequence[Any]], finished_at: str) -> None:
    """Store one run's scores (rows in SCORE_COLUMNS order, without run_id) and close the run."""
    marks = ", ".join("?" for _ in SCORE_COLUMNS)
    db.conn.executemany(
        f"INSERT INTO scores ({', '.join(SCORE_COLUMNS)}) VALUES ({marks})", [(run_id, *row) for row in rows]
    )
    db.execute(
        "UPDATE score_runs SET finished_at = ?, accounts = ? WHERE id = ?", [finished_at, len(rows), run_id]
    )


def latest_score(db: Database, account_id: str, as_of: date | None) -> dict[str, Any] | None:
    """The account's most recent stored score (of a run as of `as_of` or before): its explanation, with the
    run it came from."""
    row = db.execute(
        "SELECT s.run_id, s.as_of, s.explanation FROM scores s WHERE s.account_id = ? AND s.as_of <= ? "
        "ORDER BY s.as_of DESC, s.run_id DESC LIMIT 1",
        [account_id, (as_of or date.max).isoformat()],
    ).fetchone()
    if row is None:
        return None
    explanation: dict[str, Any] = json.loads(row[2])
    return {"account_id": account_id, "run_id": row[0], "as_of": row[1], **explanation}


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


def account_view(db: Database, account_id: str) -> AccountView | None:
    row = db.execute(
        "SELECT id, name, domain, owner, segment, plan, mrr, renewal_date FROM accounts WHERE id = ?",
        [account_id],
    ).fetchone()
    if row is None:
        return None
    history = db.execute(
        "SELECT r.as_of, s.health FROM scores s JOIN score_runs r ON r.id = s.run_id "
        "WHERE s.account_id = ? AND r.finished_at IS NOT NULL ORDER BY r.as_of, r.id",
        [account_id],
    ).fetchall()
    account_id_, name, domain, owner, segment, plan, mrr, renewal = row
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
        health_history=[(as_of, health) for as_of, health in history],
    )
