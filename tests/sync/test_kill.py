"""kill -9 in the middle of a push, then the next run: nothing lost, nothing twice in the CRM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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
    expected_subtypes,
    hubspot_book,
    nightly,
    salesforce_book,
    settings_for,
    subtypes_of,
    waiting,
    write_config,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def command(db: Path, config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cockpit", "sync", "--db", str(db), "--config", str(config), *args]


def cockpit(db: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(db, config, *args), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def pushes(store: Store, state: str) -> int:
    return int(store.db.execute("SELECT count(*) FROM sync_pushes WHERE state = ?", [state]).fetchone()[0])


def kill_mid_push(server: CrmServer, writes: str, store: Store, config: Path) -> None:
    """Start a sync whose batch writes (paths with `writes`) the server does, then answers late; kill the
    process once it has stored the outcome of a batch while others are out, waiting for their answers."""
    server.faults = FaultPlan(
        slow_after=server.requests, slow_seconds=0.2, slow_phase="after", slow_path=writes
    )
    process = subprocess.Popen(
        command(store.path, config), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while not (pushes(store, "synced") and pushes(store, "in_flight")):
        assert process.poll() is None, "the sync ended before it was killed"
        assert time.monotonic() < deadline, "the sync never stored a batch with others out"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    server.faults = FaultPlan()


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_a_killed_run_resumes_without_loss_or_duplicates(
    store: Store, hubspot: HubSpotServer, salesforce: SalesforceServer, tmp_path: Path, crm: str
) -> None:
    db = store.path
    if crm == "hubspot":
        hubspot_book(hubspot, companies=10)
        config = write_config(tmp_path / "c.toml", hubspot=hubspot.url, hubspot_extra={"batch_size": 20})
        server: CrmServer = hubspot
        writes = "batch/upsert"
    else:
        salesforce_book(salesforce, accounts=10)
        config = write_config(
            tmp_path / "c.toml", salesforce=salesforce.url, salesforce_extra={"batch_size": 25}
        )
        server = salesforce
        writes = "composite/sobjects"
    assert nightly(store, settings_for(config)).exit_code == 0
    keys = add_interactions(store, 150) + add_outreach(store, 12)

    kill_mid_push(server, writes, store, config)
    in_flight = pushes(store, "in_flight")
    assert in_flight > 0  # killed between sending a batch and storing its answer
    assert 0 < waiting(store) < len(keys)

    finished = cockpit(db, config, "--json")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    report = json.loads(finished.stdout)
    assert report["runs"][0]["counts"]["resumed"] >= in_flight
    found = hubspot.keys(PROPERTY) if crm == "hubspot" else salesforce.keys()
    exactly_once(found, keys)
    if crm == "salesforce":  # calls and emails kept their type through the kill and the resend
        assert subtypes_of(salesforce, keys) == expected_subtypes(150, 12)
    assert waiting(store) == 0
    statuses = [row[0] for row in store.db.execute("SELECT status FROM sync_runs ORDER BY id")]
    assert statuses == ["ok", "failed", "ok"]  # the killed run is marked interrupted


def test_ctrl_c_in_the_middle_of_a_push_says_what_is_recorded(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """Ctrl-C while a batch is at the CRM: exit 130 and an honest account (what was pulled and pushed is
    recorded, the next run carries on), no traceback; the next run then pushes everything exactly once."""
    hubspot_book(hubspot, companies=10)
    config = write_config(
        tmp_path / "c.toml",
        hubspot=hubspot.url,
        hubspot_extra={"batch_size": 20},
        sync={"request_timeout_seconds": 60},
    )
    assert nightly(store, settings_for(config)).exit_code == 0
    keys = add_interactions(store, 50)
    hubspot.faults = FaultPlan(hold_path="batch/upsert")
    process = subprocess.Popen(
        command(store.path, config),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert hubspot.faults.holding.wait(timeout=60), "the sync never pushed"
        os.killpg(process.pid, signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    finally:
        hubspot.faults.release.set()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted; the sync stopped part way. What it pulled and pushed is recorded" in err
    hubspot.faults = FaultPlan()
    finished = cockpit(store.path, config)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    exactly_once(hubspot.keys(PROPERTY), keys)
    assert waiting(store) == 0
