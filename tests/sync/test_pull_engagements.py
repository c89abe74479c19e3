"""A team works through the CRM: colleagues' calls, meetings, emails, notes and tasks on the book's accounts
come back into the journey with their author, incrementally and once; cockpit's own pushed items coming
back are recognised, not doubled."""

from __future__ import annotations

from pathlib import Path

from cockpit.store import Store
from cockpit.store.journey import journey
from tests.crm_servers.hubspot import HubSpotServer

from .books import PROPERTY, add_interactions, hubspot_book, nightly, settings_for, write_config


def _log(server: HubSpotServer, target: str, company: str, properties: dict[str, str]) -> str:
    """An engagement a colleague logged in HubSpot, linked to `company`."""
    record = server.add(target, {"hs_timestamp": "2026-11-18T09:30:00.000Z", **properties})
    server.associations.add((target, record, "companies", company))
    return record


def _pulled(store: Store) -> list[tuple[str, str, str, str | None]]:
    return [
        (row[0], row[1], row[2], row[3])
        for row in store.db.execute(
            "SELECT account_id, kind, summary, author FROM interactions WHERE sync_key LIKE 'hubspot:%' "
            "ORDER BY summary"
        )
    ]


def test_colleagues_engagements_come_into_the_journey_with_their_author_once(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    companies = hubspot_book(hubspot, companies=3)
    outside = hubspot.add("companies", {"name": "Not in the book"})  # added after the first pull
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    local = dict(store.db.execute("SELECT hubspot_id, id FROM accounts").fetchall())
    del local[outside]
    hubspot.archive("companies", outside)

    _log(hubspot, "calls", companies[0], {"hs_call_title": "Renewal call", "hubspot_owner_id": "501"})
    _log(
        hubspot,
        "meetings",
        companies[1],
        {"hs_meeting_title": "Onboarding review", "hubspot_owner_id": "502"},
    )
    _log(
        hubspot,
        "emails",
        companies[1],
        {"hs_email_subject": "Pricing question", "hs_email_direction": "INCOMING_EMAIL"},
    )
    _log(hubspot, "notes", companies[2], {"hs_note_body": "Champion is leaving", "hubspot_owner_id": "503"})
    _log(hubspot, "tasks", companies[2], {"hs_task_subject": "Send the QBR deck", "hubspot_owner_id": "501"})
    _log(hubspot, "notes", outside, {"hs_note_body": "Someone else's customer"})
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    [run] = report.runs
    assert run.counts["engagements_inserted"] == 5 and run.counts["engagements_outside_book"] == 1
    assert _pulled(store) == [
        (local[companies[2]], "note", "Champion is leaving", "HubSpot user 503"),
        (local[companies[1]], "meeting", "Onboarding review", "HubSpot user 502"),
        (local[companies[1]], "email", "Pricing question", None),
        (local[companies[0]], "call", "Renewal call", "HubSpot user 501"),
        (local[companies[2]], "note", "task: Send the QBR deck", "HubSpot user 501"),
    ]
    direction = store.db.execute("SELECT direction FROM interactions WHERE summary = 'Pricing question'")
    assert direction.fetchone()[0] == "inbound"
    # Pulled items are in HubSpot already: nothing waits in the outbox for them.
    assert (
        store.db.execute("SELECT count(*) FROM interactions WHERE sync_state != 'synced'").fetchone()[0] == 0
    )
    events = journey(store.db, local[companies[0]], ("interaction",))
    assert [(event.what, event.detail) for event in events] == [("call", "Renewal call · HubSpot user 501")]

    before = store.db.execute("SELECT * FROM interactions ORDER BY id").fetchall()
    again = nightly(store, settings)
    assert again.exit_code == 0
    assert again.runs[0].counts["engagements_inserted"] == 0
    assert again.runs[0].counts["engagements_updated"] == 0
    assert store.db.execute("SELECT * FROM interactions ORDER BY id").fetchall() == before


def test_the_pull_is_incremental_and_takes_edits(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    [company] = hubspot_book(hubspot, companies=1)
    settings = settings_for(
        write_config(tmp_path / "c.toml", hubspot=hubspot.url, sync={"overlap_minutes": 0})
    )
    note = _log(hubspot, "notes", company, {"hs_note_body": "First draft"})
    assert nightly(store, settings).exit_code == 0
    assert [row[2] for row in _pulled(store)] == ["First draft"]

    hubspot.update("notes", note, {"hs_note_body": "Edited by a colleague"})
    report = nightly(store, settings)

    [run] = report.runs
    assert run.counts["pulled_engagements"] == 1  # only what changed since the watermark
    assert run.counts["engagements_updated"] == 1
    assert [row[2] for row in _pulled(store)] == ["Edited by a colleague"]


def test_own_pushed_items_are_recognised_when_they_come_back(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    hubspot_book(hubspot, companies=2)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    add_interactions(store, 10)
    assert nightly(store, settings).exit_code == 0
    assert sum(hubspot.keys(PROPERTY).values()) == 10
    count = store.db.execute("SELECT count(*) FROM interactions").fetchone()[0]

    report = nightly(store, settings)  # reads back the ten it pushed

    [run] = report.runs
    assert run.counts["engagements_own"] >= 10
    assert run.counts["engagements_inserted"] == 0
    assert store.db.execute("SELECT count(*) FROM interactions").fetchone()[0] == count == 10
