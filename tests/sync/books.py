"""Books for sync tests: CRM records on the test servers, outbox items in the store, and configs that point
cockpit at the servers with short timeouts and backoff (the suite never sleeps for seconds)."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from cockpit.config import Settings, load_settings
from cockpit.services.sync import SyncReport, run_sync
from cockpit.store import Store
from tests.clocks import at
from tests.crm_servers.base import CrmServer, FaultPlan
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

TOKEN = "pat-na1-0c7f3e9a-5b1d-4e2f-a6c8-secret"
CLIENT_ID = "3MVG9-test-client-0042"
CLIENT_SECRET = "client-secret-9f8e7d6c5b4a3210"
PROPERTY = "cockpit_external_id"
KINDS = ("call", "meeting", "email", "note", "qbr")
FAULTS = ("429", "500", "timeout", "drop", "drop_after", "partial", "502", "503")
FAST_SYNC: dict[str, Any] = {
    "backoff_initial_seconds": 0.01,
    "backoff_max_seconds": 0.05,
    "connect_timeout_seconds": 1.0,
    "request_timeout_seconds": 1.0,
    "max_retries": 4,
}
NOW = "2026-11-20T10:00:00+00:00"


SYNC_DAY = date(2026, 11, 25)
"""The day every test's nightly run believes it is."""


def nightly(store: Store, settings: Settings, *, crm: str | None = None, dry_run: bool = False) -> SyncReport:
    """`cockpit sync` as cron runs it, on `SYNC_DAY`."""
    return run_sync(store, settings, clock=at(SYNC_DAY), crm=crm, dry_run=dry_run)


def write_config(
    path: Path,
    *,
    hubspot: str | None = None,
    salesforce: str | None = None,
    sync: dict[str, Any] | None = None,
    hubspot_extra: dict[str, Any] | None = None,
    salesforce_extra: dict[str, Any] | None = None,
) -> Path:
    """A user config enabling the CRMs whose test servers are given (values are TOML via JSON literals)."""
    sections: dict[str, dict[str, Any]] = {"sync": {**FAST_SYNC, **(sync or {})}}
    if hubspot is not None:
        sections["crm.hubspot"] = {
            "enabled": True,
            "base_url": hubspot,
            "requests_per_10s": 10_000,
            "search_requests_per_second": 1000,
            **(hubspot_extra or {}),
        }
    if salesforce is not None:
        sections["crm.salesforce"] = {"enabled": True, "instance_url": salesforce, **(salesforce_extra or {})}
    text = "\n\n".join(
        f"[{name}]\n" + "\n".join(f"{key} = {json.dumps(value)}" for key, value in values.items())
        for name, values in sections.items()
    )
    path.write_text(text + "\n", encoding="utf-8")
    return path


def settings_for(path: Path) -> Settings:
    return load_settings(path)


def hubspot_book(server: HubSpotServer, companies: int, contacts_per: int = 1) -> list[str]:
    ids = []
    for number in range(companies):
        company = server.add("companies", {"name": f"Company {number}", "domain": f"company{number}.com"})
        ids.append(company)
        for person in range(contacts_per):
            server.add(
                "contacts",
                {
                    "firstname": f"Pat{person}",
                    "lastname": f"Doe{number}",
                    "email": f"pat{person}@company{number}.com",
                    "associatedcompanyid": company,
                },
            )
    return ids


def log_engagement(server: HubSpotServer, target: str, company: str, properties: dict[str, str]) -> str:
    """An engagement a colleague logged in HubSpot, linked to `company`."""
    record = server.add(target, {"hs_timestamp": "2026-11-18T09:30:00.000Z", **properties})
    server.associations.add((target, record, "companies", company))
    return record


def salesforce_book(server: SalesforceServer, accounts: int, contacts_per: int = 1) -> list[str]:
    ids = []
    for number in range(accounts):
        account = server.add(
            "Account", {"Name": f"Company {number}", "Website": f"https://company{number}.com"}
        )
        ids.append(account)
        for person in range(contacts_per):
            server.add(
                "Contact",
                {
                    "AccountId": account,
                    "FirstName": f"Pat{person}",
                    "LastName": f"Doe{number}",
                    "Email": f"pat{person}@company{number}.com",
                },
            )
    return ids


def add_interactions(store: Store, count: int, *, start: int = 0) -> list[str]:
    """`count` pending interactions of every kind, spread over the live accounts and their contacts;
    returns their sync keys."""
    db = store.db
    accounts = [row[0] for row in db.execute("SELECT id FROM accounts WHERE deleted_at IS NULL ORDER BY id")]
    contacts = {
        row[0]: row[1] for row in db.execute("SELECT account_id, min(id) FROM contacts GROUP BY account_id")
    }
    keys = []
    with store.write() as writer:
        for number in range(start, start + count):
            account = accounts[number % len(accounts)]
            key = str(uuid.uuid4())
            writer.execute(
                "INSERT INTO interactions (id, account_id, contact_id, kind, direction, occurred_at, summary, "
                "sync_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    f"int-{number:05d}",
                    account,
                    contacts.get(account),
                    KINDS[number % len(KINDS)],
                    "inbound" if number % 3 == 0 else "outbound",
                    f"2026-11-{1 + number % 19:02d}T{9 + number % 8:02d}:30:00+00:00",
                    f"Talked about the renewal, item {number}\nNext: pricing.",
                    key,
                    NOW,
                    NOW,
                ],
            )
            keys.append(key)
    return keys


def add_outreach(store: Store, count: int) -> list[str]:
    """`count` approved outreach items (one of each channel in turn); returns their sync keys."""
    accounts = [
        row[0] for row in store.db.execute("SELECT id FROM accounts WHERE deleted_at IS NULL ORDER BY id")
    ]
    channels = ("email", "call_task", "todo")
    keys = []
    with store.write() as writer:
        for number in range(count):
            key = str(uuid.uuid4())
            writer.execute(
                "INSERT INTO outreach (id, account_id, playbook, channel, subject, body, status, due_on, "
                "dedupe_key, sync_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'approved', ?, ?, ?, ?, ?)",
                [
                    f"out-{number:04d}",
                    accounts[number % len(accounts)],
                    "renewal",
                    channels[number % 3],
                    f"Renewal check-in {number}",
                    "Hi, shall we talk about the renewal?",
                    "2026-11-25",
                    f"renewal:{number}",
                    key,
                    NOW,
                    NOW,
                ],
            )
            keys.append(key)
    return keys


TASK_SUBTYPES = {"call": "Call", "email": "Email"}
OUTREACH_SUBTYPES = ("Email", "Call", "Task")
"""Of the outreach channels in turn (email, call_task, todo)."""


def expected_subtypes(interactions: int, outreach: int = 0) -> list[str | None]:
    """The Salesforce TaskSubtype of the items `add_interactions` and `add_outreach` made, in their order."""
    return [TASK_SUBTYPES.get(KINDS[n % len(KINDS)]) for n in range(interactions)] + [
        OUTREACH_SUBTYPES[n % 3] for n in range(outreach)
    ]


def subtypes_of(salesforce: SalesforceServer, keys: list[str]) -> list[str | None]:
    """Each key's one record's TaskSubtype (None: a plain Task, or an Event); a key found twice fails."""
    found = []
    for key in keys:
        [(_sobject, record)] = salesforce.find(key)
        found.append(record.get("TaskSubtype"))
    return found


def waiting(store: Store) -> int:
    """Outbox items not yet synced (or set aside)."""
    row = store.db.execute(
        "SELECT (SELECT count(*) FROM interactions WHERE sync_state = 'pending') + "
        "(SELECT count(*) FROM outreach WHERE status = 'approved')"
    ).fetchone()
    return int(row[0])


def exactly_once(found: Counter[str], keys: list[str]) -> None:
    """Every key is in the CRM once, and nothing else is."""
    assert sorted(found.elements()) == sorted(keys)


def fault_every(server: CrmServer, every: int, count: int, kinds: tuple[str, ...] = FAULTS) -> None:
    """From the server's next requests on, a fault every `every` requests, cycling through `kinds`."""
    server.faults = FaultPlan.cycle(
        kinds, start=server.requests + 2, every=every, count=count, timeout_seconds=1.2
    )


def name_changed_on_both_sides(
    store: Store, salesforce: SalesforceServer, config: Path
) -> tuple[Settings, str]:
    """A synced Salesforce book whose first account was renamed here ("Ours", with a new domain) and there
    ("Theirs", with a new type) since; returns the settings and the account's local id."""
    [account, *_] = salesforce_book(salesforce, accounts=2)
    settings = settings_for(write_config(config, salesforce=salesforce.url))
    assert nightly(store, settings).exit_code == 0
    local_id = str(
        store.db.execute("SELECT id FROM accounts WHERE salesforce_id = ?", [account]).fetchone()[0]
    )
    with store.write() as db:
        db.execute("UPDATE accounts SET name = 'Ours', domain = 'ours.com' WHERE id = ?", [local_id])
    salesforce.update("Account", account, {"Name": "Theirs", "Type": "Customer"})
    return settings, local_id


def forms(secret: str) -> list[str]:
    """The forms a secret can take in a message: raw, stripped, URL-encoded (both ways) and form-encoded."""
    stripped = secret.strip()
    return [secret, stripped, quote(stripped), quote(stripped, safe=""), quote_plus(stripped)]


def assert_nowhere(secret: str, found: list[bytes]) -> None:
    for form in forms(secret):
        for text in found:
            assert form.encode() not in text, f"a form of the secret leaked: {form!r}"
