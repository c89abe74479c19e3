"""Stopping a sync with Ctrl-C or SIGTERM while requests are out: the run's thread leaves at once (the answers
not come are lost answers), the store is left as after any stop, and the next run ends the work with nothing
twice in the CRM.

The first tests hand the signal to a worker thread, as some systems do (and a lock's wait on others is not cut
short by a signal at all): the run's thread must see it while the request is still held, not once it ends.
The others run the real CLI against a test server that holds a request until the test lets it go: stopped
by a signal, or by a daily limit in another listing, it ends without waiting for the held request.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from cockpit.crm.base import Unfinished
from cockpit.services.sync.flight import Prefetch, Window
from cockpit.store import Store
from cockpit.store import sync as store_sync
from tests.crm_servers.base import FaultPlan, Request
from tests.crm_servers.hubspot import HubSpotServer
from tests.processes import wait_until

from .books import (
    PROPERTY,
    add_interactions,
    exactly_once,
    hubspot_book,
    log_engagement,
    nightly,
    settings_for,
    waiting,
    write_config,
)
from .test_kill import cockpit, command, pushes

ROOT = Path(__file__).resolve().parents[2]
HELD_SECONDS = 30.0
"""How long a held request waits for the test to let it go, at most (a run that waits for it fails the test
after that long, not never)."""


class Stopped(Exception):
    """What the test's Ctrl-C handler raises on the run's thread."""


class Held:
    """A request held by the test: `hold` (on a worker) says where it runs and waits to be let go."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()
        self.ended = threading.Event()
        self.thread = 0

    def hold(self) -> None:
        self.thread = threading.get_ident()
        self.holding.set()
        self.release.wait(HELD_SECONDS)
        self.ended.set()


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """Ctrl-C raises `Stopped` on the run's (the main) thread while the test runs."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise Stopped

    before = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def waiting_in(function: str) -> bool:
    """Whether the main thread is in `flight`'s `function` (waiting on the work out)."""
    frame: FrameType | None = sys._current_frames().get(threading.main_thread().ident or 0)
    while frame is not None:
        if frame.f_code.co_name == function and frame.f_code.co_filename.endswith("flight.py"):
            return True
        frame = frame.f_back
    return False


def ctrl_c_on_the_worker(held: Held, function: str) -> threading.Thread:
    """Once the request is held and the run's thread waits on it in `function`, Ctrl-C handed by the system
    to the worker thread that holds the request."""

    def send() -> None:
        assert held.holding.wait(HELD_SECONDS)
        wait_until(lambda: waiting_in(function), f"the run's thread waiting in {function}")
        signal.pthread_kill(held.thread, signal.SIGINT)

    sender = threading.Thread(target=send)
    sender.start()
    return sender


def test_a_push_waiting_for_a_batch_sees_ctrl_c_while_the_batch_is_still_out(ctrl_c: None) -> None:
    held = Held()
    try:
        window = Window[str, None](2, "test-push")
        window.submit("batch", held.hold)
        ctrl_c_on_the_worker(held, "finished")
        with pytest.raises(Stopped):
            window.finished()
        assert not held.ended.is_set()
    finally:
        held.release.set()


@pytest.mark.parametrize("waiting_on", ["its search", "its association reads"])
def test_a_pull_waiting_for_a_page_sees_ctrl_c_while_the_page_is_still_out(
    ctrl_c: None, waiting_on: str
) -> None:
    held = Held()

    def page() -> list[int]:
        held.hold()
        return [1]

    def pages() -> Iterator[list[int] | Unfinished[list[int]]]:
        yield page() if waiting_on == "its search" else Unfinished(page)

    prefetch = Prefetch(pages(), depth=2, slots=threading.BoundedSemaphore(4), name="test-pull")
    try:
        ctrl_c_on_the_worker(held, "__iter__")
        with pytest.raises(Stopped):
            list(prefetch)
        assert not held.ended.is_set()
    finally:
        prefetch.close()
        held.release.set()


REQUEST_TIMEOUT_SECONDS = 60
"""The CLI's request timeout: the test server lets a held request go after as long (a minute)."""
STOP_SECONDS = 20.0
"""How long a stopped CLI may take to end before the test fails: long for a busy machine, and well under the
minute it would take if it waited for the held request."""
STOPPED = {
    signal.SIGINT: (130, "interrupted; the sync stopped part way. What it pulled and pushed is recorded"),
    signal.SIGTERM: (-signal.SIGTERM, "interrupted (SIGTERM); the sync stopped part way."),
}
"""The exit (a return code, as `subprocess` gives it) and the line of each signal."""


def stop_while_held(
    server: HubSpotServer, path: str, store: Store, config: Path, stop: signal.Signals
) -> None:
    """`cockpit sync` run with the server holding its requests to `path`; `stop` sent to it, as a terminal or
    systemd does, once one is held. It ends soon, with the signal's exit and line and no traceback."""
    server.faults = FaultPlan(hold_path=path)
    process = subprocess.Popen(
        command(store.path, config),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.faults.holding.wait(HELD_SECONDS), f"the sync never sent {path}"
        os.killpg(process.pid, stop)
        _out, err = process.communicate(timeout=STOP_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        server.faults.release.set()  # the held requests are done now, their answers lost
    code, line = STOPPED[stop]
    assert process.returncode == code, err
    assert line in err
    assert "Traceback" not in err
    server.faults = FaultPlan()


def hubspot_config(hubspot: HubSpotServer, tmp_path: Path, in_flight: int = 4) -> Path:
    return write_config(
        tmp_path / "c.toml",
        hubspot=hubspot.url,
        hubspot_extra={"batch_size": 20},
        sync={"request_timeout_seconds": REQUEST_TIMEOUT_SECONDS, "requests_in_flight": in_flight},
    )


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_push_stopped_while_its_batches_are_out_ends_at_once_and_the_next_run_sends_each_item_once(
    store: Store, hubspot: HubSpotServer, tmp_path: Path, stop: signal.Signals
) -> None:
    """The batches' answers never came: their items stay in flight, and the next run sends them again by
    their keys (HubSpot did the held writes once let go: an update, not a second record)."""
    hubspot_book(hubspot, companies=10)
    config = hubspot_config(hubspot, tmp_path)
    assert nightly(store, settings_for(config)).exit_code == 0
    keys = add_interactions(store, 50)
    stop_while_held(hubspot, "batch/upsert", store, config, stop)
    in_flight = pushes(store, "in_flight")  # the batches marked before the stop (every one held)
    assert in_flight > 0
    assert pushes(store, "synced") == 0
    finished = cockpit(store.path, config, "--json")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert json.loads(finished.stdout)["runs"][0]["counts"]["resumed"] == in_flight
    exactly_once(hubspot.keys(PROPERTY), keys)
    assert waiting(store) == 0


@pytest.mark.slow
def test_a_pull_stopped_while_a_page_is_out_keeps_its_watermark_and_the_next_run_pulls_the_page(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """SIGTERM while the new contacts' page is out: the contacts' watermark stays where the stored pages put
    it, so the next run pulls them, each once."""
    companies = hubspot_book(hubspot, companies=3)
    config = hubspot_config(hubspot, tmp_path)
    assert nightly(store, settings_for(config)).exit_code == 0
    mark = store_sync.watermark(store.db, "hubspot", "contacts")
    for number, company in enumerate(companies):
        hubspot.add(
            "contacts",
            {"firstname": "New", "email": f"new{number}@company{number}.com", "associatedcompanyid": company},
        )
    stop_while_held(hubspot, "contacts/search", store, config, signal.SIGTERM)
    assert store_sync.watermark(store.db, "hubspot", "contacts") == mark
    assert cockpit(store.path, config).returncode == 0
    emails = [row[0] for row in store.db.execute("SELECT email FROM contacts ORDER BY email")]
    assert emails == sorted(record["properties"]["email"] for record in hubspot.live("contacts"))


@pytest.mark.slow
def test_a_pull_stopped_by_a_daily_limit_while_an_association_read_is_out_ends_without_waiting_for_it(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """The contacts' search meets HubSpot's daily limit while an engagement page's association read is held:
    the run stops cleanly (exit 4), its report out, and the program ends, the read left unanswered."""
    companies = hubspot_book(hubspot, companies=3)
    config = hubspot_config(hubspot, tmp_path, in_flight=8)  # every listing out at once
    assert nightly(store, settings_for(config)).exit_code == 0
    for number, company in enumerate(companies):
        log_engagement(hubspot, "calls", company, {"hs_call_title": f"Call {number}"})
    faults = FaultPlan(hold_path="calls/companies/batch/read", on_path={"contacts/search": ["daily_limit"]})

    def limit_once_the_read_is_held(request: Request) -> None:
        if "contacts/search" in request.path:
            faults.holding.wait(HELD_SECONDS)

    faults.before = limit_once_the_read_is_held
    hubspot.faults = faults
    try:
        stopped = subprocess.run(
            command(store.path, config),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=STOP_SECONDS,
            check=False,
        )
    finally:
        faults.release.set()
    assert faults.holding.is_set()
    assert stopped.returncode == 4, stopped.stdout + stopped.stderr
    assert "daily" in stopped.stdout and "stopped cleanly" in stopped.stdout
