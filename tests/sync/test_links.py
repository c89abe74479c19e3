"""A nightly run against a HubSpot whose companies and contacts are deleted while it pushes (after its pull
read them): each item says what happened to it, and no engagement is left in HubSpot linked to nothing."""

from __future__ import annotations

import threading
from pathlib import Path

from cockpit.services.sync import SyncReport
from cockpit.store import Store
from tests.crm_servers.base import FaultPlan
from tests.crm_servers.hubspot import ENGAGEMENTS, HubSpotServer

from .books import PROPERTY, add_interactions, hubspot_book, nightly, settings_for, write_config


def test_items_of_deleted_companies_are_reported_each_and_leave_no_orphan(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    companies = hubspot_book(hubspot, companies=3)
    contact_of = {
        str(record["properties"]["associatedcompanyid"]): record["id"] for record in hubspot.live("contacts")
    }
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url, sync={"request_timeout_seconds": 60})
    settings = settings_for(config)
    assert nightly(store, settings).exit_code == 0
    keys = add_interactions(store, 9)  # three items for each company, each with the company's contact
    hubspot.faults = FaultPlan(hold_path="batch/upsert")
    reports: list[SyncReport] = []
    running = threading.Thread(target=lambda: reports.append(nightly(store, settings)))
    running.start()
    assert hubspot.faults.holding.wait(timeout=60), "the run never pushed"
    hubspot.archive("companies", companies[1])  # its contact stays
    hubspot.archive("companies", companies[2])
    hubspot.archive("contacts", contact_of[companies[2]])
    hubspot.faults.release.set()
    running.join(timeout=60)
    [report] = reports
    [run] = report.runs
    assert run.counts["pushed"] == 6 and run.counts["partly_linked"] == 3 and run.counts["push_errors"] == 3
    linked_notes = [note for note in run.notes if "linked to its contact only" in note]
    assert len(linked_notes) == 3 and all(f"companies {companies[1]}" in note for note in linked_notes)
    removed = [error for error in run.errors if "removed rather than left unlinked" in error]
    assert len(removed) == 3
    for error in removed:  # each names its own missing company and contact, and no other record
        assert f"companies {companies[2]}" in error and f"contacts {contact_of[companies[2]]}" in error
        assert f"companies {companies[1]}" not in error
    assert sum(hubspot.keys(PROPERTY).values()) == 6 and set(hubspot.keys(PROPERTY)) < set(keys)
    for target in ENGAGEMENTS:
        for engagement in hubspot.live(target):
            assert hubspot.associated(target, engagement["id"], "companies") | hubspot.associated(
                target, engagement["id"], "contacts"
            ), f"{target} {engagement['id']} is linked to nothing"
