"""Whole nightly runs against both test servers, with faults on: every item ends up in the CRM once."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.store import Store
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

from .books import (
    PROPERTY,
    add_interactions,
    add_outreach,
    exactly_once,
    fault_every,
    hubspot_book,
    nightly,
    salesforce_book,
    settings_for,
    waiting,
    write_config,
)

pytestmark = pytest.mark.slow


def test_hubspot_run_with_faults_pushes_every_item_once(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    hubspot_book(hubspot, companies=12, contacts_per=2)
    settings = settings_for(write_config(tmp_path / "config.toml", hubspot=hubspot.url))
    first = nightly(store, settings)
    assert first.exit_code == 0, first.to_json()
    assert first.runs[0].counts["inserted"] == 12 + 24
    keys = add_interactions(store, 260) + add_outreach(store, 30)

    fault_every(hubspot, every=2, count=16)
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    exactly_once(hubspot.keys(PROPERTY), keys)
    assert waiting(store) == 0
    rows = store.db.execute(
        "SELECT i.kind, i.hubspot_id, a.hubspot_id, c.hubspot_id FROM interactions i "
        "JOIN accounts a ON a.id = i.account_id LEFT JOIN contacts c ON c.id = i.contact_id"
    ).fetchall()
    kinds = {"call": "calls", "meeting": "meetings", "qbr": "meetings", "email": "emails", "note": "notes"}
    for kind, engagement, company, contact in rows:  # one query: two would each have an order of their own
        assert hubspot.associated(kinds[kind], engagement, "companies") == {company}
        assert hubspot.associated(kinds[kind], engagement, "contacts") == {contact}
    assert report.runs[0].counts["retries"] > 0  # the faults did happen
    statuses = {row[0] for row in store.db.execute("SELECT status FROM outreach")}
    assert statuses == {"synced"}


def test_salesforce_run_with_faults_pushes_every_item_once(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    salesforce_book(salesforce, accounts=12, contacts_per=2)
    settings = settings_for(write_config(tmp_path / "config.toml", salesforce=salesforce.url))
    first = nightly(store, settings)
    assert first.exit_code == 0, first.to_json()
    assert first.runs[0].counts["pulled_accounts"] == 12
    keys = add_interactions(store, 260) + add_outreach(store, 30)

    fault_every(
        salesforce,
        every=2,
        count=16,
        kinds=("429", "500", "timeout", "drop_after", "partial", "expire_session", "drop", "503"),
    )
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    exactly_once(salesforce.keys(), keys)
    assert waiting(store) == 0
    accounts = dict(store.db.execute("SELECT id, salesforce_id FROM accounts").fetchall())
    for account_id, key, crm_id in store.db.execute(
        "SELECT account_id, sync_key, salesforce_id FROM interactions"
    ):
        [(sobject, record)] = salesforce.find(key)
        assert record["Id"] == crm_id
        assert record["WhatId"] == accounts[account_id]
        assert sobject == ("Event" if record.get("StartDateTime") else "Task")
    assert salesforce.issued >= 2  # the expired session got one new token


def test_both_crms_share_one_book_and_each_gets_every_item(
    store: Store, hubspot: HubSpotServer, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    hubspot_book(hubspot, companies=6)
    salesforce_book(salesforce, accounts=6)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url, salesforce=salesforce.url))
    assert nightly(store, settings).exit_code == 0
    # Matched by domain: one local account carries both CRM ids.
    assert (
        store.db.execute(
            "SELECT count(*) FROM accounts WHERE hubspot_id IS NOT NULL AND salesforce_id IS NOT NULL"
        ).fetchone()[0]
        == 6
    )
    keys = add_interactions(store, 40)

    hubspot_only = nightly(store, settings, crm="hubspot")
    assert hubspot_only.exit_code == 0
    assert waiting(store) == 40  # not synced until Salesforce has them too
    report = nightly(store, settings)
    assert report.exit_code == 0, report.to_json()
    exactly_once(hubspot.keys(PROPERTY), keys)
    exactly_once(salesforce.keys(), keys)
    assert waiting(store) == 0


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_daily_limit_stops_cleanly_and_the_next_run_carries_on(
    store: Store, hubspot: HubSpotServer, salesforce: SalesforceServer, tmp_path: Path, crm: str
) -> None:
    hubspot_book(hubspot, companies=5)
    salesforce_book(salesforce, accounts=5)
    if crm == "hubspot":
        config = write_config(tmp_path / "c.toml", hubspot=hubspot.url)
    else:
        config = write_config(tmp_path / "c.toml", salesforce=salesforce.url)
    settings = settings_for(config)
    assert nightly(store, settings).exit_code == 0
    keys = add_interactions(store, 25, start=0) + add_outreach(store, 5)
    server = hubspot if crm == "hubspot" else salesforce
    fault_every(server, every=3, count=1, kinds=("daily_limit",))

    stopped = nightly(store, settings)
    assert stopped.exit_code == 4
    assert stopped.runs[0].status == "stopped"
    assert (
        "daily" in " ".join(stopped.runs[0].errors).lower()
        or "limit" in " ".join(stopped.runs[0].errors).lower()
    )
    assert waiting(store) > 0

    resumed = nightly(store, settings)
    assert resumed.exit_code == 0, resumed.to_json()
    found = hubspot.keys(PROPERTY) if crm == "hubspot" else salesforce.keys()
    exactly_once(found, keys)
    assert waiting(store) == 0
