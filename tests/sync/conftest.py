"""Test servers on 127.0.0.1 for each test, and the CRM secrets in the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

from .books import CLIENT_ID, CLIENT_SECRET, TOKEN


@pytest.fixture(autouse=True)
def crm_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCKPIT_HUBSPOT_TOKEN", TOKEN)
    monkeypatch.setenv("COCKPIT_SALESFORCE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("COCKPIT_SALESFORCE_CLIENT_SECRET", CLIENT_SECRET)


@pytest.fixture
def hubspot() -> Iterator[HubSpotServer]:
    with HubSpotServer(token=TOKEN) as server:
        assert isinstance(server, HubSpotServer)
        yield server


@pytest.fixture
def salesforce() -> Iterator[SalesforceServer]:
    with SalesforceServer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, page_size=50) as server:
        assert isinstance(server, SalesforceServer)
        yield server
