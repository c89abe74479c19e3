"""Records merged in a CRM: the losing record is marked deleted and names the local record it was merged
into (HubSpot's `hs_merged_object_ids` on the record that remains, Salesforce's `MasterRecordId` on the
deleted one), the run counts it, and nothing else of the book moves."""

from __future__ import annotations

import json
from pathlib import Path

from cockpit.store import Store
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer
from tests.hostile import cockpit

from .books import hubspot_book, nightly, salesforce_book, settings_for, write_config


def _merge_of(
    store: Store, table: str, column: str, crm_id: str
) -> tuple[str | None, str | None, str | None]:
    """(deleted_at, the name of the record it was merged into, the CRM) of the record with this CRM id."""
    name = "w.name" if table == "accounts" else "w.email"
    row = store.db.execute(
        f"SELECT r.deleted_at, {name}, m.crm FROM {table} r LEFT JOIN merged_records m ON m.tbl = ? "
        f"AND m.local_id = r.id LEFT JOIN {table} w ON w.id = m.winner_id WHERE r.{column} = ?",
        [table, crm_id],
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def test_a_hubspot_merge_is_recorded_even_when_the_archived_listing_never_names_it(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """Two companies (and two contacts) merged in HubSpot, the merged-away ones never in the archived
    listing: the pull of the one that remains names them, so each is marked deleted and merged into it,
    counted once (the next run, which reads the same `hs_merged_object_ids`, counts nothing)."""
    [kept, merged] = hubspot_book(hubspot, companies=2)
    contacts = {r["properties"]["email"]: r["id"] for r in hubspot.live("contacts")}
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    hubspot.merge("companies", merged, kept, listed=False)
    hubspot.merge("contacts", contacts["pat0@company1.com"], contacts["pat0@company0.com"], listed=False)
    dry = nightly(store, settings, dry_run=True)
    assert [(c.action, c.crm_id) for c in dry.runs[0].changes if c.action == "merge"] == [
        ("merge", merged),
        ("merge", contacts["pat0@company1.com"]),
    ]
    assert _merge_of(store, "accounts", "hubspot_id", merged) == (None, None, None)

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    [run] = report.runs
    assert run.counts["merged"] == 2
    deleted_at, winner, crm = _merge_of(store, "accounts", "hubspot_id", merged)
    assert deleted_at is not None
    assert (winner, crm) == ("Company 0", "hubspot")
    assert _merge_of(store, "accounts", "hubspot_id", kept) == (None, None, None)
    loser = _merge_of(store, "contacts", "hubspot_id", contacts["pat0@company1.com"])
    assert loser[1:] == ("pat0@company0.com", "hubspot")
    assert any("merged into" in note for note in run.notes)
    code, out, _err = cockpit("accounts", "show", merged, "--db", str(store.path))
    assert code == 0, out
    assert f"merged into Company 0 in HubSpot on {deleted_at[:10]}: marked deleted" in out
    assert nightly(store, settings).runs[0].counts["merged"] == 0


def test_a_hubspot_merge_into_a_new_record_lands_on_the_book_s_record(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """HubSpot's changelog: a merge of companies makes a new record with a new id, both old ids merged into
    it. The book's record of the first merged id the book holds takes the new id (no new account), the
    other is merged into it; the archived listing names both old ids, and neither is left unconfirmed."""
    [primary, secondary] = hubspot_book(hubspot, companies=2)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    count = store.db.execute("SELECT count(*) FROM accounts").fetchone()[0]
    result = hubspot.merge("companies", secondary, primary, new_id=True)

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    [run] = report.runs
    assert (run.counts["merged"], run.counts["inserted"], run.counts["deletions_unconfirmed"]) == (1, 0, 0)
    assert store.db.execute("SELECT count(*) FROM accounts").fetchone()[0] == count
    assert _merge_of(store, "accounts", "hubspot_id", result) == (None, None, None)
    assert _merge_of(store, "accounts", "hubspot_id", secondary)[1:] == ("Company 0", "hubspot")


def test_a_salesforce_merge_s_losing_account_names_its_winner(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    """Salesforce deletes a merge's losing account with `MasterRecordId` naming the winner: marked deleted
    (as any deletion) and merged into the winner's record of the book."""
    [winner, loser] = salesforce_book(salesforce, accounts=2)
    settings = settings_for(write_config(tmp_path / "c.toml", salesforce=salesforce.url))
    assert nightly(store, settings).exit_code == 0
    salesforce.merge("Account", loser, winner)

    report = nightly(store, settings)

    assert report.exit_code == 0, report.to_json()
    [run] = report.runs
    assert (run.counts["deleted"], run.counts["merged"]) == (1, 1)
    deleted_at, name, crm = _merge_of(store, "accounts", "salesforce_id", loser)
    assert deleted_at is not None
    assert (name, crm) == ("Company 0", "salesforce")
    code, out, _err = cockpit("accounts", "show", loser, "--db", str(store.path))
    assert code == 0, out
    assert f"merged into Company 0 in Salesforce on {deleted_at[:10]}" in out
    code, out, _err = cockpit("accounts", "show", loser, "--json", "--db", str(store.path))
    assert json.loads(out)["merged"]["winner_name"] == "Company 0"
    assert _merge_of(store, "accounts", "salesforce_id", winner) == (None, None, None)


def test_a_salesforce_merge_undone_from_the_recycle_bin_is_shown_live_and_can_be_merged_again(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    """The losing account undeleted: live again, no longer shown as merged; merged again later, recorded
    again."""
    [winner, loser] = salesforce_book(salesforce, accounts=2)
    settings = settings_for(write_config(tmp_path / "c.toml", salesforce=salesforce.url))
    assert nightly(store, settings).exit_code == 0
    salesforce.merge("Account", loser, winner)
    assert nightly(store, settings).runs[0].counts["merged"] == 1
    salesforce.undelete("Account", loser)

    assert nightly(store, settings).exit_code == 0

    assert _merge_of(store, "accounts", "salesforce_id", loser)[0] is None
    code, out, _err = cockpit("accounts", "show", loser, "--db", str(store.path))
    assert code == 0 and "merged" not in out
    salesforce.merge("Account", loser, winner)
    assert nightly(store, settings).runs[0].counts["merged"] == 1
