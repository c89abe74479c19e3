"""A CRM pull and an import disagree on an account field: the newer value by the sources' own modified
times stays, whichever lands last, and each value's source is kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cockpit.services.importing import ImportOptions, run_import
from cockpit.store import Store
from cockpit.store.provenance import field_sources
from tests.clocks import at
from tests.crm_servers.hubspot import HubSpotServer

from .books import SYNC_DAY, nightly, settings_for, write_config

SALESFORCE_REPORT = """Account ID,Account Name,Website,Account Owner,Last Modified Date
001A000001aBcDe,Company 0,https://www.company0.com,Robin,2026-11-20T10:00:00Z
001A000002QrStU,Company 1,https://www.company1.com,Sam,2026-11-20T10:00:00Z
"""


def test_a_pulled_value_older_than_the_stored_one_does_not_replace_it(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url)
    settings = settings_for(config)
    report = tmp_path / "salesforce-accounts.csv"
    report.write_text(SALESFORCE_REPORT, encoding="utf-8")
    options = ImportOptions(kind="accounts", profile="salesforce-accounts")
    assert run_import(store, settings, [str(report)], options, clock=at(SYNC_DAY)).committed
    owners = [hubspot.add_owner(first, "Owner", f"{first}@example.com") for first in ("Old", "New")]
    for number, (owner, day) in enumerate(zip(owners, (10, 24), strict=True)):
        hubspot.add(
            "companies",
            {"name": f"Company {number}", "domain": f"company{number}.com", "hubspot_owner_id": owner},
            modified=datetime(2026, 11, day, 12, tzinfo=UTC),
        )
    assert nightly(store, settings).exit_code == 0
    assert store.db.execute("SELECT owner FROM accounts ORDER BY name").fetchall() == [
        ("Robin",),  # HubSpot's owner was set on the 10th, Salesforce's on the 20th
        ("New Owner",),  # HubSpot's on the 24th
    ]
    ids = [row[0] for row in store.db.execute("SELECT id FROM accounts ORDER BY name")]
    sources = [
        {source.field: (source.system, source.modified_at) for source in field_sources(store.db, account_id)}
        for account_id in ids
    ]
    assert sources[0]["owner"] == ("salesforce", "2026-11-20T10:00:00+00:00")
    assert sources[1]["owner"] == ("hubspot", "2026-11-24T12:00:00+00:00")
