"""The SQL of imports: resolving references and upserting keyed records (`store/staging.py` stages an
import's rows, spots records it gives twice and applies its events).

Nothing here commits: references are read outside any write, and upserts run inside the transaction that
applies an import (`Store.write()`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, NamedTuple

from cockpit.domain.identity import domain_forms, salesforce_forms
from cockpit.domain.subscriptions import Subscription
from cockpit.store.sqlite import Database

Outcome = Literal["inserted", "updated", "unchanged"]


class Upserted(NamedTuple):
    outcome: Outcome
    changed: dict[str, Any]
    """The columns written, with their new values: every one given, for a new row; none, unchanged."""


class AmbiguousReference(Exception):
    """A reference that names more than one account, one way or another."""

    def __init__(self, ref: str, matches: dict[str, str]) -> None:
        super().__init__(ref)
        self.ref = ref
        self.matches = matches
        """Account id -> how the reference matched it ("id", "HubSpot id", "domain"...)."""

    @property
    def problem(self) -> str:
        named = " and ".join(f"{account} (by {how})" for account, how in self.matches.items())
        return f"names more than one account: {named}"


_ACCOUNT_MATCHES = """
    SELECT id, 'id' FROM accounts WHERE id = :ref
    UNION ALL SELECT id, 'HubSpot id' FROM accounts WHERE hubspot_id = :ref
    UNION ALL SELECT id, 'Salesforce id' FROM accounts WHERE salesforce_id IN (:sf15, :sf18)
    UNION ALL SELECT id, 'domain' FROM accounts WHERE domain COLLATE NOCASE IN (:domain, :bare)
    UNION ALL SELECT account_id, system || ' alias' FROM account_aliases WHERE value = :ref
    UNION ALL SELECT account_id, 'subscription id' FROM subscriptions WHERE id = :ref
"""


class References:
    """Finds the id of a referenced record from whatever the source gave: an id, a CRM id, a domain, an email.

    An account is looked up every way at once: by its id, HubSpot id, Salesforce id (its 15- and
    18-character forms alike), the domain of a website address or an email (not a free-mail one), with
    `subdomains` of it naming it too, an alias, or the id of one of its subscriptions; every account found
    must be the same one, else the reference is ambiguous (`AmbiguousReference`). Other kinds take the first
    lookup that finds one record.

    Answers are cached for the life of one import; misses are not, so records written earlier in the same
    transaction are found. An import stages its records before it writes them: given the staging file
    (`staged`), a record is also found among those the import staged already (`remember`). It also reads, once
    an import has written its rows, what a kind decides about their accounts from (`Kind.settle`).
    """

    _LOOKUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "account": (
            "SELECT id FROM accounts WHERE id = ?",
            "SELECT id FROM accounts WHERE hubspot_id = ?",
            "SELECT id FROM accounts WHERE salesforce_id IN (?, ?)",
            "SELECT id FROM accounts WHERE domain = lower(?) COLLATE NOCASE",
        ),
        "contact": (
            "SELECT id FROM contacts WHERE id = ?",
            "SELECT id FROM contacts WHERE hubspot_id = ?",
            "SELECT id FROM contacts WHERE salesforce_id IN (?, ?)",
            "SELECT id FROM contacts WHERE email = lower(?) COLLATE NOCASE",
        ),
        "product": (
            "SELECT id FROM products WHERE id = ?",
            "SELECT id FROM products WHERE name = ? COLLATE NOCASE",
        ),
        "feature": (
            "SELECT id FROM features WHERE id = ?",
            "SELECT id FROM features WHERE name = ? COLLATE NOCASE",
        ),
    }

    def __init__(
        self, db: Database, *, staged: sqlite3.Connection | None = None, subdomains: Sequence[str] = ()
    ) -> None:
        self._db = db
        self._subdomains = tuple(subdomains)
        self._ambiguous: dict[str, dict[str, str]] = {}
        self._caches: dict[str, dict[str, str]] = {kind: {} for kind in self._LOOKUPS}
        self._contact_accounts: dict[str, str | None] = {}
        self._staged = staged
        if staged is not None:
            # The lookups that ignore case (a domain, an email) keep their values lowered.
            staged.execute(
                "CREATE TABLE IF NOT EXISTS staged_ids (kind TEXT, lookup INTEGER, value TEXT, id TEXT, "
                "PRIMARY KEY (kind, lookup, value)) WITHOUT ROWID"
            )

    def cache(self, kind: str) -> dict[str, str]:
        """The answers found so far for `kind` (for hot loops; a miss must go through `find`)."""
        return self._caches[kind]

    def preload(self, kind: str, *, at_most: int) -> None:
        """Cache every record of `kind` under its own id, which is what `find` answers first, where there are
        at most `at_most` of them: one query instead of one per record a big file names (30,000 lookups were
        an eighth of importing 200,000 usage events)."""
        select = self._LOOKUPS[kind][0].removesuffix(" WHERE id = ?")
        if kind == "account":
            # An id that is also another account's CRM id, alias or subscription id, or that reads as a
            # Salesforce id or a domain, is left to `find`, which looks it up every way (and says so if it
            # names two).
            select += (
                " AS a WHERE NOT EXISTS (SELECT 1 FROM accounts AS b WHERE b.hubspot_id = a.id AND b.id <> a.id)"
                " AND NOT EXISTS (SELECT 1 FROM accounts AS b WHERE b.salesforce_id = a.id AND b.id <> a.id)"
                " AND NOT EXISTS (SELECT 1 FROM account_aliases AS b WHERE b.value = a.id AND b.account_id <> a.id)"
                " AND NOT EXISTS (SELECT 1 FROM subscriptions AS b WHERE b.id = a.id AND b.account_id <> a.id)"
            )
        if kind == "contact":
            select = select.replace("SELECT id", "SELECT id, account_id", 1)  # whose they are too
        ids = self._db.execute(f"{select} LIMIT {int(at_most) + 1}").fetchall()
        if len(ids) <= at_most:
            self._caches[kind].update(
                (found[0], found[0])
                for found in ids
                if kind != "account" or not (salesforce_forms(found[0]) or domain_forms(found[0]))
            )
            if kind == "contact":
                self._contact_accounts.update(ids)

    def account_matches(self, ref: str) -> dict[str, str]:
        """Account id -> how `ref` names it, for every account it names one way or another."""
        sf15, sf18 = salesforce_forms(ref) or (None, None)
        domain, bare = (*domain_forms(ref, self._subdomains), None, None)[:2]
        matches: dict[str, str] = {}
        params = {"ref": ref, "sf15": sf15, "sf18": sf18, "domain": domain, "bare": bare}
        for found, how in self._db.execute(_ACCOUNT_MATCHES, params):
            matches.setdefault(str(found), how)
        return matches

    def find(self, kind: str, ref: str) -> str | None:
        """The record `ref` names (None: none); an account named ambiguously raises `AmbiguousReference`."""
        cache = self._caches[kind]
        cached = cache.get(ref)
        if cached is not None:
            return cached
        if kind == "account":
            return self._find_account(ref)
        for lookup, sql in enumerate(self._LOOKUPS[kind]):
            rows = self._db.execute(sql, self._params(kind, lookup, ref)).fetchmany(2)
            if len(rows) == 1:
                found: str = rows[0][0]
                cache[ref] = found
                return found
        return None

    def _find_account(self, ref: str) -> str | None:
        matches = self._ambiguous.get(ref) or self.account_matches(ref)
        if len(matches) > 1:
            self._ambiguous[ref] = matches
            raise AmbiguousReference(ref, matches)
        if not matches:
            return None
        (found,) = matches
        self._caches["account"][ref] = found
        return found

    def alias_owner(self, system: str, value: str) -> str | None:
        """The account the alias names (None: none)."""
        row = self._db.execute(
            "SELECT account_id FROM account_aliases WHERE system = ? AND value = ?", [system, value]
        ).fetchone()
        return None if row is None else str(row[0])

    def contact_accounts(self) -> dict[str, str | None]:
        """The accounts of the contacts met so far (for hot loops; a miss must go through
        `account_of_contact`)."""
        return self._contact_accounts

    def account_of_contact(self, contact_id: str) -> str | None:
        """The account a stored contact belongs to (None: none)."""
        if contact_id not in self._contact_accounts:
            row = self._db.execute("SELECT account_id FROM contacts WHERE id = ?", [contact_id]).fetchone()
            self._contact_accounts[contact_id] = row[0] if row else None
        return self._contact_accounts[contact_id]

    def find_existing(self, kind: str, identifiers: Sequence[str | None]) -> str | None:
        """The record matched by the first identifier that matches, tried in lookup order (id first)."""
        for lookup, (sql, value) in enumerate(zip(self._LOOKUPS[kind], identifiers, strict=False)):
            if value:
                row = self._db.execute(sql, self._params(kind, lookup, value)).fetchone()
                if row is None and self._staged is not None:
                    row = self._staged.execute(
                        "SELECT id FROM staged_ids WHERE kind = ? AND lookup = ? AND value = ?",
                        [kind, lookup, self._staged_value(kind, lookup, value)],
                    ).fetchone()
                if row is not None:
                    return str(row[0])
        return None

    def remember(self, kind: str, identifiers: Sequence[str | None], record_id: str) -> None:
        """Note that the import staged the record `record_id` with these identifiers (as `find_existing`
        takes them), so that a later row of the same import finds it; the first record staged under an
        identifier keeps it, as the first written would."""
        if self._staged is None:
            return
        self._staged.executemany(
            "INSERT OR IGNORE INTO staged_ids VALUES (?, ?, ?, ?)",
            [
                (kind, lookup, self._staged_value(kind, lookup, value), record_id)
                for lookup, value in enumerate([record_id, *identifiers[1:]])
                if value
            ],
        )

    def subscriptions_of(self, account_ids: Sequence[str]) -> dict[str, list[Subscription]]:
        """Every stored subscription of these accounts, by account."""
        select = (
            "SELECT id, plan, mrr, seats, started_on, ended_on, status FROM subscriptions "
            "WHERE account_id = ? ORDER BY started_on, id"
        )
        return {
            account_id: [Subscription(*row) for row in self._db.execute(select, [account_id])]
            for account_id in account_ids
        }

    def latest_churn_days(self, account_ids: Sequence[str]) -> dict[str, str]:
        """The day of each of these accounts' latest stored churn event."""
        found: dict[str, str] = {}
        for account_id in account_ids:
            (day,) = self._db.execute(
                "SELECT max(churned_on) FROM churn_events WHERE account_id = ?", [account_id]
            ).fetchone()
            if day is not None:
                found[account_id] = str(day)
        return found

    def _params(self, kind: str, lookup: int, value: str) -> list[str]:
        """A lookup's parameters: a Salesforce id (the third lookup of accounts and contacts) in both its
        forms."""
        if lookup == _SALESFORCE_LOOKUP and kind in ("account", "contact"):
            return list(salesforce_forms(value) or (value, value))
        return [value]

    def _staged_value(self, kind: str, lookup: int, value: str) -> str:
        """A staged identifier as it is kept: a domain or an email lowered, a Salesforce id in its
        18-character form."""
        if lookup == _SALESFORCE_LOOKUP and kind in ("account", "contact"):
            return (salesforce_forms(value) or (value, value))[1]
        return value.lower() if lookup == len(self._LOOKUPS[kind]) - 1 else value


_SALESFORCE_LOOKUP = 2


def start_import_run(db: Database, kind: str, sources: Sequence[str], *, now: str) -> int:
    cursor = db.execute(
        "INSERT INTO import_runs (kind, sources, started_at) VALUES (?, ?, ?)",
        [kind, json.dumps(list(sources)), now],
    )
    return int(cursor.lastrowid or 0)


def finish_import_run(db: Database, import_id: int, counts: dict[str, Any], *, now: str) -> None:
    db.execute(
        "UPDATE import_runs SET finished_at = ?, counts = ? WHERE id = ?",
        [now, json.dumps(counts), import_id],
    )


def upsert_row(
    db: Database,
    table: str,
    key: dict[str, Any],
    values: dict[str, Any],
    *,
    now: str,
    defaults: dict[str, Any] | None = None,
    merged: dict[str, dict[str, Any]] | None = None,
) -> Upserted:
    """Insert the row, or update the given columns where they differ; `key` names the row.

    Columns not in `values` are left as they are, so a file that carries only some columns never blanks the
    others; `defaults` are written only when the row is new; the keys of each JSON object in `merged` are
    laid over the object its column holds. Tables with created_at/updated_at get them set.
    """
    where = " AND ".join(f"[{column}] = ?" for column in key)
    objects = merged or {}
    columns = [*values, *objects]
    selected = ", ".join(f"[{column}]" for column in columns) or "1"
    existing = db.execute(f"SELECT {selected} FROM [{table}] WHERE {where}", list(key.values())).fetchone()
    stamped = table in TIMESTAMPED_TABLES
    if objects:
        stored = dict(zip(columns, existing, strict=True)) if existing is not None else {}
        values = {
            **values,
            **{column: _laid_over(stored.get(column), given) for column, given in objects.items()},
        }
    if existing is None:
        row = {**key, **(defaults or {}), **values}
        if stamped:
            row.update(created_at=now, updated_at=now)
        names = ", ".join(f"[{column}]" for column in row)
        marks = ", ".join("?" for _ in row)
        db.execute(f"INSERT INTO [{table}] ({names}) VALUES ({marks})", list(row.values()))
        return Upserted("inserted", dict(values))
    if not values:  # a row that is all key (an alias), or a record given only its key
        return Upserted("unchanged", {})
    changed = {
        column: values[column]
        for column, value in zip(columns, existing, strict=True)
        if values[column] != value
    }
    if not changed:
        return Upserted("unchanged", {})
    updates = dict(changed)
    if stamped:
        updates["updated_at"] = now
    assignments = ", ".join(f"[{column}] = ?" for column in updates)
    db.execute(f"UPDATE [{table}] SET {assignments} WHERE {where}", [*updates.values(), *key.values()])
    return Upserted("updated", changed)


def _laid_over(stored: str | None, given: dict[str, Any]) -> str:
    """A JSON object column's text with the `given` keys laid over it; the stored text itself where that
    changes nothing, so that an import giving the same values again finds the row unchanged."""
    before = json.loads(stored) if stored else {}
    after = {**before, **given}
    return stored if stored is not None and after == before else json.dumps(after, sort_keys=True)


# Tables whose rows carry created_at and updated_at (see migrations.py).
TIMESTAMPED_TABLES = frozenset({"accounts", "contacts", "interactions", "outreach"})


def integrity_message(error: sqlite3.IntegrityError) -> str:
    """A constraint failure as a user reads it."""
    text = str(error)
    if text.startswith("UNIQUE constraint failed"):
        columns = text.split(":", 1)[1].strip()
        return f"another record already has this {columns.split('.')[-1]}"
    return f"rejected by the database ({text})"


def accounts_named(db: Database, name: str) -> list[str]:
    """The ids of the accounts whose name is `name`, ignoring case."""
    return [
        str(row[0]) for row in db.execute("SELECT id FROM accounts WHERE name = ? COLLATE NOCASE", [name])
    ]
