"""A deterministic demo book: an account for each story cockpit must tell (listed above `_STORIES`) among
realistic accounts, at any size.

The accounts started over the last four years, on yearly or month-to-month contracts. Each has a fit (how
well the product suits it) that sets how much of what it owns it uses (`_BookGenerator._habits`) and how
often it falls into trouble (`_Spell`): its use falls, tickets pile up, emails go unopened, a survey answer
turns sour. A contract that comes up for renewal in trouble is often not renewed, more so month-to-month and
on the small plan; a calm one seldom (`_BookGenerator._life`). So churn follows from what the data show
before it, with chance in it, and varies enough between accounts for the lifetime-value models; and most
accounts are steady: a team uses a feature on the same weekdays every week, so health moves little from one
month to the next. Churn, renewals, tickets, surveys, cancel-page visits, emails and logged interactions
cover the last `HISTORY_DAYS`, and so does usage: day by day and user by user over the last `USAGE_DAYS`, as
weekly totals before (`_BookGenerator._weekly_usage`); purchases cover the whole life. So the book as of any
day of its history shows what told its churners then: use falling, tickets piling up, emails unopened.

Everything comes from `random.Random(seed)` (usage from a stream of each account's own, derived from the seed,
and what lies before the last `USAGE_DAYS` from streams of its own too (`_history_rng`), so that either can
change without moving the book's other draws) and an explicit `anchor` (the data's "today"): the same
arguments give the same rows on every machine, and nothing reads the clock. Rows stream out account by
account (catalogue first), so a 100,000-account book with ten million usage events never sits in memory.
The stories sit on the first accounts, and an account's rows do not depend on how many follow it, so any
book of at least `len(STORY_ACCOUNTS)` accounts holds them all and a small book is a prefix of a big one.

Offsets: inside the generator a day is an int relative to the anchor (-1 is yesterday); rows carry ISO
text, `YYYY-MM-DD` for days and `YYYY-MM-DDTHH:MM:SS+00:00` for moments.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import multiprocessing.queues
import os
import queue
import random
import sqlite3
import threading
import traceback
import uuid
from bisect import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import chain
from operator import itemgetter
from signal import SIG_IGN, SIGINT
from signal import signal as set_handler
from typing import Final, TypeVar

from cockpit.demo import words
from cockpit.domain.dates import add_months, add_years
from cockpit.errors import CockpitError
from cockpit.store import Store
from cockpit.store.bulk import bulk_cache, insert_rows, tables_with_rows

Value = str | int | float | None
Row = dict[str, Value]
_T = TypeVar("_T")
Group = dict[str, list[Row]]
"""Rows per table, keys in `TABLE_COLUMNS` order: the catalogue, or one account and everything about it."""

# Every table the demo fills and its columns, exactly as in the schema (the generated `arr` left out; a test
# compares them with the migrated database), in an order that satisfies the foreign keys: load and insert
# tables in this order.
TABLE_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "products": ("id", "name", "family", "list_price"),
    "features": ("id", "product_id", "name"),
    "product_complements": ("product_id", "complement_id", "reason"),
    "accounts": (
        "id", "hubspot_id", "salesforce_id", "name", "domain", "owner", "segment", "plan", "mrr", "seats",
        "start_date", "renewal_date", "churned_on", "cac", "lifecycle_stage", "custom", "deleted_at",
        "created_at", "updated_at", "contract_months",
    ),
    "contacts": (
        "id", "account_id", "hubspot_id", "salesforce_id", "name", "email", "role", "phone", "birthday",
        "email_opt_in", "do_not_contact", "personalization_consent", "field_sources", "deleted_at",
        "created_at", "updated_at",
    ),
    "entitlements": ("account_id", "product_id", "started_on", "ended_on", "seats"),
    "usage_events": (
        "account_id", "feature_id", "occurred_at", "contact_id", "source_id", "count", "import_id", "import_row",
    ),
    "tickets": (
        "id", "account_id", "contact_id", "opened_at", "closed_at", "priority", "status", "escalated",
        "subject",
    ),
    "surveys": ("id", "account_id", "contact_id", "kind", "score", "responded_at", "comment"),
    "signals": (
        "id", "account_id", "contact_id", "kind", "occurred_at", "value", "payload", "source_id", "import_id", "import_row",
    ),
    "transactions": ("id", "account_id", "occurred_at", "amount"),
    "interactions": (
        "id", "account_id", "contact_id", "kind", "direction", "occurred_at", "summary", "sentiment",
        "author", "follow_up_on", "sync_key", "hubspot_id", "salesforce_id", "sync_state", "sync_error",
        "created_at", "updated_at",
    ),
    "outreach": (
        "id", "account_id", "contact_id", "playbook", "channel", "subject", "body", "status", "due_on",
        "snoozed_until", "dedupe_key", "reason", "priority", "sync_key", "hubspot_id", "salesforce_id",
        "sync_error", "created_at", "updated_at",
    ),
}  # fmt: skip

_CATALOGUE_TABLES: Final = ("products", "features", "product_complements")

# Columns holding a JSON object as text.
JSON_COLUMNS: Final[frozenset[str]] = frozenset({"custom", "field_sources", "payload", "reason"})

HISTORY_DAYS: Final = 730
"""The book's history: the accounts that were customers at some time in the last two years, with their
churn, renewals, tickets, surveys, cancel-page visits, emails, logged interactions and usage over those
years."""
USAGE_DAYS: Final = 182
"""Usage day by day and user by user covers the days anchor-182 .. anchor-1: the demo's four months of
monthly scores, each with the 60 days of use its trend compares (about 150 rows an account); the weekly totals
before it add about 40 over the rest of its two years."""

# The stories: situations the scores and playbooks must catch, one account each, in order from acc-00001:
# - cancel_lookup: the book's highest MRR; its users visited the cancel page and clicked cancel last week.
# - support_burst: six tickets in the last ten days, one escalated.
# - silent: steady use until 24 days ago, nothing since.
# - unopened_email: four emails in the last 60 days, none opened.
# - stalled_feature: STALLED_FEATURE used on three days three to four weeks ago, then left.
# - cross_sell_ready: every feature adopted, use growing, NPS 10, no tickets, touched last week, and the
#   complements of its only product not owned.
# - lover: promoter NPS, a referral and a public review; "lurker": no survey answer, hardly any use.
# - birthday: a contact born on the anchor's day who shared it (consent); birthday_no_consent: one whose
#   birthday came from an enrichment vendor without consent, which must not be used.
# - renewal_soon: renews in 30 days; churned: churned 60 days ago at its second anniversary.
_STORIES: Final = (
    "cancel_lookup",
    "support_burst",
    "silent",
    "unopened_email",
    "stalled_feature",
    "cross_sell_ready",
    "lover",
    "birthday",
    "renewal_soon",
    "lurker",
    "birthday_no_consent",
    "churned",
)


def _usage_rng(seed: int, number: int) -> random.Random:
    """The usage stream of account `number` in the book of `seed`."""
    return random.Random(seed * 1_000_003 + number)


def _history_rng(seed: int, number: int, part: str) -> random.Random:
    """The stream of what account `number` in the book of `seed` did before the last `USAGE_DAYS` (`part`:
    "usage", "emails" or "interactions"); a string seed is hashed the same on every machine."""
    return random.Random(f"{part}:{seed}:{number}")


def _level(start: int, spells: Sequence[_Spell], day: int) -> float:
    """The level of use on `day` of an account that started on `start`, with these spells of trouble: it
    ramps up over its first `_RAMP_DAYS` and falls and comes back with trouble (`_Spell.factor`)."""
    level = 1.0 if day >= start + _RAMP_DAYS else 0.3 + 0.7 * max(0, day - start) / _RAMP_DAYS
    for spell in spells:
        level *= spell.factor(day)
    return level


def account_id(number: int) -> str:
    return f"acc-{number:05d}"


STORY_ACCOUNTS: Final[dict[str, str]] = {story: account_id(n) for n, story in enumerate(_STORIES, start=1)}
"""Story name -> the account that tells it (the stories are described above `_STORIES`)."""

STALLED_FEATURE: Final = "ana-explore"
"""The feature the stalled_feature account tried on a few days and then left."""


_JSON_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dump_json(obj: Mapping[str, object]) -> str:
    """The one JSON text form of the demo's JSON columns (compact, key order kept)."""
    return _JSON_ENCODER.encode(obj)


_WEB_CLIENT: Final = dump_json({"client": "web"})

# --- Catalogue ---------------------------------------------------------------------------------------------

_PRODUCTS: Final = (
    ("core", "Core Platform", "platform", 12000.0),
    ("analytics", "Analytics", "insights", 6000.0),
    ("automation", "Automation", "platform", 4800.0),
    ("connect", "Integrations Hub", "integrations", 3600.0),
)
_FEATURES: Final = (
    ("core-alerts", "core", "Alerts"),
    ("core-dash", "core", "Dashboards"),
    ("core-reports", "core", "Reports"),
    ("core-workflows", "core", "Workflows"),
    ("ana-cohorts", "analytics", "Cohorts"),
    ("ana-explore", "analytics", "Explorer"),
    ("ana-funnels", "analytics", "Funnels"),
    ("auto-api", "automation", "API access"),
    ("auto-rules", "automation", "Rules"),
    ("auto-schedules", "automation", "Schedules"),
    ("auto-webhooks", "automation", "Webhooks"),
    ("conn-audit", "connect", "Audit log"),
    ("conn-crm", "connect", "CRM sync"),
    ("conn-slack", "connect", "Slack app"),
    ("conn-sso", "connect", "Single sign-on"),
    ("conn-warehouse", "connect", "Warehouse export"),
)
# (owned product, complementary product, why): phrased to follow "<complement> builds on it: ".
_COMPLEMENTS: Final = (
    (
        "core",
        "analytics",
        "it turns the dashboards and reports your team builds into cohort and funnel answers",
    ),
    ("core", "automation", "it runs the workflows your team repeats by hand every week"),
    ("analytics", "connect", "it takes your analyses to the warehouse and the CRM where the company works"),
    ("automation", "connect", "it lets your rules and schedules reach Slack, your CRM and your warehouse"),
)
_PRODUCT_FEATURES: Final = {
    product[0]: tuple(sorted(f for f, p, _ in _FEATURES if p == product[0])) for product in _PRODUCTS
}
_FEATURE_NAMES: Final = {f: name for f, _, name in _FEATURES}

# --- Draws -------------------------------------------------------------------------------------------------

_NAME_SPACE: Final = len(words.PREFIXES) * len(words.CORES) * len(words.SUFFIXES)
_UNKNOWN_USER: Final = [""]
# Weighted draws, as items and cumulative weights.
_PRIORITIES: Final = ("low", "normal", "high")
_PRIORITY_ODDS: Final = (3, 8, 10)
_CSAT_SCORES: Final = (5, 4, 3, 2, 1)
_CSAT_ODDS: Final = (45, 75, 87, 95, 100)
_TROUBLED_CSAT_ODDS: Final = (10, 30, 55, 80, 100)
_UNPROMOTED_NPS: Final = (0, 1, 2, 3, 4, 5, 6, 7, 8)
_UNPROMOTED_NPS_ODDS: Final = (2, 3, 4, 6, 9, 14, 22, 34, 48)
_INTERACTION_KINDS: Final = ("call", "email", "meeting", "note", "qbr")
_INTERACTION_ODDS: Final = (30, 55, 70, 90, 100)
_SENTIMENTS: Final = ("positive", "neutral", "negative")
_FAN_MOOD: Final = (60, 95, 100)
_LURKER_MOOD: Final = (35, 80, 100)

# --- Segments, habits and stories --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    name: str
    share: float
    mrr: tuple[float, float]
    seats_per_1k_mrr: tuple[float, float]
    contacts: tuple[int, int]
    addon_odds: Mapping[str, float]
    spend: float
    """Mean amount of a repeat purchase (add-on or seat order)."""
    monthly_odds: float
    """Chance that a contract is month-to-month rather than yearly (more on the Starter plan)."""
    tickets_per_month: float
    """Tickets a calm account opens in a month, on average (seven times as many in trouble)."""
    touch_every: int
    """Days between the calls, meetings, emails, notes and QBRs its CSM logs: on that cadence, give or take a
    few days, or (`cadence` False) now and then, that many days apart on average."""
    cadence: bool
    trouble_churn: float
    """Chance that a yearly contract that comes up for renewal during trouble is not renewed."""
    calm_churn: float
    """How many times the book's odds a calm contract is not renewed (a budget cut, an acquisition, a
    company that closes: more among small companies)."""


_SEGMENTS: Final = (
    _Segment("smb", 0.60, (150.0, 1500.0), (15.0, 30.0), (2, 4),
             {"analytics": 0.2, "automation": 0.15, "connect": 0.03}, 600.0, 0.2, 0.1, 240, False, 0.85, 1.5),
    _Segment("mid-market", 0.28, (1500.0, 8000.0), (8.0, 16.0), (3, 6),
             {"analytics": 0.4, "automation": 0.3, "connect": 0.15}, 1200.0, 0.08, 0.2, 30, True, 0.75, 0.8),
    _Segment("enterprise", 0.12, (8000.0, 60000.0), (4.0, 8.0), (4, 8),
             {"analytics": 0.65, "automation": 0.5, "connect": 0.4}, 2400.0, 0.0, 0.3, 21, True, 0.65, 0.4),
)  # fmt: skip
_SEGMENT_BY_NAME: Final = {s.name: s for s in _SEGMENTS}
_POWER_TEAM: Final = (12, 16)
"""Contacts of an account in power use: power use takes ten active users of a feature."""


@dataclass(frozen=True)
class _Habit:
    """How a team uses a feature: on `weekdays` fixed weekdays of every week, each with `chance` (times the
    account's level of use that day), by one of a pool of `users` users, or by up to `per_day` of them."""

    weekdays: int
    chance: float
    users: tuple[int, int]
    per_day: int = 1


# A feature in heavy use is used six days a week by many (power: 20 active days and 10 users a month), in
# regular use on the same two weekdays every week by a few (adopted: 8 days and 2 users; a team in seven also
# on a third, now and then), in light use now and then (onboarding); a dormant account's one user comes in
# weekly, the lurker story's hardly ever. A usage row is one user's use of a feature on a day, so regular use
# at the adoption bar's pace keeps the book near 150 rows an account.
_HEAVY: Final = _Habit(6, 0.9, (99, 99), 2)
_REGULAR: Final = (_Habit(2, 1.0, (2, 4)), _Habit(3, 0.92, (2, 4)))
_LIGHT: Final = _Habit(1, 0.45, (1, 2))
_WEEKLY: Final = _Habit(1, 0.85, (1, 1))
_HARDLY: Final = _Habit(1, 0.25, (1, 1))

_KEPT: Final = 1.5
"""A team keeps its days of use while its level of use is at least 1 / _KEPT of its usual (fewer events on
each); below that, it skips days as well."""
_ADOPTED_SHARE: Final = 0.6
"""The share of its features an account uses regularly to count as adopted (config.toml's default)."""
_RAMP_DAYS: Final = 60
"""A new account's use grows from a third of its level to all of it over its first days."""
_FALL_DAYS: Final = 75
"""In trouble, use falls to its floor over these days ..."""
_RECOVERY_DAYS: Final = 30
"""... and comes back over these after the trouble ends."""


@dataclass(frozen=True)
class _Spell:
    """A spell of trouble: use falls towards `floor` of its level (0: the team stops), tickets come more
    often, emails go unopened, the NPS answer is a detractor's; after `end` use comes back, unless the account
    churned on that day."""

    begin: int
    end: int
    floor: float
    churned: bool = False

    def factor(self, day: int) -> float:
        """The share of the account's level of use left on `day`."""
        if day < self.begin:
            return 1.0
        low = 1.0 - (1.0 - self.floor) * min(1.0, (min(day, self.end) - self.begin) / _FALL_DAYS)
        if day <= self.end:
            return low
        return min(1.0, low + (1.0 - low) * (day - self.end) / _RECOVERY_DAYS)


@dataclass(frozen=True)
class _Story:
    segment: str
    mrr: float
    renewal_in: int
    """Days from the anchor to the next renewal; for the churned story, minus the days since it churned."""
    years: int
    """Contract years from the start date to that renewal (or churn)."""
    products: tuple[str, ...]
    profile: str
    """Its use: "adopted", "onboarding" or "dormant" (see `_BookGenerator._habits`)."""
    advocacy: str
    reads: bool
    """Its contacts open every email (or none)."""
    spell: tuple[int, int, float] | None = None
    """Its trouble, as (begin, end, floor); it churned at the end of it if it churned."""


_STORY_SPECS: Final = {
    "cancel_lookup": _Story("enterprise", 58000.0, 64, 3, ("core", "analytics", "automation", "connect"),
                            "adopted", "lurker", True, (-75, 30, 0.3)),
    "support_burst": _Story("mid-market", 4200.0, 150, 2, ("core", "automation"), "adopted", "lurker", True),
    "silent": _Story("smb", 900.0, 170, 1, ("core",), "adopted", "lurker", False),
    "unopened_email": _Story("smb", 1100.0, 210, 2, ("core", "analytics"), "adopted", "lurker", False),
    "stalled_feature": _Story("mid-market", 3500.0, 240, 1, ("core", "analytics"), "adopted", "lurker", True),
    "cross_sell_ready": _Story("mid-market", 6200.0, 200, 2, ("core",), "adopted", "liker", True),
    "lover": _Story("mid-market", 2800.0, 180, 3, ("core", "analytics"), "adopted", "lover", True),
    "birthday": _Story("smb", 700.0, 130, 1, ("core",), "adopted", "lurker", True),
    "renewal_soon": _Story("enterprise", 15000.0, 30, 2, ("core", "analytics", "automation"),
                           "adopted", "lurker", True),
    "lurker": _Story("smb", 400.0, 160, 1, ("core",), "dormant", "lurker", False),
    "birthday_no_consent": _Story("smb", 600.0, 220, 2, ("core",), "onboarding", "lurker", True),
    "churned": _Story("smb", 500.0, -60, 2, ("core",), "adopted", "lurker", False, (-170, -60, 0.25)),
}  # fmt: skip


# A story's own logged interaction: (day, minute, kind, sentiment, summary).
_STORY_INTERACTIONS: Final = {
    "cross_sell_ready": (
        -6,
        600,
        "meeting",
        "positive",
        "Working session with {contact}: the team asked to slice reports by cohort.",
    ),
    "cancel_lookup": (
        -12,
        840,
        "call",
        "negative",
        "Call with {contact}: budget under review, they are comparing alternatives.",
    ),
    "support_burst": (
        -4,
        700,
        "note",
        "negative",
        "Escalated ticket on exports; engineering looped in, {contact} frustrated.",
    ),
    "churned": (-75, 660, "call", "negative", "Call with {contact}: they will not renew; moving to a suite."),
}


# --- Per-account state -------------------------------------------------------------------------------------


@dataclass
class _Contact:
    id: str
    name: str
    emailable: bool


@dataclass
class _Account:
    number: int
    id: str
    name: str
    domain: str
    owner: str
    segment: _Segment
    seats: int
    start: int
    churned: int | None
    story: str | None
    profile: str
    advocacy: str
    open_rate: float
    spells: list[_Spell]
    products: dict[str, tuple[int, int | None]]
    """Product id -> the days its entitlement started and ended (None: still owned)."""
    contacts: list[_Contact] = field(default_factory=list)

    @property
    def last_day(self) -> int:
        """The last day the account can show activity: yesterday, or the day before it churned."""
        return -1 if self.churned is None else min(-1, self.churned - 1)

    def first_day(self, horizon: int) -> int:
        """The first day within `horizon` days back on which the account existed."""
        return max(-horizon, self.start)

    def in_trouble(self, day: int) -> bool:
        return any(spell.begin <= day <= spell.end for spell in self.spells)


class _BookGenerator:
    def __init__(self, *, seed: int, anchor: date, usage_density: float) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.anchor = anchor
        self.density = usage_density
        self._days: dict[int, str] = {}
        # A permutation of the name space, so names are unique without remembering them.
        step = self.rng.randrange(1, _NAME_SPACE)
        while math.gcd(step, _NAME_SPACE) != 1:
            step += 1
        self._name_step = step
        self._name_offset = self.rng.randrange(_NAME_SPACE)
        self._prefixes = self.rng.sample(words.PREFIXES, len(words.PREFIXES))
        self._cores = self.rng.sample(words.CORES, len(words.CORES))
        self._suffixes = self.rng.sample(words.SUFFIXES, len(words.SUFFIXES))
        self._weekday = {off: (anchor + timedelta(days=off)).weekday() for off in range(-USAGE_DAYS, 0)}
        self._window = {off: self.day(off) for off in range(-USAGE_DAYS, 0)}
        self._schedules: dict[tuple[int, ...], list[int]] = {}
        self._counters = dict.fromkeys(
            ("contact", "ticket", "survey", "signal", "transaction", "interaction", "outreach", "message"), 0
        )

    # -- helpers

    def _next(self, name: str) -> int:
        self._counters[name] += 1
        return self._counters[name]

    def day(self, offset: int) -> str:
        text = self._days.get(offset)
        if text is None:
            text = self._days[offset] = (self.anchor + timedelta(days=offset)).isoformat()
        return text

    def ts(self, offset: int, minute: int) -> str:
        return f"{self.day(offset)}T{minute // 60:02d}:{minute % 60:02d}:00+00:00"

    def offset(self, day: date) -> int:
        return (day - self.anchor).days

    def _pick(self, items: Sequence[_T]) -> _T:
        """rng.choice without its overhead (this runs millions of times for a big book)."""
        return items[int(self.rng.random() * len(items))]

    def _between(self, low: int, high: int) -> int:
        """rng.randint without its overhead."""
        return low + int(self.rng.random() * (high - low + 1))

    def _weighted(self, items: Sequence[_T], cumulative: Sequence[float]) -> _T:
        """rng.choices(items, cum_weights=cumulative)[0] without its overhead."""
        return items[bisect(cumulative, self.rng.random() * cumulative[-1])]

    def _work_minute(self) -> int:
        return 8 * 60 + int(self.rng.random() * 600)

    @contextmanager
    def _drawing_from(self, rng: random.Random) -> Iterator[None]:
        """Draw from `rng` instead of the book's stream meanwhile (a `_history_rng`), so that what is drawn
        there does not move the book's other draws."""
        book, self.rng = self.rng, rng
        try:
            yield
        finally:
            self.rng = book

    def _sync_key(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    def _company(self, index: int) -> tuple[str, str, str]:
        """Name, domain and industry of the company at `index`: the word lists' lengths are pairwise coprime,
        so index -> (index mod each length) is one-to-one (Chinese remainders) and every word changes from
        one index to the next; a seeded affine permutation and shuffled lists make the book's own mix."""
        n = (self._name_offset + index * self._name_step) % _NAME_SPACE
        suffix, industry = self._suffixes[n % len(words.SUFFIXES)]
        parts = (self._prefixes[n % len(words.PREFIXES)], self._cores[n % len(words.CORES)], suffix)
        lap = index // _NAME_SPACE
        name = " ".join(parts) + (f" {lap + 1}" if lap else "")
        domain = "".join(parts).lower() + (str(lap + 1) if lap else "")
        return name, domain, industry

    # -- the stream

    def groups(self, accounts: int) -> Iterator[Group]:
        """The catalogue, then each account with everything about it."""
        yield self._catalogue()
        for number in range(1, accounts + 1):
            yield self._account_group(number)

    def _catalogue(self) -> Group:
        return {
            "products": [
                {"id": p, "name": name, "family": family, "list_price": price}
                for p, name, family, price in _PRODUCTS
            ],
            "features": [{"id": f, "product_id": p, "name": name} for f, p, name in _FEATURES],
            "product_complements": [
                {"product_id": p, "complement_id": c, "reason": reason} for p, c, reason in _COMPLEMENTS
            ],
        }

    def _account_group(self, number: int) -> Group:
        story = _STORIES[number - 1] if number <= len(_STORIES) else None
        group: Group = {table: [] for table in TABLE_COLUMNS if table not in _CATALOGUE_TABLES}
        account, group["accounts"] = self._account(number, story)
        group["contacts"] = list(self._contacts(account))
        group["entitlements"] = list(self._entitlements(account))
        usage, weekly = self._usage(account)
        group["usage_events"] = usage + weekly
        signals = self._logins(account, usage)
        for table, row in chain(self._tickets(account), self._surveys(account)):
            (signals if table == "signals" else group[table]).append(row)
        signals.extend(self._emails(account))
        signals.extend(self._advocacy_acts(account))
        signals.extend(self._cancel_signals(account))
        signals.sort(key=itemgetter("occurred_at"))
        for signal in signals:
            signal["id"] = self._next("signal")
        group["signals"] = signals
        group["transactions"] = list(self._transactions(account))
        group["interactions"] = list(self._interactions(account))
        group["outreach"] = list(self._outreach(account))
        return group

    # -- accounts and contacts

    def _account(self, number: int, story: str | None) -> tuple[_Account, list[Row]]:
        rng = self.rng
        name, domain, industry = self._company(number - 1)
        owner = self._pick(words.OWNERS)
        spec = _STORY_SPECS[story] if story else None
        if spec is not None:
            segment = _SEGMENT_BY_NAME[spec.segment]
            mrr = spec.mrr
            boundary = self.anchor + timedelta(days=spec.renewal_in)
            start = self.offset(add_years(boundary, -spec.years))
            churned = spec.renewal_in if spec.renewal_in < 0 else None
            renewal = spec.renewal_in
            fit, profile, advocacy, open_rate = 0.8, spec.profile, spec.advocacy, float(spec.reads)
            monthly = False  # the stories run on yearly contracts (their renewal is `years` on)
            spells = [] if spec.spell is None else [_Spell(*spec.spell, churned=churned is not None)]
            products = {p: (start if p == "core" else start + 30, churned) for p in spec.products}
            if story == "stalled_feature":
                products["analytics"] = (-45, None)
        else:
            segment = self._segment()
            low, high = segment.mrr
            mrr = float(round(low * (high / low) ** rng.random(), -1))
            start = -(30 + int((4 * 365 - 30) * rng.random()))
            # Most customers bought what suits them; a fifth were sold something that fits them less.
            fit = rng.betavariate(2.0, 3.0) if rng.random() < 0.2 else rng.betavariate(5.0, 1.5)
            starter = segment.name == "smb" and mrr < 500
            monthly = rng.random() < segment.monthly_odds * (1.6 if starter else 1.0)
            spells, churned, renewal = self._life(start, fit, monthly, segment, starter)
            profile = self._profile(fit, segment)
            roll = rng.random()
            advocacy = (
                "lurker" if fit < 0.55 else "lover" if roll < 0.015 else "liker" if roll < 0.11 else "lurker"
            )
            open_rate = {
                "lover": 0.7 + 0.25 * rng.random(),
                "liker": 0.5 + 0.4 * rng.random(),
                "lurker": 0.15 + 0.5 * rng.random(),
            }[advocacy]
            products, mrr = self._products(segment, start, churned, spells, mrr)
        seats = max(1, round(mrr / 1000 * rng.uniform(*segment.seats_per_1k_mrr)))
        if churned is not None:
            stage = "churned"
        elif start > -90:
            stage = "onboarding"
        else:
            stage = "customer"
        plan = {"smb": "Starter" if mrr < 500 else "Team", "mid-market": "Business"}.get(
            segment.name, "Enterprise"
        )
        cac = round(mrr * rng.uniform(8, 30), -1) if rng.random() < 0.5 else None
        account = _Account(
            number=number,
            id=account_id(number),
            name=name,
            domain=f"{domain}.{self._pick(words.TLDS)}",
            owner=owner,
            segment=segment,
            seats=seats,
            start=start,
            churned=churned,
            story=story,
            profile=profile,
            advocacy=advocacy,
            open_rate=open_rate,
            spells=spells,
            products=products,
        )
        row: Row = {
            "id": account.id,
            "hubspot_id": str(9_100_000_000 + number),
            "salesforce_id": None,
            "name": name,
            "domain": account.domain,
            "owner": owner,
            "segment": segment.name,
            "plan": plan,
            "mrr": mrr,
            "seats": seats,
            "start_date": self.day(start),
            "renewal_date": self.day(renewal),
            "churned_on": None if churned is None else self.day(churned),
            "cac": cac,
            "lifecycle_stage": stage,
            "custom": dump_json({"industry": industry, "region": self._pick(words.REGIONS)}),
            "deleted_at": None,
            "created_at": self.ts(start - 14, self._work_minute()),
            "updated_at": self.ts(-1 - int(rng.random() * 30), self._work_minute()),
            "contract_months": 1 if monthly else 12,
        }
        return account, [row]

    def _segment(self) -> _Segment:
        pick = self.rng.random()
        for candidate in _SEGMENTS:
            if pick < candidate.share:
                return candidate
            pick -= candidate.share
        return _SEGMENTS[-1]

    def _life(
        self, start: int, fit: float, monthly: bool, segment: _Segment, starter: bool
    ) -> tuple[list[_Spell], int | None, int]:
        """The account's spells of trouble, the day it churned (None: it did not) and its next renewal, or
        for one that churned the renewal it let go (a churned account's renewal date is the day its contract
        ended, as a CRM keeps it).

        Trouble comes more often the worse the product fits, and more on the small plan. A contract is decided
        at its renewals (every month, or every year on the start's anniversary): one that comes up during
        trouble is often not renewed, more so on a month-to-month contract or the small plan; a calm one
        rarely, for reasons the data do not show (a budget cut, an acquisition), more so the worse the fit.
        About a tenth of the yearly contracts renew within 90 days.
        """
        rng = self.rng
        rate = (0.25 + 3.0 * (1.0 - fit) ** 2) * (1.4 if starter else 1.0) / 365
        spells: list[_Spell] = []
        day = start + 45 + int(rng.expovariate(rate))
        while day <= -1:
            length = 45 + int(rng.random() * 120)
            floor = 0.0 if rng.random() < 0.2 else 0.15 + 0.4 * rng.random()
            spells.append(_Spell(day, day + length, floor))
            day += length + 30 + int(rng.expovariate(rate))
        start_day = self.anchor + timedelta(days=start)
        if monthly:
            step, calm = 1, 0.003 + 0.03 * (1.0 - fit) ** 2
            warned, trouble_churn = 30, 0.45
        else:
            step, calm = 12, 0.01 + 0.8 * (1.0 - fit) ** 3 + (0.02 if starter else 0.0)
            warned, trouble_churn = 14, segment.trouble_churn + (0.1 if starter else 0.0)
        months = step
        while (renewal := self.offset(add_months(start_day, months))) <= -1:
            troubled = any(
                spell.begin <= renewal - warned and renewal <= spell.end + (0 if monthly else 30)
                for spell in spells
            )
            first_year = 2.0 if months <= 12 else 1.0
            if rng.random() < (trouble_churn if troubled else calm * first_year * segment.calm_churn):
                kept = [spell for spell in spells if spell.begin < renewal]
                if kept and kept[-1].end >= renewal:
                    kept[-1] = _Spell(kept[-1].begin, renewal, kept[-1].floor, churned=True)
                return kept, renewal, renewal
            months += step
        if not monthly and renewal <= 90 and rng.random() >= 0.4:
            renewal = self.offset(add_months(start_day, months + step))
        return spells, None, renewal

    def _profile(self, fit: float, segment: _Segment) -> str:
        """How the account uses what it owns (see `_habits`): the better the fit, the more."""
        score = fit + self.rng.gauss(0.0, 0.08)
        if score > 0.98 and segment.name != "smb":
            return "power"
        if score > 0.62:
            return "adopted"
        return "onboarding" if score > 0.44 else "dormant"

    def _products(
        self, segment: _Segment, start: int, churned: int | None, spells: list[_Spell], mrr: float
    ) -> tuple[dict[str, tuple[int, int | None]], float]:
        """Core from the start, add-ons bought along the way; trouble that passes sometimes costs an add-on
        (and its share of the MRR). Everything ends on the day the account churned."""
        rng = self.rng
        last = -1 if churned is None else churned - 1
        products: dict[str, tuple[int, int | None]] = {"core": (start, churned)}
        for pid, *_ in _PRODUCTS[1:]:
            if rng.random() < segment.addon_odds[pid]:
                products[pid] = (start + int(rng.random() * (last - start)), churned)
        for spell in spells:
            if spell.churned or spell.end > -1:
                continue
            for pid, (started, ended) in products.items():
                if pid != "core" and ended is None and started < spell.begin and rng.random() < 0.2:
                    products[pid] = (started, spell.end)
                    mrr = max(segment.mrr[0], float(round(mrr * 0.8, -1)))
        return products, mrr

    def _contacts(self, account: _Account) -> Iterator[Row]:
        rng = self.rng
        count = self._between(*(_POWER_TEAM if account.profile == "power" else account.segment.contacts))
        if account.story in ("cross_sell_ready", "cancel_lookup"):
            count = 5
        firsts = rng.sample(words.FIRST_NAMES, count)
        lasts = rng.sample(words.LAST_NAMES, count)
        for index, (first, last) in enumerate(zip(firsts, lasts, strict=True)):
            number = self._next("contact")
            role = words.ROLES[index] if index < 3 else self._pick(words.ROLES[3:])
            opt_in = rng.random() < 0.88
            do_not_contact = rng.random() < 0.04
            birthday: str | None = None
            sources: dict[str, str] = {}
            consent = False
            if rng.random() < 0.2:
                birthday = self._birthday()
                sources = {"birthday": "self_reported"}
                consent = True
            phone = (
                f"+1-555-{rng.randrange(100, 1000)}-{rng.randrange(10000):04d}"
                if rng.random() < 0.5
                else None
            )
            if account.story is not None and index < 2:
                # Story accounts keep their champion and admin reachable; the birthday stories set theirs.
                opt_in, do_not_contact = True, False
                if index == 1 and account.story == "birthday":
                    birthday = add_years(self.anchor, 1988 - self.anchor.year).isoformat()
                    sources, consent = {"birthday": "self_reported"}, True
                elif index == 1 and account.story == "birthday_no_consent":
                    birthday = add_years(self.anchor, 1979 - self.anchor.year).isoformat()
                    sources, consent = {"birthday": "enrichment_vendor"}, False
            if do_not_contact:
                opt_in = False
            contact = _Contact(id=f"con-{number:06d}", name=f"{first} {last}", emailable=opt_in)
            account.contacts.append(contact)
            yield {
                "id": contact.id,
                "account_id": account.id,
                "hubspot_id": str(5_100_000_000 + number),
                "salesforce_id": None,
                "name": contact.name,
                "email": f"{first}.{last}@{account.domain}".lower(),
                "role": role,
                "phone": phone,
                "birthday": birthday,
                "email_opt_in": int(opt_in),
                "do_not_contact": int(do_not_contact),
                "personalization_consent": int(consent),
                "field_sources": dump_json(sources),
                "deleted_at": None,
                "created_at": self.ts(account.start - int(rng.random() * 14), self._work_minute()),
                "updated_at": self.ts(-1 - int(rng.random() * 60), self._work_minute()),
            }

    def _birthday(self) -> str:
        """A birthday on any day but the anchor's, which belongs to the birthday stories."""
        while True:
            day = date(1960 + int(self.rng.random() * 41), 1, 1) + timedelta(
                days=int(self.rng.random() * 365)
            )
            if (day.month, day.day) != (self.anchor.month, self.anchor.day):
                return day.isoformat()

    # -- products and usage

    def _entitlements(self, account: _Account) -> Iterator[Row]:
        rng = self.rng
        for pid, (started, ended) in account.products.items():
            yield {
                "account_id": account.id,
                "product_id": pid,
                "started_on": self.day(started),
                "ended_on": None if ended is None else self.day(ended),
                "seats": account.seats
                if pid == "core"
                else max(1, round(account.seats * rng.uniform(0.2, 0.8))),
            }

    def _usage(self, account: _Account) -> tuple[list[Row], list[Row]]:
        """Daily usage per feature, contact and day: each feature the account uses by its habit (see
        `_habits`), at the account's level of use that day (see `_levels`); stories set theirs. The days and
        counts come from a stream of the account's own (`_usage_rng`), so that the book's other draws do not
        depend on them. Returns those rows, and before the last `USAGE_DAYS` the weekly totals of the same
        habits (`_weekly_usage`)."""
        habits = self._habits(account)
        rng = _usage_rng(self.seed, account.number)
        story = account.story
        last = -24 if story == "silent" else account.last_day
        everyone = [c.id for c in account.contacts]
        random = rng.random
        window = self._window
        levels = self._levels(account)
        rows: list[Row] = []
        append, acc = rows.append, account.id
        bases: dict[str, float] = {}
        for feature, first, stop, habit in habits:
            chosen: list[list[str]] | None = None  # the users of each day, where a story fixes them
            base = 8.0  # the mean count of an event, at the account's level of use
            if story == "stalled_feature" and feature == STALLED_FEATURE:
                days, pool = [-28, -26, -23], everyone[:2]
                chosen = [pool[:1], pool, pool[1:]]
            elif story == "cross_sell_ready":
                days, chosen = self._growing_use(everyone)
                pool = everyone
            else:
                low, high = habit.users
                pool = sorted(rng.sample(everyone, min(len(everyone), self._between(low, high))))
                chance = habit.chance * self.density
                base = rng.gammavariate(2.0, 4.0)
                schedule = self._schedule(
                    tuple(sorted(rng.sample(range(max(5, habit.weekdays)), habit.weekdays)))
                )
                days = []
                stop = min(stop, last)
                for day in schedule[bisect(schedule, first - 1) :]:
                    if day > stop:
                        break
                    kept = 1.0 if levels is None else min(1.0, _KEPT * levels[day + USAGE_DAYS])
                    if random() < chance * kept:
                        days.append(day)
            bases[feature] = base
            size = len(pool)
            for index, day in enumerate(days):
                text = window[day]
                level = 1.0 if levels is None else levels[day + USAGE_DAYS]
                if chosen is not None:
                    users = chosen[index]
                elif random() < 0.03:
                    users = _UNKNOWN_USER  # an API or service call no user can be matched to
                elif habit.per_day == 1:
                    users = [pool[int(random() * size)]]
                else:
                    count = min(size, 1 + int(random() * habit.per_day))
                    first_user = int(random() * size)
                    users = pool[first_user : first_user + count]
                    if len(users) < count:  # wrapped around the end of the pool
                        users = sorted(users + pool[: count - len(users)])
                for user in users:
                    append(
                        {
                            "account_id": acc,
                            "feature_id": feature,
                            "occurred_at": text,
                            "contact_id": user,
                            "source_id": "",
                            "count": 1 + int(base * level * (0.8 + 0.4 * random())),
                            "import_id": None,  # the demo is generated, not imported
                            "import_row": None,
                        }
                    )
        return rows, list(self._weekly_usage(account, habits, bases))

    def _weekly_usage(
        self, account: _Account, habits: list[tuple[str, int, int, _Habit]], bases: Mapping[str, float]
    ) -> Iterator[Row]:
        """The account's use before the last `USAGE_DAYS`, as an older export keeps it: its weekly total,
        dated on the week's last day, credited to the feature it used most that week and to no one user.

        Each feature's share of a week is what its habit's days would give at the account's level of use in
        mid-week (the ramp of a new account, the fall and recovery of trouble: `_level`); a week none of whose
        days would see use has no row. The habits are the daily window's (`habits`, with their mean counts
        `bases`), and, for what the account owned only before it (all of it, for an account that churned
        before), habits drawn the same way from the account's history stream."""
        rng = _history_rng(self.seed, account.number, "usage")
        last = min(account.last_day, -USAGE_DAYS - 1)
        first = account.first_day(HISTORY_DAYS)
        if first > last:
            return
        with self._drawing_from(rng):
            older = self._habits(account, since=-HISTORY_DAYS)
        known = {feature for feature, *_ in habits}
        plan = [
            (feature, start, stop, habit, bases.get(feature) or rng.gammavariate(2.0, 4.0))
            for feature, start, stop, habit in habits + [h for h in older if h[0] not in known]
        ]
        ramped = account.start + _RAMP_DAYS
        troubled = [(spell.begin, spell.end + _RECOVERY_DAYS) for spell in account.spells]
        whole = (max((h[1] for h in plan), default=0), min((h[2] for h in plan), default=0))
        steady: tuple[float, float, str] | None = None  # a calm week with every habit in it: all alike
        for end in range(last, first - 1, -7):
            begin = max(first, end - 6)
            middle = (begin + end) // 2
            calm = middle >= ramped and not any(low <= middle < high for low, high in troubled)
            if calm and end - begin == 6 and whole[0] <= begin and end <= whole[1]:
                if steady is None:
                    steady = self._week(plan, begin, end, 1.0)
                idle, uses, main = steady
            else:
                level = 1.0 if calm else _level(account.start, account.spells, middle)
                idle, uses, main = self._week(plan, begin, end, level)
            if not main or rng.random() < idle:
                continue
            yield {
                "account_id": account.id,
                "feature_id": main,
                "occurred_at": self.day(end),
                "contact_id": "",
                "source_id": "",
                "count": max(1, round(uses / (1.0 - idle) * (0.9 + 0.2 * rng.random()))),
                "import_id": None,
                "import_row": None,
            }

    def _week(
        self, plan: Sequence[tuple[str, int, int, _Habit, float]], begin: int, end: int, level: float
    ) -> tuple[float, float, str]:
        """Of a week at `level` (`_weekly_usage`): the chance that none of its days sees use, the uses to
        expect, and the feature with most of them ("": none in use)."""
        chance = min(1.0, _KEPT * level) * self.density
        idle, uses, most, main = 1.0, 0.0, 0.0, ""
        for feature, start, stop, habit, base in plan:
            days = (min(end, stop) - max(begin, start) + 1) * habit.weekdays / 7
            if days <= 0:
                continue
            used = min(1.0, habit.chance * chance)
            idle *= (1.0 - used) ** days
            use = days * used * (1 + habit.per_day) / 2 * (base * level + 0.5)
            uses += use
            if use > most:
                most, main = use, feature
        return idle, uses, main

    def _habits(self, account: _Account, since: int = -USAGE_DAYS) -> list[tuple[str, int, int, _Habit]]:
        """(feature, first day, last day, habit) of each feature the account uses from `since` on.

        Enough features for adoption (`_ADOPTED_SHARE` of those it owns, core first) are in regular use when
        the account is "adopted", more than half of them in heavy use when it is in "power" use, one or two
        fewer when it is "onboarding", none when it is "dormant" (one user comes in weekly, or nobody); other
        features are in light use or none. A feature is taken up within weeks of its product's start.
        """
        rng = self.rng
        owned = [
            (feature, started, -1 if ended is None else ended - 1, pid == "core")
            for pid, (started, ended) in account.products.items()
            for feature in _PRODUCT_FEATURES[pid]
            if ended is None or ended > since
        ]
        if account.story == "stalled_feature":  # the story's feature is its own; the others are not started
            owned = [f for f in owned if not f[0].startswith("ana-") or f[0] == STALLED_FEATURE]
        entitled = sum(1 for *_, stop, _ in owned if stop >= account.last_day)
        need = math.ceil(_ADOPTED_SHARE * entitled - 1e-9)
        order = sorted(owned, key=lambda f: (not f[3], rng.random()))
        profile = account.profile
        heavy, regular = 0, 0
        if profile == "power":
            regular = need + (rng.random() < 0.3)
            heavy = regular // 2 + 1
        elif profile == "adopted":
            regular = need + (rng.random() < 0.15)
        elif profile == "onboarding":
            regular = max(0, need - 1 - (rng.random() < 0.5))
        if account.story == "cross_sell_ready":
            regular = len(order)  # every feature, on the story's own days (`_growing_use`)
        habits = []
        for index, (feature, started, stop, _) in enumerate(order):
            habit: _Habit | None
            if index < heavy:
                habit = _HEAVY
            elif index < regular:
                habit = _REGULAR[rng.random() < 0.15]
            elif profile == "dormant":  # one user on one feature, or nobody at all
                if index > 0:
                    habit = None
                else:
                    habit = _HARDLY if account.story == "lurker" else _WEEKLY if rng.random() < 0.5 else None
            else:
                stalled = account.story == "stalled_feature" and feature == STALLED_FEATURE  # its own days
                habit = _LIGHT if stalled or rng.random() < 0.35 else None
            if habit is not None:
                first = started + int(rng.random() * (10 if index < regular else 60))
                habits.append((feature, first, stop, habit))
        habits.sort()
        return habits

    def _schedule(self, weekdays: tuple[int, ...]) -> list[int]:
        """The days of the usage window that fall on these weekdays (0 is Monday), in order."""
        days = self._schedules.get(weekdays)
        if days is None:
            days = self._schedules[weekdays] = [day for day in self._window if self._weekday[day] in weekdays]
        return days

    def _levels(self, account: _Account) -> list[float] | None:
        """The account's level of use on each day of the usage window (index: day + USAGE_DAYS), 1 when it is
        settled and calm; None when it is 1 throughout. A new account ramps up over `_RAMP_DAYS`, trouble
        brings it down (`_Spell.factor`)."""
        ramped = account.start + _RAMP_DAYS
        spells = [s for s in account.spells if s.end + _RECOVERY_DAYS > -USAGE_DAYS and s.begin < 0]
        if ramped <= -USAGE_DAYS and not spells:
            return None
        return [_level(account.start, spells, day) for day in range(-USAGE_DAYS, 0)]

    def _growing_use(self, users: list[str]) -> tuple[list[int], list[list[str]]]:
        """Use that grows by construction: every other weekday by two users until 60 days ago, then every
        weekday by two, and by three in the last 30 days (half as much again as the 30 before)."""
        days: list[int] = []
        chosen: list[list[str]] = []
        for day in range(-USAGE_DAYS, 0):
            if self._weekday[day] >= 5 or (day < -60 and day % 2):
                continue
            start = day % len(users)
            days.append(day)
            chosen.append(sorted((users * 2)[start : start + (3 if day >= -30 else 2)]))
        return days, chosen

    # -- signals, tickets, surveys

    def _signal(
        self, account: _Account, contact: _Contact | None, kind: str, at: str, value: float | None = None,
        payload: Mapping[str, object] | str = "{}", source_id: str = "",
    ) -> Row:  # fmt: skip
        return {
            "id": None,  # numbered once the account's signals are in time order
            "account_id": account.id,
            "contact_id": None if contact is None else contact.id,
            "kind": kind,
            "occurred_at": at,
            "value": value,
            "payload": payload if isinstance(payload, str) else dump_json(payload),
            "source_id": source_id,
            "import_id": None,
            "import_row": None,
        }

    def _logins(self, account: _Account, usage: list[Row]) -> list[Row]:
        """A few logins, on days a contact used the product (of the daily `usage`)."""
        random = self.rng.random
        by_id = {c.id: c for c in account.contacts}
        days: set[Value] = set()
        logins: list[Row] = []
        for _ in range(min(len(usage), 1 + int(random() * 4))):
            event = usage[int(random() * len(usage))]
            contact_id, day = event["contact_id"], event["occurred_at"]
            if not contact_id or day in days:
                continue
            days.add(day)
            minute = 7 * 60 + 30 + int(random() * 150)
            at = f"{day}T{minute // 60:02d}:{minute % 60:02d}:00+00:00"
            logins.append(self._signal(account, by_id[str(contact_id)], "login", at, payload=_WEB_CLIENT))
        return logins

    def _arrivals(self, first: int, last: int, per_day: float) -> list[int]:
        """The days of a Poisson process with `per_day` events a day over first..last (several on a day
        count once)."""
        days: list[int] = []
        if per_day <= 0:
            return days
        day = first - 1
        while (day := day + 1 + int(self.rng.expovariate(per_day))) <= last:
            days.append(day)
        return days

    def _tickets(self, account: _Account) -> Iterator[tuple[str, Row]]:
        """Tickets over the history with their support_ticket and escalation signals, and a CSAT survey after
        some closures: now and then when calm, seven times as often in trouble, often with a burst of tickets
        in its first two months."""
        rng = self.rng
        first, last = account.first_day(HISTORY_DAYS), account.last_day
        specs: list[tuple[int, int, bool]] = []
        if account.story == "support_burst":
            specs = [(-10, 560, False), (-8, 610, False), (-7, 840, False), (-5, 545, True), (-3, 700, False),
                     (-2, 630, False)]  # fmt: skip
        elif account.story is None and first <= last:
            rate = account.segment.tickets_per_month / 30
            for day in self._arrivals(first, last, rate):
                specs.append((day, self._work_minute(), rng.random() < 0.02))
            for spell in account.spells:
                lo, hi = max(first, spell.begin), min(last, spell.end)
                for day in self._arrivals(lo, hi, 6 * rate):
                    specs.append((day, self._work_minute(), rng.random() < 0.15))
                if spell.begin >= first and rng.random() < 0.7:
                    opened = spell.begin + int(rng.random() * min(60, spell.end - spell.begin))
                    escalated = int(rng.random() * 8)  # one of the burst escalated, more often than not
                    for n in range(4 + (rng.random() < 0.5)):
                        day = opened + int(rng.random() * 12)
                        if day <= last:
                            specs.append((day, self._work_minute(), n == escalated))
            specs.sort()
        for day, minute, escalated in specs:
            ticket_id = f"tkt-{self._next('ticket'):07d}"
            contact = self._pick(account.contacts)
            priority = "urgent" if escalated else self._weighted(_PRIORITIES, _PRIORITY_ODDS)
            subject = self._pick(words.TICKET_SUBJECTS)
            closed_day = day + 1 + int(rng.random() * 6)
            closed = closed_day <= -1 and (day <= -8 or rng.random() < 0.4)
            status = (
                ("closed" if closed_day <= -7 else "solved") if closed else self._pick(("open", "pending"))
            )
            opened_at = self.ts(day, minute)
            yield (
                "tickets",
                {
                    "id": ticket_id,
                    "account_id": account.id,
                    "contact_id": contact.id,
                    "opened_at": opened_at,
                    "closed_at": self.ts(closed_day, self._work_minute()) if closed else None,
                    "priority": priority,
                    "status": status,
                    "escalated": int(escalated),
                    "subject": subject,
                },
            )
            payload = {"ticket_id": ticket_id, "subject": subject, "priority": priority}
            yield (
                "signals",
                self._signal(account, contact, "support_ticket", opened_at, None, payload, ticket_id),
            )
            if escalated:
                reason = {"ticket_id": ticket_id, "reason": "customer asked for a manager"}
                at = self.ts(day, min(minute + 90, 23 * 60 + 59))
                yield "signals", self._signal(account, contact, "escalation", at, None, reason, ticket_id)
            if closed and closed_day + 1 <= min(-1, last) and rng.random() < 0.35:
                odds = _TROUBLED_CSAT_ODDS if account.in_trouble(day) else _CSAT_ODDS
                score = self._weighted(_CSAT_SCORES, odds)
                yield from self._survey(account, contact, "csat", score, closed_day + 1, None)

    def _survey(
        self, account: _Account, contact: _Contact, kind: str, score: int, day: int, comment: str | None
    ) -> Iterator[tuple[str, Row]]:
        survey_id = f"srv-{self._next('survey'):06d}"
        at = self.ts(day, self._work_minute())
        yield (
            "surveys",
            {
                "id": survey_id,
                "account_id": account.id,
                "contact_id": contact.id,
                "kind": kind,
                "score": score,
                "responded_at": at,
                "comment": comment,
            },
        )
        payload = {"survey_id": survey_id}
        yield "signals", self._signal(account, contact, kind, at, float(score), payload, survey_id)

    def _surveys(self, account: _Account) -> Iterator[tuple[str, Row]]:
        """The yearly NPS survey: likers and lovers answer as promoters, a few lurkers answer 0-8 (and most
        never do); an answer given in trouble is a detractor's, and trouble makes some answer who would
        not."""
        rng = self.rng
        first, last = account.first_day(HISTORY_DAYS), account.last_day
        if first > last:
            return
        answers: list[tuple[int, int]] = []
        story = account.story
        if story in ("cross_sell_ready", "lover"):
            answers = [(max(first, -200), 9), (-20, 10)]
        elif story == "cancel_lookup":
            answers = [(-40, 5)]
        elif story is None:
            odds = 0.1 if account.advocacy == "lurker" else 0.9
            for year in range(-HISTORY_DAYS, 0, 365):
                low, high = max(first, year), min(last, year + 364)
                if low > high or rng.random() >= odds:
                    continue
                day = self._between(low, high)
                if account.in_trouble(day):
                    score = self._weighted(_UNPROMOTED_NPS[:7], _UNPROMOTED_NPS_ODDS[:7])
                elif account.advocacy != "lurker":
                    score = self._pick((9, 10, 10))
                else:
                    score = self._weighted(_UNPROMOTED_NPS, _UNPROMOTED_NPS_ODDS)
                answers.append((day, score))
            for spell in account.spells:
                low, high = max(first, spell.begin + 14), min(last, spell.end)
                if low <= high and rng.random() < 0.35:
                    answers.append(
                        (
                            self._between(low, high),
                            self._weighted(_UNPROMOTED_NPS[:7], _UNPROMOTED_NPS_ODDS[:7]),
                        )
                    )
            answers.sort()
        for day, score in answers:
            contact = account.contacts[0] if rng.random() < 0.6 else self._pick(account.contacts)
            band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            yield from self._survey(account, contact, "nps", score, day, self._pick(words.NPS_COMMENTS[band]))

    def _emails(self, account: _Account) -> list[Row]:
        """An email every six weeks or so to the first reachable contact, opened (hours to days later) if
        that contact reads them (the account's `open_rate` of its contacts do), some clicked; in trouble the
        CSM's check-ins come every two weeks, and little is opened. Those before the last `USAGE_DAYS` come
        from the account's history stream."""
        with self._drawing_from(_history_rng(self.seed, account.number, "emails")):
            older = self._emails_between(account, account.first_day(HISTORY_DAYS), -USAGE_DAYS - 1)
        return older + self._emails_between(account, account.first_day(USAGE_DAYS), account.last_day)

    def _emails_between(self, account: _Account, first: int, until: int) -> list[Row]:
        """`_emails` sent from `first` to `until` (opened up to the account's last day)."""
        rng = self.rng
        last = account.last_day
        until = min(until, last)
        reachable = [c for c in account.contacts if c.emailable]
        if not reachable or first > until:
            return []
        if account.story == "unopened_email" and until == last:
            sends = [
                (day, 600 + n, reachable[0], subject)
                for n, (day, subject) in enumerate(
                    zip((-52, -38, -24, -10), words.UNOPENED_STORY_SUBJECTS, strict=True)
                )
            ]
        else:
            sends = [
                (
                    min(until, day + self._between(-7, 7)),
                    self._work_minute(),
                    reachable[0],
                    self._pick(words.EMAIL_SUBJECTS),
                )
                for day in range(first + int(rng.random() * 45), until + 1, 45)
            ]
            check_in = words.EMAIL_SUBJECTS[6]
            for spell in account.spells if account.story is None else ():  # the stories tell their own
                for day in range(spell.begin + 7, min(spell.end, until) + 1, 14):
                    if day >= first:
                        sends.append((day, self._work_minute(), reachable[0], check_in))
            sends.sort(key=itemgetter(0, 1))
        readers = {c.id for c in reachable if rng.random() < account.open_rate}
        signals: list[Row] = []
        for day, minute, contact, subject in sends:
            message_id = f"msg-{self._next('message'):08d}"
            payload = {"subject": subject, "message_id": message_id}
            campaign = words.EMAIL_CAMPAIGNS.get(subject)
            if campaign is not None:
                payload["campaign"] = campaign
            signals.append(
                self._signal(account, contact, "email_sent", self.ts(day, minute), None, payload, message_id)
            )
            if account.story is not None:  # the stories tell their own
                chance = float(contact.id in readers)
            else:
                chance = (0.85 if contact.id in readers else 0.05) * (
                    0.15 if account.in_trouble(day) else 1.0
                )
            if rng.random() >= chance:
                continue
            open_day = day + int(rng.random() * 3)
            if open_day > last:
                continue
            open_minute = (
                min(minute + 5 + int(rng.random() * 240), 1439) if open_day == day else self._work_minute()
            )
            opened_at = self.ts(open_day, open_minute)
            signals.append(
                self._signal(account, contact, "email_opened", opened_at, None, payload, message_id)
            )
            if rng.random() < 0.3:
                clicked_at = self.ts(open_day, min(open_minute + 1 + int(rng.random() * 10), 1439))
                signals.append(
                    self._signal(account, contact, "email_clicked", clicked_at, None, payload, message_id)
                )
        return signals

    def _advocacy_acts(self, account: _Account) -> list[Row]:
        """Referrals and public reviews: only lovers make them."""
        first, last = account.first_day(365), account.last_day
        if account.advocacy != "lover" or first > last:
            return []
        if account.story == "lover":
            referral_day, review_day = -30, -60
        else:
            referral_day, review_day = self._between(first, last), self._between(first, last)
        champion = account.contacts[0]
        referred = self._company(_NAME_SPACE - account.number)[0]  # a prospect, from the far end of the names
        review = {
            "site": self._pick(("G2", "Capterra")),
            "rating": 5,
            "title": self._pick(words.REVIEW_TITLES),
        }
        return [
            self._signal(account, champion, "referral", self.ts(referral_day, self._work_minute()), None,
                         {"referred_company": referred}),
            self._signal(account, champion, "review", self.ts(review_day, self._work_minute()), 5.0, review),
        ]  # fmt: skip

    def _cancel_signals(self, account: _Account) -> list[Row]:
        """Visits to the cancel page and clicks on cancel: the story's in its last two weeks; often in the
        three weeks before an account churned, now and then in trouble that passed, rarely out of the blue."""
        rng = self.rng
        first, last = account.first_day(HISTORY_DAYS), account.last_day
        visits: list[tuple[int, int, _Contact]] = []
        click: tuple[int, int, _Contact] | None = None
        if account.story == "cancel_lookup":
            admin, champion = account.contacts[1], account.contacts[0]
            visits = [(-9, 610, admin), (-6, 900, champion), (-3, 620, admin)]
            click = (-3, 634, admin)
        elif account.story is None and first <= last:
            windows = [(max(first, -45), last, 0.01, 0.35)]  # out of the blue, lately
            if account.churned is not None:
                windows.append((max(first, account.churned - 21), last, 0.55, 0.5))
            windows.extend(
                (max(first, spell.begin), min(last, spell.end), 0.15, 0.2)
                for spell in account.spells
                if not spell.churned
            )
            for low, high, odds, click_odds in windows:
                if low > high or rng.random() >= odds:
                    continue
                contact = self._pick(account.contacts)
                days = sorted({self._between(low, high) for _ in range(self._between(1, 2))})  # one a day
                visits.extend((day, self._work_minute(), contact) for day in days)
                if rng.random() < click_odds:
                    day, minute, _ = visits[-1]
                    click = (day, minute + 3, contact)
        page = "/settings/billing/cancel"
        signals = [
            self._signal(account, contact, "cancel_page_visit", self.ts(day, minute), None, {"url": page})
            for day, minute, contact in visits
        ]
        if click is not None:
            day, minute, contact = click
            payload = {"url": page, "element": "Cancel subscription"}
            signals.append(
                self._signal(account, contact, "cancel_click", self.ts(day, minute), None, payload)
            )
        return signals

    # -- money, CSM work, drafts

    def _transactions(self, account: _Account) -> Iterator[Row]:
        """Repeat purchases (seat and add-on orders) from the start until it churned: a BG/NBD buyer (Poisson
        purchases while alive, a dropout chance after each; both rates vary much between accounts) spending
        Gamma-Gamma amounts. The cancel_lookup story bought once: a one-time buyer who clicked cancel, whose
        lifetime value must say that its P(alive) is 1 by construction (its later purchases are drawn, so the
        book's other draws stay as they are, and left out)."""
        rng = self.rng
        per_day = max(1e-9, rng.gammavariate(0.6, 5.0) / 365)
        dropout = rng.betavariate(0.6, 2.5)
        spend = account.segment.spend * rng.gammavariate(4.0, 1 / 4)
        day = account.start
        once = account.story == "cancel_lookup"
        bought = False
        while day <= account.last_day:
            minute = self._work_minute()
            amount = round(rng.gammavariate(2.5, spend / 2.5), 2)
            if not (once and bought):
                yield {
                    "id": f"txn-{self._next('transaction'):07d}",
                    "account_id": account.id,
                    "occurred_at": self.ts(day, minute),
                    "amount": amount,
                }
            bought = True
            if rng.random() < dropout:
                return
            day += 1 + int(rng.expovariate(per_day))

    def _interactions(self, account: _Account) -> Iterator[Row]:
        """Logged calls, meetings, emails, notes and QBRs, as often as its segment gets them
        (`_Segment.touch_every`), and a call in each spell of trouble. The last three days' are not yet pushed
        to the CRM. Those before the last `USAGE_DAYS` come from the account's history stream."""
        with self._drawing_from(_history_rng(self.seed, account.number, "interactions")):
            older = list(
                self._interactions_between(account, account.first_day(HISTORY_DAYS), -USAGE_DAYS - 1)
            )
        yield from older
        yield from self._interactions_between(account, account.first_day(USAGE_DAYS), account.last_day)

    def _interactions_between(self, account: _Account, first: int, until: int) -> Iterator[Row]:
        """`_interactions` from `first` to `until`; a story's own is among the latest."""
        rng = self.rng
        last = min(until, account.last_day)
        if first > last:
            return
        planned: list[tuple[int, int, str, str | None, str | None]] = []
        segment = account.segment
        if segment.cadence:
            touches = list(
                range(first + int(rng.random() * segment.touch_every), last + 1, segment.touch_every)
            )
            touches = [min(last, day + self._between(-4, 4)) for day in touches]
        else:
            touches = self._arrivals(first, last, 1 / segment.touch_every)
        for day in touches:
            kind = self._weighted(_INTERACTION_KINDS, _INTERACTION_ODDS)
            if kind == "qbr" and account.segment.name == "smb":
                kind = "call"
            planned.append((day, self._work_minute(), kind, None, None))
        if account.story is None:
            for spell in account.spells:
                day = spell.begin + 10 + int(rng.random() * 20)
                if first <= day <= min(last, spell.end):
                    call = self._pick(words.TROUBLE_CALLS)
                    planned.append((day, self._work_minute(), "call", "negative", call))
        extra = _STORY_INTERACTIONS.get(account.story or "")
        if extra is not None and last == account.last_day:
            planned.append(extra)
        planned.sort(key=lambda plan: (plan[0], plan[1]))
        features = [f for p in account.products for f in _PRODUCT_FEATURES[p]]
        mood = _FAN_MOOD if account.advocacy != "lurker" else _LURKER_MOOD
        for day, minute, kind, sentiment, summary in planned:
            contact = None if kind == "note" else self._pick(account.contacts)
            if kind == "note":
                direction = "internal"
            elif kind in ("call", "email") and rng.random() < 0.25:
                direction = "inbound"  # the customer called or wrote
            else:
                direction = "outbound"
            sentiment = sentiment or self._weighted(_SENTIMENTS, mood)
            template = summary or self._pick(words.INTERACTION_SUMMARIES[kind])
            text = template.format(
                contact=account.contacts[0].name if contact is None else contact.name,
                feature=_FEATURE_NAMES[self._pick(features)],
            )
            follow_up = kind in ("call", "meeting", "qbr") and rng.random() < 0.4
            number = self._next("interaction")
            pending = day >= -3
            at = self.ts(day, minute)
            yield {
                "id": f"int-{number:07d}",
                "account_id": account.id,
                "contact_id": None if contact is None else contact.id,
                "kind": kind,
                "direction": direction,
                "occurred_at": at,
                "summary": text,
                "sentiment": sentiment,
                "author": account.owner,
                "follow_up_on": self.day(day + 7 + int(rng.random() * 14)) if follow_up else None,
                "sync_key": self._sync_key(),
                "hubspot_id": None if pending else str(7_100_000_000 + number),
                "salesforce_id": None,
                "sync_state": "pending" if pending else "synced",
                "sync_error": None,
                "created_at": at,
                "updated_at": at,
            }

    def _outreach(self, account: _Account) -> Iterator[Row]:
        """The drafts last night's playbooks queued for the stories (no dates in the text: seeds shift)."""
        champion, second = account.contacts[0], account.contacts[1]
        hello = f"Hi {champion.name.split()[0]},\n\n"
        sign = f"\n\nBest,\n{account.owner}"
        feature = _FEATURE_NAMES[STALLED_FEATURE]
        contact = champion
        match account.story:
            case "cancel_lookup":
                playbook, channel, priority = "save-now", "call_task", 1
                subject = f"Call {champion.name} at {account.name}: churn risk high"
                body = (
                    f"{account.name} is at high risk: cancel clicked, cancel page visited. "
                    f"Call {champion.name} this week."
                )
                reason: dict[str, object] = {"signals": ["cancel_click", "cancel_page_visit"]}
            case "stalled_feature":
                playbook, channel, priority = "stalled-feature", "email", 3
                subject = f"Getting more from {feature}"
                body = (
                    f"{hello}I noticed your team started with {feature} but has not made it part of the week "
                    f"yet. Could I show you how others at {account.name}'s stage use it? Twenty minutes is "
                    f"enough.{sign}"
                )
                reason = {"feature": STALLED_FEATURE}
            case "unopened_email":
                playbook, channel, priority = "unopened-follow-up", "email", 5
                subject = f"Re: {words.UNOPENED_STORY_SUBJECTS[-1]}"
                body = (
                    f"{hello}Just making sure this reached you: {words.UNOPENED_STORY_SUBJECTS[-1]}. Happy to help "
                    f"whenever suits.{sign}"
                )
                reason = {"unopened_emails": 4}
            case "lover":
                playbook, channel, priority = "referral", "email", 6
                subject = "Would you introduce us?"
                body = (
                    f"{hello}Thank you for your kind words about us. Is there a team you know that we could "
                    f"help the way we help {account.name}?{sign}"
                )
                reason = {"advocacy": "lover"}
            case "birthday":
                playbook, channel, priority, contact = "birthday", "email", 7, second
                first_name = second.name.split()[0]
                subject = f"Happy birthday, {first_name}!"
                body = f"Hi {first_name},\n\nHappy birthday from all of us.\n\n{account.owner}"
                reason = {"birthday_in_days": 0}
            case _:
                return
        key = f"{playbook}:{account.id}"
        if playbook == "birthday":
            key += f":{contact.id}"
        elif playbook == "stalled-feature":
            key += f":{STALLED_FEATURE}"
        queued = self.ts(0, 5 * 60)
        yield {
            "id": f"out-{self._next('outreach'):05d}",
            "account_id": account.id,
            "contact_id": contact.id,
            "playbook": playbook,
            "channel": channel,
            "subject": subject,
            "body": body,
            "status": "draft",
            "due_on": self.day(0),
            "snoozed_until": None,
            "dedupe_key": key,
            "reason": dump_json({"playbook": playbook, **reason}),
            "priority": priority,
            "sync_key": self._sync_key(),
            "hubspot_id": None,
            "salesforce_id": None,
            "sync_error": None,
            "created_at": queued,
            "updated_at": queued,
        }


@dataclass(frozen=True)
class _BookRequest:
    """What to generate (picklable: it crosses to the generator process)."""

    accounts: int
    seed: int
    anchor: date
    usage_density: float


def generate_book(
    *, accounts: int, seed: int = 7, anchor: date, usage_density: float = 1.0
) -> Iterator[tuple[str, Row]]:
    """The book's rows as (table, row) pairs: the catalogue, then each account with everything about it.

    A parent row always comes before its children, so inserting in stream order satisfies the foreign keys.
    `usage_density` scales the daily chance of use (1.0 gives about 190 usage events per account).
    """
    for group in _groups(_BookRequest(accounts, seed, anchor, usage_density)):
        for table, rows in group.items():
            for row in rows:
                yield table, row


def _groups(book: _BookRequest) -> Iterator[Group]:
    if book.accounts < 0:
        raise ValueError("accounts must not be negative")
    generator = _BookGenerator(seed=book.seed, anchor=book.anchor, usage_density=book.usage_density)
    return generator.groups(book.accounts)


# --- Writing into a store ----------------------------------------------------------------------------------


class StoreNotEmpty(CockpitError):
    title = "Database is not empty"


Batch = dict[str, list[tuple[Value, ...]]]
"""Rows as tuples in `TABLE_COLUMNS` order, grouped per table."""

_BATCH_ROWS: Final = 50_000
_PARALLEL_MIN_ACCOUNTS: Final = 5_000


def insert_batch(conn: sqlite3.Connection, batch: Batch, counts: dict[str, int]) -> None:
    """Insert a batch, tables in `TABLE_COLUMNS` order so that parents land first."""
    insert_rows(conn, TABLE_COLUMNS, batch, counts)


def _batches(book: _BookRequest) -> Iterator[Batch]:
    getters = {table: itemgetter(*columns) for table, columns in TABLE_COLUMNS.items()}
    batch: Batch = {table: [] for table in TABLE_COLUMNS}
    size = 0
    for group in _groups(book):
        for table, rows in group.items():
            batch[table].extend(map(getters[table], rows))
            size += len(rows)
        if size >= _BATCH_ROWS:
            yield batch
            batch, size = {table: [] for table in TABLE_COLUMNS}, 0
    yield batch


def ensure_empty(store: Store) -> None:
    """Refuse a store that already holds any of the demo's tables' rows: the demo never merges."""
    filled = tables_with_rows(store.db, list(TABLE_COLUMNS))
    if filled:
        raise StoreNotEmpty(
            f"{store.path}: the demo book goes only into an empty database, and {', '.join(filled)} "
            "already hold rows.",
            hint="Load the demo into a new database file.",
        )


def generate_into_store(
    store: Store,
    *,
    accounts: int,
    seed: int = 7,
    anchor: date,
    progress: Callable[[int], None] | None = None,
    usage_density: float = 1.0,
    parallel: bool | None = None,
) -> dict[str, int]:
    """Generate a book into an open, migrated, empty store in one transaction; returns rows per table.

    `progress`, if given, is called with the number of accounts written so far after each batch. With
    `parallel` (the default from 5,000 accounts on) a child process generates while this one inserts, which
    about halves the time on two cores; it is started with "spawn", so a script that calls this must guard
    its top level with `if __name__ == "__main__":`.
    """
    book = _BookRequest(accounts=accounts, seed=seed, anchor=anchor, usage_density=usage_density)
    if parallel is None:
        parallel = accounts >= _PARALLEL_MIN_ACCOUNTS
    counts = dict.fromkeys(TABLE_COLUMNS, 0)
    with store.write() as db, bulk_cache(db.conn):
        ensure_empty(store)
        for batch in _batches_from_child(book) if parallel else _batches(book):
            insert_batch(db.conn, batch, counts)
            if progress is not None:
                progress(counts["accounts"])
    return counts


def _batches_from_child(book: _BookRequest) -> Iterator[Batch]:
    """`_batches(book)`, generated in a child process."""
    context = multiprocessing.get_context("spawn")
    batches: multiprocessing.queues.Queue[Batch | str | None] = context.Queue(maxsize=4)
    child = context.Process(target=_produce, args=(batches, book), name="cockpit-demo", daemon=True)
    with _interrupts_ignored():
        child.start()
    try:
        while True:
            try:
                item = batches.get(timeout=1.0)
            except queue.Empty:
                if child.is_alive():
                    continue
                raise RuntimeError(f"the demo generator process died (exit code {child.exitcode})") from None
            if item is None:
                return
            if isinstance(item, str):
                raise RuntimeError(f"the demo generator process failed:\n{item}")
            yield item
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


@contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """Ctrl-C ignored while the child starts, so that it starts ignoring it (an ignored signal survives the
    exec of "spawn", and Python then leaves it ignored): Ctrl-C reaches every process of the terminal, and
    the child would print a traceback of its own; this process stops it instead."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        yield
        return
    previous = set_handler(SIGINT, SIG_IGN)
    try:
        yield
    finally:
        set_handler(SIGINT, previous)


def _produce(batches: multiprocessing.queues.Queue[Batch | str | None], book: _BookRequest) -> None:
    """The child's work: every batch onto the queue, then None; or the traceback of what went wrong."""
    try:
        for batch in _batches(book):
            _hand_over(batches, batch)
        _hand_over(batches, None)
    except BaseException:
        _hand_over(batches, traceback.format_exc())


_PARENT_CHECK_SECONDS: Final = 0.5


def _hand_over(batches: multiprocessing.queues.Queue[_T], item: _T) -> None:
    """Put `item` on the queue, waiting while it is full, as long as the parent lives to read it. When the
    parent has ended (kill -9 included: the pipe it held open closes), so does this process, at once: nobody
    will read the queue, and a blocked put would otherwise keep it, and its memory, forever."""
    parent = multiprocessing.parent_process()
    assert parent is not None, "the demo generator runs in a child process"
    while parent.is_alive():
        try:
            batches.put(item, timeout=_PARENT_CHECK_SECONDS)
        except queue.Full:
            continue
        return
    os._exit(1)
