"""Requests in flight: a run's CRM requests go out from worker threads, while the store stays on the run's own
thread (the only one that writes, in short transactions, as before).

- `Window`: up to `size` jobs at once (a push's batches, each its write and then its associations); their
  results come back, as they finish, to the thread that submitted them.
- `Prefetch`: one paged pull read ahead on a thread of its own (a few pages at most) while the run stores the
  pages already here, in order; a page's own follow-up requests (HubSpot's association reads behind each
  engagement search) go out from workers while the next page's search does; every pull of a CRM shares one
  `slots` semaphore, so that no more than `sync.requests_in_flight` requests are out at once.

The HTTP underneath is thread-safe (`cockpit.crm.transport`): one client and one rate limiter for every
thread. Ctrl-C or SIGTERM (KeyboardInterrupt, raised on the run's thread) leaves at once: the work out is not
waited for (its answers are lost answers); the items it carried stay in flight in the store, and the next run
sends them again by their keys (an update), while a pull's watermarks have moved only with the pages stored.
For that, the run's thread never waits on work out for longer than `WAKE_SECONDS` at a time: a signal's
handler runs only once that thread is back in Python, and a wait on a lock is not cut short by a signal the
system handed to another thread (nor on every system by one handed to it), which would hold Ctrl-C for as long
as the request out takes, up to `sync.request_timeout_seconds`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from functools import partial
from typing import Any, Generic, TypeVar

from cockpit.crm.base import Unfinished

Key = TypeVar("Key")
Result = TypeVar("Result")
Page = TypeVar("Page", bound=Sequence[object])

WAKE_SECONDS = 0.1
"""How long the run's thread waits on work out before it looks whether a signal came (see the module doc)."""


def _apart(job: Callable[[], Result], name: str) -> Future[Result]:
    """`job` run on a daemon thread of its own, its outcome in the future returned. Not an executor's worker:
    Python waits for those as the program ends, so that a request still out when its work was given up (a
    listing failed, a daily limit, a database error) would hold up the end for as long as the request takes."""
    future: Future[Result] = Future()

    def run() -> None:
        try:
            future.set_result(job())
        except BaseException as error:  # handed to whoever reads the future
            future.set_exception(error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def _settled(futures: Iterable[Future[Any]]) -> set[Future[Any]]:
    """Wait until at least one of `futures` is done, in slices of `WAKE_SECONDS`; those done."""
    while True:
        done, _running = wait(futures, timeout=WAKE_SECONDS, return_when=FIRST_COMPLETED)
        if done:
            return done


class Window(Generic[Key, Result]):
    """At most `size` jobs running at once, each on a thread of its own (`_apart`); each known by its key.
    Jobs still out when the run leaves (an error, Ctrl-C) are abandoned, not waited for."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._out: dict[Future[Result], Key] = {}

    @property
    def out(self) -> int:
        """Jobs submitted and not yet handed back by `finished`."""
        return len(self._out)

    @property
    def full(self) -> bool:
        return len(self._out) >= self.size

    def submit(self, key: Key, job: Callable[[], Result]) -> None:
        self._out[_apart(job, self.name)] = key

    def finished(self) -> list[tuple[Key, Future[Result]]]:
        """Wait until at least one job out has finished; those finished, in the order they were submitted."""
        done = _settled(self._out)
        return [(self._out.pop(future), future) for future in list(self._out) if future in done]


class Prefetch(Generic[Page]):
    """The pages of `pages`, fetched on a thread of its own up to `depth` pages ahead of the reader; each
    request holds one of `slots` while it is out. A page that comes `Unfinished` (its search made, its
    association reads not) is finished on a thread of its own (`_apart`) while the next one is fetched, and
    handed to the reader in its order all the same. Iterate it once; `close` stops the fetching (a request
    already out ends by itself, and is dropped)."""

    def __init__(
        self, pages: Iterator[Page | Unfinished[Page]], *, depth: int, slots: threading.Semaphore, name: str
    ) -> None:
        self._queue: queue.Queue[Future[Page] | None] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._slots = slots
        self._name = name
        self._thread = threading.Thread(target=self._fetch, args=(pages,), name=name, daemon=True)
        self._thread.start()

    def _fetch(self, pages: Iterator[Page | Unfinished[Page]]) -> None:
        try:
            while not self._stop.is_set():
                with self._slots:
                    if self._stop.is_set():
                        return
                    page = next(pages, None)
                if page is None:
                    self._queue.put(None)
                    return
                if isinstance(page, Unfinished):
                    self._queue.put(_apart(partial(self._finish, page), f"{self._name}-finish"))
                else:
                    self._queue.put(_ready(page))
        except BaseException as error:  # handed to the reader, who raises it
            failed: Future[Page] = Future()
            failed.set_exception(error)
            self._queue.put(failed)

    def _finish(self, page: Unfinished[Page]) -> Page:
        with self._slots:
            if self._stop.is_set():
                raise CancelledError("the pull was closed before this page's turn")
            return page.finish()

    def __iter__(self) -> Iterator[Page]:
        while True:
            try:
                page = self._queue.get(timeout=WAKE_SECONDS)
            except queue.Empty:
                continue
            if page is None:
                return
            _settled([page])
            yield page.result()

    def close(self) -> None:
        self._stop.set()
        while True:  # make room, so that a fetcher waiting to hand over a page sees it should stop
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return


def _ready(page: Page) -> Future[Page]:
    future: Future[Page] = Future()
    future.set_result(page)
    return future
