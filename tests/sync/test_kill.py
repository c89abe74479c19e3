"""kill -9 in the middle of a push, then the next run: nothing lost, nothing twice in the CRM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.domain.records import follow_up_sync_key
from cockpit.store import Store
from tests.crm_servers.base import CrmServer, FaultPlan
from tests.crm_servers.hubspot import ENGAGEMENTS, HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

from .books import (
    CLIENT_SECRET,
    FAULTS,
    PROPERTY,
    TOKEN,
    add_interactions,
    add_outreach,
    assert_nowhere,
    exactly_once,
    expected_subtypes,
    fault_every,
    hubspot_book,
    nightly,
    salesforce_book,
    settings_for,
    subtypes_of,
    waiting,
    write_config,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def command(db: Path, config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cockpit", "sync", "--db", str(db), "--config", str(config), *args]


def cockpit(db: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(db, config, *args), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def pushes(store: Store, state: str) -> int:
    return int(store.db.execute("SELECT count(*) FROM sync_pushes WHERE state = ?", [state]).fetchone()[0])


def kill_mid_push(server: CrmServer, writes: str, store: Store, config: Path, output: Path) -> None:
    """Start a sync whose batch writes (paths with `writes`) the server does, then answers late, the
    server's other faults left as they are; kill the process once it has stored the outcome of a batch
    while others are out, waiting for their answers. Its stdout and stderr go to `output`."""
    server.faults.slow_after, server.faults.slow_seconds = server.requests, 0.2
    server.faults.slow_phase, server.faults.slow_path = "after", writes
    with output.open("wb") as sink:
        process = subprocess.Popen(command(store.path, config), cwd=ROOT, stdout=sink, stderr=sink)
        deadline = time.monotonic() + 30
        while not (pushes(store, "synced") and pushes(store, "in_flight")):
            assert process.poll() is None, "the sync ended before it was killed"
            assert time.monotonic() < deadline, "the sync never stored a batch with others out"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    server.faults = FaultPlan()


HUBSPOT_OBJECTS = {
    "call": "calls",
    "meeting": "meetings",
    "qbr": "meetings",
    "email": "emails",
    "note": "notes",
}


def pushed_items(store: Store, crm: str) -> list[tuple[str, str, str, str | None]]:
    """Every outbox item as (sync key, kind, `outreach` or `follow_up`, its account's and its contact's ids
    in `crm`); not the engagements pulled from the CRM (keyed `crm:object:id`)."""
    rows = store.db.execute(
        f"SELECT i.sync_key, i.kind, a.{crm}_id, c.{crm}_id, i.follow_up_on FROM interactions i "
        "JOIN accounts a ON a.id = i.account_id LEFT JOIN contacts c ON c.id = i.contact_id "
        "WHERE i.sync_key NOT LIKE '%:%' "
        f"UNION ALL SELECT o.sync_key, 'outreach', a.{crm}_id, c.{crm}_id, NULL FROM outreach o "
        "JOIN accounts a ON a.id = o.account_id LEFT JOIN contacts c ON c.id = o.contact_id"
    ).fetchall()
    follow_ups = [(follow_up_sync_key(row[0]), "follow_up", *row[2:4]) for row in rows if row[4]]
    return [(row[0], row[1], row[2], row[3]) for row in rows] + follow_ups


def ask_for_follow_ups(store: Store) -> list[str]:
    """A follow-up on the interactions after the colleagues' calls with nothing later on their account (so
    that no touch settles them before they go); the follow-ups' keys."""
    with store.write() as db:
        db.execute(
            "UPDATE interactions SET follow_up_on = '2026-12-01' WHERE occurred_at >= '2026-11-19' AND NOT EXISTS "
            "(SELECT 1 FROM interactions j WHERE j.account_id = interactions.account_id "
            "AND j.occurred_at > interactions.occurred_at)"
        )
    rows = store.db.execute("SELECT sync_key FROM interactions WHERE follow_up_on IS NOT NULL").fetchall()
    assert rows
    return [follow_up_sync_key(row[0]) for row in rows]


def assert_typed_and_linked(
    store: Store, hubspot: HubSpotServer, salesforce: SalesforceServer, crm: str
) -> None:
    """Each item is the CRM object its kind makes, linked to its account and its contact (and no other)."""
    for key, kind, account, contact in pushed_items(store, crm):
        if crm == "hubspot":
            [(target, record_id)] = [
                (target, record["id"])
                for target in ENGAGEMENTS
                for record in hubspot.live(target)
                if record["properties"].get(PROPERTY) == key
            ]
            assert target == HUBSPOT_OBJECTS.get(kind, "tasks"), (key, kind, target)
            assert hubspot.associated(target, record_id, "companies") == {account}
            assert hubspot.associated(target, record_id, "contacts") == ({contact} if contact else set())
        else:
            [(sobject, record)] = salesforce.find(key)
            assert sobject == ("Event" if kind in ("meeting", "qbr") else "Task"), (key, kind, sobject)
            assert (record["WhatId"], record.get("WhoId")) == (account, contact)


def log_colleagues_calls(
    hubspot: HubSpotServer, salesforce: SalesforceServer, crm: str, count: int
) -> list[str]:
    """`count` calls a colleague logged in the CRM, each on an account of the book and its contact."""
    logged = []
    for number in range(count):
        if crm == "hubspot":
            contact = hubspot.live("contacts")[number % 10]
            company = str(contact["properties"]["associatedcompanyid"])
            call = hubspot.add(
                "calls",
                {"hs_timestamp": "2026-11-18T09:30:00.000Z", "hs_call_title": f"Colleague call {number}"},
            )
            hubspot.associations.update(
                {("calls", call, "companies", company), ("calls", call, "contacts", contact["id"])}
            )
        else:
            person = list(salesforce.records["Contact"].values())[number % 10]
            call = salesforce.add(
                "Task",
                {"WhatId": person["AccountId"], "WhoId": person["Id"], "Subject": f"Colleague call {number}",
                 "TaskSubtype": "Call", "ActivityDate": "2026-11-18"},
            )  # fmt: skip
        logged.append(call)
    return logged


@pytest.mark.parametrize(
    ("crm", "unique"),
    [("hubspot", True), ("hubspot", False), ("salesforce", True)],
    ids=["hubspot", "hubspot-fallback", "salesforce"],
)
def test_a_nightly_run_with_faults_and_a_kill_ends_with_every_item_once_typed_linked_and_no_secret(
    store: Store, hubspot: HubSpotServer, salesforce: SalesforceServer, tmp_path: Path, crm: str, unique: bool
) -> None:
    """The night issue 17 asks for: a fault mix (429, 5xx, timeouts, dropped answers before and after the
    work, partial batches; HubSpot's search trailing its writes; Salesforce's session expiring) and a
    kill -9 in the middle of the push, then the next run under faults too: every item (and follow-up) is in
    the CRM once, as the object its kind makes (Salesforce calls and emails with their subtype), linked to
    its account and contact, and no form of a secret is in stdout, stderr, the report or the database file. HubSpot
    runs both ways: with its unique external-id property, and in the fallback mode of a portal that refuses
    one (search by key, then update or create), where cockpit waits out the search lag before a create is
    retried (longer than a timed-out request plus the lag)."""
    db = store.path
    faults: tuple[str, ...] = FAULTS
    if crm == "hubspot":
        hubspot.search_lag_seconds, hubspot.unique_on_engagements = 0.3, unique
        hubspot_book(hubspot, companies=10)
        config = write_config(
            tmp_path / "c.toml",
            hubspot=hubspot.url,
            hubspot_extra={"batch_size": 20, "search_lag_seconds": 1},
        )
        server: CrmServer = hubspot
        writes = "batch/upsert" if unique else "batch/create"
    else:
        salesforce_book(salesforce, accounts=10)
        config = write_config(
            tmp_path / "c.toml", salesforce=salesforce.url, salesforce_extra={"batch_size": 25}
        )
        server = salesforce
        writes, faults = "composite/sobjects", (*FAULTS, "expire_session")
    assert nightly(store, settings_for(config)).exit_code == 0
    keys = add_interactions(store, 150) + add_outreach(store, 12)
    follow_ups = ask_for_follow_ups(store)
    [deleted, *_] = log_colleagues_calls(hubspot, salesforce, crm, 6)

    fault_every(server, every=3, count=12, kinds=faults)
    kill_mid_push(server, writes, store, config, tmp_path / "killed.out")
    in_flight = pushes(store, "in_flight")
    assert in_flight > 0  # killed between sending a batch and storing its answer
    assert 0 < waiting(store) < len(keys)

    if crm == "hubspot":  # a colleague deletes one of the calls the killed run may have pulled
        hubspot.archive("calls", deleted)
    else:
        salesforce.delete("Task", deleted)
    fault_every(server, every=3, count=12, kinds=faults)
    finished = cockpit(db, config, "--json")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    report = json.loads(finished.stdout)
    assert report["runs"][0]["counts"]["resumed"] >= in_flight
    assert report["runs"][0]["counts"]["retries"] > 0  # the faults did happen
    found = hubspot.keys(PROPERTY) if crm == "hubspot" else salesforce.keys()
    exactly_once(found, keys + follow_ups)  # the follow-ups' tasks too
    if crm == "salesforce":  # calls and emails kept their type through the faults, the kill and the resend
        assert subtypes_of(salesforce, keys) == expected_subtypes(150, 12)
    assert_typed_and_linked(store, hubspot, salesforce, crm)
    assert waiting(store) == 0
    statuses = [row[0] for row in store.db.execute("SELECT status FROM sync_runs ORDER BY id")]
    assert statuses == ["ok", "failed", "ok"]  # the killed run is marked interrupted
    colleagues = store.db.execute(
        "SELECT i.summary, c.account_id = i.account_id FROM interactions i JOIN contacts c ON c.id = i.contact_id "
        "WHERE i.sync_key LIKE ? ORDER BY i.summary",
        [f"{crm}:%"],
    )  # pulled once each, with their contact on their account, the deleted one gone
    assert [tuple(row) for row in colleagues] == [(f"Colleague call {n}", 1) for n in range(1, 6)]

    secrets = [TOKEN] if crm == "hubspot" else [CLIENT_SECRET, *salesforce.handed_out]
    outputs = [(tmp_path / "killed.out").read_bytes(), (finished.stdout + finished.stderr).encode()]
    reports = " ".join(str(row) for row in store.db.execute("SELECT report, errors FROM sync_runs"))
    store.close()
    files = [path.read_bytes() for path in (db, db.with_name(db.name + "-wal")) if path.exists()]
    for secret in secrets:
        assert_nowhere(secret, [*outputs, reports.encode(), *files])
