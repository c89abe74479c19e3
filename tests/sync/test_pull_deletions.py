"""Deletions pulled from a CRM: a record restored while a run reads it ahead stays live (however close to its
deletion, without a time of deletion, or not yet in search: the CRM's live records are asked before a mark),
a deletion the CRM gives no time for is never filtered out by the deletion watermark, and a deletion the CRM
did not confirm is neither marked nor passed by the mark."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

from cockpit.config import Settings
from cockpit.crm.base import parse_time
from cockpit.services.sync import SyncReport
from cockpit.store import Store
from cockpit.store import sync as store_sync
from tests.crm_servers.base import FaultPlan, Request, now
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

from .books import hubspot_book, log_engagement, nightly, salesforce_book, settings_for, write_config

NO_TIMEOUT = {"request_timeout_seconds": 30.0}
"""A change listing held by the test's hook must not time out meanwhile."""


def _deleted_at(store: Store, column: str, crm_id: str) -> str | None:
    row = store.db.execute(f"SELECT deleted_at FROM accounts WHERE {column} = ?", [crm_id]).fetchone()
    assert row is not None
    return None if row[0] is None else str(row[0])


def _asks_for(request: Request, endpoint: str) -> bool:
    return request.path.endswith(f"/{endpoint}") and "FROM Account " in request.query.get("q", "")


def test_a_record_restored_between_the_deletion_and_change_listings_stays_live(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    """The run reads the Account recycle bin (the account in it), the account is undeleted, then the run
    reads the Account changes (the account, modified by its restore): the deletion it read is older than
    the change it stored, so the account stays live (its restore is behind the changes watermark now: were it
    marked deleted, nothing would ever bring it back)."""
    [gone, kept] = salesforce_book(salesforce, accounts=2)
    settings = settings_for(write_config(tmp_path / "c.toml", salesforce=salesforce.url, sync=NO_TIMEOUT))
    assert nightly(store, settings).exit_code == 0
    salesforce.delete("Account", gone)
    listed = threading.Event()

    def before(request: Request) -> None:
        if _asks_for(request, "query"):  # the change listing waits for the deletion listing
            assert listed.wait(timeout=30)

    def after(request: Request) -> None:
        if _asks_for(request, "queryAll") and not listed.is_set():
            salesforce.undelete("Account", gone)
            listed.set()

    salesforce.faults.before, salesforce.faults.after = before, after
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    assert listed.is_set()
    assert report.runs[0].counts["deleted"] == 0
    assert _deleted_at(store, "salesforce_id", gone) is None
    assert _deleted_at(store, "salesforce_id", kept) is None
    salesforce.faults.before = salesforce.faults.after = None
    salesforce.delete("Account", gone)  # deleted again, later than the restore: marked
    again = nightly(store, settings)
    assert again.runs[0].counts["deleted"] == 1
    assert _deleted_at(store, "salesforce_id", gone) is not None


def _restored_mid_run(
    store: Store, settings: Settings, hubspot: HubSpotServer, objects: str, record: str, *, dated: bool = True
) -> SyncReport:
    """Archive the record (`dated`: with its `archivedAt`), then a nightly run in which it is restored right
    after the run reads the archived listing of its objects and before their search (held until then): the
    run's report."""
    hubspot.archive(objects, record, dated=dated)
    listed = threading.Event()

    def before(request: Request) -> None:
        if request.method == "POST" and request.path.endswith(f"/{objects}/search"):
            assert listed.wait(timeout=30)

    def after(request: Request) -> None:
        listing = request.path.endswith(f"/{objects}") and request.query.get("archived") == "true"
        if listing and not listed.is_set():
            hubspot.restore(objects, record)
            listed.set()

    hubspot.faults.before, hubspot.faults.after = before, after
    report = nightly(store, settings)
    assert report.exit_code == 0, report.to_json()
    assert listed.is_set()
    return report


def test_a_company_restored_between_the_archived_listing_and_the_search_stays_live(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """The same in HubSpot: its archived listing of companies is read (the company in it), the company is
    restored, then the companies are searched (the company, modified by its restore)."""
    [gone, _kept] = hubspot_book(hubspot, companies=2)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url, sync=NO_TIMEOUT))
    assert nightly(store, settings).exit_code == 0
    report = _restored_mid_run(store, settings, hubspot, "companies", gone)

    assert report.runs[0].counts["deleted"] == 0
    assert _deleted_at(store, "hubspot_id", gone) is None


def test_a_call_restored_between_its_archived_listing_and_its_search_stays_in_the_journey(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """The same for a colleague's call: pulled, archived, then restored between the calls' archived listing
    and their search in one run; it stays in the journey."""
    [company] = hubspot_book(hubspot, companies=1)
    call = log_engagement(hubspot, "calls", company, {"hs_call_title": "Restored call"})
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url, sync=NO_TIMEOUT))
    assert nightly(store, settings).exit_code == 0
    report = _restored_mid_run(store, settings, hubspot, "calls", call)

    assert report.runs[0].counts["engagements_deleted"] == 0
    summaries = [row[0] for row in store.db.execute("SELECT summary FROM interactions")]
    assert summaries == ["Restored call"]


def test_a_deletion_without_its_time_is_marked_whatever_the_watermark(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """A company archived with no `archivedAt` in the listing (only its old `updatedAt`, before the deletion
    watermark less the overlap) is marked deleted all the same, and once only."""
    [first, second] = hubspot_book(hubspot, companies=2)
    old = hubspot.add("companies", {"name": "Old", "domain": "old.com"}, modified=now() - timedelta(hours=2))
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    hubspot.archive("companies", first)  # moves the deletion watermark to now
    assert nightly(store, settings).runs[0].counts["deleted"] == 1
    hubspot.archive("companies", old, dated=False)

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    assert report.runs[0].counts["deleted"] == 1
    assert _deleted_at(store, "hubspot_id", old) is not None
    assert _deleted_at(store, "hubspot_id", second) is None
    assert nightly(store, settings).runs[0].counts["deleted"] == 0  # listed every run, marked once


def test_a_record_restored_in_the_same_millisecond_as_its_deletion_stays_live(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    """The recycle bin lists the account deleted at T; it is undeleted with the same SystemModstamp T before
    the changes are read: the change stored is not newer than the deletion, but Salesforce's live records
    still hold the account, so it is not marked (and the run says it skipped a restored one)."""
    [gone, _kept] = salesforce_book(salesforce, accounts=2)
    settings = settings_for(write_config(tmp_path / "c.toml", salesforce=salesforce.url, sync=NO_TIMEOUT))
    assert nightly(store, settings).exit_code == 0
    salesforce.delete("Account", gone)
    deleted_at = _moment(salesforce.records["Account"][gone]["SystemModstamp"])
    listed = threading.Event()

    def before(request: Request) -> None:
        if _asks_for(request, "query"):
            assert listed.wait(timeout=30)

    def after(request: Request) -> None:
        if _asks_for(request, "queryAll") and not listed.is_set():
            salesforce.undelete("Account", gone, modified=deleted_at)
            listed.set()

    salesforce.faults.before, salesforce.faults.after = before, after
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    assert listed.is_set()
    assert (report.runs[0].counts["deleted"], report.runs[0].counts["deletions_restored"]) == (0, 1)
    assert _deleted_at(store, "salesforce_id", gone) is None


def test_a_restore_of_a_deletion_without_its_time_mid_run_stays_live(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """A company archived without `archivedAt` (such a deletion is applied whatever the changes stored) and
    restored between the archived listing and the search: HubSpot's live records have it, so it stays."""
    [gone, _kept] = hubspot_book(hubspot, companies=2)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url, sync=NO_TIMEOUT))
    assert nightly(store, settings).exit_code == 0
    report = _restored_mid_run(store, settings, hubspot, "companies", gone, dated=False)

    assert (report.runs[0].counts["deleted"], report.runs[0].counts["deletions_restored"]) == (0, 1)
    assert _deleted_at(store, "hubspot_id", gone) is None


def test_a_company_restored_while_search_does_not_show_it_yet_stays_live(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """Restored right after the archived listing is read, and kept out of search for a minute (HubSpot's
    index trails writes): the run stores no change of it, yet the company is live in HubSpot, so not marked;
    once search shows it, a later run reads its restore like any change."""
    [gone, _kept] = hubspot_book(hubspot, companies=2)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    restored = _restore_unsearchable_after_listing(hubspot, gone)
    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    assert restored.is_set()
    assert (report.runs[0].counts["deleted"], report.runs[0].counts["deletions_restored"]) == (0, 1)
    assert _deleted_at(store, "hubspot_id", gone) is None
    hubspot.faults.after = None
    hubspot.index_later("companies", gone, 0)
    restored_at = hubspot.objects["companies"][gone]["properties"]["hs_lastmodifieddate"]
    assert store_sync.modified_at(store.db, "hubspot", "accounts", gone) != restored_at
    again = nightly(store, settings)
    assert again.exit_code == 0 and again.runs[0].counts["deleted"] == 0
    stored = store_sync.modified_at(store.db, "hubspot", "accounts", gone)
    assert stored is not None and parse_time(stored) == parse_time(restored_at)  # its restore, stored


def _restore_unsearchable_after_listing(hubspot: HubSpotServer, company: str) -> threading.Event:
    """Archive the company, and restore it right after the next archived listing of companies is read,
    out of search for a minute; set once done."""
    hubspot.archive("companies", company)
    restored = threading.Event()

    def after(request: Request) -> None:
        listing = request.path.endswith("/companies") and request.query.get("archived") == "true"
        if listing and not restored.is_set():
            hubspot.restore("companies", company)
            hubspot.index_later("companies", company, 60)
            restored.set()

    hubspot.faults.after = after
    return restored


def test_a_dry_run_lists_only_the_deletions_the_crm_confirms(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """A dry run asks too (a read): the company gone is listed as a delete, the one restored after the
    listing is counted as restored, and nothing is written."""
    [gone, restored_one] = hubspot_book(hubspot, companies=2)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    hubspot.archive("companies", gone)
    restored = _restore_unsearchable_after_listing(hubspot, restored_one)

    report = nightly(store, settings, dry_run=True)

    assert restored.is_set()
    [run] = report.runs
    assert [(c.action, c.crm_id) for c in run.changes if c.action == "delete"] == [("delete", gone)]
    assert (run.counts["deleted"], run.counts["deletions_restored"]) == (1, 1)
    assert _deleted_at(store, "hubspot_id", gone) is None


def test_a_deletion_the_crm_did_not_confirm_is_not_marked_and_is_asked_again(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """The confirming read fails past its retries: the company stays live, the run says so (exit 1), and the
    deletion mark does not move past it; the next run lists it again, confirms it and marks it."""
    [first, gone] = hubspot_book(hubspot, companies=2)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    hubspot.archive("companies", first)
    assert nightly(store, settings).runs[0].counts["deleted"] == 1
    mark = store_sync.watermark(store.db, "hubspot", "accounts:deleted")
    hubspot.archive("companies", gone)
    hubspot.faults = FaultPlan(on_path={"/companies/batch/read": ["500"] * 5})  # max_retries 4: 5 tries

    failed = nightly(store, settings)

    assert failed.exit_code == 1 and failed.runs[0].status == "partial"
    assert (failed.runs[0].counts["deleted"], failed.runs[0].counts["deletions_unconfirmed"]) == (0, 1)
    assert any("not confirmed" in error for error in failed.runs[0].errors)
    assert _deleted_at(store, "hubspot_id", gone) is None
    assert store_sync.watermark(store.db, "hubspot", "accounts:deleted") == mark
    hubspot.faults = FaultPlan()
    again = nightly(store, settings)
    assert again.exit_code == 0 and again.runs[0].counts["deleted"] == 1
    assert _deleted_at(store, "hubspot_id", gone) is not None
    assert store_sync.watermark(store.db, "hubspot", "accounts:deleted") != mark


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def test_a_daily_limit_met_while_confirming_stops_the_run_with_nothing_marked(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """HubSpot's daily limit answers the confirming read: the run stops cleanly (exit 4) with the company
    live and the deletion mark where it was; the next run carries on and marks it."""
    [gone, _kept] = hubspot_book(hubspot, companies=2)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    mark = store_sync.watermark(store.db, "hubspot", "accounts:deleted")
    hubspot.archive("companies", gone)
    hubspot.faults = FaultPlan(on_path={"/companies/batch/read": ["daily_limit"]})

    stopped = nightly(store, settings)

    assert stopped.exit_code == 4 and stopped.runs[0].status == "stopped"
    assert _deleted_at(store, "hubspot_id", gone) is None
    assert store_sync.watermark(store.db, "hubspot", "accounts:deleted") == mark
    assert nightly(store, settings).runs[0].counts["deleted"] == 1
    assert _deleted_at(store, "hubspot_id", gone) is not None


def test_a_company_merged_away_and_listed_as_archived_is_confirmed_gone(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """HubSpot answers a read of a merged-away id with the record it was merged into, under that record's
    id: the asked id is named in its `hs_merged_object_ids`, so the deletion is confirmed, marked, with no
    error, and the deletion mark moves (the record that remains kept out of search meanwhile, so its own
    change does not tell the merge first). Once search shows it, the merge is recorded on the mark."""
    [kept, merged] = hubspot_book(hubspot, companies=2)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    mark = store_sync.watermark(store.db, "hubspot", "accounts:deleted")
    hubspot.merge("companies", merged, kept)
    hubspot.index_later("companies", kept, 60)

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    [run] = report.runs
    assert (run.counts["deleted"], run.counts["deletions_unconfirmed"], run.counts["merged"]) == (1, 0, 0)
    deleted_at = _deleted_at(store, "hubspot_id", merged)
    assert deleted_at is not None
    assert _deleted_at(store, "hubspot_id", kept) is None
    assert store_sync.watermark(store.db, "hubspot", "accounts:deleted") != mark
    hubspot.index_later("companies", kept, 0)
    assert nightly(store, settings).runs[0].counts["merged"] == 1
    assert _deleted_at(store, "hubspot_id", merged) == deleted_at
    winner = store.db.execute(
        "SELECT winner_id FROM merged_records JOIN accounts a ON a.id = local_id WHERE a.hubspot_id = ?",
        [merged],
    ).fetchone()
    assert winner == (store_sync.live_record(store.db, "hubspot", "accounts", kept),)
