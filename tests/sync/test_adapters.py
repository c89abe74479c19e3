"""Each adapter against its test server: paging, windows, deletions, idempotent pushes, per-item results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.crm.base import CrmAdapter, OutboxItem, PulledRecord
from cockpit.crm.hubspot import HubSpotAdapter
from cockpit.crm.salesforce import SalesforceAdapter
from cockpit.crm.secrets import Secret
from cockpit.crm.transport import AuthError, DailyLimitReached, PermanentError, TransientError
from tests.crm_servers.base import FaultPlan
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import VERSION, SalesforceServer

from .books import CLIENT_ID, CLIENT_SECRET, PROPERTY, TOKEN, settings_for, write_config

START = datetime(2026, 11, 1, tzinfo=UTC)
Opened = Callable[..., CrmAdapter]


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[Opened]:
    """Adapters on the test servers (no real sleeps), closed after the test."""
    made: list[CrmAdapter] = []

    def make(server: HubSpotServer | SalesforceServer, **options: object) -> CrmAdapter:
        def no_sleep(_seconds: float) -> None:
            return None

        if isinstance(server, HubSpotServer):
            settings = settings_for(write_config(tmp_path / "h.toml", hubspot=server.url))
            window = int(str(options.get("search_window", 10_000)))
            made.append(
                HubSpotAdapter(settings, token=Secret(TOKEN, "test"), sleep=no_sleep, search_window=window)
            )
        else:
            settings = settings_for(write_config(tmp_path / "s.toml", salesforce=server.url))
            secret = Secret(str(options.get("secret", CLIENT_SECRET)), "test")
            made.append(
                SalesforceAdapter(
                    settings, client_id=Secret(CLIENT_ID, "test"), client_secret=secret, sleep=no_sleep
                )
            )
        return made[-1]

    yield make
    for adapter in made:
        adapter.close()


def item(
    key: str, account: str, *, kind: str = "call", retried: bool = False, contact: str | None = None
) -> OutboxItem:
    return OutboxItem(
        item_type="interaction",
        local_id=f"local-{key}",
        sync_key=key,
        kind=kind,
        direction="outbound",
        occurred_at="2026-11-20T10:00:00+00:00",
        subject=None,
        body="Talked about the renewal.",
        account_crm_id=account,
        contact_crm_id=contact,
        crm_id=None,
        retried=retried,
    )


def ids(pages: list[list[PulledRecord]]) -> list[str]:
    return [record.crm_id for page in pages for record in page]


def test_hubspot_search_restarts_past_its_result_window(opened: Opened) -> None:
    with HubSpotServer(token=TOKEN, search_window=400) as server:
        assert isinstance(server, HubSpotServer)
        made = [
            server.add(
                "companies",
                {"name": f"C{n}", "domain": f"c{n}.com"},
                modified=START + timedelta(seconds=n // 3),
            )
            for n in range(1000)
        ]
        adapter = opened(server, search_window=400)
        pulled = ids(list(adapter.pull_changes("accounts", START)))
        assert sorted(pulled) == sorted(made)  # every record once, across several queries
        assert server.count("companies/search") >= 3
        assert all(status == 200 for *_rest, status in server.log)  # never paged past the window
        later = ids(list(adapter.pull_changes("accounts", START + timedelta(seconds=300))))
        assert len(later) == 1000 - 900


def test_hubspot_search_refuses_a_window_of_one_timestamp(opened: Opened) -> None:
    with HubSpotServer(token=TOKEN, search_window=200) as server:
        assert isinstance(server, HubSpotServer)
        for n in range(300):
            server.add("companies", {"name": f"C{n}"}, modified=START)
        with pytest.raises(PermanentError, match="share the modification time"):
            list(opened(server, search_window=200).pull_changes("accounts", None))


def test_hubspot_contacts_carry_their_company(hubspot: HubSpotServer, opened: Opened) -> None:
    company = hubspot.add("companies", {"name": "Acme"})
    contact = hubspot.add(
        "contacts", {"firstname": "Ann", "email": "ann@acme.com", "associatedcompanyid": company}
    )
    [[record]] = list(opened(hubspot).pull_changes("contacts", None))
    assert record.fields == {
        "hubspot_id": contact,
        "first_name": "Ann",
        "email": "ann@acme.com",
        "account": company,
    }


def test_hubspot_deletions_come_from_the_archived_listing(hubspot: HubSpotServer, opened: Opened) -> None:
    kept, gone = hubspot.add("companies", {"name": "Kept"}), hubspot.add("companies", {"name": "Gone"})
    hubspot.archive("companies", gone)
    deletions = [d.crm_id for page in opened(hubspot).pull_deletions("accounts", None) for d in page]
    assert deletions == [gone] and kept not in deletions


def test_hubspot_confirms_deletions_by_batch_reads_of_at_most_100(
    hubspot: HubSpotServer, opened: Opened
) -> None:
    """150 ids in two reads: the live ones found (in no set order), the archived and the unknown ones named
    in an OBJECT_NOT_FOUND error of a 207; a `partial` answer leaves its unanswered ids unconfirmed."""
    ids = [hubspot.add("companies", {"name": f"C{n}"}) for n in range(150)]
    for archived in ids[::3]:
        hubspot.archive("companies", archived)
    adapter = opened(hubspot)
    answer = adapter.confirm_deleted("companies", [*ids, "999999"])

    assert answer.gone == {*ids[::3], "999999"} and answer.live == set(ids) - set(ids[::3])
    assert hubspot.count("/companies/batch/read") == 2
    hubspot.faults = FaultPlan(on_path={"/companies/batch/read": ["partial"]})
    answer = adapter.confirm_deleted("companies", ids[:4])  # the last two not answered for
    assert answer.gone | answer.live == {ids[0], ids[1]}


def test_hubspot_setup_creates_the_unique_property_once(hubspot: HubSpotServer, opened: Opened) -> None:
    adapter = opened(hubspot)
    assert set(adapter.setup().values()) == {"unique"}
    assert all(hubspot.properties[name][PROPERTY]["hasUniqueValue"] for name in ("notes", "calls", "tasks"))
    created = hubspot.count("/crm/properties", "POST")
    adapter.setup()
    assert hubspot.count("/crm/properties", "POST") == created == 5


def test_hubspot_upsert_is_idempotent_and_maps_a_partial_answer(
    hubspot: HubSpotServer, opened: Opened
) -> None:
    company = hubspot.add("companies", {"name": "Acme"})
    adapter = opened(hubspot)
    adapter.setup()
    batch = [item(f"key-{n}", company) for n in range(6)]
    hubspot.faults = FaultPlan(at={hubspot.requests + 1: "partial"})
    first = adapter.push("calls", batch)
    assert [r.ok for r in first] == [True] * 3 + [False] * 3
    assert all(r.transient and "try again" in (r.error or "") for r in first[3:])
    second = adapter.push("calls", [item(f"key-{n}", company, retried=True) for n in range(6)])
    assert all(r.ok for r in second)
    assert [r.crm_id for r in second[:3]] == [r.crm_id for r in first[:3]]  # updated, not created again
    assert sorted(hubspot.keys(PROPERTY).elements()) == sorted(i.sync_key for i in batch)
    assert all(hubspot.associated("calls", str(r.crm_id), "companies") == {company} for r in second)


def test_hubspot_fallback_without_a_unique_property_finds_before_it_creates(opened: Opened) -> None:
    with HubSpotServer(token=TOKEN, unique_on_engagements=False) as server:
        assert isinstance(server, HubSpotServer)
        company = server.add("companies", {"name": "Acme"})
        adapter = opened(server)
        assert set(adapter.setup().values()) == {"search"}
        server.faults = FaultPlan(at={server.requests + 1: "drop_after"})  # created, answer lost
        with pytest.raises(TransientError, match="disconnected"):  # not sent again: it may be there
            adapter.push("notes", [item("key-1", company, kind="note")])
        assert server.keys(PROPERTY) == {"key-1": 1}
        again = adapter.push("notes", [item("key-1", company, kind="note", retried=True)])
        assert again[0].ok
        assert server.keys(PROPERTY) == {"key-1": 1}
        assert server.count("notes/search") == 1 and server.count("notes/batch/update") == 1


def test_hubspot_association_errors_are_per_item_and_leave_no_orphan(
    hubspot: HubSpotServer, opened: Opened
) -> None:
    """Companies and contacts deleted in HubSpot since the pull: each item's error names its own missing
    record; an item still linked to its contact is kept and says so; one linked to nothing is removed."""
    companies = [hubspot.add("companies", {"name": f"C{n}"}) for n in range(4)]
    contacts = [hubspot.add("contacts", {"email": f"p{n}@c.com"}) for n in range(4)]
    adapter = opened(hubspot)
    adapter.setup()
    for gone in companies[1:]:
        hubspot.archive("companies", gone)
    hubspot.archive("contacts", contacts[3])
    batch = [
        item("kept", companies[0], contact=contacts[0]),
        item("contact-only", companies[1], contact=contacts[1]),
        item("no-contact", companies[2]),
        item("nothing-left", companies[3], contact=contacts[3]),
    ]
    kept, contact_only, no_contact, nothing_left = adapter.push("calls", batch)
    assert kept.ok and kept.note is None
    assert contact_only.ok and contact_only.note is not None
    assert "linked to its contact only" in contact_only.note and companies[1] in contact_only.note
    for result, named in ((no_contact, [companies[2]]), (nothing_left, [companies[3], contacts[3]])):
        assert result.refused and result.crm_id is None
        assert result.error is not None and "removed" in result.error
        assert all(f" {record}" in result.error for record in named)  # its own records, no other's
        others = set(companies[1:] + contacts[3:]) - set(named)
        assert not any(f" {record}" in result.error for record in others), result.error
    assert hubspot.keys(PROPERTY) == {"kept": 1, "contact-only": 1}  # no engagement left unlinked
    for engagement in hubspot.live("calls"):
        linked = hubspot.associated("calls", engagement["id"], "companies")
        assert linked | hubspot.associated("calls", engagement["id"], "contacts")


def test_hubspot_a_partial_association_answer_fails_each_item_its_own_way(
    hubspot: HubSpotServer, opened: Opened
) -> None:
    company = hubspot.add("companies", {"name": "Acme"})
    adapter = opened(hubspot)
    adapter.setup()
    hubspot.faults = FaultPlan(on_path={"associations": ["partial"]})
    results = adapter.push("calls", [item(f"key-{n}", company) for n in range(6)])
    assert [r.ok for r in results] == [True, False] * 3
    for result in results[1::2]:
        assert result.transient and result.crm_id is not None
        assert result.error is not None and f"calls {result.crm_id} to" in result.error
        assert sum(f"calls {other.crm_id} " in result.error for other in results) == 1
    again = adapter.push("calls", [item(f"key-{n}", company, retried=True) for n in range(6)])
    assert all(r.ok for r in again)
    assert all(hubspot.associated("calls", str(r.crm_id), "companies") == {company} for r in again)


def test_salesforce_pages_through_next_records_url(salesforce: SalesforceServer, opened: Opened) -> None:
    made = [salesforce.add("Account", {"Name": f"A{n}"}) for n in range(130)]
    salesforce.delete("Account", made[7])
    adapter = opened(salesforce)
    pages = list(adapter.pull_changes("accounts", None))
    assert [len(page) for page in pages] == [50, 50, 29]
    assert sorted(ids(pages)) == sorted(made[:7] + made[8:])
    assert [d.crm_id for page in adapter.pull_deletions("accounts", None) for d in page] == [made[7]]
    assert salesforce.count("/query/") == 2 and salesforce.count("/queryAll") == 1


def test_salesforce_refreshes_an_expired_session_once(salesforce: SalesforceServer, opened: Opened) -> None:
    salesforce.add("Account", {"Name": "A"})
    adapter = opened(salesforce)
    adapter.setup()
    salesforce.faults = FaultPlan(at={salesforce.requests + 1: "expire_session"})
    assert len(ids(list(adapter.pull_changes("accounts", None)))) == 1
    assert salesforce.issued == 2
    salesforce.faults = FaultPlan(at={salesforce.requests + n: "expire_session" for n in (1, 3)})
    with pytest.raises(AuthError, match="INVALID_SESSION_ID"):
        list(adapter.pull_changes("accounts", None))


def test_salesforce_bad_credentials_are_an_auth_error(salesforce: SalesforceServer, opened: Opened) -> None:
    with pytest.raises(AuthError, match="invalid_client") as refused:
        opened(salesforce, secret="wrong-secret-123").setup()
    assert "wrong-secret-123" not in str(refused.value)


def test_salesforce_upserts_in_order_and_drops_the_create_only_subtype(
    salesforce: SalesforceServer, opened: Opened
) -> None:
    account = salesforce.add("Account", {"Name": "A"})
    adapter = opened(salesforce)
    first = adapter.push("Task", [item("k1", account), item("k2", "001000000000999AAA")])
    assert first[0].ok and not first[1].ok and "INVALID_CROSS_REFERENCE_KEY" in (first[1].error or "")
    again = adapter.push("Task", [item("k1", account, retried=True)])
    assert again[0].crm_id == first[0].crm_id
    [(_sobject, record)] = salesforce.find("k1")
    assert record["TaskSubtype"] == "Call" and record["Status"] == "Completed"


def test_salesforce_limits(salesforce: SalesforceServer, opened: Opened) -> None:
    salesforce.add("Account", {"Name": "A"})
    adapter = opened(salesforce)
    salesforce.faults = FaultPlan(at={salesforce.requests + 2: "429"})  # the concurrent limit: wait, retry
    assert len(ids(list(adapter.pull_changes("accounts", None)))) == 1
    salesforce.faults = FaultPlan(at={salesforce.requests + 1: "daily_limit"})
    with pytest.raises(DailyLimitReached, match="TotalRequests"):
        list(adapter.pull_changes("accounts", None))


def test_salesforce_confirms_deletions_by_queries_short_enough_for_a_uri(
    salesforce: SalesforceServer, opened: Opened
) -> None:
    """`Id IN (...) AND IsDeleted = false`, 100 ids a query: 250 ids need three, none past the URI limit the
    server enforces (one query of all of them would be); an archived Task (a year old: live, but `query`
    leaves it out) is live."""
    ids = [salesforce.add("Account", {"Name": f"A{n}"}) for n in range(250)]
    for deleted in ids[::5]:
        salesforce.delete("Account", deleted)
    adapter = opened(salesforce)
    answer = adapter.confirm_deleted("Account", ids)

    assert answer.gone == set(ids[::5]) and answer.live == set(ids) - set(ids[::5])
    assert sum(path.endswith("/queryAll") for _n, _m, path, _s in salesforce.log) == 3  # then their pages
    old_task, deleted_task = (salesforce.add("Task", {"Subject": name}) for name in ("Old", "Gone"))
    salesforce.archive_activity("Task", old_task)
    salesforce.delete("Task", deleted_task)
    answer = adapter.confirm_deleted("Task", [old_task, deleted_task])
    assert answer.live == {old_task} and answer.gone == {deleted_task}
    long_query = "SELECT Id FROM Account WHERE Id IN ({})".format(", ".join(f"'{i}'" for i in ids * 3))
    with pytest.raises(PermanentError, match="414"):
        adapter.transport.request(
            "GET", f"{salesforce.url}/services/data/{VERSION}/query", params={"q": long_query}
        )


def test_salesforce_setup_names_the_missing_field(opened: Opened) -> None:
    with SalesforceServer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, external_id=None) as server:
        assert isinstance(server, SalesforceServer)
        with pytest.raises(PermanentError) as missing:
            opened(server).setup()
        assert "Cockpit_External_Id__c" in str(missing.value) and "Object Manager" in str(missing.value)
