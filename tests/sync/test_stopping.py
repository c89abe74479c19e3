"""Stopping a sync with Ctrl-C or SIGTERM while requests are out: the run's thread leaves at once (the answers
not come are lost answers), the store is left as after any stop, and the next run ends the work with nothing
twice in the CRM.

The first tests hand the signal to a worker thread, as some systems do (and a lock's wait on others is not cut
short by a signal at all): the run's thread must see it while the request is still held, not once it ends.
The others run the real CLI against a test server that holds a request until the test lets it go.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from cockpit.crm.base import Unfinished
from cockpit.services.sync.flight import Prefetch, Window
from tests.processes import wait_until

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
        with pytest.raises(Stopped), Window[str, None](2, "test-push") as window:
            window.submit("batch", held.hold)
            ctrl_c_on_the_worker(held, "finished")
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
