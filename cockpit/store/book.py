"""Paged reads of the book (the accounts list): the only way the TUI reads accounts in bulk.

Every read is a bounded page over an indexed order, so the cost of showing the book does not grow with its
size: sequential reads page by the row seen last (`fetch_book_after`, keyset paging: each page a seek into
the index) or first (`fetch_book_before`, which also reads the book's last page, for End), and only jumps far
from any page read go by offset (`fetch_book_after` with an `offset`, whose page's cursors lead on from
it), from the nearest of the marks one walk of the book found (`book_marks`), so that few rows are skipped. Migration 0021 gives each order an index that walks it exactly, and the default views' filter columns
to the name's, so no read sorts a large tie group or fetches account rows only to filter them. Sort keys are a fixed list mapped to SQL here, never
interpolated from input.
Scores come from the latest finished score run, and the health a month earlier from the latest run at
least 30 days before it (kept compact, most likely: `store/compact_scores.py`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Collection, Generator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal
from weakref import WeakKeyDictionary

if TYPE_CHECKING:  # for the annotations only: the command line reads SORT_KEYS without sqlite-utils
    import sqlite3

    from sqlite_utils import Database

from cockpit.scoring.lifecycle import ADOPTED, ONBOARDING_DAYS, STAGES, lifecycle_stage
from cockpit.scoring.order import ADOPTION_ORDER, CHURN_TIER_ORDER, VALUE_TIER_ORDER
from cockpit.store.compact_scores import run_scores

SortKey = Literal[
    "name",
    "owner",
    "plan",
    "mrr",
    "renewal_date",
    "health",
    "churn",
    "value",
    "priority",
    "adoption",
    "cross_sell",
    "clv",
    "stage",
]


def _rank(column: str, *orders: Sequence[str]) -> str:
    """`CASE column WHEN ... END`: each value's place in its order (`cockpit.scoring.order`). Orders of one
    length share the CASE: the churn and the value tiers rank alike, so one CASE serves both."""
    ranks = {value: rank for rank, values in enumerate(zip(*orders, strict=True)) for value in values}
    whens = " ".join(f"WHEN '{value}' THEN {rank}" for value, rank in ranks.items())
    return f"CASE {column} {whens} END"


def _tier_rank(column: str) -> str:
    return _rank(column, CHURN_TIER_ORDER, VALUE_TIER_ORDER)


def _quoted(values: Sequence[str]) -> str:
    """SQL's list of the values, without a ", ": `_terms` splits an ORDER BY there."""
    return ",".join(f"'{value}'" for value in values)


STAGE_SQL = (
    f"CASE WHEN lower(trim(a.lifecycle_stage)) IN ({_quoted(STAGES)}) THEN lower(trim(a.lifecycle_stage)) "
    "WHEN s.account_id IS NULL THEN a.lifecycle_stage "
    f"WHEN julianday(s.as_of) - julianday(a.start_date) < {ONBOARDING_DAYS} THEN 'onboarding' "
    "WHEN s.advocacy = 'lover' THEN 'advocacy' WHEN s.cross_sell_ready THEN 'expansion' "
    f"WHEN s.adoption_status IN ({_quoted(ADOPTED)}) THEN 'retention' ELSE 'adoption' END"
)
"""The lifecycle stage (`cockpit.scoring.lifecycle`) of the account `a` with its score `s` of the run (a LEFT
JOIN): the rule written out in SQL, to filter and sort by while a run's stored stages are not all right
(`_stages_stored`); tests/test_lifecycle.py holds it to the rule."""
STORED_STAGE_SQL = f"coalesce(s.stage, {STAGE_SQL})"
"""The stage as stored with the score (migration 0036), or the CRM's for an account the run did not score."""
_STORED_STAGE_RANK = _rank("s.stage", STAGES)
"""The stored stage's rank, as migration 0036 indexes it (tests/test_lifecycle.py holds the two together)."""


# Each sort key and its ORDER BY; ties fall back to the name, then the id. The account columns walk their
# indexes. A score sorts by an expression that migration 0008 indexes per run together with the value that
# ranked the account and its id (SQLite uses such an index only for the very same expression, so the rules
# of `cockpit.scoring.order` stay written out in SQL there, and tests/test_book_order.py holds the two to
# the rules): scored accounts tie by value, biggest first, and a descending sort is the ascending one
# reversed. Unscored accounts come last either way, by the key's own tie-breakers.
_ACCOUNT_ORDER: dict[str, str] = {
    "name": "a.name COLLATE NOCASE {dir}, a.id",
    "owner": "a.owner COLLATE NOCASE {dir}, a.name COLLATE NOCASE, a.id",
    "plan": "a.plan COLLATE NOCASE {dir}, a.name COLLATE NOCASE, a.id",
    "mrr": "a.mrr {dir}, a.name COLLATE NOCASE, a.id",
    "renewal_date": "a.renewal_date {dir} NULLS LAST, a.name COLLATE NOCASE, a.id",
}
_BY_NAME = "a.name COLLATE NOCASE, a.id"
_BY_MRR = "a.mrr DESC, a.id"
# The sort keys read from another run than the scores': lifetime value, from the latest CLV run, by the
# (run_id, clv) index of migration 0003.
_CLV_ORDER = {"clv": ("c.clv", _BY_NAME)}
_SCORE_ORDER: dict[str, tuple[str, str]] = {
    "health": ("s.health", _BY_NAME),
    "churn": ("s.churn_risk", _BY_NAME),
    "value": (_tier_rank("s.value_tier"), _BY_MRR),
    "priority": (
        f"{_tier_rank('s.churn_tier')} * {len(VALUE_TIER_ORDER)} + {_tier_rank('s.value_tier')}",
        _BY_MRR,
    ),
    "adoption": (_rank("s.adoption_status", ADOPTION_ORDER), _BY_NAME),
    "cross_sell": ("s.cross_sell_ready", _BY_MRR),
    "stage": (_STORED_STAGE_RANK, _BY_NAME),
}
_COMPUTED_STAGE_ORDER = (_rank(f"({STAGE_SQL})", STAGES), _BY_NAME)
"""The stage order while the stored stages are not all right: computed for every account (no index)."""
SORT_KEYS: tuple[SortKey, ...] = (
    "name", "owner", "plan", "mrr", "renewal_date", "health", "churn", "value", "priority", "adoption", "cross_sell",
    "clv", "stage",
)  # fmt: skip
RANKED_FROM_THE_TOP: frozenset[SortKey] = frozenset({"value", "priority", "adoption"})
"""The sort keys whose ranks (`cockpit.scoring.order`) put the top first: their ascending order reads from the
highest tier (the most pressing priority, the most adopted) down, the way the others read descending."""


@dataclass(frozen=True)
class BookRow:
    id: str
    name: str
    owner: str | None
    plan: str | None
    mrr: float
    renewal_date: str | None
    health: float | None = None
    health_band: str | None = None
    health_evidence: int | None = None
    """The health components present (of seven); a band of "insufficient" had fewer than it needed."""
    health_month_before: float | None = None
    churn_tier: str | None = None
    value_tier: str | None = None
    priority: str | None = None
    adoption_status: str | None = None
    cross_sell_ready: bool | None = None
    clv: float | None = None
    """Expected lifetime value from the latest `cockpit clv fit`, with its interval and LTV:CAC."""
    clv_low: float | None = None
    clv_high: float | None = None
    ltv_cac: float | None = None
    churned_on: str | None = None
    churn_risk: float | None = None
    churn_model: str | None = None
    """Which churn model gave the risk: "rules" or "learned"."""
    advocacy: str | None = None
    lifecycle_stage: str | None = None
    """The CRM's stage, or the one read from the scores (`cockpit.scoring.lifecycle`)."""


@dataclass(frozen=True)
class BookFilter:
    """Which accounts a view shows; each field given narrows the book (a saved view of `[[ui.views]]`)."""

    owner: str | None = None
    segments: tuple[str, ...] = ()
    churn_tiers: tuple[str, ...] = ()
    value_tiers: tuple[str, ...] = ()
    health_bands: tuple[str, ...] = ()
    advocacy: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    """Lifecycle stages (`cockpit.scoring.lifecycle.STAGES`)."""
    cross_sell_ready: bool | None = None
    renewal_between: tuple[str, str] | None = None
    """First and last day (ISO) of the renewal window."""
    customers_on: str | None = None
    """Only accounts that were customers on this day (ISO): started by then and not churned before it."""
    custom: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(key, values): only accounts whose custom field `key` is one of `values` (ignoring case)."""

    @property
    def needs_scores(self) -> bool:
        return bool(
            self.churn_tiers or self.value_tiers or self.health_bands or self.advocacy or self.stages
        ) or (self.cross_sell_ready is not None)


@dataclass(frozen=True)
class BookQuery:
    """What part of the book to show, in what order."""

    sort: SortKey = "name"
    descending: bool = False
    search: str = ""
    """Case-insensitive text matched anywhere in the account's name or domain."""
    filter: BookFilter = BookFilter()


def _where(query: BookQuery, stage: str) -> tuple[str, list[Any]]:
    """The WHERE of the query, `stage` the stage's SQL (`_stage_sql`)."""
    clauses = ["a.deleted_at IS NULL"]
    params: list[Any] = []
    if query.search.strip():
        pattern = (
            "%" + query.search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        clauses.append("(a.name LIKE ? ESCAPE '\\' OR a.domain LIKE ? ESCAPE '\\')")
        params.extend([pattern, pattern])
    wanted = query.filter
    if wanted.owner is not None:
        clauses.append("a.owner = ? COLLATE NOCASE")
        params.append(wanted.owner)
    for column, values in (
        ("a.segment", wanted.segments),
        ("s.churn_tier", wanted.churn_tiers),
        ("s.value_tier", wanted.value_tiers),
        ("s.health_band", wanted.health_bands),
        ("s.advocacy", wanted.advocacy),
        (f"({stage})", wanted.stages),
    ):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    if wanted.cross_sell_ready is not None:
        clauses.append("s.cross_sell_ready = ?")
        params.append(int(wanted.cross_sell_ready))
    if wanted.customers_on is not None:
        clauses.append(
            "(a.churned_on IS NULL OR a.churned_on > ?) AND (a.start_date IS NULL OR a.start_date <= ?)"
        )
        params.extend([wanted.customers_on, wanted.customers_on])
    if wanted.renewal_between is not None:
        clauses.append("a.renewal_date BETWEEN ? AND ?")
        params.extend(wanted.renewal_between)
    for key, values in wanted.custom:
        marks = ", ".join("?" for _ in values)
        clauses.append(f"json_extract(a.custom, ?) COLLATE NOCASE IN ({marks})")
        params.extend([f'$."{key}"', *values])
    return " AND ".join(clauses), params


def _scores_join(query: BookQuery) -> str:
    """The join to the current run's scores, when the filter needs them."""
    if query.filter.needs_scores:
        return "LEFT JOIN scores s ON s.run_id = ? AND s.account_id = a.id"
    return ""


def count_book(db: Database, query: BookQuery) -> int:
    run, _ = _score_runs(db)
    where, params = _where(query, _stage_sql(db, run, query))
    join = _scores_join(query)
    current = [run] if join else []
    sql = f"SELECT count(*) FROM accounts a {join} WHERE {where}"
    return _remembered(
        db, (sql, *current, *params), lambda: int(db.execute(sql, [*current, *params]).fetchone()[0])
    )


def _stages_stored(db: Database, run_id: int | None) -> bool:
    """Whether every score of the run holds its account's stage as the rule gives it now: the run stored them
    (a run before migration 0036 did not: none is NULL) and no account's fields changed since unrestaged
    (`stage_changes` is empty: `restage_changed` empties it at the end of every write of cockpit's)."""
    if run_id is None:
        return False
    unstaged = db.execute(
        f"SELECT 1 FROM scores s WHERE s.run_id = ? AND ({_STORED_STAGE_RANK}) IS NULL LIMIT 1", [run_id]
    ).fetchone()
    return unstaged is None and db.execute("SELECT 1 FROM stage_changes LIMIT 1").fetchone() is None


def _stage_sql(db: Database, run_id: int | None, query: BookQuery) -> str:
    """The stage's SQL for a query that reads it (sorts or filters by it): the stored one while it is right."""
    if query.sort != "stage" and not query.filter.stages:
        return STAGE_SQL
    return STORED_STAGE_SQL if _stages_stored(db, run_id) else STAGE_SQL


def stage_of(
    given: str | None,
    start_date: str | None,
    as_of: date,
    adoption: str | None,
    ready: object,
    advocacy: str | None,
) -> str:
    """The rule's stage (`cockpit.scoring.lifecycle`) from the stored values (ISO dates: an unreadable start
    date is none, as SQL's julianday reads it)."""
    try:
        start = date.fromisoformat(start_date[:10]) if start_date else None
    except ValueError:
        start = None
    return lifecycle_stage(
        given,
        start_date=start,
        as_of=as_of,
        adoption_status=adoption,
        cross_sell_ready=bool(ready),
        advocacy=advocacy,
    )


def restage(db: Database, run_id: int, accounts: Collection[str] | None = None) -> None:
    """Write the stage of the run's scores (of `accounts`, or all) by the rule, from the accounts' fields now."""
    select = (
        "SELECT s.account_id, a.lifecycle_stage, a.start_date, s.as_of, s.adoption_status, s.cross_sell_ready, "
        "s.advocacy FROM scores s JOIN accounts a ON a.id = s.account_id WHERE s.run_id = ?"
    )
    params: list[Any] = [run_id]
    if accounts is not None:
        select += " AND s.account_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(list(accounts)))
    staged = [
        (stage_of(given, start, date.fromisoformat(as_of[:10]), *scores), run_id, account)
        for account, given, start, as_of, *scores in db.execute(select, params)
    ]
    db.conn.executemany("UPDATE scores SET stage = ? WHERE run_id = ? AND account_id = ?", staged)


def restage_changed(db: Database) -> None:
    """Restage, in the current run, the accounts whose stage's fields changed (noted by migration 0036's
    trigger), and forget them: run at the end of each of cockpit's writes, so the stored stages stay right."""
    changed = [row[0] for row in db.execute("SELECT account_id FROM stage_changes")]
    if not changed:
        return
    current, _ = _score_runs(db)
    if current is not None:
        restage(db, current, changed)
    db.execute("DELETE FROM stage_changes")


def _score_runs(db: Database) -> tuple[int | None, int | None]:
    """The latest finished score run, and the latest finished at least 30 days before it."""
    current = db.execute(
        "SELECT id, as_of FROM score_runs WHERE finished_at IS NOT NULL ORDER BY as_of DESC, id DESC LIMIT 1"
    ).fetchone()
    if current is None:
        return None, None
    before = db.execute(
        "SELECT id FROM score_runs WHERE finished_at IS NOT NULL AND as_of <= date(?, '-30 days') "
        "ORDER BY as_of DESC, id DESC LIMIT 1",
        [current[1]],
    ).fetchone()
    return current[0], before[0] if before else None


def _latest_clv_run(db: Database) -> int | None:
    row = db.execute("SELECT max(id) FROM clv_runs WHERE finished_at IS NOT NULL").fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class _ScoreWalk:
    """How the book walks in the order of a score (or the lifetime value): the accounts the latest run scored
    (`scored`, a FROM ... WHERE; None without a run) in `scored_order`, from the score's index, then the others
    (or those without this score: `unscored`) in the key's tie-breakers, `ties`."""

    scored: str | None
    scored_params: list[Any]
    scored_order: str
    unscored: str
    unscored_params: list[Any]
    ties: str
    gathered: bool = False
    """Whether `unscored` gathers its accounts from a list by id and sorts them all (read as one condition
    past the cursor, not `_ranges`: SQLite would carry each range's bounds into the list's subqueries)."""
    deep_unscored: tuple[str, list[Any]] | None = None
    """For a deep offset into `unscored` (and the walk for marks) when it walks an index: the same accounts
    gathered by id and sorted, with their parameters."""
    bare: str | None = None
    """The scored rows read from the score's index alone (no account joined, no filter): the same rows as
    `scored` when the query's filter leaves out none of the run's accounts (`_filters_no_score`). Every score
    is a number (or NULL): at least -9e999, minus infinity, is IS NOT NULL, as a range SQLite seeks."""
    bare_params: list[Any] = field(default_factory=list)
    filtered: tuple[str, list[Any]] = ("", [])
    """Whether the query's WHERE leaves out any account the run scored (a count of 0 or 1), with its parameters:
    the accounts walked in an index that holds the views' filter columns, each left out probed in the run."""


_FEW = 2_000
"""A search that matches at most this many accounts has them sorted by the score (found off the name index),
rather than walk the score's index, which would read an account for each score on the way to the few that
match (seconds on a 100,000-account book)."""


def _few_match(db: Database, query: BookQuery) -> bool:
    """Whether the query is a search that matches few accounts (`_FEW`), found out off the name index."""
    if not query.search.strip() or query.filter.needs_scores:
        return False
    where, params = _where(query, STAGE_SQL)  # no filter on scores, so none on the stage
    sql = f"SELECT count(*) FROM (SELECT 1 FROM accounts a WHERE {where} LIMIT ?)"
    return int(db.execute(sql, [*params, _FEW + 1]).fetchone()[0]) <= _FEW


def _score_walk(db: Database, query: BookQuery, current: int | None) -> _ScoreWalk:
    stage = _stage_sql(db, current, query)
    where, params = _where(query, stage)
    ascending = not query.descending
    join = _scores_join(query)
    # From the score's index, each score joined to its account; for a few matches, each account (CROSS JOIN
    # keeps SQLite to that order) joined to its score, and those sorted.
    few = _few_match(db, query)
    if query.sort in _CLV_ORDER:
        expression, ties = _CLV_ORDER[query.sort]
        scored_ties = ties
        run, table = _latest_clv_run(db), "clv_values c"
        scored = (
            f"FROM accounts a CROSS JOIN clv_values c ON c.account_id = a.id {join} WHERE c.run_id = ? AND "
            if few
            else f"FROM clv_values c JOIN accounts a ON a.id = c.account_id {join} WHERE c.run_id = ? AND "
        )
        scored_params = [*([current] if join else []), run, *params]
    else:
        stored = query.sort != "stage" or stage == STORED_STAGE_SQL
        expression, ties = _SCORE_ORDER[query.sort] if stored else _COMPUTED_STAGE_ORDER
        scored_ties = (
            f"s.value {'DESC' if ascending else 'ASC'}, s.account_id {'ASC' if ascending else 'DESC'}"
        )
        run, table = current, "scores s"
        scored = (
            "FROM accounts a CROSS JOIN scores s ON s.account_id = a.id WHERE s.run_id = ? AND "
            if few
            else "FROM scores s JOIN accounts a ON a.id = s.account_id WHERE s.run_id = ? AND "
        )
        scored_params = [current, *params]
    alias = table[-1]
    # An order that reads the account too (the stage) joins it inside, so the subquery stays uncorrelated: run
    # once, not once per account (minutes on a 100,000-account book).
    reads_account = re.search(r"\ba\.", expression) is not None
    null_scores = (
        f"SELECT {alias}.account_id FROM {table} "
        + (f"JOIN accounts a ON a.id = {alias}.account_id " if reads_account else "")
        + f"WHERE {alias}.run_id = ? AND ({expression}) IS NULL"
    )
    bare: dict[str, Any] = {}
    if table == "scores s" and not join and not few and not reads_account and run is not None:
        # A deep jump may skip the scored rows by the score's index alone (`_walk`), if the filter leaves
        # out none of the run's accounts (as a view of the customers, usually).
        bare = {
            # A range of the index, not IS NOT NULL: SQLite would compute an expression's value from each
            # score's row to test it (130 ms to count a priority's 66,905 scores, 4 ms as a range).
            "bare": f"FROM scores s WHERE s.run_id = ? AND ({expression}) >= -9e999",
            "bare_params": [run],
            "filtered": (
                f"SELECT count(*) FROM (SELECT 1 FROM accounts a WHERE ({where}) IS NOT TRUE AND EXISTS "
                "(SELECT 1 FROM scores s WHERE s.run_id = ? AND s.account_id = a.id) LIMIT 1)",
                [*params, run],
            ),
        }
    accounts = _unscored_kept(db, current) if table == "scores s" else None
    if accounts is not None:
        # The accounts the run did not score, kept when it finished, and those whose score is NULL: the only
        # accounts without the score while no account came since (`record_unscored`). Those of the kept the
        # query keeps (`_kept_matching`): none (a view of the customers, usually), only the NULL scores are
        # gathered; many, the accounts are walked in the tie-breakers' index, each probed in the kept list,
        # rather than all gathered and sorted at every read (15-30 ms at 100,000); a few, gathered.
        # A deep jump into many, or the walk for marks, gathers them all still: walking the index to an
        # offset would probe every account on the way (0.2-0.6 s at 100,000).
        joined = [current] if join else []
        kept = _kept_matching(db, current, join, where, [*joined, *params])
        listed = "SELECT account_id FROM unscored_accounts WHERE run_id = ? UNION ALL " if kept else ""
        gathered = (
            f"FROM ({listed}{null_scores}) AS u CROSS JOIN accounts a ON a.id = u.account_id {join} WHERE {where}",
            [*([run] if kept else []), run, *joined, *params],
        )
        walked = (
            f"FROM accounts a {join} WHERE (EXISTS (SELECT 1 FROM unscored_accounts k WHERE k.run_id = ? "
            f"AND k.account_id = a.id) OR a.id IN ({null_scores})) AND {where}",
            [*joined, run, run, *params],
        )
        dense = kept > 0 and kept * _DENSE >= accounts
        return _ScoreWalk(
            scored=f"{scored}({expression}) IS NOT NULL AND {where}",
            scored_params=scored_params,
            scored_order=f"({expression}) {'ASC' if ascending else 'DESC'}, {scored_ties}",
            unscored=(walked if dense else gathered)[0],
            unscored_params=(walked if dense else gathered)[1],
            ties=ties,
            gathered=not dense,
            deep_unscored=gathered if dense else None,
            **bare,
        )
    # Without the score: no row in the run (a probe of its primary key, which holds no score), or a row whose
    # score is NULL (a range of the score's index). Joining each account to its score row instead reads every
    # account's whole row on the way to the few (or none) without one, as `End` after a score sort does.
    unscored = (
        f"FROM accounts a {join} WHERE (NOT EXISTS (SELECT 1 FROM {table} WHERE {alias}.run_id = ? AND "
        f"{alias}.account_id = a.id) OR a.id IN ({null_scores})) AND {where}"
    )
    return _ScoreWalk(
        scored=None if run is None else f"{scored}({expression}) IS NOT NULL AND {where}",
        scored_params=scored_params,
        scored_order=f"({expression}) {'ASC' if ascending else 'DESC'}, {scored_ties}",
        unscored=unscored,
        unscored_params=[*([current] if join else []), run, run, *params],
        ties=ties,
        **bare,
    )


def record_unscored(db: Database, run_id: int) -> None:
    """Keep the accounts the run did not score (deleted ones too: they may come back) in place of any run's
    kept before, with how many accounts there are and the last one's rowid. Accounts are never deleted, only
    marked, so while both are the same no account came since, and the kept ones and those whose score is NULL
    are all the accounts without a score: `End` after a score sort reads those instead of probing the run for
    every account."""
    db.execute("DELETE FROM unscored_accounts")
    db.execute("DELETE FROM unscored_counts")
    db.execute(
        "INSERT INTO unscored_accounts (run_id, account_id) SELECT ?, a.id FROM accounts a "
        "WHERE NOT EXISTS (SELECT 1 FROM scores s WHERE s.run_id = ? AND s.account_id = a.id)",
        [run_id, run_id],
    )
    db.execute(
        f"INSERT INTO unscored_counts (run_id, accounts, last_rowid) SELECT ?, * FROM ({_ACCOUNTS_NOW})",
        [run_id],
    )


_ACCOUNTS_NOW = "SELECT (SELECT count(*) FROM accounts), (SELECT coalesce(max(rowid), 0) FROM accounts)"
"""How many accounts there are and the last one's rowid, each read apart (together, SQLite would walk an
index for both, rather than take the count from the table and the last rowid from its end)."""


def _unscored_kept(db: Database, run_id: int | None) -> int | None:
    """How many accounts there are, if those `run_id` did not score are kept and no account came since
    (`record_unscored`); else None."""
    if run_id is None:
        return None
    kept = db.execute(
        "SELECT accounts, last_rowid FROM unscored_counts WHERE run_id = ?", [run_id]
    ).fetchone()
    if kept is None or tuple(kept) != tuple(db.execute(_ACCOUNTS_NOW).fetchone()):
        return None
    return int(kept[0])


_DENSE = 20
"""The kept accounts without a score that a query keeps are walked in the order's index (`_score_walk`) once
they are at least one in this many of the book: a page probes about this many accounts for its rows at most."""


class RememberedCounts:
    """The book's counts that do not depend on its order (`_remembered`), each counted once for each state of
    the file and shared by every connection of one `Store` (`share_counts`): a TUI's reads come on several
    connections (`Store.reader`), and each paid the counts afresh (a deep jump's check, 30-45 ms of CPU at
    100,000 accounts). The state of the file is the data version of a connection of its own, which never
    writes: it changes with each commit of any other connection, of this process or another."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._watch: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._state: int | None = None
        self._counts: dict[tuple[Any, ...], int] = {}

    def count(self, db: Database, key: tuple[Any, ...], count: Callable[[], int]) -> int:
        """`count()`, or what it gave in this state of the file. A connection inside a transaction sees what
        no other does (its own writes, or the file as it was when the transaction began): it counts."""
        if db.conn.in_transaction:
            return count()
        with self._lock:
            if self._watch is None:
                self._watch = self._connect()
            state = int(self._watch.execute("PRAGMA data_version").fetchone()[0])
            if state != self._state:
                self._state, self._counts = state, {}
            if key in self._counts:
                return self._counts[key]
        counted = count()
        with self._lock:
            if self._state == state:
                self._counts[key] = counted
        return counted

    def close(self) -> None:
        with self._lock:
            if self._watch is not None:
                self._watch.close()
            self._watch, self._state, self._counts = None, None, {}


_SHARED: WeakKeyDictionary[Database, RememberedCounts] = WeakKeyDictionary()
"""Each store's connection and the counts its store remembers."""


def share_counts(db: Database, counts: RememberedCounts) -> None:
    """Remember the counts of reads on `db` in `counts` (its store's)."""
    _SHARED[db] = counts


def _remembered(db: Database, key: tuple[Any, ...], count: Callable[[], int]) -> int:
    """`count()`, counted once for each state of the file by the connections of a store (`RememberedCounts`):
    the book's counts that do not depend on its order, asked again at every sort."""
    counts = _SHARED.get(db)
    return count() if counts is None else counts.count(db, key, count)


def _filters_no_score(db: Database, filtered: tuple[str, list[Any]]) -> bool:
    """Whether the query's WHERE keeps every account the run scored (`_ScoreWalk.filtered` counts none left
    out), counted once for each state of the file (`_remembered`)."""
    sql, params = filtered
    return _remembered(db, (sql, *params), lambda: int(db.execute(sql, params).fetchone()[0])) == 0


def _kept_matching(db: Database, run_id: int | None, join: str, where: str, params: list[Any]) -> int:
    """How many of the accounts the run did not score (kept) the query's WHERE keeps (`_remembered`): each
    read that reaches the accounts without the score (every `End` after a score sort) would gather them all
    again (30 ms at 100,000; usually to find none, as the views show the customers)."""
    sql = (
        f"SELECT count(*) FROM unscored_accounts k CROSS JOIN accounts a ON a.id = k.account_id {join} "
        f"WHERE k.run_id = ? AND {where}"
    )
    join_params, where_params = (params[:1], params[1:]) if join else ([], params)
    values = [*join_params, run_id, *where_params]
    return _remembered(db, (sql, *values), lambda: int(db.execute(sql, values).fetchone()[0]))


CHURN_MODEL = (
    "CASE WHEN s.churn_risk IS NULL THEN NULL "
    "WHEN json_extract(s.explanation, '$[4][0]') = 'learned' THEN 'learned' ELSE 'rules' END"
)
"""Which churn model scored, from the stored explanation: [version, terms, as_of, health, churn, ...]
(`scoring.explain.encode`), whose churn part starts with "learned" when the learned model scored
(`scoring.learned.LearnedChurnPart`); written out here, as the command line loads this module without the
scoring's. tests/test_churn.py holds it to the layout."""


_READY = list(BookRow.__dataclass_fields__).index("cross_sell_ready")
_MONTH_BEFORE = list(BookRow.__dataclass_fields__).index("health_month_before")


def _book_row(row: tuple[Any, ...], health_month_before: float | None) -> BookRow:
    """A row of the page query with the health of a month before (read apart: that run is kept compact, most
    likely); SQLite keeps booleans as 0 and 1."""
    values = list(row)
    if values[_READY] is not None:
        values[_READY] = bool(values[_READY])
    values[_MONTH_BEFORE] = health_month_before
    return BookRow(*values)


def fetch_book_page(db: Database, query: BookQuery, *, offset: int, limit: int) -> list[BookRow]:
    """The rows of one page of the book, `offset` rows from its start."""
    return fetch_book_after(db, query, None, limit=limit, offset=offset).rows


def _check_sort(query: BookQuery) -> None:
    if query.sort not in SORT_KEYS:
        raise ValueError(f"unknown sort key {query.sort!r}; expected one of {', '.join(SORT_KEYS)}")


def _read_rows(db: Database, ids: list[str], current: int | None, before: int | None) -> list[BookRow]:
    """The book rows of these ids, in their order, with their scores."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = db.execute(
        f"""
        SELECT a.id, a.name, a.owner, a.plan, a.mrr, a.renewal_date, s.health, s.health_band,
            CASE WHEN s.account_id IS NOT NULL THEN (SELECT count(*) FROM json_each(s.components)) END, NULL,
            s.churn_tier, s.value_tier, s.priority, s.adoption_status, s.cross_sell_ready,
            c.clv, c.clv_low, c.clv_high, c.ltv_cac, a.churned_on, s.churn_risk,
            {CHURN_MODEL}, s.advocacy, {STAGE_SQL}
        FROM accounts a
        LEFT JOIN scores s ON s.run_id = ? AND s.account_id = a.id
        LEFT JOIN clv_values c ON c.run_id = ? AND c.account_id = a.id
        WHERE a.id IN ({marks})
        """,
        [current, _latest_clv_run(db), *ids],
    ).fetchall()
    healths_before = {} if before is None else dict(run_scores(db, before, ("health",), ids))
    by_id = {row[0]: _book_row(row, healths_before.get(row[0])) for row in rows}
    return [by_id[account_id] for account_id in ids]


@dataclass(frozen=True)
class BookCursor:
    """Where a page of the book ended: the last row's values of the sort's ORDER BY terms (its id last), and
    whether it was among the accounts without the score (which come after the scored ones, by tie-breakers)."""

    keys: tuple[Any, ...]
    unscored: bool = False


@dataclass(frozen=True)
class BookPage:
    rows: list[BookRow]
    next: BookCursor | None
    """Where the next page starts; None when this page is the last."""
    previous: BookCursor | None = None
    """Where the page before it ends (its first row, for `fetch_book_before`); None when this page is the first."""


@dataclass(frozen=True)
class _Term:
    """One term of an ORDER BY: its expression, its direction and where its NULLs sort."""

    expression: str
    descending: bool
    nulls_first: bool


def _terms(order: str) -> list[_Term]:
    """The terms of an ORDER BY written in this module (no term holds a comma). SQLite sorts NULLs first
    ascending and last descending, unless told otherwise."""
    terms = []
    for text in order.split(", "):
        nulls_last = text.endswith(" NULLS LAST")
        text = text.removesuffix(" NULLS LAST")
        descending = text.endswith(" DESC")
        text = text.removesuffix(" DESC").removesuffix(" ASC")
        terms.append(_Term(text, descending, nulls_first=not descending and not nulls_last))
    return terms


def _after(terms: list[_Term], keys: tuple[Any, ...]) -> tuple[str, list[Any]]:
    """A condition for the rows strictly after the row with these values of `terms` in their order: after it
    on the first term, or equal there and after it on the next, and so on, NULLs where their term sorts them.
    The first term's bound is repeated on its own, so that SQLite seeks its index to the cursor."""
    alternatives: list[str] = []
    params: list[Any] = []
    equal: list[str] = []
    equal_params: list[Any] = []
    for term, key in zip(terms, keys, strict=True):
        if key is None:
            later, later_params = ("({0}) IS NOT NULL" if term.nulls_first else "0"), []
            same, same_params = "({0}) IS NULL", []
        else:
            later = "({0}) < ?" if term.descending else "({0}) > ?"
            later += "" if term.nulls_first else " OR ({0}) IS NULL"
            later_params = [key]
            same, same_params = "({0}) = ?", [key]
        alternatives.append(" AND ".join([*equal, f"({later.format(term.expression)})"]))
        params.extend([*equal_params, *later_params])
        equal.append(same.format(term.expression))
        equal_params.extend(same_params)
    first, key = terms[0], keys[0]
    bound, bound_params = "1", []
    if key is None and not first.nulls_first:
        bound = f"({first.expression}) IS NULL"
    elif key is not None and first.nulls_first:
        bound, bound_params = f"({first.expression}) {'<=' if first.descending else '>='} ?", [key]
    return f"{bound} AND ({' OR '.join(f'({a})' for a in alternatives)})", [*bound_params, *params]


def _ranges(terms: list[_Term], keys: tuple[Any, ...]) -> list[tuple[int, str, list[Any]]]:
    """The rows strictly after the row with these values of `terms`, as consecutive ranges of the order (the
    deepest first): each equal to the cursor on the first terms and after it on the next one, the `int` (so
    that the range orders by that term and those after it only: SQLite sorts a range whose ORDER BY names a
    term it holds equal). Each an equality prefix and one bound, so that SQLite seeks the order's index
    straight to the cursor, even inside a large tie group (a bound on the first term alone reads the group
    from its start). A term whose NULLs sort last has its NULLs as a range of their own."""
    ranges: list[tuple[int, str, list[Any]]] = []
    equal: list[str] = []
    equal_params: list[Any] = []
    for index, (term, key) in enumerate(zip(terms, keys, strict=True)):
        later: list[tuple[str, list[Any]]] = []
        if key is None:
            if term.nulls_first:
                later.append((f"({term.expression}) IS NOT NULL", []))
        else:
            later.append((f"({term.expression}) {'<' if term.descending else '>'} ?", [key]))
            if not term.nulls_first:
                later.append((f"({term.expression}) IS NULL", []))
        ranges[:0] = [
            (index, " AND ".join([*equal, bound]), [*equal_params, *bound_params])
            for bound, bound_params in later
        ]
        equal.append(f"({term.expression}) IS NULL" if key is None else f"({term.expression}) = ?")
        equal_params.extend([] if key is None else [key])
    return ranges


def _reversed(terms: list[_Term]) -> list[_Term]:
    return [_Term(term.expression, not term.descending, not term.nulls_first) for term in terms]


def _order_by(terms: list[_Term]) -> str:
    """The ORDER BY of `terms`, naming where NULLs go only where it is not SQLite's default."""
    return ", ".join(
        f"{term.expression} {'DESC' if term.descending else 'ASC'}"
        + (
            ""
            if term.nulls_first != term.descending
            else " NULLS FIRST"
            if term.nulls_first
            else " NULLS LAST"
        )
        for term in terms
    )


def _keyed(
    db: Database,
    select: str,
    order: str,
    params: list[Any],
    after: tuple[Any, ...] | None,
    limit: int,
    *,
    backward: bool = False,
    offset: int = 0,
    ranges: bool = True,
    row_id: str = "a.id",
) -> tuple[list[tuple[Any, ...]], int]:
    """Up to `limit` rows of `SELECT a.id <select> ... WHERE ...` (ending in a WHERE clause) after the
    cursor's keys (`backward`: before them, nearest first) and `offset` more, each the id and its values of
    the ORDER BY's terms; and, when there are none, how many of the `offset` rows the order lacked (0 once a
    row is found). Range by range of `_ranges`, each a seek of the order's index (unless not `ranges`: one
    condition, `_after`, for a select that sorts all its rows anyway)."""
    terms = _reversed(_terms(order)) if backward else _terms(order)
    keys = ", ".join(term.expression for term in terms)
    found: list[tuple[Any, ...]] = []
    if after is None:
        parts: list[tuple[int, str, list[Any]]] = [(0, "1", [])]
    else:
        parts = _ranges(terms, after) if ranges else [(0, *_after(terms, after))]
    for first, condition, condition_params in parts:
        order_by = _order_by(terms[first:])
        sql = f"SELECT {row_id}, {keys} {select} AND {condition} ORDER BY {order_by} LIMIT ? OFFSET ?"
        rows = db.execute(sql, [*params, *condition_params, limit - len(found), offset]).fetchall()
        if rows:
            found.extend(tuple(row) for row in rows)
            offset = 0
        elif offset:  # the rows skipped all lie in this range or beyond: how many in this one?
            counted = db.execute(f"SELECT count(*) {select} AND {condition}", [*params, *condition_params])
            offset -= int(counted.fetchone()[0])
        if len(found) == limit:
            break
    return found, offset


_DEEP = 5_000
"""An offset over more rows than this, or a walk for the marks, takes a big page cache while it reads
(`bulk_cache`, given back after): a score's order probes the accounts' index in random order, which the
connection's default cache (2 MB) holds only a part of on a 100,000-account book, so it would read the same
pages again and again (40% of a deep jump's CPU)."""


def fetch_book_after(
    db: Database, query: BookQuery, after: BookCursor | None, *, limit: int, offset: int = 0
) -> BookPage:
    """The page of the book `offset` rows after a cursor (from its start without one), by the sort's index
    from the cursor on: each page costs the same however deep it is, unlike an `offset`, which walks the rows
    it skips (for a jump far from any cursor, best from the nearest of `book_marks`; the page's cursors lead
    on from it)."""
    from cockpit.store.bulk import bulk_cache  # sqlite-utils: the command line reads SORT_KEYS without it

    with bulk_cache(db.conn) if offset > _DEEP else nullcontext():
        found, unscored = _walk(db, _plan(db, query), after, limit, backward=False, offset=offset)
    last = BookCursor(found[-1][1:], unscored[-1]) if len(found) == limit else None
    first = BookCursor(found[0][1:], unscored[0]) if found and (after is not None or offset) else None
    return BookPage(_rows(db, found), last, first)


def fetch_book_before(db: Database, query: BookQuery, before: BookCursor | None, *, limit: int) -> BookPage:
    """The page of the book that ends just before a cursor (the last page of the book without one), in the
    book's order: the same walk as `fetch_book_after` with every term reversed, so `End` costs no OFFSET."""
    found, unscored = _walk(db, _plan(db, query), before, limit, backward=True)
    found.reverse()
    unscored.reverse()
    first = BookCursor(found[0][1:], unscored[0]) if len(found) == limit else None
    last = BookCursor(found[-1][1:], unscored[-1]) if found and before is not None else None
    return BookPage(_rows(db, found), last, first)


def book_marks(db: Database, query: BookQuery, every: int) -> Generator[BookCursor]:
    """Cursors through the whole book, one every `every` rows: the n-th (from 1) where row `n * every - 1`
    ends, so that a page at any depth reads from the nearest mark before it (`fetch_book_after` with the mark
    and an `offset` under `every`) instead of walking every row from the start (a score's order probes an
    account for each row: 100 ms to the middle of a 100,000-account book). One step of the walk per mark (a
    caller that stops iterating stops the walk), but among the accounts without the score, which each step
    would gather and sort again, one numbered read of them all. A big page cache while it walks (`_DEEP`);
    close the walk (`contextlib.closing`) to give it back as soon as it stops."""
    from cockpit.store.bulk import bulk_cache  # sqlite-utils: the command line reads SORT_KEYS without it

    with bulk_cache(db.conn):
        plan = _plan(db, query)
        cursor: BookCursor | None = None
        while True:
            found, unscored = _walk(db, plan, cursor, 1, backward=False, offset=every - 1)
            if not found:
                return
            cursor = BookCursor(found[0][1:], unscored[0])
            yield cursor
            if cursor.unscored and isinstance(plan, _ScoreWalk):
                terms = _terms(plan.ties)
                condition, condition_params = _after(terms, cursor.keys)
                select, select_params = plan.deep_unscored or (plan.unscored, plan.unscored_params)
                numbered = (
                    f"SELECT {', '.join(term.expression for term in terms)}, "
                    f"row_number() OVER (ORDER BY {_order_by(terms)}) AS n {select} AND {condition}"
                )
                params = [*select_params, *condition_params, every]
                for row in db.execute(f"SELECT * FROM ({numbered}) WHERE n % ? = 0", params):
                    yield BookCursor(tuple(row[:-1]), unscored=True)
                return


def deep_offsets_probe(query: BookQuery) -> bool:
    """Whether an offset into the query's order probes another table for each row it skips (a score's order, or
    a filter on the scores: about 2 µs a row), rather than walk an index of the accounts alone: the orders
    whose deep jumps want `book_marks`."""
    return query.sort not in _ACCOUNT_ORDER or query.filter.needs_scores


def _rows(db: Database, found: list[tuple[Any, ...]]) -> list[BookRow]:
    current, before = _score_runs(db)
    return _read_rows(db, [row[0] for row in found], current, before)


@dataclass(frozen=True)
class _AccountWalk:
    """How the book walks in the order of an account column: `select` (a FROM ... WHERE) in `order`."""

    select: str
    order: str
    params: list[Any]


def _plan(db: Database, query: BookQuery) -> _AccountWalk | _ScoreWalk:
    """How `_walk` reads the query's order (the latest run's, as the store holds now)."""
    _check_sort(query)
    current, _ = _score_runs(db)
    if query.sort not in _ACCOUNT_ORDER:
        return _score_walk(db, query, current)
    where, params = _where(query, _stage_sql(db, current, query))
    join = _scores_join(query)
    return _AccountWalk(
        select=f"FROM accounts a {join} WHERE {where}",
        order=_ACCOUNT_ORDER[query.sort].format(dir="DESC" if query.descending else "ASC"),
        params=[*([current] if join else []), *params],
    )


def _walk(
    db: Database,
    plan: _AccountWalk | _ScoreWalk,
    cursor: BookCursor | None,
    limit: int,
    *,
    backward: bool,
    offset: int = 0,
) -> tuple[list[tuple[Any, ...]], list[bool]]:
    """Up to `limit` rows from the cursor on (`backward`: towards the start, nearest first, from the end
    without one; forward, `offset` rows on from the cursor or the start), each the id and its sort keys, and
    for each whether it is among the accounts without the score."""
    keys = None if cursor is None else cursor.keys
    if isinstance(plan, _AccountWalk):
        found, _ = _keyed(
            db, plan.select, plan.order, plan.params, keys, limit, backward=backward, offset=offset
        )
        return found, [False] * len(found)
    walk = plan
    in_unscored = cursor is not None and cursor.unscored
    scored: list[tuple[Any, ...]] = []
    unscored: list[tuple[Any, ...]] = []
    # Forward, the scored accounts come first and the unscored after them; backward, the other way round.
    if backward:
        if cursor is None or in_unscored:
            unscored, _ = _keyed(
                db,
                walk.unscored,
                walk.ties,
                walk.unscored_params,
                keys,
                limit,
                backward=True,
                ranges=not walk.gathered,
            )
        if len(unscored) < limit and walk.scored is not None:
            scored_keys = None if cursor is None or in_unscored else keys
            scored, _ = _keyed(
                db,
                walk.scored,
                walk.scored_order,
                walk.scored_params,
                scored_keys,
                limit - len(unscored),
                backward=True,
            )
        return unscored + scored, [True] * len(unscored) + [False] * len(scored)
    past_scored = offset  # the rows to skip among the accounts without the score
    read_scored = not in_unscored and walk.scored is not None
    if read_scored and offset > _DEEP and walk.bare is not None and _filters_no_score(db, walk.filtered):
        # Far from the cursor: find the row before the page by the score's index alone (no account read for
        # each row skipped: 1 ms to the middle of a 100,000-account book, not 20-30), and the page from it.
        before, short = _keyed(
            db, walk.bare, walk.scored_order, walk.bare_params, keys, 1, offset=offset - 1, row_id="0"
        )
        if before:
            keys, offset = before[0][1:], 0
        else:  # past the scored rows: the page starts this many rows into the others
            read_scored, past_scored = False, short + 1
    if read_scored:
        scored, past_scored = _keyed(
            db, walk.scored or "", walk.scored_order, walk.scored_params, keys, limit, offset=offset
        )
    if len(scored) < limit:
        unscored_keys = keys if in_unscored else None
        deep = past_scored > _DEEP and walk.deep_unscored is not None
        select, params = (deep and walk.deep_unscored) or (walk.unscored, walk.unscored_params)
        unscored, _ = _keyed(
            db,
            select,
            walk.ties,
            params,
            unscored_keys,
            limit - len(scored),
            offset=past_scored,
            ranges=not (walk.gathered or deep),
        )
    return scored + unscored, [False] * len(scored) + [True] * len(unscored)
