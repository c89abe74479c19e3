"""Outreach as operations the CLI, the TUI and the nightly sync call: plan, and review the queue.

Every function takes the store (and the settings where it needs them) and returns typed results; none
prints. Each write is one transaction. Planning runs in one `Store.write()`, a batch of accounts (an id
range) at a time: the batch's facts, contacts, touches, open items and cooldowns, then its decisions, written
before the next batch is read; so memory is bounded by the batch, not the book, and a plan lands whole or
not at all.

The review functions (`approve`, `snooze`, `cancel`, `update_draft`) check the item's status and, for
approval, the contact policy again: a contact may have opted out, or a call may have been logged, since the
draft was queued. Only approved items are ready for the CRM outbox (the sync pushes status 'approved').
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Final, NamedTuple

from cockpit.clock import Clock, stamp
from cockpit.config import Settings
from cockpit.domain.touches import CSM_TOUCHES
from cockpit.errors import CockpitError
from cockpit.outreach.facts import LastEmail, PlanAccount, with_explanation, with_parts
from cockpit.outreach.items import (
    Cancellation,
    Draft,
    ItemFilter,
    Kept,
    OutreachItem,
    Refusal,
    ReviewResult,
    Skip,
)
from cockpit.outreach.planner import Book, cooldown_starts, decide, evaluate
from cockpit.outreach.playbooks import Playbooks, compile_playbooks
from cockpit.outreach.policy import Calendar, place, unreachable
from cockpit.scoring.common import cyclic_gc_paused
from cockpit.scoring.explain import decode, read_adoption_and_churn
from cockpit.services.events import unopened_emails
from cockpit.services.progress import Progress
from cockpit.store import Store
from cockpit.store import outreach as sql
from cockpit.store.sqlite import Database


class NotScored(CockpitError):
    title = "Not scored"


class ItemNotFound(CockpitError):
    title = "No such outreach item"


class ReviewRefused(CockpitError):
    """A review action given what it cannot do: a snooze to a past day, an edit that leaves a hole."""

    title = "Refused"
    exit_code = 2


DECISIONS: Final = ("queued", "updated", "kept", "cancelled", "skipped")
"""The kinds of decision a plan reports, in the order it reports them."""

Decision = Draft | Kept | Cancellation | Skip
"""One decision of a plan, of any kind."""


@dataclass
class PlanReport:
    """What a planning run decided (and, unless a dry run, wrote)."""

    as_of: date
    score_run: int
    scored_as_of: date
    dry_run: bool
    queued: list[Draft] = field(default_factory=list)
    """New drafts, with their new ids (None in a dry run)."""
    updated: list[Draft] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    cancelled: list[Cancellation] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    accounts: int = 0
    fired: int = 0
    seconds: float = 0.0
    unchanged: int = 0
    """Accounts not planned again: nothing planning reads of them changed since the last plan."""
    run_id: int | None = None
    """The stored planning run (None in a dry run)."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per phase: facts, explanations, triggers, contacts and items, decisions, writes."""
    muted: list[str] = field(default_factory=list)
    """The playbooks the CSM muted: they queued nothing."""
    keep: int | None = None
    """At most this many decisions of each kind are listed (None: every one); `counts` and `by_playbook`
    count them all. A plan of a large book queues tens of thousands of drafts: a caller that shows a few
    keeps a few, so the plan's memory does not grow with the book."""
    tally: dict[str, Counter[str]] = field(default_factory=dict)
    """Playbook -> kind of decision -> how many."""

    sink: Callable[[str, Sequence[Decision]], None] | None = None
    """Hears each batch's decisions of each kind as they are made (the CLI's `--json` writes them out), so a
    caller that shows them all need not keep them (`keep=0`)."""

    def add(self, kind: str, decisions: Sequence[Decision]) -> None:
        """Count the decisions of one kind, listing them up to `keep`, and tell the sink."""
        for decision in decisions:
            self.tally.setdefault(decision.playbook, Counter())[kind] += 1
        if self.sink is not None and decisions:
            self.sink(kind, decisions)
        listed: list[Any] = getattr(self, kind)
        room = len(decisions) if self.keep is None else max(0, self.keep - len(listed))
        listed += decisions[:room]

    def counts(self) -> dict[str, int]:
        return {kind: sum(by[kind] for by in self.tally.values()) for kind in DECISIONS}

    def by_playbook(self) -> dict[str, dict[str, int]]:
        return {
            playbook: {kind: by[kind] for kind in DECISIONS if by[kind]}
            for playbook, by in sorted(self.tally.items())
        }

    def to_json(self, decisions: bool = True) -> dict[str, Any]:
        """The report as JSON: its figures and, with `decisions`, the decisions it lists (but the kept)."""
        found = {
            "as_of": self.as_of.isoformat(),
            "score_run": self.score_run,
            "scored_as_of": self.scored_as_of.isoformat(),
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "accounts": self.accounts,
            "fired": self.fired,
            "unchanged": self.unchanged,
            "seconds": round(self.seconds, 3),
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
            "counts": self.counts(),
            "by_playbook": self.by_playbook(),
            "muted": self.muted,
        }
        if decisions:
            for kind in JSON_DECISIONS:
                found[kind] = [decision_json(decision) for decision in getattr(self, kind)]
        return found


JSON_DECISIONS: Final = ("queued", "updated", "cancelled", "skipped")
"""The kinds of decision the report's JSON lists, in its order (the kept are only counted)."""


def decision_json(decision: Decision) -> dict[str, Any]:
    """One decision as the plan's JSON lists it."""
    if isinstance(decision, Draft):
        d = decision  # (short, for the one-line fields below)
        return {
            "id": d.item_id, "account_id": d.account_id, "contact_id": d.contact_id, "playbook": d.playbook,
            "channel": d.channel, "due_on": d.due_on.isoformat(), "priority": d.priority,
            "subject": d.subject, "body": d.body, "dedupe_key": d.dedupe_key, "reason": d.reason,
        }  # fmt: skip
    return dict(vars(decision))


PLAN_BATCH: Final = 2_000
"""Accounts of the book (scored or not: a range's contacts and items are read for each) planned at a
time. Decisions never cross accounts (a contact belongs to one account, a dedupe
key names its account), so a plan in batches decides exactly as one over the whole book, in memory bounded
by the batch rather than the book."""


def plan(
    store: Store,
    settings: Settings,
    *,
    as_of: date,
    clock: Clock,
    dry_run: bool = False,
    batch_size: int = PLAN_BATCH,
    full: bool = False,
    progress: Progress | None = None,
    keep: int | None = None,
    sink: Callable[[str, Sequence[Decision]], None] | None = None,
) -> PlanReport:
    """Evaluate every playbook on the latest score run as of `as_of` and queue, update or cancel drafts
    (see `cockpit.outreach.planner`), `batch_size` accounts at a time, by id; with `dry_run`, decide and
    write nothing. Accounts whose fingerprint is the one the last plan left (see `_Fingerprints`) are not
    planned again (their items and skips stay as that plan left them), unless `full`. `progress` hears the
    accounts gone through of the book's. The report lists at most `keep` decisions of each kind (None: all)
    and counts them all; `sink` hears every decision as it is made (see `PlanReport.sink`)."""
    with cyclic_gc_paused():
        return _plan(store, settings, as_of, dry_run, clock, batch_size, full, progress, keep, sink)


def _plan(
    store: Store,
    settings: Settings,
    as_of: date,
    dry_run: bool,
    clock: Clock,
    batch_size: int,
    full: bool,
    progress: Progress | None,
    keep: int | None,
    sink: Callable[[str, Sequence[Decision]], None] | None,
) -> PlanReport:
    laps = _Laps()
    started = stamp(clock())
    run = sql.latest_run(store.db, as_of)
    if run is None:
        raise NotScored(
            f"the book has no score run as of {as_of} or before, and outreach plans from the scores.",
            hint="Score the book first: cockpit score",
        )
    run_id, scored_as_of = run
    report = PlanReport(as_of, run_id, scored_as_of, dry_run, keep=keep, sink=sink)
    playbooks = compile_playbooks(settings)
    # Mined before the write lock is taken: it reads the whole book.
    journeys = None
    if playbooks.journeys:
        from cockpit.services.journeys import paths_now  # NumPy and SciPy: only when a trigger needs them

        journeys = paths_now(store, settings, as_of)
    laps.lap("journeys")
    # Read once, before the emails: which playbooks plan decides whether the events source is opened.
    playbooks = replace(playbooks, muted=sql.muted_playbooks(store.db))
    # The unopened emails, when the signals live in an events source and a playbook that plans reads them
    # (else the source is not opened at all): read before the lock too.
    emails = (
        unopened_emails(
            store.db,
            settings.events,
            as_of,
            settings.health.thresholds.email_window_days,
            playbooks.follow_up_campaigns,
        )
        if playbooks.emails
        else None
    )
    laps.lap("emails")
    # Every row a plan's writes refer to (an account, a contact, its run) it has read or written in this
    # transaction, which holds the write lock: the foreign keys' checks would only look each one up again.
    with nullcontext(store.db) if dry_run else store.write(foreign_keys=False) as db:
        if not dry_run:
            report.run_id = sql.start_run(db, as_of, run_id, started)
        report.muted = sorted(playbooks.muted & {playbook.id for playbook in playbooks.playbooks})
        fingerprints = _Fingerprints.of(db, settings, report, full, journeys, emails)
        # The changes since the last plan vouch for its fingerprints unless they hold the journeys (mined
        # from the whole book) or the emails of an events source (whose changes the store does not see); a
        # dry run neither reads nor keeps them (it writes nothing).
        tracked = not dry_run and journeys is None and emails is None and sql.tracking_ready(db)
        context = fingerprints.common.digest()
        known = (
            tracked and not full and sql.plan_state(db) == (context, run_id) and sql.mark_added(db, run_id)
        )
        batch = _Batch(
            settings, playbooks, report, laps, clock, fingerprints, known, sql.run_terms(db, run_id)
        )
        low: str | None = None
        total = sql.count_accounts(db, sql.ALL_ACCOUNTS) if progress is not None else 0
        done = 0
        while True:
            high = sql.batch_end(db, low, batch_size)
            batch.plan(db, sql.Accounts(low, high))
            # The collector is paused, and a render that fails in Jinja leaves reference cycles (its
            # rewritten traceback) that hold the batch's frames, and so its accounts and contacts: what the
            # batch left is collected here, so that such batches do not pile up through the book.
            gc.collect(0)
            done = total if high is None else done + batch_size
            if progress is not None:
                progress(done, total)
            if high is None:
                break
            low = high
        if report.run_id is not None:
            sql.finish_run(db, report.run_id, stamp(clock()), report.counts())
            if tracked:
                sql.save_plan_state(db, context, run_id)
            else:
                sql.forget_plan_state(db)
    laps.lap("writes")
    report.seconds, report.phases = laps.total, laps.laps
    return report


FINGERPRINT_VERSION: Final = "2"
"""Part of every fingerprint: a release that plans differently from the same inputs changes it, so that
its first plan plans every account."""


@dataclass(frozen=True)
class _Fingerprints:
    """Per account, a digest of everything planning reads of it: its account and score columns, stored
    explanation, latest CSM touch, contacts (with their consent), touches and email signals in the windows
    planning reads, entitlements and outreach items; and, for every account alike, the plan day, the settings
    planning reads, the score run's terms, the product catalogue and `FINGERPRINT_VERSION`.

    The plan day is in it because almost every fact and decision moves with the day (days since a touch,
    to a renewal or a birthday, cooldowns ending, snoozes waking, the `today` token, the days a draft may go
    on): the second plan of a day skips the accounts nothing happened to; the first plan of a new day plans
    them all. The score run's id counts only for accounts with open items, whose reasons quote it."""

    score_run: int
    today: date
    email_window_days: int
    reach_days: int
    since: date
    """Closed items from this day on count (the longest cooldown or the touch reach back, whichever is longer)."""
    common: hashlib.blake2b
    """The digest of what every account has alike, copied to go on with per account."""
    use_stored: bool
    journeys: Mapping[str, tuple[str, ...]] | None
    """The journey patterns each account is on now, where a trigger reads them (`paths_now`)."""
    emails: Mapping[str, LastEmail] | None
    """Each account's unopened email, when an events source holds the signals (`unopened_emails`)."""

    @classmethod
    def of(
        cls,
        db: Database,
        settings: Settings,
        report: PlanReport,
        full: bool,
        journeys: Mapping[str, tuple[str, ...]] | None,
        emails: Mapping[str, LastEmail] | None,
    ) -> _Fingerprints:
        outreach = settings.outreach
        longest = max((playbook.cooldown_days for playbook in outreach.playbooks), default=0)
        reach = outreach.policy.window_days + outreach.policy.min_gap_days + outreach.max_shift_days
        email_window_days = settings.health.thresholds.email_window_days
        common = (
            FINGERPRINT_VERSION,
            report.as_of.isoformat(),
            outreach.model_dump_json(),
            settings.general.me,
            settings.general.currency,
            str(email_window_days),
            json.dumps(sorted(CSM_TOUCHES)),
            json.dumps(report.muted),
            sql.plan_catalogue(db, report.score_run),
        )
        return cls(
            report.score_run,
            report.as_of,
            email_window_days,
            reach,
            report.as_of - timedelta(days=max(longest, reach)),
            hashlib.blake2b("\0".join(common).encode(), digest_size=16),
            not full,
            journeys,
            emails,
        )

    def inputs(self, db: Database, accounts: sql.Accounts) -> _Inputs:
        """Each account of the range, with the digest of all it has but its outreach items (not finished);
        and what the facts take from the same reading rather than read again (`_Inputs`)."""
        read = sql.account_inputs(
            db, self.score_run, self.today, self.email_window_days, CSM_TOUCHES, self.reach_days, accounts
        )
        related = read.texts
        digests = {}
        rows = {}
        for row in read.rows:
            account_id, explanation = row[0], row[sql.EXPLANATION]
            rows[account_id] = row
            digest = self.common.copy()
            text = "\0".join(
                [
                    row[sql.TEXT],
                    explanation or "",
                    *[by_account.get(account_id, "") for by_account in related],
                ]
            )
            if self.journeys is not None:
                text += "\0" + "\0".join(self.journeys.get(account_id, ()))
            if self.emails is not None:
                text += f"\0{self.emails.get(account_id)!r}"
            digest.update(text.encode())
            digests[account_id] = digest
        return _Inputs(digests, rows, related[sql.LAST_TOUCH], related[sql.CONTACTS], read.emails)

    def complete(
        self, db: Database, inputs: dict[str, hashlib.blake2b], accounts: sql.Accounts
    ) -> dict[str, bytes]:
        """The fingerprints of the accounts of `inputs`, their outreach items as they are now added (and the
        score run, for accounts with open items: their reasons quote it)."""
        items = sql.outreach_inputs(db, self.since, accounts)
        found = {}
        for account_id, partial in inputs.items():
            digest = partial.copy()
            listed = items.get(account_id)
            if listed is not None:
                digest.update(f"\0{listed[0]}\0{self.score_run if listed[1] else ''}".encode())
            found[account_id] = digest.digest()
        return found


class _Inputs(NamedTuple):
    """What `_Fingerprints.inputs` read of a range of accounts."""

    digests: dict[str, hashlib.blake2b]
    """Of all each account has but its outreach items (not finished)."""
    rows: dict[str, sql.AccountRow]
    """Each account's row: the facts are made from the reading the digest is (`sql.AccountRow`)."""
    last_touch: dict[str, str]
    """The time of each account's latest CSM touch, where it has one."""
    contacts: dict[str, str]
    """Each account's contacts as text (`sql.plan_contacts` decodes them), where it has any."""
    emails: dict[str, list[sql.EmailSignal]]
    """Each account's email signals of the window (`sql.unopened_emails` reads them), where it has any."""


@dataclass
class _Batch:
    """Plans one range of accounts into the report (and, unless a dry run, writes its decisions)."""

    settings: Settings
    playbooks: Playbooks
    report: PlanReport
    laps: _Laps
    clock: Clock
    fingerprints: _Fingerprints
    known: bool
    """Whether the changes since the last plan are known (`sql.changed_accounts`): then only the accounts
    marked as changed are read; the others still have the fingerprint the last plan left."""
    run_terms: str | None
    """The terms the score run's explanations quote."""
    numbered: int | None = None
    """The highest item number in use, once read: the plan holds the write lock, so only it adds items."""
    sync_keys: _SyncKeys = field(default_factory=lambda: _SyncKeys.start())

    def plan(self, db: Database, ids: sql.Accounts) -> None:
        report, laps = self.report, self.laps
        if self.known:
            accounts = sql.count_accounts(db, ids)
            marked = sql.changed_accounts(db, ids)
            if not marked:
                report.unchanged += accounts
                laps.lap("fingerprints")
                return
            ids = ids.just(marked)
        read = self.fingerprints.inputs(db, ids)
        inputs = read.digests
        if self.known:
            report.unchanged += accounts - len(inputs)
        now = self.fingerprints.complete(db, inputs, ids)
        if self.fingerprints.use_stored:
            before = sql.plan_fingerprints(db, ids)
            changed = [account_id for account_id, digest in now.items() if before.get(account_id) != digest]
            report.unchanged += len(now) - len(changed)
            if not changed:
                laps.lap("fingerprints")
                return
            if len(changed) < len(now):
                ids = ids.just(changed)
        else:
            changed = list(now)
        laps.lap("fingerprints")
        written = self._decide(db, ids, read, None if len(changed) == len(read.rows) else set(changed))
        if report.run_id is None:
            return
        if written:
            chosen = {account_id: inputs[account_id] for account_id in written}
            now.update(self.fingerprints.complete(db, chosen, ids.just(written)))
        sql.save_fingerprints(db, [(account_id, now[account_id]) for account_id in changed])
        laps.lap("fingerprints")

    def _decide(
        self, db: Database, ids: sql.Accounts, read: _Inputs, chosen: Collection[str] | None
    ) -> set[str]:
        """Plan the accounts of `ids` into the report and (unless a dry run) write the decisions; the
        accounts whose items changed. `read`: what the fingerprints read of them (`chosen`: of these
        accounts only; None: all)."""
        rows = read.rows if chosen is None else {account_id: read.rows[account_id] for account_id in chosen}
        explanations = {account_id: row[sql.EXPLANATION] for account_id, row in rows.items()}
        report, laps, playbooks, as_of = self.report, self.laps, self.playbooks, self.report.as_of
        outreach = self.settings.outreach
        emails = self.fingerprints.emails
        if emails is None:
            emails = sql.unopened_emails(read.emails, playbooks.follow_up_campaigns)
        accounts = {
            account.id: account
            for account in sql.plan_accounts(
                db,
                report.score_run,
                as_of,
                self.settings.health.thresholds.email_window_days,
                CSM_TOUCHES,
                ids,
                playbooks.follow_up_campaigns,
                emails,
                read.last_touch,
                rows.values(),
            )
        }
        # The contacts of the accounts planned: not those of the churned, deleted or unscored ones of the range.
        every_contact = sql.plan_contacts(db, as_of, ids, read.contacts, accounts.keys())
        contact_facts = (
            {
                account_id: [(contact.id, contact.facts) for contact in listed if not contact.deleted]
                for account_id, listed in every_contact.items()
            }
            if playbooks.per_contact
            else None
        )
        journeys = self.fingerprints.journeys
        if journeys is not None:
            for account in accounts.values():
                account.facts["journey_patterns"] = journeys.get(account.id, ())
        laps.lap("facts")
        if playbooks.explained:
            _explain(accounts, accounts, explanations, self.run_terms, as_of)
        laps.lap("explanations")
        fired = evaluate(playbooks, accounts.values(), contact_facts)
        laps.lap("triggers")
        _explain(accounts, {one.account_id for one in fired}, explanations, self.run_terms, as_of)
        # The churn signals' words, only for the messages whose template shows the `churn` token.
        worded = {one.account_id for one in fired if "churn" in one.playbook.template.names}
        _explain(accounts, worded, explanations, self.run_terms, as_of, worded=True)
        laps.lap("explanations")
        report.accounts += len(accounts)
        report.fired += len(fired)

        longest = max((playbook.cooldown_days for playbook in outreach.playbooks), default=0)
        reach = outreach.policy.window_days + outreach.policy.min_gap_days + outreach.max_shift_days
        contacts = {
            one.account_id: every_contact[one.account_id] for one in fired if one.account_id in every_contact
        }
        open_items = sql.open_items(db, as_of, ids)
        touched = {c.id for listed in contacts.values() for c in listed}
        touched |= {item.contact_id for item in open_items if item.contact_id is not None}
        book = Book(
            accounts=accounts,
            contacts=contacts,
            open_items=open_items,
            closed=cooldown_starts(sql.closed_items(db, as_of - timedelta(days=longest), ids)),
            calendar=Calendar.of(
                outreach.policy,
                sql.touches(db, as_of - timedelta(days=reach), as_of + timedelta(days=366 + reach), touched),
            ),
        )
        laps.lap("contacts and items")
        decided = decide(
            fired,
            book,
            playbooks,
            today=as_of,
            max_shift_days=outreach.max_shift_days,
            me=self.settings.general.me,
            score_run=report.score_run,
        )
        laps.lap("decisions")
        report.add("updated", decided.updated)
        report.add("kept", decided.kept)
        report.add("cancelled", decided.cancelled)
        report.add("skipped", decided.skipped)
        if report.run_id is None:
            report.add("queued", decided.queued)
            return set()
        # Numbered by account, then in decision order: the same ids whatever the batch size.
        queued = sorted(decided.queued, key=lambda d: d.account_id)
        if self.numbered is None:
            self.numbered = sql.highest_item_number(db)
        ids_ = sql.item_ids(self.numbered, len(queued))
        self.numbered += len(queued)
        # Made afresh: `dataclasses.replace` costs several times as much, for tens of thousands of drafts.
        queued = [
            Draft(
                item_id,
                d.dedupe_key,
                d.account_id,
                d.contact_id,
                d.playbook,
                d.channel,
                d.subject,
                d.body,
                d.due_on,
                d.priority,
                d.reason,
            )
            for item_id, d in zip(ids_, queued, strict=True)
        ]
        report.add("queued", queued)
        written = stamp(self.clock())
        # Cancellations first: a rule may queue a new item for the key of one it cancelled.
        sql.close_items(db, [(c.item_id, c.why) for c in decided.cancelled], "plan", as_of, written)
        sql.update_drafts(db, decided.updated, written)
        keys = self.sync_keys.take(len(queued))
        sql.insert_drafts(
            db, [(d.item_id or "", key, d) for key, d in zip(keys, queued, strict=True)], written
        )
        sql.replace_skips(db, report.run_id, ids, decided.skipped)
        laps.lap("writes")
        return {d.account_id for d in [*queued, *decided.updated]} | {c.account_id for c in decided.cancelled}


@dataclass
class _SyncKeys:
    """The sync keys of a plan's new drafts (the CRM upserts an item by its key, so each is unique the world
    over): UUIDs of version 4 that share one random prefix per plan and count up from a random start in their
    last 48 bits. Unique as random ones are (74 random bits a plan, 48 more at its start), they go into the
    unique index of `outreach.sync_key` one after another, where independent random ones land all over it
    (the insert of a plan's 65,000 drafts spent about a third of its time in that index)."""

    prefix: str
    following: int

    @classmethod
    def start(cls) -> _SyncKeys:
        first = uuid.uuid4()
        return cls(str(first)[:24], first.node)

    def take(self, count: int) -> list[str]:
        prefix, start = self.prefix, self.following
        self.following = (start + count) & _NODE
        return [f"{prefix}{(start + n) & _NODE:012x}" for n in range(count)]


_NODE: Final = (1 << 48) - 1
"""The last 48 bits of a UUID (its `node`): where a plan's sync keys count up."""


class _Laps:
    """Seconds per phase of a plan, for the report (and the bench)."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now

    @property
    def total(self) -> float:
        return self.last - self.start


def _explain(
    accounts: dict[str, PlanAccount],
    ids: Iterable[str],
    explanations: Mapping[str, str | None],
    run_terms: str | None,
    today: date,
    *,
    worded: bool = False,
) -> None:
    """Read the stored explanation of the given accounts that do not have it yet, only as far as the facts
    need (stalled features, the names of the churn signals), unworded; with `worded`, the churn signals'
    words too (what the `churn` token shows), which cost most of an explanation's reading."""
    for account_id in ids:
        account = accounts[account_id]
        if account.worded or (account.explained and not (worded and account.facts["churn_signals"])):
            continue
        text = explanations.get(account_id)
        parts = None if text is None or worded else read_adoption_and_churn(text, run_terms)
        if parts is not None:
            accounts[account_id] = with_parts(account, *parts, today)
            continue
        explanation = None if text is None else decode(text, ("adoption", "churn"), run_terms)
        accounts[account_id] = with_explanation(account, explanation, today)


# --- Review ------------------------------------------------------------------------------------------------


def list_items(store: Store, selection: ItemFilter) -> list[OutreachItem]:
    """Items that match the filter: drafts first, then snoozed and approved, then the rest; by due day."""
    return sql.find_items(store.db, selection)


def get_item(store: Store, item_id: str) -> OutreachItem:
    found = sql.find_items(store.db, ItemFilter(ids=(item_id,)))
    if not found:
        raise ItemNotFound(f"no outreach item {item_id!r}.", hint="List them with `cockpit outreach list`.")
    return found[0]


def items_for_account(store: Store, account_id: str) -> list[OutreachItem]:
    """Every item of one account, open ones first."""
    return sql.find_items(store.db, ItemFilter(account_id=account_id))


@dataclass(frozen=True)
class SkipRecord:
    """A rule of the latest planning run that fired and queued nothing."""

    as_of: str
    account_id: str
    account_name: str
    contact_id: str | None
    playbook: str
    dedupe_key: str | None
    why: str
    values: dict[str, Any]


def skipped(store: Store, account_id: str | None = None) -> list[SkipRecord]:
    """Why the latest plan queued nothing for a rule that fired (for one account, or all)."""
    return [
        SkipRecord(as_of, account, name, contact, playbook, key, why, json.loads(values))
        for as_of, account, name, contact, playbook, key, why, values in sql.latest_skips(
            store.db, account_id
        )
    ]


class UnknownPlaybook(CockpitError):
    title = "No such playbook"
    exit_code = 2


def muted_playbooks(store: Store) -> frozenset[str]:
    """The playbooks the CSM muted for their book."""
    return sql.muted_playbooks(store.db)


def set_muted(store: Store, settings: Settings, playbook_id: str, muted: bool, *, clock: Clock) -> bool:
    """Mute a playbook of the settings (the next plan queues nothing for it and withdraws its untouched
    drafts) or unmute it; whether that changed anything."""
    known = [playbook.id for playbook in settings.outreach.playbooks]
    if playbook_id not in known and (muted or playbook_id not in muted_playbooks(store)):
        raise UnknownPlaybook(f"no playbook {playbook_id!r}; the playbooks are {', '.join(known)}")
    with store.write() as db:
        return sql.set_muted(db, playbook_id, muted, stamp(clock()))


def _selected(db: Any, ids: Sequence[str]) -> list[OutreachItem]:
    """The items of `ids`, in the order given; every id must exist (else nothing is changed)."""
    if not ids:
        return []
    found = {item.id: item for item in sql.find_items(db, ItemFilter(ids=tuple(ids)))}
    missing = [item_id for item_id in dict.fromkeys(ids) if item_id not in found]
    if missing:
        raise ItemNotFound(
            f"no outreach item {', '.join(repr(m) for m in missing)}; nothing was changed.",
            hint="List them with `cockpit outreach list`.",
        )
    return [found[item_id] for item_id in dict.fromkeys(ids)]


def _open_items(db: Any, ids: Sequence[str], result: ReviewResult) -> list[str]:
    """The ids of the items still open (draft, approved or snoozed); the others are refused, with why."""
    chosen = []
    for item in _selected(db, ids):
        if item.status in ("draft", "approved", "snoozed"):
            chosen.append(item.id)
        else:
            result.refused.append(Refusal(item.id, f"it is {item.status}"))
    return chosen


def _changed(db: Any, ids: Sequence[str]) -> list[OutreachItem]:
    """The items of `ids` as they are now (none for no ids: an empty id filter would select all)."""
    return sql.find_items(db, ItemFilter(ids=tuple(ids))) if ids else []


def approve(
    store: Store,
    settings: Settings,
    ids: Sequence[str],
    *,
    clock: Clock,
) -> ReviewResult:
    """Approve drafts (and snoozed items) for the CRM outbox, checking the contact policy again: a contact who
    may not be reached refuses the item; a day the policy no longer allows moves it as planning would (the
    note says so) or, with no day in reach, refuses it."""
    now = clock()
    today = clock.day(now)
    outreach = settings.outreach
    fixed = {playbook.id: bool(playbook.due_in) for playbook in outreach.playbooks}
    result = ReviewResult()
    with store.write() as db:
        items = sorted(_selected(db, ids), key=lambda item: (item.priority, item.due_on, item.id))
        contact_ids = {item.contact_id for item in items if item.contact_id}
        reach = outreach.policy.window_days + outreach.policy.min_gap_days + outreach.max_shift_days
        calendar = Calendar.of(
            outreach.policy,
            sql.touches(db, today - timedelta(days=reach), date.max, contact_ids),
        )
        moves: list[tuple[str, date | None]] = []
        for item in items:
            if item.status == "approved":
                result.notes[item.id] = "already approved"
                continue
            if item.status not in ("draft", "snoozed"):
                result.refused.append(Refusal(item.id, f"it is {item.status}"))
                continue
            due = max(item.due_on, today)
            contact_id = None
            if item.channel != "todo":
                contact = sql.contact(db, item.contact_id, today) if item.contact_id else None
                why = "is gone" if contact is None else unreachable(contact, item.channel)
                if why is not None:
                    result.refused.append(Refusal(item.id, f"contact {why}"))
                    continue
                contact_id = item.contact_id
                calendar.lift(item.id)
            placed, moved = place(
                calendar,
                contact_id,
                due,
                today,
                outreach.max_shift_days,
                fixed=fixed.get(item.playbook, False),
            )
            if placed is None:
                result.refused.append(Refusal(item.id, moved))
                if contact_id is not None:
                    calendar.add(contact_id, item.due_on, item.id)
                continue
            if contact_id is not None:
                calendar.add(contact_id, placed, item.id)
            if placed != item.due_on:
                result.notes[item.id] = moved or f"was due {item.due_on}; due {placed}"
            moves.append((item.id, placed if placed != item.due_on else None))
        sql.set_status(db, moves, "approved", stamp(now))
        result.changed = _changed(db, [item_id for item_id, _ in moves])
    return result


def snooze(store: Store, ids: Sequence[str], until: date, *, clock: Clock) -> ReviewResult:
    """Hold open items until a later day: the planner leaves them (and their rule) alone until then, and
    then they are drafts again. An approved item snoozed is no longer approved."""
    now = clock()
    today = clock.day(now)
    if until <= today:
        raise ReviewRefused(f"snooze until a day after today ({today}), not {until}.")
    result = ReviewResult()
    with store.write() as db:
        chosen = _open_items(db, ids, result)
        sql.snooze_items(db, chosen, until, stamp(now))
        result.changed = _changed(db, chosen)
    return result


def cancel(
    store: Store,
    ids: Sequence[str],
    *,
    why: str = "cancelled by the CSM",
    clock: Clock,
) -> ReviewResult:
    """Cancel open items. The rule that queued one rests for its playbook's cooldown before it may queue
    the same message again."""
    now = clock()
    result = ReviewResult()
    with store.write() as db:
        chosen = _open_items(db, ids, result)
        sql.close_items(db, [(item_id, why) for item_id in chosen], "csm", clock.day(now), stamp(now))
        result.changed = _changed(db, chosen)
    return result


def update_draft(
    store: Store, settings: Settings, item_id: str, subject: str, body: str, *, clock: Clock
) -> OutreachItem:
    """Replace a draft's (or snoozed item's) text with the CSM's, checked: a subject on one line and a body,
    neither blank, no template markup left in them, within the length limit of a message
    (`outreach.template_max_chars`). The planner then leaves the text as the CSM wrote it."""
    limit = settings.outreach.template_max_chars
    subject, body = subject.strip(), body.strip("\n")
    problems = []
    if not subject:
        problems.append("the subject is empty")
    if "\n" in subject:
        problems.append("the subject is more than one line")
    if not body.strip():
        problems.append("the body is empty")
    for part, text in (("subject", subject), ("body", body)):
        if any(mark in text for mark in ("{{", "{%", "{#")):
            problems.append(f"the {part} has template markup left in it ({{{{ }}}}, {{% %}} or {{# #}})")
        if len(text) > limit:
            problems.append(f"the {part} is longer than {limit:,} characters")
    if problems:
        raise ReviewRefused(f"{item_id}: {'; '.join(problems)}; nothing was changed.")
    with store.write() as db:
        item = _selected(db, [item_id])[0]
        if item.status not in ("draft", "snoozed"):
            raise ReviewRefused(
                f"{item_id} is {item.status}: only drafts and snoozed items can be edited.",
                hint="Snooze an approved item to edit it, then approve it again."
                if item.status == "approved"
                else None,
            )
        sql.edit_item(db, item_id, subject, body, stamp(clock()))
        return sql.find_items(db, ItemFilter(ids=(item_id,)))[0]
