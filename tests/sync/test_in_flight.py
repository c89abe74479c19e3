"""Several requests in flight (`sync.requests_in_flight`), against test servers that take time to answer: the
work overlaps, the rate limit holds at the server, one 429 holds back every request, faults leave every item
in the CRM exactly once, and the pulls still store accounts before their contacts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.store import Store
from tests.crm_servers.base import CrmServer, FaultPlan
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

PUSHES = ("/batch/", "/associations/", "/composite/")


def taken(server: CrmServer, parts: tuple[str, ...], after: int = 0) -> list[tuple[float, float]]:
    """(taken in, answered) of each request numbered past `after` whose path has one of `parts`."""
    with server.lock:
        return sorted(
            server.moments[number]
            for number, _method, path, _status in server.log
            if number > after and number in server.moments and any(part in path for part in parts)
        )


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most of `spans` (taken in, answered) under way at one moment."""
    events = sorted([(start, 1) for start, _end in spans] + [(end, -1) for _start, end in spans])
    most = current = 0
    for _moment, step in events:
        current += step
        most = max(most, current)
    return most


def busiest_window(moments: list[float], window: float) -> int:
    """The most of `moments` in any `window` seconds."""
    most = first = 0
    for last, moment in enumerate(moments):
        while moments[first] <= moment - window:
            first += 1
        most = max(most, last - first + 1)
    return most


def hubspot_sync(
    store: Store, hubspot: HubSpotServer, tmp_path: Path, in_flight: int, items: int = 600
) -> tuple[Path, list[str]]:
    """A pulled HubSpot book with `items` interactions and 30 outreach items waiting; the config's path and
    the keys."""
    hubspot_book(hubspot, companies=12, contacts_per=2)
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url, sync={"requests_in_flight": in_flight})
    assert nightly(store, settings_for(config)).exit_code == 0
    return config, add_interactions(store, items) + add_outreach(store, 30)


def several(most: int, in_flight: int) -> bool:
    """`most` at once is what `in_flight` allows: one, or several and no more than that."""
    return most == 1 if in_flight == 1 else 1 < most <= in_flight


@pytest.mark.parametrize("in_flight", [1, 4])
def test_a_push_keeps_that_many_batches_out_and_each_item_once(
    store: Store, hubspot: HubSpotServer, tmp_path: Path, in_flight: int
) -> None:
    config, keys = hubspot_sync(store, hubspot, tmp_path, in_flight)
    hubspot.latency_seconds = 0.04
    before = hubspot.requests

    report = nightly(store, settings_for(config))

    assert report.exit_code == 0, report.to_json()
    exactly_once(hubspot.keys(PROPERTY), keys)
    assert waiting(store) == 0
    assert several(most_at_once(taken(hubspot, PUSHES, before)), in_flight)
    for key in keys[:50]:
        engagement = store.db.execute(
            "SELECT coalesce((SELECT hubspot_id FROM interactions WHERE sync_key = ?),"
            " (SELECT hubspot_id FROM outreach WHERE sync_key = ?))",
            [key, key],
        ).fetchone()[0]
        [(target, record)] = [
            (name, record)
            for name in ("calls", "meetings", "emails", "notes", "tasks")
            for record in hubspot.live(name)
            if record["properties"].get(PROPERTY) == key
        ]
        assert record["id"] == engagement
        assert len(hubspot.associated(target, engagement, "companies")) == 1  # written before associated


def test_the_server_never_sees_more_than_its_limit_in_any_window(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    config, keys = hubspot_sync(store, hubspot, tmp_path, 4, items=1500)
    hubspot.limit_rate(40, 1000)  # the client keeps 10% below: 36 a second
    hubspot.latency_seconds = 0.02
    before = hubspot.requests

    report = nightly(store, settings_for(config))

    assert report.exit_code == 0, report.to_json()
    exactly_once(hubspot.keys(PROPERTY), keys)
    assert hubspot.rate_limited == 0
    limited = [start for start, _end in taken(hubspot, ("/batch/", "/associations/", "archived"), before)]
    assert len(limited) > 40  # more than the server takes in one window: the limiter had to hold some back
    assert busiest_window(limited, 1.0) <= 40
    assert most_at_once(taken(hubspot, PUSHES, before)) > 1


def test_one_429_holds_back_every_request_for_its_retry_after(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    config, keys = hubspot_sync(store, hubspot, tmp_path, 4, items=3000)  # seconds of work at 4 in flight
    hubspot.latency_seconds = 0.03
    hubspot.retry_after = 2
    refused = hubspot.requests + 12  # a batch write or association, with others out
    hubspot.faults = FaultPlan(at={refused: "429"})

    report = nightly(store, settings_for(config))

    assert report.exit_code == 0, report.to_json()
    exactly_once(hubspot.keys(PROPERTY), keys)
    assert hubspot.rate_limited == 1
    answered = hubspot.moments[refused][1]
    later = [start for start, _end in taken(hubspot, ("/",), refused)]
    # Those out before the 429 came back may still arrive; then nothing until Retry-After has passed.
    assert not [start for start in later if answered + 0.5 < start < answered + 1.95]
    assert [start for start in later if start >= answered + 1.95]


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_faults_with_several_requests_out_still_push_every_item_once(
    store: Store, hubspot: HubSpotServer, salesforce: SalesforceServer, tmp_path: Path, crm: str
) -> None:
    server: CrmServer
    if crm == "hubspot":
        hubspot_book(hubspot, companies=12, contacts_per=2)
        config = write_config(tmp_path / "c.toml", hubspot=hubspot.url, hubspot_extra={"batch_size": 20})
        server, kinds = hubspot, ("429", "500", "timeout", "drop", "drop_after", "partial", "502", "503")
    else:
        salesforce_book(salesforce, accounts=12, contacts_per=2)
        config = write_config(
            tmp_path / "c.toml", salesforce=salesforce.url, salesforce_extra={"batch_size": 25}
        )
        server = salesforce
        kinds = ("429", "500", "timeout", "drop_after", "partial", "expire_session", "drop", "503")
    settings = settings_for(config)
    assert nightly(store, settings).exit_code == 0
    keys = add_interactions(store, 300)
    if crm == "hubspot":
        keys += add_outreach(store, 30)
    else:
        # Salesforce takes TaskSubtype only on create, so a call or email Task resent after a lost answer is
        # refused, one request at a time as well as several: a known fault of its own, left to its fix.
        # Notes and meetings (Tasks and Events without it) carry the lost answers here.
        with store.write() as db:
            db.execute("UPDATE interactions SET kind = 'note' WHERE kind IN ('call', 'email')")
    server.latency_seconds = 0.02
    before = server.requests
    fault_every(server, every=3, count=24, kinds=kinds)

    report = nightly(store, settings)

    assert report.exit_code == 0, (report.runs[0].errors, report.runs[0].counts)
    found = hubspot.keys(PROPERTY) if crm == "hubspot" else salesforce.keys()
    exactly_once(found, keys)
    assert waiting(store) == 0
    assert report.runs[0].counts["retries"] > 0  # the faults did happen
    assert most_at_once(taken(server, PUSHES, before)) > 1  # with several requests out
    states = store.db.execute("SELECT state, count(*) FROM sync_pushes GROUP BY state").fetchall()
    assert states == [("synced", len(keys))]


@pytest.mark.parametrize("in_flight", [1, 4])
def test_pulls_read_side_by_side_and_store_accounts_before_their_contacts(
    store: Store, salesforce: SalesforceServer, tmp_path: Path, in_flight: int
) -> None:
    salesforce_book(salesforce, accounts=150)  # three pages of accounts, three of contacts
    salesforce.latency_seconds = 0.03
    config = write_config(
        tmp_path / "c.toml", salesforce=salesforce.url, sync={"requests_in_flight": in_flight}
    )

    report = nightly(store, settings_for(config))

    assert report.exit_code == 0, report.to_json()
    counts = report.runs[0].counts
    assert (counts["pulled_accounts"], counts["pulled_contacts"], counts["skipped"]) == (150, 150, 0)
    orphans = store.db.execute(
        "SELECT count(*) FROM contacts c LEFT JOIN accounts a ON a.id = c.account_id WHERE a.salesforce_id IS NULL"
    ).fetchone()[0]
    assert orphans == 0
    assert several(most_at_once(taken(salesforce, ("/query",))), in_flight)


def colleagues_notes(hubspot: HubSpotServer, company: str, count: int) -> list[str]:
    """`count` notes on `company`, a second apart, made in another order than that: ids by modification."""
    start = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
    notes = {
        second: hubspot.add(
            "notes", {"hs_note_body": f"Note {second}"}, modified=start + timedelta(seconds=second)
        )
        for second in random.Random(21).sample(range(count), count)
    }
    for note in notes.values():
        hubspot.associations.add(("notes", note, "companies", company))
    return [notes[second] for second in sorted(notes)]


def stored_engagements(store: Store) -> list[str]:
    return [row[0] for row in store.db.execute("SELECT hubspot_id FROM interactions ORDER BY rowid")]


@pytest.mark.parametrize("in_flight", [1, 4])
def test_engagement_association_reads_go_out_beside_the_next_search_and_each_lands_once_in_order(
    store: Store, hubspot: HubSpotServer, tmp_path: Path, in_flight: int
) -> None:
    [company] = hubspot_book(hubspot, companies=1, contacts_per=0)
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url, sync={"requests_in_flight": in_flight})
    settings = settings_for(config)
    assert nightly(store, settings).exit_code == 0
    notes = colleagues_notes(hubspot, company, 700)
    hubspot.latency_seconds = 0.05
    before = hubspot.requests
    with hubspot.lock:
        hubspot.most_at_once = 0

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    assert report.runs[0].counts["engagements_inserted"] == 700
    assert stored_engagements(store) == notes  # each once, pages in their order
    assert hubspot.most_at_once <= in_flight
    searches = taken(hubspot, ("/notes/search",), before)
    reads = taken(hubspot, ("/notes/companies/batch/read", "/notes/contacts/batch/read"), before)
    assert len(searches) == 4 and len(reads) == 8  # four pages of notes, two association reads each
    beside = [
        (r_in, r_out)
        for r_in, r_out in reads
        if any(s_in < r_out and r_in < s_out for s_in, s_out in searches)
    ]
    assert bool(beside) == (in_flight > 1)  # one at a time, nothing goes beside a search


def test_a_page_whose_association_reads_fail_stops_the_pull_after_the_pages_before_it(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    [company] = hubspot_book(hubspot, companies=1, contacts_per=0)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    notes = colleagues_notes(hubspot, company, 700)
    hubspot.latency_seconds = 0.02
    # The first page's read goes through; every later one fails past its retries, while others are out.
    hubspot.faults = FaultPlan(on_path={"/notes/companies/batch/read": ["", *["500"] * 40]})

    failed = nightly(store, settings)

    assert failed.exit_code != 0 and any("pull" in error for error in failed.runs[0].errors)
    assert stored_engagements(store) == notes[:200]  # the first page, and nothing after the one that failed
    mark = store.db.execute(
        "SELECT watermark FROM sync_watermarks WHERE crm = 'hubspot' AND object_type = 'engagements:notes'"
    ).fetchone()[0]
    assert mark == "2026-11-18T09:33:19+00:00"  # the 200th note's: the run resumes from there
    hubspot.faults = FaultPlan()

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    assert stored_engagements(store) == notes  # the rest, each once, in order
