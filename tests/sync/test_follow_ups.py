"""A CSM's follow-ups in the CRM as tasks (real HTTP to the loopback test servers): logged with a call, the
follow-up is a task on the account and contact, due on its day, under its own key; moved, the same task
gets the new day; done, it is completed; an answer lost is sent again as an update; the task coming back on
a pull is recognised as cockpit's own. Never a second task, never a copy in the journey."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from cockpit.cli.sync import render_report
from cockpit.config import Settings
from cockpit.domain.records import InteractionRecord, follow_up_sync_key
from cockpit.domain.today import TodayItem
from cockpit.services import today as service
from cockpit.services.interactions import log_interaction
from cockpit.store import Store
from tests.clocks import at
from tests.crm_servers.base import FaultPlan
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

from .books import PROPERTY, SYNC_DAY, hubspot_book, nightly, salesforce_book, settings_for, write_config

pytestmark = pytest.mark.slow

DUE = date(2026, 11, 27)


def log_follow_up(
    store: Store, *, kind: str = "call", due: date = DUE, occurred_at: str = "2026-11-24T10:00:00+00:00"
) -> TodayItem:
    """A call with the first contact of the book, asking to follow up on `due`, as the Today screen lists it
    (the accounts pulled first)."""
    account, contact, name = store.db.execute(
        "SELECT c.account_id, c.id, a.name FROM contacts c JOIN accounts a ON a.id = c.account_id "
        "ORDER BY c.account_id, c.id LIMIT 1"
    ).fetchone()
    record = InteractionRecord.model_validate(
        {
            "account": account,
            "contact": contact,
            "kind": kind,
            "occurred_at": occurred_at,
            "summary": "Renewal call\nThey want a discount.",
            "follow_up_on": due.isoformat(),
        }
    )
    logged = log_interaction(store, record, author="Sam", now=datetime(2026, 11, 24, 10, 5, tzinfo=UTC))
    return TodayItem("follow_up", logged.id, account, name, due, "Follow up: Renewal call", "")


def key_of(store: Store, item: TodayItem) -> str:
    interaction_key = store.db.execute(
        "SELECT sync_key FROM interactions WHERE id = ?", [item.ref]
    ).fetchone()
    return follow_up_sync_key(str(interaction_key[0]))


def synced(
    store: Store, path: Path, *, hubspot: str | None = None, salesforce: str | None = None
) -> Settings:
    settings = settings_for(write_config(path, hubspot=hubspot, salesforce=salesforce))
    assert nightly(store, settings).exit_code == 0  # the accounts and contacts, pulled
    return settings


def journey_size(store: Store) -> int:
    return int(store.db.execute("SELECT count(*) FROM interactions").fetchone()[0])


def test_hubspot_follow_up_is_a_task_created_moved_and_completed_in_place(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    [company, _] = hubspot_book(hubspot, companies=2)
    settings = synced(store, tmp_path / "config.toml", hubspot=hubspot.url)
    item = log_follow_up(store)
    key = key_of(store, item)

    def task() -> dict[str, Any]:
        (found,) = [r for r in hubspot.live("tasks") if r["properties"].get(PROPERTY) == key]
        return found

    report = nightly(store, settings, dry_run=True)
    assert "to push   2 item(s) (1 follow-up task(s))" in render_report(report)  # the call and its follow-up
    [dry] = report.runs
    [change] = [c for c in dry.changes if c.object_type == "tasks"]
    assert change.fields["hs_task_status"] == (None, "NOT_STARTED")
    assert not hubspot.live("tasks")  # a dry run writes nothing

    [run] = nightly(store, settings).runs
    assert run.counts["pushed_follow_ups"] == 1, run.to_json()
    created = task()
    assert {name: created["properties"][name] for name in ("hs_task_status", "hs_task_type")} == {
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": "CALL",
    }
    assert created["properties"]["hs_task_subject"] == "Follow up: Renewal call"
    assert created["properties"]["hs_timestamp"].startswith("2026-11-27")
    assert hubspot.associated("tasks", created["id"], "companies") == {company}
    assert len(hubspot.associated("tasks", created["id"], "contacts")) == 1
    assert [r["properties"][PROPERTY] for r in hubspot.live("calls")] != [key]  # the call has its own key

    service.move(store, item, date(2026, 12, 2), clock=at(SYNC_DAY))
    [run] = nightly(store, settings).runs
    assert (run.counts["pushed_follow_ups"], run.counts["engagements_own"] >= 2) == (1, True)
    assert task()["properties"]["hs_timestamp"].startswith("2026-12-02")
    assert task()["id"] == created["id"]

    assert service.done(store, [item], clock=at(SYNC_DAY, hour=10)) == 1  # after the move's push
    [run] = nightly(store, settings).runs
    assert run.counts["pushed_follow_ups"] == 1
    assert (task()["id"], task()["properties"]["hs_task_status"]) == (created["id"], "COMPLETED")

    [run] = nightly(store, settings).runs
    assert run.counts["pushed"] == 0  # each change went once
    assert run.counts["engagements_inserted"] == 0
    assert journey_size(store) == 1  # the task coming back is not a second interaction


def test_salesforce_follow_up_is_a_task_created_moved_and_completed_in_place(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    [account, _] = salesforce_book(salesforce, accounts=2)
    settings = synced(store, tmp_path / "config.toml", salesforce=salesforce.url)
    item = log_follow_up(store, kind="meeting")
    key = key_of(store, item)

    assert nightly(store, settings).exit_code == 0
    [(sobject, created)] = salesforce.find(key)
    assert (sobject, created["Status"], created["ActivityDate"], created["WhatId"]) == (
        "Task",
        "Not Started",
        "2026-11-27",
        account,
    )
    assert created["WhoId"] in salesforce.records["Contact"]
    assert created["Subject"] == "Follow up: Renewal call"
    assert created["TaskSubtype"] == "Task"  # a meeting is followed up by a to-do

    service.move(store, item, date(2026, 12, 2), clock=at(SYNC_DAY))
    service.done(store, [item], clock=at(SYNC_DAY))
    assert nightly(store, settings).exit_code == 0
    [(_, after)] = salesforce.find(key)
    assert (after["Id"], after["Status"], after["ActivityDate"]) == (created["Id"], "Completed", "2026-12-02")
    [run] = nightly(store, settings).runs
    assert (run.counts["pushed"], run.counts["engagements_inserted"]) == (0, 0)
    assert journey_size(store) == 1


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_a_lost_answer_is_sent_again_as_an_update_and_the_task_coming_back_is_recognised(
    crm: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The CRM wrote the task but its answer was lost (no id recorded here): the next run's pull knows the
    task by its key, and the push updates it; one task, the call's subtype kept (Salesforce)."""
    server = request.getfixturevalue(crm)
    if crm == "hubspot":
        hubspot_book(server, companies=1)
        path = "/tasks/batch/upsert"
    else:
        salesforce_book(server, accounts=1)
        path = "PATCH /services/data/v62.0/composite/sobjects/Task"
    settings = settings_for(
        write_config(tmp_path / "config.toml", **{crm: server.url}, sync={"max_retries": 0})
    )
    assert nightly(store, settings).exit_code == 0
    item = log_follow_up(store)
    key = key_of(store, item)
    server.faults = FaultPlan(on_path={path: ["drop_after"]})

    [lost] = nightly(store, settings).runs
    assert lost.counts["unconfirmed"] >= 1
    assert store.db.execute("SELECT crm_id FROM sync_pushes WHERE item_type = 'follow_up'").fetchone() == (
        None,
    )

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    [run] = report.runs
    assert run.counts["engagements_own"] >= 1 and run.counts["engagements_inserted"] == 0
    if crm == "hubspot":
        tasks = [r for r in server.live("tasks") if r["properties"].get(PROPERTY) == key]
        assert [task["properties"]["hs_task_status"] for task in tasks] == ["NOT_STARTED"]
    else:
        [(_, task)] = server.find(key)
        assert (task["TaskSubtype"], task["Status"]) == ("Call", "Not Started")
    assert journey_size(store) == 1


def test_follow_ups_stay_home_when_switched_off_or_done_before_they_went(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    hubspot_book(hubspot, companies=1)
    config = tmp_path / "config.toml"
    settings = settings_for(write_config(config, hubspot=hubspot.url, sync={"push_follow_ups": False}))
    assert nightly(store, settings).exit_code == 0
    first = log_follow_up(store)

    [run] = nightly(store, settings).runs
    assert (run.counts["pushed"], run.counts["pushed_follow_ups"]) == (1, 0)  # the call alone
    assert not hubspot.live("tasks")

    settings = settings_for(write_config(config, hubspot=hubspot.url))  # on again
    done = log_follow_up(store, due=date(2026, 11, 30))
    service.done(store, [done], clock=at(SYNC_DAY))
    [run] = nightly(store, settings).runs
    assert run.counts["pushed_follow_ups"] == 1  # the first one's; the one done before it went stays home
    assert [r["properties"][PROPERTY] for r in hubspot.live("tasks")] == [key_of(store, first)]
