"""HubSpot's fallback mode (a portal that refuses a unique property): a create whose answer was lost is looked
for again only once search can see it, so a lagging search index does not make a second copy."""

from __future__ import annotations

from pathlib import Path

from cockpit.store import Store
from tests.crm_servers.base import FaultPlan
from tests.crm_servers.hubspot import VERSION, HubSpotServer

from .books import (
    PROPERTY,
    TOKEN,
    add_interactions,
    exactly_once,
    hubspot_book,
    nightly,
    settings_for,
    write_config,
)

LAG = 0.4
"""Seconds the test server's search trails its writes."""


def test_a_lost_create_is_not_made_twice_while_search_lags(store: Store, tmp_path: Path) -> None:
    with HubSpotServer(token=TOKEN, unique_on_engagements=False, search_lag_seconds=LAG) as hubspot:
        assert isinstance(hubspot, HubSpotServer)
        hubspot_book(hubspot, companies=3)
        config = write_config(
            tmp_path / "c.toml", hubspot=hubspot.url, hubspot_extra={"search_lag_seconds": LAG + 0.2}
        )
        settings = settings_for(config)
        assert nightly(store, settings).exit_code == 0
        keys = add_interactions(store, 10)
        # The first note create is done, its answer lost; the next pass looks for it at once.
        hubspot.faults = FaultPlan(on_path={f"/objects/{VERSION}/notes/batch/create": ["drop_after"]})
        report = nightly(store, settings)
        [run] = report.runs
        assert report.exit_code == 0, run.errors
        exactly_once(hubspot.keys(PROPERTY), keys)
        assert any("waited" in note and "search" in note for note in run.notes), run.notes
        for note in hubspot.live("notes"):
            assert hubspot.associated("notes", note["id"], "companies")
