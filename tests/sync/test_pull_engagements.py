"""A team works through the CRM: colleagues' calls, meetings, emails, notes and tasks on the book's accounts
come back into the journey with their author, incrementally and once; cockpit's own pushed items coming
back are recognised, not doubled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cockpit.cli.sync import render_run
from cockpit.config import Settings
from cockpit.store import Store
from cockpit.store import sync as store_sync
from cockpit.store.journey import journey
from tests.crm_servers.base import FaultPlan, Request
from tests.crm_servers.hubspot import ENGAGEMENTS, HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

from .books import (
    PROPERTY,
    add_interactions,
    hubspot_book,
    log_engagement,
    nightly,
    salesforce_book,
    settings_for,
    write_config,
)


def _synced(
    store: Store,
    tmp_path: Path,
    *,
    records: int,
    hubspot: HubSpotServer | None = None,
    salesforce: SalesforceServer | None = None,
) -> tuple[list[str], Settings]:
    """A book of `records` companies or accounts in the CRM given, pulled by a first nightly run; their CRM
    ids and the settings."""
    if hubspot is not None:
        ids = hubspot_book(hubspot, companies=records)
        config = write_config(tmp_path / "c.toml", hubspot=hubspot.url)
    else:
        assert salesforce is not None
        ids = salesforce_book(salesforce, accounts=records)
        config = write_config(tmp_path / "c.toml", salesforce=salesforce.url)
    settings = settings_for(config)
    assert nightly(store, settings).exit_code == 0
    return ids, settings


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

    mia, noor = (
        hubspot.add_owner("Mia", "Chen", "mia@example.com"),
        hubspot.add_owner("", "", "noor@example.com"),
    )
    log_engagement(hubspot, "calls", companies[0], {"hs_call_title": "Renewal call", "hubspot_owner_id": mia})
    log_engagement(
        hubspot,
        "meetings",
        companies[1],
        {"hs_meeting_title": "Onboarding review", "hubspot_owner_id": noor},
    )
    log_engagement(
        hubspot,
        "emails",
        companies[1],
        {"hs_email_subject": "Pricing question", "hs_email_direction": "INCOMING_EMAIL"},
    )
    log_engagement(
        hubspot, "notes", companies[2], {"hs_note_body": "Champion is leaving", "hubspot_owner_id": "503"}
    )
    log_engagement(
        hubspot, "tasks", companies[2], {"hs_task_subject": "Send the QBR deck", "hubspot_owner_id": mia}
    )
    log_engagement(hubspot, "notes", outside, {"hs_note_body": "Someone else's customer"})
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    [run] = report.runs
    assert run.counts["engagements_inserted"] == 5 and run.counts["engagements_outside_book"] == 1
    assert (
        "  activity  6 calls, meetings, emails, notes and tasks: 5 new, 0 updated, 0 cockpit's own, "
        "1 outside the book; 0 deleted in hubspot, out of the journey" in render_run(run)
    )
    assert _pulled(store) == [
        (local[companies[2]], "note", "Champion is leaving", "503"),
        (local[companies[1]], "meeting", "Onboarding review", "noor@example.com"),
        (local[companies[1]], "email", "Pricing question", None),
        (local[companies[0]], "call", "Renewal call", "Mia Chen"),
        (local[companies[2]], "note", "task: Send the QBR deck", "Mia Chen"),
    ]
    direction = store.db.execute("SELECT direction FROM interactions WHERE summary = 'Pricing question'")
    assert direction.fetchone()[0] == "inbound"
    # Pulled items are in HubSpot already: nothing waits in the outbox for them.
    assert (
        store.db.execute("SELECT count(*) FROM interactions WHERE sync_state != 'synced'").fetchone()[0] == 0
    )
    events = journey(store.db, local[companies[0]], ("interaction",))
    assert [(event.what, event.detail) for event in events] == [("call", "Renewal call · Mia Chen")]

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
    note = log_engagement(hubspot, "notes", company, {"hs_note_body": "First draft"})
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
    _ids, settings = _synced(store, tmp_path, hubspot=hubspot, records=2)
    add_interactions(store, 10)
    assert nightly(store, settings).exit_code == 0
    assert sum(hubspot.keys(PROPERTY).values()) == 10
    count = store.db.execute("SELECT count(*) FROM interactions").fetchone()[0]

    report = nightly(store, settings)  # reads back the ten it pushed

    [run] = report.runs
    assert run.counts["engagements_own"] >= 10
    assert run.counts["engagements_inserted"] == 0
    assert store.db.execute("SELECT count(*) FROM interactions").fetchone()[0] == count == 10


def test_salesforce_tasks_and_events_come_back_with_their_owner_and_own_ones_are_recognised(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    accounts, settings = _synced(store, tmp_path, salesforce=salesforce, records=2)
    local = dict(store.db.execute("SELECT salesforce_id, id FROM accounts").fetchall())
    add_interactions(store, 6)
    assert nightly(store, settings).exit_code == 0
    assert sum(salesforce.keys().values()) == 6

    ines = salesforce.add_user("Ines Moreau")
    contact = next(iter(salesforce.records["Contact"]))
    contact_account = salesforce.records["Contact"][contact]["AccountId"]
    salesforce.add(
        "Task",
        {"WhatId": accounts[0], "Subject": "Call: budget", "TaskSubtype": "Call", "CallType": "Inbound",
         "ActivityDate": "2026-11-18", "OwnerId": ines},
    )  # fmt: skip
    salesforce.add(
        "Task", {"WhoId": contact, "Subject": "Send contract", "TaskSubtype": "Task", "OwnerId": ines}
    )
    salesforce.add(
        "Event",
        {"WhatId": accounts[1], "Subject": "Kick-off", "StartDateTime": "2026-11-19T15:00:00.000+0000"},
    )
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    [run] = report.runs
    assert run.counts["engagements_own"] == 6 and run.counts["engagements_inserted"] == 3
    rows = store.db.execute(
        "SELECT account_id, kind, direction, summary, author FROM interactions "
        "WHERE sync_key LIKE 'salesforce:%' ORDER BY summary"
    ).fetchall()
    assert [tuple(row) for row in rows] == [
        (local[accounts[0]], "call", "inbound", "Call: budget", "Ines Moreau"),
        (local[accounts[1]], "meeting", "outbound", "Kick-off", None),
        (local[contact_account], "note", "internal", "task: Send contract", "Ines Moreau"),
    ]
    assert store.db.execute("SELECT count(*) FROM interactions").fetchone()[0] == 9
    assert nightly(store, settings).runs[0].counts["engagements_inserted"] == 0


def test_salesforce_owner_and_type_changes_come_down(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    [account], settings = _synced(store, tmp_path, salesforce=salesforce, records=1)
    salesforce.update("Account", account, {"OwnerId": salesforce.add_user("Ines Moreau"), "Type": "Churned"})
    assert nightly(store, settings).exit_code == 0
    row = store.db.execute("SELECT owner, lifecycle_stage FROM accounts").fetchone()
    assert tuple(row) == ("Ines Moreau", "Churned")


def test_hubspot_owner_and_lifecycle_stage_changes_come_down(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    [company], settings = _synced(store, tmp_path, hubspot=hubspot, records=1)
    owner = hubspot.add_owner("Ines", "Moreau", "ines@example.com")
    hubspot.update("companies", company, {"hubspot_owner_id": owner, "lifecyclestage": "other"})
    assert nightly(store, settings).exit_code == 0
    row = store.db.execute("SELECT owner, lifecycle_stage FROM accounts").fetchone()
    assert tuple(row) == ("Ines Moreau", "other")


def test_the_lifecycle_property_is_configurable(store: Store, hubspot: HubSpotServer, tmp_path: Path) -> None:
    [company] = hubspot_book(hubspot, companies=1)
    hubspot.update(
        "companies", company, {"lifecyclestage": "customer", "customer_status": "Closed - churned"}
    )
    config = write_config(
        tmp_path / "c.toml", hubspot=hubspot.url, hubspot_extra={"lifecycle_property": "customer_status"}
    )
    assert nightly(store, settings_for(config)).exit_code == 0
    assert store.db.execute("SELECT lifecycle_stage FROM accounts").fetchone()[0] == "Closed - churned"


def test_pulled_engagements_are_linked_to_the_books_contacts(
    store: Store, hubspot: HubSpotServer, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    """An engagement's contact (HubSpot's association, Salesforce's WhoId) is linked when it is a contact of
    the book on the engagement's account; one linked to a contact only lands on that contact's account."""
    companies = hubspot_book(hubspot, companies=2)
    accounts = salesforce_book(salesforce, accounts=1)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url, salesforce=salesforce.url))
    assert nightly(store, settings).exit_code == 0
    person = {
        str(record["properties"]["associatedcompanyid"]): record["id"] for record in hubspot.live("contacts")
    }
    call = log_engagement(hubspot, "calls", companies[0], {"hs_call_title": "With Pat"})
    hubspot.associations.add(("calls", call, "contacts", person[companies[0]]))
    stranger = log_engagement(
        hubspot, "meetings", companies[0], {"hs_meeting_title": "Another company's contact"}
    )
    hubspot.associations.add(("meetings", stranger, "contacts", person[companies[1]]))
    only = hubspot.add("notes", {"hs_timestamp": "2026-11-18T09:30:00.000Z", "hs_note_body": "Contact only"})
    hubspot.associations.add(("notes", only, "contacts", person[companies[1]]))
    [sf_contact] = [record["Id"] for record in salesforce.records["Contact"].values()]
    salesforce.add("Task", {"WhatId": accounts[0], "WhoId": sf_contact, "Subject": "Salesforce call"})
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    account_of = dict(store.db.execute("SELECT hubspot_id, id FROM accounts").fetchall())
    contact_of = dict(
        store.db.execute("SELECT hubspot_id, id FROM contacts UNION SELECT salesforce_id, id FROM contacts")
    )
    rows = store.db.execute("SELECT summary, account_id, contact_id FROM interactions ORDER BY summary")
    assert [tuple(row) for row in rows] == [
        ("Another company's contact", account_of[companies[0]], None),  # not a contact of that account
        ("Contact only", account_of[companies[1]], contact_of[person[companies[1]]]),  # its contact's account
        ("With Pat", account_of[companies[0]], contact_of[person[companies[0]]]),
        ("task: Salesforce call", account_of[companies[0]], contact_of[sf_contact]),  # the same company0.com
    ]


def test_engagements_deleted_in_the_crm_leave_the_journey(
    store: Store, hubspot: HubSpotServer, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    """HubSpot's archived engagements (its archived listing) and Salesforce's deleted Tasks and Events
    (`queryAll`, `IsDeleted`) are taken out of the journey; a CSM's own item deleted in the CRM stays."""
    [company] = hubspot_book(hubspot, companies=1)
    [account] = salesforce_book(salesforce, accounts=1)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url, salesforce=salesforce.url))
    assert nightly(store, settings).exit_code == 0
    log_engagement(hubspot, "calls", company, {"hs_call_title": "Kept call"})
    note = log_engagement(hubspot, "notes", company, {"hs_note_body": "Deleted note"})
    salesforce.add("Task", {"WhatId": account, "Subject": "Kept task"})
    event = salesforce.add(
        "Event", {"WhatId": account, "Subject": "Deleted meeting", "StartDateTime": "2026-11-19T15:00:00Z"}
    )
    [own, *_] = add_interactions(store, 2)
    assert nightly(store, settings).exit_code == 0
    assert store.db.execute("SELECT count(*) FROM interactions").fetchone()[0] == 6

    hubspot.archive("notes", note)
    salesforce.delete("Event", event)
    [(target, [record])] = [
        (t, [r]) for t in ENGAGEMENTS for r in hubspot.live(t) if r["properties"].get(PROPERTY) == own
    ]
    hubspot.archive(target, record["id"])
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    assert [run.counts["engagements_deleted"] for run in report.runs] == [1, 1]
    assert "1 deleted in salesforce, out of the journey" in render_run(report.runs[1])[2]
    summaries = [
        row[0] for row in store.db.execute("SELECT summary FROM interactions WHERE sync_key LIKE '%:%'")
    ]
    assert sorted(summaries) == ["Kept call", "task: Kept task"]
    assert store.db.execute("SELECT count(*) FROM interactions WHERE sync_key = ?", [own]).fetchone()[0] == 1
    again = nightly(store, settings)  # the overlap reads the deletions again: nothing more to remove
    assert [run.counts["engagements_deleted"] for run in again.runs] == [0, 0]
    assert store.db.execute("SELECT count(*) FROM interactions").fetchone()[0] == 4


def test_faults_and_rate_limits_during_the_pull_lose_and_double_nothing(
    store: Store, hubspot: HubSpotServer, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    [company] = hubspot_book(hubspot, companies=1)
    [account] = salesforce_book(salesforce, accounts=1)
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url, salesforce=salesforce.url)
    settings = settings_for(config)
    assert nightly(store, settings).exit_code == 0
    for number in range(12):
        log_engagement(hubspot, "calls", company, {"hs_call_title": f"Call {number}"})
        salesforce.add("Task", {"WhatId": account, "Subject": f"Task {number}"})
    for number in range(60):  # more than one page of the test server's 50
        salesforce.add("Event", {"WhatId": account, "Subject": f"Meeting {number}"})
    hubspot.faults = FaultPlan(
        on_path={
            "/calls/search": ["429", "500", "drop"],
            "/calls/companies/batch/read": ["429", "drop_after"],
        }
    )
    salesforce.faults = FaultPlan(on_path={"GET /services/data/v62.0/query/": ["500", "drop"]})

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    assert hubspot.rate_limited >= 2, [(run.crm, run.counts) for run in report.runs]
    assert all(run.counts["retries"] >= 2 for run in report.runs), [
        (run.crm, run.counts) for run in report.runs
    ]
    summaries = [row[0] for row in store.db.execute("SELECT summary FROM interactions ORDER BY summary")]
    expected = [f"Call {n}" for n in range(12)] + [f"Meeting {n}" for n in range(60)]
    expected += [f"task: Task {n}" for n in range(12)]
    assert summaries == sorted(expected)


def test_an_engagement_search_showed_late_comes_in_through_the_overlap(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    [company], settings = _synced(store, tmp_path, hubspot=hubspot, records=1)
    moment = datetime.now(UTC)
    late = hubspot.add("notes", {"hs_timestamp": "2026-11-18T09:30:00.000Z", "hs_note_body": "Indexed late"},
                       modified=moment)  # fmt: skip
    hubspot.associations.add(("notes", late, "companies", company))
    hubspot.index_later("notes", late, 3600)
    later = hubspot.add("notes", {"hs_timestamp": "2026-11-18T09:31:00.000Z", "hs_note_body": "Indexed at once"},
                        modified=moment + timedelta(seconds=5))  # fmt: skip
    hubspot.associations.add(("notes", later, "companies", company))
    assert nightly(store, settings).exit_code == 0  # the watermark passes the note search does not show yet
    assert [row[2] for row in _pulled(store)] == ["Indexed at once"]

    hubspot.index_later("notes", late, 0)
    assert nightly(store, settings).exit_code == 0

    assert [row[2] for row in _pulled(store)] == ["Indexed at once", "Indexed late"]


def test_a_dry_run_counts_the_engagements_it_would_pull_and_writes_none(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    [company], settings = _synced(store, tmp_path, hubspot=hubspot, records=1)
    log_engagement(hubspot, "calls", company, {"hs_call_title": "Check-in"})
    report = nightly(store, settings, dry_run=True)
    assert report.runs[0].counts["engagements_inserted"] == 1
    assert _pulled(store) == []
    marks = "SELECT count(*) FROM sync_watermarks WHERE object_type = 'engagements:calls'"
    assert store.db.execute(marks).fetchone()[0] == 0
    assert nightly(store, settings).runs[0].counts["engagements_inserted"] == 1
    assert store.db.execute(marks).fetchone()[0] == 1


def test_a_run_stopped_in_one_engagement_object_misses_none_of_the_next_older_ones(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    [company], settings = _synced(store, tmp_path, hubspot=hubspot, records=1)
    start = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
    for number in range(3):  # the calls (pulled first) two hours newer than the meetings
        call = hubspot.add(
            "calls", {"hs_call_title": f"Call {number}"}, modified=start + timedelta(hours=2, seconds=number)
        )
        meeting = hubspot.add(
            "meetings", {"hs_meeting_title": f"Meeting {number}"}, modified=start + timedelta(seconds=number)
        )
        hubspot.associations.update(
            {("calls", call, "companies", company), ("meetings", meeting, "companies", company)}
        )
    hubspot.faults = FaultPlan(on_path={"/meetings/search": ["500"] * 10})
    assert nightly(store, settings).exit_code != 0  # the calls stored, then the meetings failed
    hubspot.faults = FaultPlan()

    assert nightly(store, settings).exit_code == 0
    assert [row[2] for row in _pulled(store)] == [f"Call {n}" for n in range(3)] + [
        f"Meeting {n}" for n in range(3)
    ]


def test_a_run_stopped_in_one_archived_listing_misses_none_of_the_next_objects_older_deletions(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """The archived listings are read object by object, each by id: calls archived lately, then a first page
    of meetings archived an hour before, stored before the meetings' second page failed, must move no mark
    past the older archive on that second page."""
    [company], settings = _synced(store, tmp_path, hubspot=hubspot, records=1)
    call = log_engagement(hubspot, "calls", company, {"hs_call_title": "Call"})
    outside = [hubspot.add("meetings", {"hs_meeting_title": f"Elsewhere {n}"}) for n in range(100)]
    meeting = log_engagement(hubspot, "meetings", company, {"hs_meeting_title": "Meeting"})
    assert nightly(store, settings).exit_code == 0
    lately = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    hubspot.archive("calls", call, at=lately)
    for other in outside:
        hubspot.archive("meetings", other, at=lately - timedelta(hours=1))
    hubspot.archive("meetings", meeting, at=lately - timedelta(hours=2))
    hubspot.faults = FaultPlan(on_path={"GET /crm/objects/2026-09/meetings": ["", *["500"] * 10]})
    failed = nightly(store, settings)  # the calls' listing and the meetings' first page stored, then a fault
    assert failed.exit_code != 0 and failed.runs[0].counts["engagements_deleted"] == 1
    hubspot.faults = FaultPlan()

    assert [run.counts["engagements_deleted"] for run in nightly(store, settings).runs] == [1]  # the meeting
    assert _pulled(store) == []
    assert nightly(store, settings).runs[0].counts["engagements_deleted"] == 0


def _salesforce_activity(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> tuple[str, str, str, Settings]:
    """An account with a Task and an Event pulled into the journey: the account, the Task, the Event and the
    settings."""
    [account], settings = _synced(store, tmp_path, salesforce=salesforce, records=1)
    task = salesforce.add("Task", {"WhatId": account, "Subject": "Old task"})
    event = salesforce.add(
        "Event", {"WhatId": account, "Subject": "Old meeting", "StartDateTime": "2026-11-19T15:00:00Z"}
    )
    assert nightly(store, settings).exit_code == 0
    return account, task, event, settings


def _journey(store: Store) -> list[str]:
    return sorted(row[0] for row in store.db.execute("SELECT summary FROM interactions"))


def _is_listing_of(sobject: str) -> Callable[[Request], bool]:
    def picks(request: Request) -> bool:
        soql = request.query.get("q", "")
        return request.path.endswith("/queryAll") and f"FROM {sobject} WHERE IsDeleted = true" in soql

    return picks


def test_only_the_event_listing_failing_keeps_the_tasks_work_and_holds_the_event_mark(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    """Salesforce's deleted Tasks and Events share `queryAll`: a fault aimed at the Event listing alone (by
    its query's object) fails it past its retries. The Tasks' changes and deletions stay, and the Tasks'
    deletion mark moves (their listing is read on its own, whole); the Event's does not, so the next run
    reads its listing again and takes the deleted meeting out of the journey."""
    account, task, event, settings = _salesforce_activity(store, salesforce, tmp_path)
    salesforce.delete("Task", task)
    salesforce.delete("Event", event)
    salesforce.add("Task", {"WhatId": account, "Subject": "New task"})
    mark = store_sync.watermark(store.db, "salesforce", "engagements:deleted:Event")
    salesforce.faults = FaultPlan(on_request=[(_is_listing_of("Event"), ["500"] * 5)])

    failed = nightly(store, settings)

    assert failed.exit_code == 1 and failed.runs[0].status == "failed"
    assert failed.runs[0].counts["engagements_deleted"] == 1
    assert _journey(store) == ["Old meeting", "task: New task"]
    assert store_sync.watermark(store.db, "salesforce", "engagements:deleted:Event") == mark
    assert store_sync.watermark(store.db, "salesforce", "engagements:deleted:Task") is not None
    salesforce.faults = FaultPlan()
    again = nightly(store, settings)
    assert again.exit_code == 0 and again.runs[0].counts["engagements_deleted"] == 1
    assert _journey(store) == ["task: New task"]
    assert store_sync.watermark(store.db, "salesforce", "engagements:deleted:Event") is not None


def test_an_engagement_deletion_left_unconfirmed_stays_in_the_journey_until_confirmed(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    """The query that confirms a deleted Task fails past its retries: the Task stays in the journey, its
    object's mark stays, the run is partial; the next run confirms and takes it out."""
    _account, task, _event, settings = _salesforce_activity(store, salesforce, tmp_path)
    salesforce.delete("Task", task)
    mark = store_sync.watermark(store.db, "salesforce", "engagements:deleted:Task")

    def confirming(request: Request) -> bool:
        return "FROM Task WHERE Id IN" in request.query.get("q", "")

    salesforce.faults = FaultPlan(on_request=[(confirming, ["503"] * 5)])
    failed = nightly(store, settings)

    assert failed.exit_code == 1 and failed.runs[0].status == "partial"
    assert failed.runs[0].counts["deletions_unconfirmed"] == 1
    assert _journey(store) == ["Old meeting", "task: Old task"]
    assert store_sync.watermark(store.db, "salesforce", "engagements:deleted:Task") == mark
    salesforce.faults = FaultPlan()
    again = nightly(store, settings)
    assert again.exit_code == 0 and again.runs[0].counts["engagements_deleted"] == 1
    assert _journey(store) == ["Old meeting"]
