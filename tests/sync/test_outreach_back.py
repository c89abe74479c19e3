"""Queued outreach pushed as a CRM task comes back to cockpit as the follow-ups' tasks do (real HTTP to the
loopback test servers): completed there, the item is done (`sent`, closed by the CRM) and off Today; moved
there, its day moves; deleted there, it is cancelled with a note and never made again; moved on both sides,
a conflict the push leaves alone. The push never undoes a change the CRM made."""

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

from .books import PROPERTY, SYNC_DAY, add_outreach, hubspot_book, nightly, salesforce_book
from .test_follow_ups import synced
from .test_follow_ups_back import change_in_crm, state, task

pytestmark = pytest.mark.slow

CRMS = ["hubspot", "salesforce"]
ITEM = "out-0001"
"""The call task `add_outreach` queues second (the first is an email)."""


def pushed(
    crm: str, store: Store, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[Any, Settings, str]:
    """A book pulled from the CRM, a call task approved and pushed as a CRM task."""
    server = request.getfixturevalue(crm)
    if crm == "hubspot":
        hubspot_book(server, companies=1)
    else:
        salesforce_book(server, accounts=1)
    settings = synced(store, tmp_path / "config.toml", **{crm: server.url})
    _email, key = add_outreach(store, 2)
    assert nightly(store, settings).exit_code == 0
    return server, settings, key


def item(store: Store) -> TodayItem:
    account, name, due = store.db.execute(
        "SELECT o.account_id, a.name, o.due_on FROM outreach o JOIN accounts a ON a.id = o.account_id "
        "WHERE o.id = ?",
        [ITEM],
    ).fetchone()
    return TodayItem("task", ITEM, account, name, date.fromisoformat(due), "Renewal check-in 1", "")


def status(store: Store) -> tuple[str, str]:
    return store.db.execute("SELECT status, due_on FROM outreach WHERE id = ?", [ITEM]).fetchone()  # type: ignore[no-any-return]


def on_today(store: Store, settings: Settings) -> list[date]:
    """The days the call task is due on, on the Today list of a day after all of them."""
    listed = service.today_list(store, settings, clock=at(date(2026, 12, 20)), limit=None)
    return [entry.day for entry in listed.items() if entry.kind == "task" and entry.ref == ITEM]


@pytest.mark.parametrize("crm", CRMS)
def test_completed_in_the_crm_is_done_here_and_not_reopened_by_a_move(
    crm: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A colleague completed the call; the CSM, not knowing, moved it on Today. The old push sent the task
    back NOT_STARTED (re-opened it) and Today kept listing it."""
    server, settings, key = pushed(crm, store, request, tmp_path)
    change_in_crm(server, key, done=True)
    service.move(store, item(store), date(2026, 12, 2), clock=at(SYNC_DAY, hour=8))
    [dry] = nightly(store, settings, dry_run=True).runs
    assert [c.fields for c in dry.changes if c.object_type == "outreach"] == [{"done": (False, True)}]

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    assert state(server, key) == (True, "2026-12-02")  # completed still, on the CSM's day
    [run] = report.runs
    assert run.counts["outreach_done_in_crm"] == 1
    assert f"outreach  1 completed, 0 moved, 0 deleted in {crm}" in render_report(report)
    assert status(store) == ("sent", "2026-12-02")
    closed = store.db.execute("SELECT reason ->> '$.closed.by' FROM outreach WHERE id = ?", [ITEM]).fetchone()
    assert closed == (crm,)
    assert on_today(store, settings) == []
    [run] = nightly(store, settings).runs
    assert (run.counts["pushed"], run.counts["outreach_done_in_crm"]) == (0, 0)  # once


@pytest.mark.parametrize("crm", CRMS)
def test_moved_in_the_crm_moves_the_task_and_done_here_keeps_that_day(
    crm: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    server, settings, key = pushed(crm, store, request, tmp_path)
    change_in_crm(server, key, due=date(2026, 12, 5))

    [run] = nightly(store, settings).runs

    assert (run.counts["outreach_moved_in_crm"], run.counts["pushed"]) == (1, 0)
    assert on_today(store, settings) == [date(2026, 12, 5)]
    assert service.done(store, [item(store)], clock=at(SYNC_DAY, hour=10)) == 1
    assert nightly(store, settings).exit_code == 0
    assert state(server, key) == (True, "2026-12-05")  # the old push moved it back to 2026-11-25


@pytest.mark.parametrize(("crm", "keep"), [("hubspot", "local"), ("salesforce", "crm")])
def test_moved_on_both_sides_is_a_conflict_the_push_leaves_alone_until_settled(
    crm: str, keep: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    server, settings, key = pushed(crm, store, request, tmp_path)
    change_in_crm(server, key, due=date(2026, 12, 5))
    service.move(store, item(store), date(2026, 12, 2), clock=at(SYNC_DAY, hour=8))

    report = nightly(store, settings)

    assert report.exit_code == 1  # a new conflict
    assert state(server, key) == (False, "2026-12-05")  # the old push moved it to 2026-12-02 unasked
    [conflict] = open_conflicts(store)
    assert (conflict.object_type, conflict.local_id, conflict.field) == ("outreach", ITEM, "due_on")
    assert conflict.record == f"outreach · {item(store).account_name}"
    assert (conflict.local_value, conflict.crm_value) == ("2026-12-02", "2026-12-05")

    resolve_conflict(store, conflict.id, "local" if keep == "local" else "crm", clock=at(SYNC_DAY, hour=10))
    assert nightly(store, settings).exit_code == 0
    day = "2026-12-02" if keep == "local" else "2026-12-05"
    assert state(server, key) == (False, day)
    assert on_today(store, settings) == [date.fromisoformat(day)]


@pytest.mark.parametrize("crm", CRMS)
def test_deleted_in_the_crm_is_cancelled_here_and_never_made_again(
    crm: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Deleted in the CRM, then moved on Today before the sync: the old push sent it again, and every run
    was partial (HubSpot: refused as unlinked; Salesforce: no answer after every pass)."""
    server, settings, key = pushed(crm, store, request, tmp_path)
    record = task(server, key)
    if isinstance(server, HubSpotServer):
        server.archive("tasks", record["id"])
    else:
        server.delete("Task", record["Id"])
    service.move(store, item(store), date(2026, 12, 2), clock=at(SYNC_DAY, hour=8))

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    [run] = report.runs
    if isinstance(server, HubSpotServer):
        assert not [r for r in server.live("tasks") if r["properties"].get(PROPERTY) == key]
    else:
        assert [record["IsDeleted"] for _sobject, record in server.find(key)] == [True]
    assert (run.counts["outreach_deleted_in_crm"], run.counts["pushed"]) == (1, 0)
    assert on_today(store, settings) == []
    assert status(store)[0] == "cancelled"
    closed = store.db.execute(
        "SELECT reason ->> '$.closed.by', reason ->> '$.closed.why' FROM outreach WHERE id = ?", [ITEM]
    ).fetchone()
    assert closed == (crm, f"its task was deleted in {crm}")
