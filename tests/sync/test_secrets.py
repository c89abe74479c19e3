"""Dirty secrets: refused on load by name (never by value), and every form of a secret kept out of every
output: stdout, stderr, logs, the run's report and the raw bytes of the database file."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner, Result

from cockpit.cli import app
from cockpit.crm.secrets import MASK, redact, remember
from cockpit.store import Store
from tests.crm_servers.base import FaultPlan
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer

from .books import (
    CLIENT_ID,
    TOKEN,
    add_interactions,
    assert_nowhere,
    forms,
    hubspot_book,
    salesforce_book,
    write_config,
)

runner = CliRunner()
SIGNED_SECRET = "cl1ent+secret/with=signs&more=="
"""A client secret with every character that URL and form encoding change."""


def outputs(store: Store, results: list[Result], caplog: pytest.LogCaptureFixture) -> list[bytes]:
    """Everything a run leaves behind: stdout and stderr, logs, and the database file's raw bytes."""
    texts = [(result.stdout + result.stderr).encode() for result in results] + [caplog.text.encode()]
    store.close()
    files = [store.path, store.path.with_name(store.path.name + "-wal")]
    return texts + [path.read_bytes() for path in files if path.exists()]


@pytest.mark.parametrize(
    "dirty",
    [TOKEN + "\n", TOKEN + "\r\n", " " + TOKEN, TOKEN.replace("-", "\x07", 1), TOKEN.replace("e", "é", 1)],
    ids=["newline", "crlf", "leading-space", "control-char", "non-ascii"],
)
def test_a_dirty_token_is_refused_on_load_naming_the_variable_never_the_value(
    store: Store,
    hubspot: HubSpotServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    dirty: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("COCKPIT_HUBSPOT_TOKEN", dirty)
    hubspot_book(hubspot, companies=2)
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url)
    base = ["--db", str(store.path), "--config", str(config)]
    synced = runner.invoke(app, ["sync", "--json", *base])
    doctor = runner.invoke(app, ["doctor", *base])
    assert synced.exit_code == 2, synced.output
    assert synced.exception is None or isinstance(synced.exception, SystemExit)  # no traceback
    assert "COCKPIT_HUBSPOT_TOKEN" in synced.stderr
    assert hubspot.requests == 0  # nothing went out with it
    assert doctor.exit_code != 0
    assert "FAIL  crm hubspot" in doctor.stdout and "COCKPIT_HUBSPOT_TOKEN" in doctor.stdout
    assert_nowhere(dirty, outputs(store, [synced, doctor], caplog))


def test_every_form_of_a_secret_a_server_echoes_is_redacted(
    store: Store,
    hubspot: HubSpotServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("COCKPIT_SALESFORCE_CLIENT_SECRET", SIGNED_SECRET)
    hubspot_book(hubspot, companies=2)
    with SalesforceServer(client_id=CLIENT_ID, client_secret=SIGNED_SECRET) as salesforce:
        assert isinstance(salesforce, SalesforceServer)
        salesforce_book(salesforce, accounts=2)
        config = write_config(tmp_path / "c.toml", hubspot=hubspot.url, salesforce=salesforce.url)
        base = ["--db", str(store.path), "--config", str(config)]
        results = [runner.invoke(app, ["sync", "--json", *base])]
        add_interactions(store, 6)
        # Both servers quote the request back (headers, form body) raw, URL-encoded and form-encoded.
        hubspot.faults = FaultPlan(at={hubspot.requests + n: "echo" for n in range(1, 40)})
        # Salesforce: the next run's token request (its form body), then the run after's first query.
        salesforce.faults = FaultPlan(at={salesforce.requests + 1: "echo", salesforce.requests + 3: "echo"})
        results += [
            runner.invoke(app, ["sync", "--json", *base]),
            runner.invoke(app, ["sync", *base]),
            runner.invoke(app, ["sync", "status", "--json", *base]),
        ]
        tokens = sorted(salesforce.tokens)
    shown = "".join(result.stdout for result in results)
    assert "could not process" in shown and "as received" in shown  # the echoes did happen
    found = outputs(store, results, caplog)
    for secret in [TOKEN, SIGNED_SECRET, *tokens]:
        assert_nowhere(secret, found)


def test_redaction_covers_the_raw_stripped_url_and_form_encoded_forms() -> None:
    secret = "Zq9+/=&ü-redaction-probe"
    remember(secret)
    for form in [*forms(secret), quote(secret).lower(), secret.replace("/", "\\/")]:
        assert redact(f"before {form} after") == f"before {MASK} after", form
