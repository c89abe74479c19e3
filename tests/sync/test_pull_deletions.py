"""Deletions pulled from a CRM: a record restored while a run reads it ahead stays live, and a deletion the
CRM gives no time for is never filtered out by the deletion watermark."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from cockpit.config import Settings
from cockpit.services.sync import SyncReport
from cockpit.store import Store
from tests.crm_servers.base import Request, now
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
    store: Store, settings: Settings, hubspot: HubSpotServer, objects: str, record: str
) -> SyncReport:
    """Archive the record, then a nightly run in which it is restored right after the run reads the archived
    listing of its objects and before their search (held until then): the run's report."""
    hubspot.archive(objects, record)
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
