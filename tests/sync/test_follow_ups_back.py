"""A follow-up's task changed in the CRM comes back to cockpit (real HTTP to the loopback test servers):
completed there, the follow-up is done; moved there, it moves; deleted there, it is done and never made
again; moved on both sides, it is a conflict the push leaves alone until the CSM settles it. The push never
undoes a change the CRM made."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cockpit.cli.sync import render_report
from cockpit.config import Settings
from cockpit.domain.today import TodayItem
from cockpit.services import today as service
from cockpit.services.sync import open_conflicts, resolve_conflict
from cockpit.store import Store
from tests.clocks import at
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

from .books import PROPERTY, SYNC_DAY, hubspot_book, nightly, salesforce_book
from .test_follow_ups import key_of, log_follow_up, synced

pytestmark = pytest.mark.slow

Server = HubSpotServer | SalesforceServer


def pushed(
    crm: str, store: Store, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[Any, Settings, TodayItem, str]:
    """A book pulled from the CRM, a follow-up logged and pushed as a task."""
    server = request.getfixturevalue(crm)
    if crm == "hubspot":
        hubspot_book(server, companies=1)
    else:
        salesforce_book(server, accounts=1)
    settings = synced(store, tmp_path / "config.toml", **{crm: server.url})
    item = log_follow_up(store)
    assert nightly(store, settings).exit_code == 0
    return server, settings, item, key_of(store, item)


def task(server: Server, key: str) -> dict[str, Any]:
    """The task's fields as (status, due day) would be read off them: HubSpot's properties, Salesforce's
    record."""
    if isinstance(server, HubSpotServer):
        (found,) = [r for r in server.live("tasks") if r["properties"].get(PROPERTY) == key]
        return {"id": found["id"], **found["properties"]}
    (found,) = [record for _sobject, record in server.find(key) if not record["IsDeleted"]]
    return found


def state(server: Server, key: str) -> tuple[bool, str]:
    """(completed, due day) of the task in the CRM."""
    found = task(server, key)
    if isinstance(server, HubSpotServer):
        return found["hs_task_status"] == "COMPLETED", str(found["hs_timestamp"])[:10]
    return found["Status"] == "Completed", str(found["ActivityDate"])


def change_in_crm(server: Server, key: str, *, done: bool = False, due: date | None = None) -> None:
    """A colleague completes or moves the task in the CRM."""
    record = task(server, key)
    if isinstance(server, HubSpotServer):
        properties = {"hs_task_status": "COMPLETED"} if done else {}
        if due is not None:
            properties["hs_timestamp"] = f"{due.isoformat()}T15:00:00Z"  # a time of their day
        server.update("tasks", record["id"], properties)
    else:
        fields: dict[str, Any] = {"Status": "Completed"} if done else {}
        if due is not None:
            fields["ActivityDate"] = due.isoformat()
        server.update("Task", record["Id"], fields)


def on_today(store: Store, settings: Settings, item: TodayItem) -> list[date]:
    """The days the follow-up is due on, on the Today list of a day after all of them."""
    listed = service.today_list(store, settings, clock=at(date(2026, 12, 20)), limit=None)
    return [entry.day for entry in listed.items() if entry.kind == "follow_up" and entry.ref == item.ref]


CRMS = ["hubspot", "salesforce"]


@pytest.mark.parametrize("crm", CRMS)
def test_completed_in_the_crm_is_done_in_cockpit_and_not_reopened_by_a_move_here(
    crm: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A colleague completed the task; the CSM, not knowing, snoozed the follow-up on Today. The old push
    sent the task back NOT_STARTED (re-opened it): a lost update."""
    server, settings, item, key = pushed(crm, store, request, tmp_path)
    change_in_crm(server, key, done=True)
    service.move(store, item, date(2026, 12, 2), clock=at(SYNC_DAY))
    [dry] = nightly(store, settings, dry_run=True).runs
    assert [c.fields for c in dry.changes if c.object_type == "follow_ups"] == [{"done": (False, True)}]

    report = nightly(store, settings)

    assert state(server, key) == (True, "2026-12-02")  # completed still, on the CSM's day
    assert report.exit_code == 0, report.to_json()
    [run] = report.runs
    assert run.counts["follow_ups_done_in_crm"] == 1
    assert on_today(store, settings, item) == []
    assert store.db.execute("SELECT source FROM follow_ups_done").fetchall() == [(crm,)]
    [run] = nightly(store, settings).runs
    assert (run.counts["pushed"], run.counts["follow_ups_done_in_crm"]) == (0, 0)  # once


@pytest.mark.parametrize("crm", CRMS)
def test_moved_in_the_crm_moves_the_follow_up_and_done_here_keeps_that_day(
    crm: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    server, settings, item, key = pushed(crm, store, request, tmp_path)
    change_in_crm(server, key, due=date(2026, 12, 5))

    report = nightly(store, settings)

    [run] = report.runs
    assert (run.counts["follow_ups_moved_in_crm"], run.counts["pushed"]) == (1, 0)
    assert f"follow-up 0 completed, 1 moved, 0 deleted in {crm}" in render_report(report)
    assert on_today(store, settings, item) == [date(2026, 12, 5)]
    assert service.done(store, [item], clock=at(SYNC_DAY, hour=10)) == 1
    assert nightly(store, settings).exit_code == 0
    assert state(server, key) == (True, "2026-12-05")  # the old push moved it back to 2026-11-27


@pytest.mark.parametrize(("crm", "keep"), [("hubspot", "local"), ("salesforce", "crm")])
def test_moved_on_both_sides_is_a_conflict_the_push_leaves_alone_until_settled(
    crm: str, keep: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    server, settings, item, key = pushed(crm, store, request, tmp_path)
    change_in_crm(server, key, due=date(2026, 12, 5))
    service.move(store, item, date(2026, 12, 2), clock=at(SYNC_DAY))

    report = nightly(store, settings)

    assert report.exit_code == 1  # a new conflict
    [run] = report.runs
    assert (run.counts["new_conflicts"], run.counts["pushed"]) == (1, 0)
    assert state(server, key) == (False, "2026-12-05")  # the old push moved it to 2026-12-02 unasked
    [conflict] = open_conflicts(store)
    assert (conflict.object_type, conflict.local_id, conflict.field) == ("follow_ups", item.ref, "due_on")
    assert conflict.record == f"follow-up · {item.account_name}"  # what the sync screen and status show
    assert (conflict.base_value, conflict.local_value, conflict.crm_value) == (
        "2026-11-27",
        "2026-12-02",
        "2026-12-05",
    )
    assert nightly(store, settings).runs[0].counts["new_conflicts"] == 0  # still open, not new

    resolve_conflict(store, conflict.id, "local" if keep == "local" else "crm", clock=at(SYNC_DAY))
    assert nightly(store, settings).exit_code == 0
    day = "2026-12-02" if keep == "local" else "2026-12-05"
    assert state(server, key) == (False, day)
    assert on_today(store, settings, item) == [date.fromisoformat(day)]
    assert open_conflicts(store) == []


@pytest.mark.parametrize("crm", CRMS)
def test_deleted_in_the_crm_is_done_here_and_never_made_again(
    crm: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    server, settings, item, key = pushed(crm, store, request, tmp_path)
    record = task(server, key)
    if isinstance(server, HubSpotServer):
        server.archive("tasks", record["id"])
    else:
        server.delete("Task", record["Id"])

    [run] = nightly(store, settings).runs

    assert run.counts["follow_ups_deleted_in_crm"] == 1
    assert on_today(store, settings, item) == []
    assert store.db.execute("SELECT source, note FROM follow_ups_done").fetchall() == [
        (crm, f"its task was deleted in {crm}")
    ]
    # A later call settles the follow-up (a new version of it): the old push made the task again.
    log_follow_up(store, due=date(2026, 12, 9), occurred_at="2026-11-25T08:00:00+00:00")
    [run] = nightly(store, settings).runs
    assert run.counts["pushed_follow_ups"] == 1  # the new call's follow-up only
    if isinstance(server, HubSpotServer):
        assert not [r for r in server.live("tasks") if r["properties"].get(PROPERTY) == key]
    else:
        assert [record["IsDeleted"] for _sobject, record in server.find(key)] == [True]
