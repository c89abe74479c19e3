"""Salesforce calls and emails keep their type (`TaskSubtype`, accepted on create only) whatever happens to
the first attempt: create or update is decided from what Salesforce holds for the sync key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.store import Store
from tests.crm_servers.base import FaultPlan
from tests.crm_servers.salesforce import SalesforceServer

from .books import (
    add_interactions,
    add_outreach,
    expected_subtypes,
    nightly,
    salesforce_book,
    settings_for,
    subtypes_of,
    write_config,
)

TASK_WRITES = "/composite/sobjects/Task/"


@pytest.mark.parametrize("fault", ["partial", "drop", "drop_after", "timeout"])
def test_calls_and_emails_keep_their_type_whatever_happened_to_the_first_attempt(
    store: Store, salesforce: SalesforceServer, tmp_path: Path, fault: str
) -> None:
    salesforce_book(salesforce, accounts=3)
    settings = settings_for(write_config(tmp_path / "c.toml", salesforce=salesforce.url))
    assert nightly(store, settings).exit_code == 0
    keys = add_interactions(store, 15)
    outreach = add_outreach(store, 6)
    # The first Task write: half refused for a lock / never done / done but unanswered / answered too late.
    salesforce.faults = FaultPlan(on_path={TASK_WRITES: [fault]})
    report = nightly(store, settings)
    [run] = report.runs
    assert report.exit_code == 0, run.errors
    assert run.counts["push_errors"] == 0
    assert subtypes_of(salesforce, keys + outreach) == expected_subtypes(15, 6)
