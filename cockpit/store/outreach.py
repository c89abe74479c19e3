"""The SQL side of outreach: planning facts for a range of accounts (see `Accounts`) in a few queries, the
items, the review.

Planning reads the latest finished score run with one join of `scores` and `accounts`, plus one query each
for email engagement, touch recency and cross-sell offers; the explanation (stalled features, churn
signals) is decoded through `cockpit.store.scoring.latest_scores`, the reader of stored explanations, and
only for the accounts that need it. Inside the planning transaction: the contacts of the accounts that
fired, the touches of the days planning can reach, the open items. Nothing here decides anything:
`cockpit.outreach` does.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Final, NamedTuple

from cockpit.outreach.facts import CUSTOM, LastEmail, Offer, PlanAccount, PlanContact, days_to_birthday
from cockpit.outreach.items import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    ClosedItem,
    Draft,
    ItemFilter,
    OpenItem,
    OutreachItem,
    Skip,
)
from cockpit.outreach.policy import Touch
from cockpit.store.book import STAGE_SQL
from cockpit.store.migrations import PLAN_TRACKED, plan_change_triggers
from cockpit.store.scoring import TOUCHES, json_pairs
from cockpit.store.sqlite import Database

_OPEN = f"({', '.join(repr(status) for status in OPEN_STATUSES)})"
_TOUCHING = "('draft', 'approved', 'snoozed', 'sent', 'synced', 'failed')"
"""Item statuses that are (or will be) a touch of their contact: all but cancelled."""


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _json_ids(ids: Iterable[str]) -> str:
    return json.dumps(sorted(set(ids)))


# --- Planning facts ----------------------------------------------------------------------------------------


def latest_run(db: Database, day: date) -> tuple[int, date] | None:
    """The latest finished score run as of `day` or before: (id, as_of)."""
    row = db.execute(
        "SELECT id, as_of FROM score_runs WHERE finished_at IS NOT NULL AND as_of <= ? ORDER BY as_of DESC, id DESC "
        "LIMIT 1",
        [day.isoformat()],
    ).fetchone()
    return None if row is None else (int(row[0]), date.fromisoformat(row[1]))


class Accounts(NamedTuple):
    """A range of account ids, from `low` up to, not including, `high` (None: no bound), and, with `only`,
    just the accounts of that JSON list of ids in it."""

    low: str | None = None
    high: str | None = None
    only: str | None = None

    def where(self, column: str) -> str:
        """The SQL condition on `column` (after an AND), bound as :low, :high and :only."""
        bounds = [f"{column} >= :low"] if self.low is not None else []
        bounds += [f"{column} < :high"] if self.high is not None else []
        bounds += [f"{column} IN (SELECT value FROM json_each(:only))"] if self.only is not None else []
        return " AND ".join(bounds) or "1"

    def params(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "only": self.only}

    def just(self, account_ids: Iterable[str]) -> Accounts:
        """The same range, only the given accounts in it."""
        return self._replace(only=_json_ids(account_ids))


ALL_ACCOUNTS = Accounts()


def batch_end(db: Database, low: str | None, size: int) -> str | None:
    """The first account id after the `size` accounts of the book from `low` on (None: they are the last).
    Every account counts (unscored, churned and deleted ones too): a range's contacts, items and touches
    are read whether or not the run scored the account, so a range of `size` accounts bounds them all."""
    row = db.execute(
        "SELECT id FROM accounts WHERE id >= coalesce(?, '') ORDER BY id LIMIT 1 OFFSET ?", [low, size]
    ).fetchone()
    return None if row is None else str(row[0])


def plan_accounts(
    db: Database,
    run_id: int,
    today: date,
    email_window_days: int,
    csm_touches: Collection[tuple[str, str]],
    accounts: Accounts = ALL_ACCOUNTS,
    campaigns: Collection[str] = (),
    emails: Mapping[str, LastEmail] | None = None,
    last_touch: Mapping[str, str] | None = None,
    rows: Iterable[AccountRow] | None = None,
) -> list[PlanAccount]:
    """The accounts of the run (in the range) that are customers today, with their trigger facts (not yet
    the explained ones: see `explanations`); `csm_touches` are the (kind, direction) of the interactions
    that are a CSM's touch; `campaigns` the bulk campaigns whose sends count as emails to follow up;
    `emails` each account's unopened email when an events source holds the signals (None: read here);
    `last_touch` the time of each account's latest such touch, and `rows` the accounts' rows, where
    `account_inputs` has read them (`rows` only those of the range to plan)."""
    day = today.isoformat()
    touched = _last_touches(db, today, csm_touches, accounts) if last_touch is None else last_touch
    if emails is None:
        emails = _unopened_emails(db, today, email_window_days, accounts, campaigns)
    offers = _offers(db, run_id, day, accounts)
    ordinal = today.toordinal()
    found: list[PlanAccount] = []
    for row in _account_rows(db, run_id, today, accounts) if rows is None else rows:
        if not row[PLANNED]:
            continue
        facts = dict(zip(_ACCOUNT_FACTS, row, strict=False))
        account_id, mrr = row[0], float(row[6] or 0)
        renewal_date = _day(row[21])
        touch = _day(touched.get(account_id))
        email = emails.get(account_id)
        facts["mrr"], facts["arr"] = mrr, mrr * 12
        facts["cross_sell_ready"] = bool(facts["cross_sell_ready"])
        facts["renewal_in_days"] = None if renewal_date is None else renewal_date.toordinal() - ordinal
        facts["days_since_touch"] = None if touch is None else ordinal - touch.toordinal()
        facts["unopened_email_days"] = None if email is None else ordinal - email.sent_on.toordinal()
        if row[22] != "{}":
            facts.update((CUSTOM + key, str(value)) for key, value in json.loads(row[22]).items())
        found.append(
            PlanAccount(account_id, facts, row[19], row[20], renewal_date, offers.get(account_id), email)
        )
    return found


def _last_touches(
    db: Database, today: date, csm_touches: Collection[tuple[str, str]], accounts: Accounts
) -> dict[str, str]:
    """The time of each account's latest CSM touch up to today, where it has one."""
    end = (today + timedelta(days=1)).isoformat()
    return dict(
        db.execute(
            _last_touch_sql(accounts), {"touches": json_pairs(csm_touches), "end": end, **accounts.params()}
        ).fetchall()
    )


def _last_touch_sql(accounts: Accounts) -> str:
    """Each account's latest CSM touch (bound: :touches, :end and the range's)."""
    return (
        f"SELECT account_id, max(occurred_at) FROM interactions WHERE {TOUCHES} AND occurred_at < :end "
        f"AND {accounts.where('account_id')} GROUP BY account_id"
    )


_ACCOUNT_FACTS = (
    "account_id", "name", "owner", "segment", "plan", "lifecycle_stage", "mrr", "seats", "health", "health_band",
    "churn_risk", "churn_tier", "value_tier", "priority", "adoption", "adoption_share", "cross_sell_ready",
    "cross_sell_product", "advocacy",
)  # fmt: skip
"""The facts `plan_accounts` reads, in the order of an `AccountRow`."""

AccountRow = tuple[Any, ...]
"""An account of a range as `_account_rows` reads it (and `account_inputs` returns it): its facts' columns
(`_ACCOUNT_FACTS`), domain, start and renewal dates and custom fields (0-22); the account and score columns as
the fingerprint's text (`TEXT`), the stored explanation (`EXPLANATION`), and whether it is planned today
(`PLANNED`: scored by the run, not deleted, not churned). A plain tuple, as sqlite3 returns it: a batch
has thousands."""
TEXT: Final = 23
EXPLANATION: Final = 24
PLANNED: Final = 25


def _account_rows(db: Database, run_id: int, today: date, accounts: Accounts) -> list[AccountRow]:
    """Every account of the range (deleted and churned ones too, and those the run did not score), in id
    order, read once for both the plan's facts and its fingerprints (see `AccountRow`)."""
    return db.execute(
        f"""
        SELECT a.id, a.name, a.owner, a.segment, a.plan, {STAGE_SQL}, a.mrr, a.seats, s.health, s.health_band,
            s.churn_risk, s.churn_tier, s.value_tier, s.priority, s.adoption_status, s.adoption_share,
            s.cross_sell_ready, s.cross_sell_product, s.advocacy, a.domain, a.start_date, a.renewal_date,
            a.custom,
            json_array(
                a.name, a.owner, a.segment, a.plan, a.lifecycle_stage, a.mrr, a.seats, a.domain, a.start_date,
                a.renewal_date, a.deleted_at, a.churned_on, s.health, s.health_band, s.churn_risk, s.churn_tier,
                s.value_tier, s.priority, s.adoption_status, s.adoption_share, s.cross_sell_ready,
                s.cross_sell_product, s.advocacy, a.custom),
            s.explanation,
            s.account_id IS NOT NULL AND a.deleted_at IS NULL AND (a.churned_on IS NULL OR a.churned_on > :day)
        FROM accounts a LEFT JOIN scores s ON s.run_id = :run AND s.account_id = a.id
        WHERE {accounts.where("a.id")}
        ORDER BY a.id
        """,
        {"run": run_id, "day": today.isoformat(), **accounts.params()},
    ).fetchall()


EmailSignal = tuple[Any, ...]
"""An email signal of the email window as `_email_signals` reads it: its id, contact, kind, time, message
reference (the payload's message id, else the source id), and, for a send, the payload's subject, campaign
(None for none or empty) and bulk flag. A plain tuple: a book has hundreds of thousands."""


def _email_signals_sql(accounts: Accounts) -> str:
    """The email signals of the window (bound: :emails_since, :end and the range's), in account order: read
    once for both the plan's unopened emails and its fingerprints. Account by account (`CROSS JOIN` keeps
    that order), each account's signals from the window's start by its time index: the range's signals of
    every day before the window are passed over (a fifth less CPU than walking them at 100k accounts)."""
    sent = "CASE WHEN s.kind = 'email_sent' THEN {} END"
    return f"""
        SELECT s.account_id, s.id, s.contact_id, s.kind, s.occurred_at,
            coalesce(json_extract(s.payload, '$.message_id'), nullif(s.source_id, '')),
            {sent.format("json_extract(s.payload, '$.subject')")},
            {sent.format("nullif(json_extract(s.payload, '$.campaign'), '')")},
            {sent.format("json_extract(s.payload, '$.bulk')")}
        FROM accounts a CROSS JOIN signals s ON s.account_id = a.id
        WHERE s.occurred_at >= :emails_since AND s.occurred_at < :end
            AND +s.kind IN ('email_sent', 'email_opened', 'email_clicked') AND {accounts.where("a.id")}
        ORDER BY a.id
    """


def _email_signals(rows: Iterable[tuple[Any, ...]]) -> dict[str, list[EmailSignal]]:
    """The rows of `_email_signals_sql` by account (each without its account id)."""
    found: dict[str, list[EmailSignal]] = {}
    for row in rows:
        listed = found.get(row[0])
        if listed is None:
            listed = found[row[0]] = []
        listed.append(row[1:])
    return found


def _unopened_emails(
    db: Database, today: date, window_days: int, accounts: Accounts, campaigns: Collection[str]
) -> dict[str, LastEmail]:
    """Each account's unopened email of the window (see `unopened_emails`), read here."""
    params = {
        "emails_since": (today - timedelta(days=window_days - 1)).isoformat(),
        "end": (today + timedelta(days=1)).isoformat(),
        **accounts.params(),
    }
    return unopened_emails(_email_signals(db.execute(_email_signals_sql(accounts), params)), campaigns)


def unopened_emails(
    signals: Mapping[str, Sequence[EmailSignal]], campaigns: Collection[str]
) -> dict[str, LastEmail]:
    """Per account, of its email signals of the window (`EmailSignal`), the latest email a person sent (or
    a bulk send of one of `campaigns`), when nothing shows it opened: no open or click of the same message
    (by message id, else source id) after it, or, for a send with neither, no open at all after it. A bulk
    send (a newsletter, a digest) is one whose payload names its `campaign` or says `"bulk": true`. (Values
    compare as SQLite compares them: a number is never equal to a text.)"""
    chosen = frozenset(campaigns)
    found: dict[str, LastEmail] = {}
    for account_id, listed in signals.items():
        latest: EmailSignal | None = None
        for signal in listed:
            if signal[2] != "email_sent":
                continue
            campaign, bulk = signal[6], signal[7]
            followed = not _same(bulk, 1) if campaign is None else campaign in chosen
            if followed and (latest is None or (signal[3], signal[0]) > (latest[3], latest[0])):
                latest = signal
        if latest is None:
            continue
        sent_at, ref = latest[3], latest[4]
        if any(
            signal[2] != "email_sent"
            and signal[3] >= sent_at
            and (ref is None or (signal[4] is not None and _same(signal[4], ref)))
            for signal in listed
        ):
            continue
        sent_on = _day(sent_at)
        if sent_on is not None:
            found[account_id] = LastEmail(latest[5], sent_on, latest[1], latest[6])
    return found


def _same(one: Any, other: Any) -> bool:
    """Whether two SQL values are equal as SQLite compares them: a number never equals a text."""
    return isinstance(one, str) == isinstance(other, str) and bool(one == other)


def _offers(db: Database, run_id: int, day: str, accounts: Accounts) -> dict[str, Offer]:
    """The cross-sell product of each ready account, with the owned product it builds on (the first owned
    product, by id, that it complements, as scoring picks it) and the catalogue's reason."""
    names = dict(db.execute("SELECT id, name FROM products").fetchall())
    offers: dict[str, Offer] = {}
    for account_id, product_id, owned_id, reason in db.execute(
        f"""
        SELECT s.account_id, s.cross_sell_product, c.product_id, c.reason
        FROM scores s
        LEFT JOIN product_complements c ON c.complement_id = s.cross_sell_product AND c.product_id = (
            SELECT min(e.product_id) FROM entitlements e JOIN product_complements k
                ON k.product_id = e.product_id AND k.complement_id = s.cross_sell_product
            WHERE e.account_id = s.account_id AND e.started_on <= :day AND (e.ended_on IS NULL OR e.ended_on > :day)
        )
        WHERE s.run_id = :run AND s.cross_sell_product IS NOT NULL AND {accounts.where("s.account_id")}
        """,
        {"run": run_id, "day": day, **accounts.params()},
    ):
        offers[account_id] = Offer(
            product_id,
            names.get(product_id, product_id),
            reason,
            owned_id,
            names.get(owned_id) if owned_id else None,
        )
    return offers


def run_terms(db: Database, run_id: int) -> str | None:
    """The terms the score run's explanations quote (`score_runs.terms`)."""
    row = db.execute("SELECT terms FROM score_runs WHERE id = ?", [run_id]).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def plan_contacts(
    db: Database,
    today: date,
    accounts: Accounts = ALL_ACCOUNTS,
    texts: Mapping[str, str] | None = None,
    only: Collection[str] | None = None,
) -> dict[str, list[PlanContact]]:
    """The contacts of the accounts in the range (deleted ones too), by account, in id order, as they are
    now. A birthday counts only where the contact consented to personalisation. `texts`: each account's
    contacts as `account_inputs` read them (then `only` those of these accounts)."""
    if texts is None:
        texts = dict(db.execute(_contacts_sql(accounts), accounts.params()).fetchall())
    found: dict[str, list[PlanContact]] = {}
    for account_id, text in texts.items():
        if only is not None and account_id not in only:
            continue
        # Each JSON row is `_CONTACT_COLUMNS` without the account id, and with deleted_at itself.
        found[account_id] = [
            _contact((row[0], account_id, *row[1:8], row[8] is not None), today)
            for row in sorted(json.loads(text))
        ]
    return found


def _contacts_sql(accounts: Accounts) -> str:
    """Each account's contacts (of the range), as one JSON text: read once for both the plan's contacts
    and its fingerprints. No column holds a real number, so JSON keeps every value as it is."""
    return f"""SELECT account_id, json_group_array(json_array(id, name, email, phone, role,
            CASE WHEN personalization_consent = 1 THEN birthday END, email_opt_in, do_not_contact, deleted_at))
        FROM contacts WHERE {accounts.where("account_id")} GROUP BY account_id"""


_CONTACT_COLUMNS = """c.id, c.account_id, c.name, c.email, c.phone, c.role,
    CASE WHEN c.personalization_consent = 1 THEN c.birthday END, c.email_opt_in, c.do_not_contact,
    c.deleted_at IS NOT NULL"""
_CONTACT_SELECT = f"SELECT {_CONTACT_COLUMNS} FROM contacts c "


def _contact(row: Sequence[Any], today: date) -> PlanContact:
    contact_id, account_id, name, email, phone, role, birthday, opt_in, dnc, deleted = row
    born = _day(birthday) if birthday else None  # (a book's contacts, most without a birthday shared)
    return PlanContact(
        contact_id,
        account_id,
        name,
        email,
        phone,
        role,
        born,
        bool(opt_in),
        bool(dnc),
        bool(deleted),
        {
            "birthday_in_days": None if born is None else days_to_birthday(born, today),
            "contact_role": role,
        },
    )


def touches(
    db: Database, since: date, until: date, contact_ids: Iterable[str] | None = None
) -> Iterator[Touch]:
    """Every touch of a contact (of the given contacts, or all) dated from `since` up to `until` (exclusive):
    logged interactions (but internal notes) and outreach items that are or will be a touch (not cancelled,
    not todos)."""
    params: dict[str, Any] = {"since": since.isoformat(), "until": until.isoformat(), "ids": None}
    only, status = "", "status"
    if contact_ids is not None:
        params["ids"] = _json_ids(contact_ids)
        # The given contacts' items by their index; the status index would walk the window's items of the book.
        only, status = "AND contact_id IN (SELECT value FROM json_each(:ids))", "+status"
    for contact_id, day, item_id in db.execute(
        f"""
        SELECT contact_id, substr(occurred_at, 1, 10), NULL FROM interactions
        WHERE contact_id IS NOT NULL AND kind <> 'note' AND direction <> 'internal'
            AND occurred_at >= :since AND occurred_at < :until {only}
        UNION ALL
        SELECT contact_id, due_on, id FROM outreach
        WHERE contact_id IS NOT NULL AND channel <> 'todo' AND {status} IN {_TOUCHING}
            AND due_on >= :since AND due_on < :until {only}
        """,
        params,
    ):
        day_ = _day(day)
        if day_ is not None:
            yield Touch(contact_id, day_, item_id)


def _by_account(accounts: Accounts, status: str) -> str:
    """The status column, kept off its index (`+`) for a range of accounts: the items of the range are found
    by account; the status index would walk every open item of the book for each batch of a plan."""
    return status if accounts == ALL_ACCOUNTS else f"+{status}"


def open_items(db: Database, today: date, accounts: Accounts = ALL_ACCOUNTS) -> list[OpenItem]:
    """Every open item (draft, approved, snoozed) of the accounts in the range, with its contact as it is
    now."""
    found = []
    for row in db.execute(
        f"""
        SELECT o.id, o.account_id, o.contact_id, o.playbook, o.channel, o.status, o.due_on, o.snoozed_until,
            o.dedupe_key, e.item_id IS NOT NULL, o.subject, o.body, o.priority, o.reason, c.id IS NOT NULL,
            {_CONTACT_COLUMNS}
        FROM outreach o LEFT JOIN outreach_edits e ON e.item_id = o.id LEFT JOIN contacts c ON c.id = o.contact_id
        WHERE {_by_account(accounts, "o.status")} IN {_OPEN} AND {accounts.where("o.account_id")}
        """,
        accounts.params(),
    ):
        (item_id, account_id, contact_id, playbook, channel, status, due_on, snoozed, key, edited, subject, body,
         priority, reason, has_contact) = row[:15]  # fmt: skip
        found.append(
            OpenItem(
                id=item_id,
                account_id=account_id,
                contact_id=contact_id,
                playbook=playbook,
                channel=channel,
                status=status,
                due_on=_day(due_on) or today,
                snoozed_until=_day(snoozed),
                dedupe_key=key,
                edited=bool(edited),
                subject=subject,
                body=body,
                priority=priority,
                reason=json.loads(reason or "{}"),
                contact=_contact(row[15:], today) if has_contact else None,
            )
        )
    return found


def closed_items(db: Database, since: date, accounts: Accounts = ALL_ACCOUNTS) -> list[ClosedItem]:
    """Items (of the accounts in the range) that went out or were cancelled, due or cancelled from `since`
    on (the planner's cooldowns)."""
    return [
        ClosedItem(key, status, _day(due_on) or since, _day(closed_on), closed_by)
        for key, status, due_on, closed_on, closed_by in db.execute(
            f"""
            SELECT dedupe_key, status, due_on, json_extract(reason, '$.closed.on'),
                json_extract(reason, '$.closed.by')
            FROM outreach
            WHERE {_by_account(accounts, "status")} IN (SELECT value FROM json_each(:statuses))
                AND (due_on >= :since OR coalesce(json_extract(reason, '$.closed.on'), '') >= :since)
                AND {accounts.where("account_id")}
            """,
            {"since": since.isoformat(), "statuses": json.dumps(CLOSED_STATUSES), **accounts.params()},
        )
    ]


# --- Plan fingerprints -------------------------------------------------------------------------------------
# What planning reads of each account, as text, for the service to fingerprint: an account whose text is as
# it was at the last plan (the same day, settings and score values) plans the same and need not be read again.


def account_inputs(
    db: Database,
    run_id: int,
    today: date,
    email_window_days: int,
    csm_touches: Collection[tuple[str, str]],
    reach_days: int,
    accounts: Accounts,
) -> AccountInputs:
    """What planning reads of the accounts of the range (deleted and churned ones too): each account's row
    (`AccountRow`: its facts' columns, and the same columns as text with the stored explanation for the
    fingerprint); and, by account, as text, its latest CSM touch, its contacts (`CONTACTS`, what
    `plan_contacts` decodes), their touches in the days planning can reach (`reach_days` before today, a year
    and `reach_days` after), the ids of its email signals in the email window, and its entitlements (for
    the accounts that have any). One query per table over the range: cheaper than one per account."""
    end = (today + timedelta(days=1)).isoformat()
    params = {
        "run": run_id,
        "end": end,
        "touches": json_pairs(csm_touches),
        "since": (today - timedelta(days=reach_days)).isoformat(),
        "until": (today + timedelta(days=366 + reach_days)).isoformat(),
        "emails_since": (today - timedelta(days=email_window_days - 1)).isoformat(),
        **accounts.params(),
    }
    related = [
        _last_touch_sql(accounts),
        _contacts_sql(accounts),
        f"""SELECT c.account_id, json_group_array(json_array(i.contact_id, i.occurred_at))
            FROM contacts c JOIN interactions i ON i.contact_id = c.id
            WHERE i.kind <> 'note' AND i.direction <> 'internal' AND i.occurred_at >= :since
                AND i.occurred_at < :until AND {accounts.where("c.account_id")}
            GROUP BY c.account_id""",
        f"""SELECT account_id, json_group_array(json_array(product_id, started_on, ended_on))
            FROM entitlements WHERE {accounts.where("account_id")} GROUP BY account_id""",
    ]
    texts = [dict(db.execute(query, params).fetchall()) for query in related]
    emails = _email_signals(db.execute(_email_signals_sql(accounts), params))
    texts.insert(
        EMAILS, {account_id: repr([row[0] for row in listed]) for account_id, listed in emails.items()}
    )
    return AccountInputs(_account_rows(db, run_id, today, accounts), texts, emails)


class AccountInputs(NamedTuple):
    """What `account_inputs` reads of a range of accounts."""

    rows: list[AccountRow]
    texts: list[dict[str, str]]
    """By account, as text: its latest CSM touch (`LAST_TOUCH`), contacts (`CONTACTS`), their touches,
    the ids of its email signals (`EMAILS`) and its entitlements."""
    emails: dict[str, list[EmailSignal]]
    """Its email signals of the window, what `unopened_emails` reads."""


LAST_TOUCH: Final = 0
"""Where `account_inputs` lists each account's latest CSM touch, the time `plan_accounts` reads."""
CONTACTS: Final = 1
"""Where `account_inputs` lists each account's contacts, the text `plan_contacts` decodes."""
EMAILS: Final = 3
"""Where `account_inputs` lists the ids of each account's email signals of the window."""


def outreach_inputs(db: Database, since: date, accounts: Accounts) -> dict[str, tuple[str, bool]]:
    """The outreach items of the accounts in the range that planning reads, as text, by account, and
    whether any is open: the open ones, and those closed that went or were cancelled from `since` on or
    are due from then on (accounts with neither are left out). Not their text: only the planner writes it,
    bar a CSM's edit (which `outreach_edits` notes), and planning leaves an edited text alone."""
    return {
        account_id: (items, bool(any_open))
        for account_id, items, any_open in db.execute(
            f"""
            SELECT o.account_id, json_group_array(json_array(
                o.id, o.contact_id, o.playbook, o.channel, o.status, o.due_on, o.snoozed_until, o.dedupe_key,
                o.priority, e.edited_at, o.reason ->> '$.closed')), max(o.status IN {_OPEN})
            FROM outreach o LEFT JOIN outreach_edits e ON e.item_id = o.id
            WHERE {accounts.where("o.account_id")} AND (o.status IN {_OPEN} OR o.due_on >= :since
                OR coalesce(o.reason ->> '$.closed.on', '') >= :since)
            GROUP BY o.account_id
            """,
            {"since": since.isoformat(), **accounts.params()},
        )
    }


def plan_catalogue(db: Database, run_id: int) -> str:
    """What planning reads that no one account owns, as text: the product catalogue (names and
    complements) and the terms the score run's explanations quote."""
    row = db.execute(
        """
        SELECT json_array(
            (SELECT json_group_array(json_array(id, name)) FROM (SELECT id, name FROM products ORDER BY id)),
            (SELECT json_group_array(json_array(product_id, complement_id, reason))
                FROM (SELECT * FROM product_complements ORDER BY product_id, complement_id)),
            (SELECT terms FROM score_runs WHERE id = ?))
        """,
        [run_id],
    ).fetchone()
    return str(row[0])


def plan_fingerprints(db: Database, accounts: Accounts) -> dict[str, bytes]:
    """The fingerprint each account of the range had at the last plan."""
    return dict(
        db.execute(
            f"SELECT account_id, digest FROM plan_fingerprints WHERE {accounts.where('account_id')}",
            accounts.params(),
        ).fetchall()
    )


def save_fingerprints(db: Database, fingerprints: Iterable[tuple[str, bytes]]) -> None:
    db.conn.executemany(
        "INSERT INTO plan_fingerprints (account_id, digest) VALUES (?, ?) "
        "ON CONFLICT (account_id) DO UPDATE SET digest = excluded.digest",
        fingerprints,
    )


# --- Changes since the last plan ---------------------------------------------------------------------------
# Kept by the triggers of migration 0041 (rows changed or deleted) and found by rowid (rows added), so that a
# replan reads only the accounts something happened to.


def tracking_ready(db: Database) -> bool:
    """Whether every trigger that marks changed accounts is in place (a table made again drops its own)."""
    expected = {trigger.split()[2] for trigger in plan_change_triggers()}
    found = {
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name GLOB 'plan_changes_*'"
        )
    }
    return found == expected


def plan_state(db: Database) -> tuple[bytes, int] | None:
    """(what the last plan's fingerprints hold for every account alike, its score run), if known."""
    row = db.execute("SELECT context, score_run FROM plan_state").fetchone()
    return None if row is None else (bytes(row[0]), int(row[1]))


def mark_added(db: Database, score_run: int) -> bool:
    """Mark the accounts of the rows added to the tracked tables since the last plan (past each table's mark;
    the scores of `score_run` only); False, marking nothing, when a table has no mark."""
    marks = dict(db.execute("SELECT tbl, mark FROM plan_marks").fetchall())
    if set(marks) != set(PLAN_TRACKED):
        return False
    for table, column in PLAN_TRACKED.items():
        only = " AND run_id = :run" if table == "scores" else ""
        params = {"mark": marks[table], "run": score_run}
        db.execute(
            f"INSERT OR IGNORE INTO plan_changes (account_id) SELECT {column} FROM {table} "
            f"WHERE rowid > :mark{only}",
            params,
        )
        if table == "interactions":
            db.execute(
                "INSERT OR IGNORE INTO plan_changes (account_id) SELECT c.account_id FROM interactions i "
                "JOIN contacts c ON c.id = i.contact_id WHERE i.rowid > :mark",
                params,
            )
    return True


def changed_accounts(db: Database, accounts: Accounts) -> list[str]:
    """The accounts of the range marked as changed since the last plan."""
    return [
        row[0]
        for row in db.execute(
            f"SELECT account_id FROM plan_changes WHERE {accounts.where('account_id')}", accounts.params()
        )
    ]


def count_accounts(db: Database, accounts: Accounts) -> int:
    """The accounts (deleted and churned ones too) of the range."""
    return int(
        db.execute(
            f"SELECT count(*) FROM accounts WHERE {accounts.where('id')}", accounts.params()
        ).fetchone()[0]
    )


def save_plan_state(db: Database, context: bytes, score_run: int) -> None:
    """After a plan that left every account's fingerprint: nothing has changed since, up to each table's
    last rowid."""
    db.execute("DELETE FROM plan_changes")
    db.execute("DELETE FROM plan_marks")
    for table in PLAN_TRACKED:
        db.execute(
            f"INSERT INTO plan_marks (tbl, mark) SELECT ?, coalesce(max(rowid), 0) FROM {table}", [table]
        )
    db.execute(
        "INSERT INTO plan_state (id, context, score_run) VALUES (1, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET context = excluded.context, score_run = excluded.score_run",
        [context, score_run],
    )


def forget_plan_state(db: Database) -> None:
    """After a plan whose fingerprints the changes cannot vouch for (they hold the journeys): the next plan
    reads every account."""
    db.execute("DELETE FROM plan_state")
    db.execute("DELETE FROM plan_changes")


def muted_playbooks(db: Database) -> frozenset[str]:
    return frozenset(row[0] for row in db.execute("SELECT playbook FROM playbook_mutes"))


def set_muted(db: Database, playbook: str, muted: bool, now: str) -> bool:
    """Mute or unmute a playbook; whether that changed anything."""
    if muted:
        cursor = db.execute(
            "INSERT INTO playbook_mutes (playbook, muted_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [playbook, now],
        )
    else:
        cursor = db.execute("DELETE FROM playbook_mutes WHERE playbook = ?", [playbook])
    return bool(cursor.rowcount)


# --- Planning writes ---------------------------------------------------------------------------------------


def highest_item_number(db: Database) -> int:
    """The number of the highest item id in use (out-00042: 42; 0 for none)."""
    row = db.execute(
        "SELECT max(CAST(substr(id, 5) AS INTEGER)) FROM outreach WHERE id GLOB 'out-[0-9]*'"
    ).fetchone()
    return int(row[0] or 0)


def item_ids(after: int, count: int) -> list[str]:
    """`count` new item ids (out-00001, ...), after the number `after`."""
    return [f"out-{number:05d}" for number in range(after + 1, after + 1 + count)]


def insert_drafts(db: Database, drafts: Sequence[tuple[str, str, Draft]], now: str) -> None:
    """New drafts as (id, sync key, draft)."""
    db.conn.executemany(
        """
        INSERT INTO outreach (id, account_id, contact_id, playbook, channel, subject, body, status, due_on,
            dedupe_key, reason, priority, sync_key, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            (
                item_id,
                d.account_id,
                d.contact_id,
                d.playbook,
                d.channel,
                d.subject,
                d.body,
                d.due_on.isoformat(),
                d.dedupe_key,
                _dump(d.reason),
                d.priority,
                sync_key,
                now,
                now,
            )
            for item_id, sync_key, d in drafts
        ],
    )


def update_drafts(db: Database, drafts: Sequence[Draft], now: str) -> None:
    """Open items to their planned state: a draft again (a snooze that has come to its day ends)."""
    db.conn.executemany(
        """
        UPDATE outreach SET contact_id = ?, channel = ?, subject = ?, body = ?, status = 'draft', due_on = ?,
            snoozed_until = NULL, reason = ?, priority = ?, updated_at = ?
        WHERE id = ?
        """,
        [
            (
                d.contact_id,
                d.channel,
                d.subject,
                d.body,
                d.due_on.isoformat(),
                _dump(d.reason),
                d.priority,
                now,
                d.item_id,
            )
            for d in drafts
        ],
    )


def close_items(
    db: Database,
    closings: Iterable[tuple[str, str]],
    by: str,
    today: date,
    now: str,
    *,
    status: str = "cancelled",
    only: Sequence[str] | None = None,
) -> int:
    """Close items as (id, why), cancelled or to another `status`, noting in the reason who closed them
    (`by`: the planner, the CSM, a CRM), when and why; `only` those in these statuses. How many were."""
    return db.conn.executemany(
        "UPDATE outreach SET status = ?, snoozed_until = NULL, updated_at = ?, "
        "reason = json_set(reason, '$.closed', json(?)) WHERE id = ? "
        "AND (? IS NULL OR status IN (SELECT value FROM json_each(?)))",
        [
            (
                status,
                now,
                _dump({"by": by, "on": today.isoformat(), "why": why}),
                item_id,
                None if only is None else 1,
                json.dumps(list(only or ())),
            )
            for item_id, why in closings
        ],
    ).rowcount


def start_run(db: Database, as_of: date, score_run: int, started: str) -> int:
    cursor = db.execute(
        "INSERT INTO outreach_runs (as_of, score_run_id, started_at) VALUES (?, ?, ?)",
        [as_of.isoformat(), score_run, started],
    )
    return int(cursor.lastrowid or 0)


def finish_run(db: Database, run_id: int, finished: str, counts: dict[str, int]) -> None:
    db.execute(
        "UPDATE outreach_runs SET finished_at = ?, counts = ? WHERE id = ?", [finished, _dump(counts), run_id]
    )


def replace_skips(db: Database, run_id: int, accounts: Accounts, skips: Sequence[Skip]) -> None:
    """The run's skips of the accounts it planned replace theirs of earlier runs; the skips of accounts not
    planned again (unchanged since) stay."""
    db.execute(f"DELETE FROM outreach_skips WHERE {accounts.where('account_id')}", accounts.params())
    db.conn.executemany(
        "INSERT INTO outreach_skips (run_id, account_id, contact_id, playbook, dedupe_key, reason, trigger_values) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, s.account_id, s.contact_id, s.playbook, s.dedupe_key, s.why, _dump(s.values))
            for s in skips
        ],
    )


def latest_skips(db: Database, account_id: str | None = None) -> list[tuple[Any, ...]]:
    """The skips of the latest plan of each account: (run as_of, account, account name, contact, playbook,
    key, why, values)."""
    where, params = "", []
    if account_id is not None:
        where, params = "WHERE k.account_id = ?", [account_id]
    return db.execute(
        f"""
        SELECT r.as_of, k.account_id, a.name, k.contact_id, k.playbook, k.dedupe_key, k.reason, k.trigger_values
        FROM outreach_skips k JOIN outreach_runs r ON r.id = k.run_id JOIN accounts a ON a.id = k.account_id
        {where} ORDER BY k.playbook, a.name, k.account_id
        """,
        params,
    ).fetchall()


_dump = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode


# --- Review ------------------------------------------------------------------------------------------------

_ITEM_SELECT = """
    SELECT o.id, o.account_id, a.name, a.owner, o.contact_id, c.name, c.email, o.playbook, o.channel, o.subject,
        o.body, o.status, o.due_on, o.snoozed_until, o.priority, o.dedupe_key, o.reason, o.sync_key, o.sync_error,
        e.edited_at, o.created_at, o.updated_at
    FROM outreach o JOIN accounts a ON a.id = o.account_id LEFT JOIN contacts c ON c.id = o.contact_id
    LEFT JOIN outreach_edits e ON e.item_id = o.id
"""


def _item(row: Sequence[Any]) -> OutreachItem:
    (item_id, account_id, account_name, owner, contact_id, contact_name, email, playbook, channel, subject, body,
     status, due_on, snoozed, priority, key, reason, sync_key, sync_error, edited_at, created, updated) = row  # fmt: skip
    return OutreachItem(
        id=item_id,
        account_id=account_id,
        account_name=account_name,
        owner=owner,
        contact_id=contact_id,
        contact_name=contact_name,
        contact_email=email,
        playbook=playbook,
        channel=channel,
        subject=subject,
        body=body,
        status=status,
        due_on=date.fromisoformat(due_on[:10]),
        snoozed_until=_day(snoozed),
        priority=priority,
        dedupe_key=key,
        reason=json.loads(reason or "{}"),
        sync_key=sync_key,
        sync_error=sync_error,
        edited_at=edited_at,
        created_at=created,
        updated_at=updated,
    )


def find_items(db: Database, selection: ItemFilter) -> list[OutreachItem]:
    """Items that match the filter, open ones first, then by due day, priority and id."""
    clauses: list[str] = []
    params: list[Any] = []
    if selection.ids:
        clauses.append("o.id IN (SELECT value FROM json_each(?))")
        params.append(_json_ids(selection.ids))
    if selection.statuses:
        clauses.append("o.status IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(selection.statuses)))
    if selection.playbooks:
        clauses.append("o.playbook IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(selection.playbooks)))
    for column, value in (("o.account_id", selection.account_id), ("o.contact_id", selection.contact_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if selection.owner is not None:
        clauses.append("a.owner = ? COLLATE NOCASE")
        params.append(selection.owner)
    if selection.due_by is not None:
        clauses.append("o.due_on <= ?")
        params.append(selection.due_by.isoformat())
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    limit = "" if selection.limit is None else f" LIMIT {int(selection.limit)}"
    order = (
        "ORDER BY CASE o.status WHEN 'draft' THEN 0 WHEN 'snoozed' THEN 1 WHEN 'approved' THEN 2 ELSE 3 END, "
        "o.due_on, o.priority, o.id"
    )
    return [_item(row) for row in db.execute(f"{_ITEM_SELECT} {where} {order}{limit}", params)]


def contact(db: Database, contact_id: str, today: date) -> PlanContact | None:
    row = db.execute(_CONTACT_SELECT + "WHERE c.id = ?", [contact_id]).fetchone()
    return None if row is None else _contact(row, today)


def set_status(db: Database, moves: Sequence[tuple[str, date | None]], status: str, now: str) -> None:
    """Items, as (id, new due day or None to keep it), to a status; approving or cancelling ends a snooze."""
    db.conn.executemany(
        "UPDATE outreach SET status = ?, snoozed_until = NULL, due_on = coalesce(?, due_on), updated_at = ? "
        "WHERE id = ?",
        [(status, None if day is None else day.isoformat(), now, item_id) for item_id, day in moves],
    )


def snooze_items(db: Database, item_ids: Sequence[str], until: date, now: str) -> None:
    """Snooze until a day; the item is due no earlier than that day."""
    db.conn.executemany(
        "UPDATE outreach SET status = 'snoozed', snoozed_until = ?, due_on = max(due_on, ?), updated_at = ? "
        "WHERE id = ?",
        [(until.isoformat(), until.isoformat(), now, item_id) for item_id in item_ids],
    )


def _mark_edited(db: Database, item_id: str, now: str) -> None:
    """Note a CSM's change of an item (the planner then leaves it as it is), keeping the planner's text once.
    An update, then an insert if there was none: not an upsert, whose conflict policy SQLite gives to the
    `plan_changes` triggers too, failing their `INSERT OR IGNORE` of the account the old and new rows share."""
    if db.execute("UPDATE outreach_edits SET edited_at = ? WHERE item_id = ?", [now, item_id]).rowcount:
        return
    db.execute(
        "INSERT INTO outreach_edits (item_id, edited_at, planned_subject, planned_body) "
        "SELECT id, ?, subject, body FROM outreach WHERE id = ?",
        [now, item_id],
    )


def move_item(db: Database, item_id: str, status: str, day: date, now: str) -> None:
    """A CSM's new day for an item, with its status then; an edit the planner leaves alone."""
    _mark_edited(db, item_id, now)
    db.execute(
        "UPDATE outreach SET status = ?, due_on = ?, snoozed_until = NULL, updated_at = ? WHERE id = ?",
        [status, day.isoformat(), now, item_id],
    )


def edit_item(db: Database, item_id: str, subject: str, body: str, now: str) -> None:
    """A CSM's text for an item; the planner's text is kept once, in `outreach_edits`."""
    _mark_edited(db, item_id, now)
    db.execute(
        "UPDATE outreach SET subject = ?, body = ?, updated_at = ? WHERE id = ?",
        [subject, body, now, item_id],
    )
