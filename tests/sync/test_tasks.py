"""Call tasks and to-dos in the CRM as tasks (real HTTP to the loopback test servers): approved, they are
created not started; done on the Today screen, the next run completes the same task; moved to another day,
it goes again with its new day. Never a second task."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cockpit.config import Settings
from cockpit.domain.today import TodayItem
from cockpit.services import today as service
from cockpit.store import Store
from tests.clocks import at
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

from .books import (
    PROPERTY,
    SYNC_DAY,
    add_outreach,
    exactly_once,
    hubspot_book,
    nightly,
    salesforce_book,
    settings_for,
    write_config,
)

pytestmark = pytest.mark.slow


def task(store: Store, item_id: str) -> TodayItem:
    """The outreach item as the Today screen lists it."""
    account_id, subject, due_on = store.db.execute(
        "SELECT account_id, subject, due_on FROM outreach WHERE id = ?", [item_id]
    ).fetchone()
    return TodayItem("task", item_id, account_id, account_id, date.fromisoformat(due_on), subject, "")


def tasks_in_the_crm(store: Store, settings: Settings) -> list[str]:
    """Pull the CRM's accounts, then approve an email, a call task (out-0001) and a to-do (out-0002) and push
    them; their sync keys."""
    assert nightly(store, settings).exit_code == 0
    keys = add_outreach(store, 3)
    assert nightly(store, settings).exit_code == 0
    return keys


def sync_key(store: Store, item_id: str) -> str:
    return str(store.db.execute("SELECT sync_key FROM outreach WHERE id = ?", [item_id]).fetchone()[0])


def test_hubspot_tasks_are_completed_and_moved_in_place(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    hubspot_book(hubspot, companies=3)
    settings = settings_for(write_config(tmp_path / "config.toml", hubspot=hubspot.url))
    keys = tasks_in_the_crm(store, settings)

    def properties(item_id: str) -> dict[str, str]:
        key = sync_key(store, item_id)
        (found,) = [r for r in hubspot.live("tasks") if r["properties"].get(PROPERTY) == key]
        return dict(found["properties"])

    assert properties("out-0001")["hs_task_status"] == "NOT_STARTED"
    assert service.done(store, [task(store, "out-0001")], clock=at(SYNC_DAY)) == 1
    service.move(store, task(store, "out-0002"), date(2026, 12, 2), clock=at(SYNC_DAY))
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    exactly_once(hubspot.keys(PROPERTY), keys)
    assert properties("out-0001")["hs_task_status"] == "COMPLETED"
    assert properties("out-0002")["hs_task_status"] == "NOT_STARTED"
    assert properties("out-0002")["hs_timestamp"].startswith("2026-12-0")  # its new day (in UTC)
    assert properties("out-0000")["hs_task_status"] == "NOT_STARTED"  # the email, untouched
    assert nightly(store, settings).runs[0].counts["pushed"] == 0  # nothing left to send


def test_salesforce_tasks_are_completed_in_place(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    salesforce_book(salesforce, accounts=3)
    settings = settings_for(write_config(tmp_path / "config.toml", salesforce=salesforce.url))
    keys = tasks_in_the_crm(store, settings)
    (before,) = salesforce.find(sync_key(store, "out-0001"))
    assert before[1]["Status"] == "Not Started"

    service.done(store, [task(store, "out-0001")], clock=at(SYNC_DAY))
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    exactly_once(salesforce.keys(), keys)
    ((sobject, after),) = salesforce.find(sync_key(store, "out-0001"))
    assert (sobject, after["Status"], after["Id"]) == ("Task", "Completed", before[1]["Id"])
