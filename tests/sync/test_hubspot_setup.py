"""HubSpot setup is idempotent: a lost answer to the property create is not a failed first night, and a
property of the same name with the wrong definition is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.store import Store
from cockpit.store import sync as store_sync
from tests.crm_servers.base import FaultPlan
from tests.crm_servers.hubspot import ENGAGEMENTS, VERSION, HubSpotServer

from .books import PROPERTY, TOKEN, hubspot_book, nightly, settings_for, write_config


@pytest.mark.parametrize("unique", [True, False], ids=["unique", "fallback"])
def test_a_lost_answer_to_the_property_create_is_not_a_failed_first_night(
    store: Store, tmp_path: Path, unique: bool
) -> None:
    with HubSpotServer(token=TOKEN, unique_on_engagements=unique) as hubspot:
        assert isinstance(hubspot, HubSpotServer)
        hubspot_book(hubspot, companies=3)
        # The create of the calls property is done, its answer lost: the retry hears "already exists".
        # (Without unique properties, the first create is refused for asking one, the second is done.)
        lost = ["drop_after"] if unique else ["", "drop_after"]
        hubspot.faults = FaultPlan(on_path={f"POST /crm/properties/{VERSION}/calls": lost})
        settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
        report = nightly(store, settings)
        [run] = report.runs
        assert report.exit_code == 0, run.errors
        assert hubspot.count(f"/properties/{VERSION}/calls", "POST") >= 2  # the lost answer and the retry
    assert run.counts["inserted"] == 6  # pulled: 3 companies, 3 contacts
    mode = "unique" if unique else "search"
    assert store_sync.crm_state(store.db, "hubspot") == {f"idempotency:{t}": mode for t in ENGAGEMENTS}


def test_a_property_of_the_same_name_with_another_definition_is_a_clear_error(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    hubspot_book(hubspot, companies=2)
    hubspot.properties["calls"][PROPERTY] = {
        "name": PROPERTY,
        "label": "Someone else's number",
        "type": "number",
        "fieldType": "number",
        "groupName": "callinformation",
        "hasUniqueValue": False,
    }
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    report = nightly(store, settings)
    [run] = report.runs
    assert report.exit_code == 1 and run.status == "failed"
    [error] = run.errors
    assert f"calls property {PROPERTY}" in error and "'number'" in error and "string" in error
    assert store_sync.crm_state(store.db, "hubspot") == {}  # nothing remembered: the next run checks again
