"""Churn as the CRM records it: a company property (HubSpot) or an Account field (Salesforce) named in the
config becomes the account's churn day, and each change it makes is kept in the account's history."""

from __future__ import annotations

from pathlib import Path

from cockpit.store import Store
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

from .books import SYNC_DAY, hubspot_book, nightly, salesforce_book, settings_for, write_config


def churn_history(store: Store) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in store.db.execute(
            "SELECT a.name, h.value, h.changed_on, h.source FROM account_history h "
            "JOIN accounts a ON a.id = h.account_id WHERE h.field = 'churned_on' ORDER BY a.name, h.id"
        )
    ]


def test_hubspot_churn_property_is_pulled_when_configured(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    first, second = hubspot_book(hubspot, companies=2)
    hubspot.update("companies", first, {"churn_date": "2026-10-31"})
    plain = settings_for(write_config(tmp_path / "plain.toml", hubspot=hubspot.url))
    assert nightly(store, plain).exit_code == 0
    assert store.db.execute("SELECT count(*) FROM accounts WHERE churned_on IS NOT NULL").fetchone()[0] == 0

    config = write_config(
        tmp_path / "churn.toml", hubspot=hubspot.url, hubspot_extra={"churned_on_property": "churn_date"}
    )
    settings = settings_for(config)
    hubspot.update("companies", second, {"churn_date": "2026-11-20"})
    hubspot.update("companies", first, {"name": "Company 0"})  # modified again: the next pull reads it
    report = nightly(store, settings)
    assert report.exit_code == 0
    run_id = report.runs[0].run_id
    rows = store.db.execute("SELECT name, churned_on FROM accounts ORDER BY name").fetchall()
    assert [tuple(row) for row in rows] == [("Company 0", "2026-10-31"), ("Company 1", "2026-11-20")]
    day = SYNC_DAY.isoformat()
    assert churn_history(store) == [
        ("Company 0", "2026-10-31", day, f"sync:{run_id}"),
        ("Company 1", "2026-11-20", day, f"sync:{run_id}"),
    ]
    assert nightly(store, settings).exit_code == 0
    assert len(churn_history(store)) == 2  # pulled again, unchanged: nothing recorded


def test_salesforce_churn_field_is_pulled_when_configured(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    [account, _other] = salesforce_book(salesforce, accounts=2)
    salesforce.update("Account", account, {"Churned_On__c": "2026-09-30"})
    config = write_config(
        tmp_path / "c.toml", salesforce=salesforce.url, salesforce_extra={"churned_on_field": "Churned_On__c"}
    )
    report = nightly(store, settings_for(config))
    assert report.exit_code == 0
    assert [
        tuple(row) for row in store.db.execute("SELECT salesforce_id, churned_on FROM accounts ORDER BY 1")
    ] == [
        (account, "2026-09-30"),
        (_other, None),
    ]
    assert churn_history(store) == [
        ("Company 0", "2026-09-30", SYNC_DAY.isoformat(), f"sync:{report.runs[0].run_id}")
    ]


def churn_days(store: Store) -> list[tuple[object, ...]]:
    return [tuple(row) for row in store.db.execute("SELECT name, churned_on FROM accounts ORDER BY name")]


def test_a_churned_lifecycle_stage_sets_the_churn_day_and_a_later_one_reopens(
    store: Store, hubspot: HubSpotServer, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    """HubSpot's lifecycle stage and Salesforce's Type: moved to a churned stage (churned, closed lost, ...)
    the account churns on the day of the CRM's change; moved back to another stage, it is reopened."""
    [company, _live] = hubspot_book(hubspot, companies=2)
    hubspot.update("companies", company, {"lifecyclestage": "customer"})
    [account] = salesforce_book(salesforce, accounts=1)
    salesforce.update("Account", account, {"Name": "Salesforce Co", "Website": "https://sf.example"})
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url, salesforce=salesforce.url))
    assert nightly(store, settings).exit_code == 0
    assert [day for _name, day in churn_days(store)] == [None, None, None]

    hubspot.update("companies", company, {"lifecyclestage": "churned"})
    salesforce.update("Account", account, {"Type": "Closed Lost"})
    hubspot_day = str(hubspot.objects["companies"][company]["properties"]["hs_lastmodifieddate"])[:10]
    salesforce_day = str(salesforce.records["Account"][account]["SystemModstamp"])[:10]
    dry = nightly(store, settings, dry_run=True)
    assert [change.fields["churned_on"] for run in dry.runs for change in run.changes] == [
        (None, hubspot_day),
        (None, salesforce_day),
    ]
    report = nightly(store, settings)
    assert report.exit_code == 0, report.to_json()
    assert churn_days(store) == [
        ("Company 0", hubspot_day),
        ("Company 1", None),
        ("Salesforce Co", salesforce_day),
    ]

    hubspot.update("companies", company, {"lifecyclestage": "Churned"})  # still churned: the day stays
    assert nightly(store, settings).exit_code == 0
    assert churn_days(store)[0] == ("Company 0", hubspot_day)

    hubspot.update("companies", company, {"lifecyclestage": "customer"})
    salesforce.update("Account", account, {"Type": "Customer - Direct"})
    assert nightly(store, settings).exit_code == 0
    assert [day for _name, day in churn_days(store)] == [None, None, None]
    assert [(name, value) for name, value, _day, _source in churn_history(store)] == [
        ("Company 0", hubspot_day),
        ("Company 0", None),
        ("Salesforce Co", salesforce_day),
        ("Salesforce Co", None),
    ]


def test_a_churn_date_the_crm_records_rules_over_the_lifecycle_stage(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    [company] = hubspot_book(hubspot, companies=1)
    hubspot.update("companies", company, {"lifecyclestage": "churned", "churn_date": "2026-10-31"})
    config = write_config(
        tmp_path / "c.toml", hubspot=hubspot.url, hubspot_extra={"churned_on_property": "churn_date"}
    )
    assert nightly(store, settings_for(config)).exit_code == 0
    assert churn_days(store) == [("Company 0", "2026-10-31")]
