"""What the CRM test servers share: a real HTTP server on 127.0.0.1 in a thread, and faults on a schedule.

Faults are keyed by request number (1-based, every request the server receives): `429` (the vendor's
rate-limit answer), `500`/`502`/`503`, `timeout` (the server sleeps past the client's timeout, then does
the work anyway, as a real server does), `drop` (the connection closes before any work), `drop_after`
(the work is done, then the connection closes without an answer: the client cannot know it happened),
`partial` (a batch write does only part of its items and says so per item), and per vendor
`expire_session` or `daily_limit`, and `echo` (a careless server quoting the request back in its error, its
headers and body raw, URL-encoded and form-encoded: the client must redact every form of a secret). Faults aimed
at an endpoint (`on_path`) or at the requests a predicate picks (`on_request`: a SOQL query's object, say)
go to those requests in turn, whatever the order of the others. `hold_path` holds a client in the middle of its run: the requests to
such a path wait, received and not done, until the test lets them go. `slow_after` makes every later request take `slow_seconds`, so a test
can kill a client in the middle of its work. `before` and `after` run a test's own step as each request is
taken in and once it is done (before its answer goes back): the CRM changed at an exact point of a run.

`latency_seconds` stands for the network and the vendor's own time: half of it passes before a request is
taken in (and counted against the rate limit), half before its answer goes back. The server records when
each request was taken in and answered (`moments`) and the most requests it had at once (`most_at_once`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

TRANSIENT_STATUSES = {"500": 500, "502": 502, "503": 503}


@dataclass
class FaultPlan:
    at: dict[int, str] = field(default_factory=dict)
    """Request number -> fault."""
    on_path: dict[str, list[str]] = field(default_factory=dict)
    """Part of "METHOD /path" -> faults for the requests that contain it, in turn (the first such request
    gets the first fault, ...; "" is none): a fault aimed at one endpoint whatever the order of the others."""
    on_request: list[tuple[Callable[[Request], bool], list[str]]] = field(default_factory=list)
    """(which requests, faults): the same, for the requests a predicate picks (e.g. by a query's text, where
    the path is shared: every SOQL query goes to `query` or `queryAll`)."""
    timeout_seconds: float = 1.2
    """How long a `timeout` fault sleeps (set it past the client's request timeout)."""
    slow_after: int | None = None
    slow_seconds: float = 0.0
    slow_phase: str = "before"
    """`before`: the slow request has not been done when a client gives up; `after`: it has."""
    slow_path: str = ""
    """Only requests whose path contains this are slow."""
    hold_path: str | None = None
    """Requests whose path contains this wait until `release` is set (or a minute has passed)."""
    holding: threading.Event = field(default_factory=threading.Event)
    """Set once a request is held."""
    release: threading.Event = field(default_factory=threading.Event)
    before: Callable[[Request], None] | None = None
    """Run with each request as it is taken in, before it is done (outside the server's lock)."""
    after: Callable[[Request], None] | None = None
    """Run with each request once it is done, before its answer goes back."""

    @classmethod
    def cycle(cls, kinds: Iterable[str], *, start: int, every: int, count: int, **options: Any) -> FaultPlan:
        """`count` faults from request `start` on, one every `every` requests, cycling through `kinds`."""
        order = list(kinds)
        return cls(at={start + i * every: order[i % len(order)] for i in range(count)}, **options)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


DROP = Reply(0)
"""Close the connection without answering."""


def echoed(request: Request) -> str:
    """The request quoted back as a careless server does: raw, URL-encoded (`quote`) and form-encoded."""
    raw = f"{dict(request.headers)} {request.body.decode('utf-8', 'replace')}"
    return f"could not process {raw}; as received: {quote(raw)}; form: {quote_plus(raw)}"


def now() -> datetime:
    return datetime.now(UTC)


class CrmServer:
    """Subclasses implement `handle` (the vendor's endpoints) and `fault_reply` (its faults)."""

    def __init__(self, faults: FaultPlan | None = None) -> None:
        self.faults = faults or FaultPlan()
        self.lock = threading.RLock()
        self.requests = 0
        self.log: list[tuple[int, str, str, int]] = []
        """(number, method, path, status) of every request done (answered or not)."""
        self.latency_seconds = 0.0
        self.moments: dict[int, tuple[float, float]] = {}
        """Request number -> (taken in, answered), `time.monotonic()`."""
        self.most_at_once = 0
        self._at_once = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.crm = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CrmServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> CrmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, path_part: str, method: str | None = None) -> int:
        """Requests answered whose path contains `path_part` (and of `method`)."""
        with self.lock:
            return sum(
                1 for _n, m, path, _s in self.log if path_part in path and (method is None or m == method)
            )

    # Dispatch -------------------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Reply:
        with self.lock:
            self._at_once += 1
            self.most_at_once = max(self.most_at_once, self._at_once)
        try:
            time.sleep(self.latency_seconds / 2)
            with self.lock:
                self.requests += 1
                number = self.requests
                fault = self.faults.at.get(number) or self._path_fault(request)
                taken_in = time.monotonic()
            reply = self._answer(number, fault, request)
            time.sleep(self.latency_seconds / 2)
            with self.lock:
                self.moments[number] = (taken_in, time.monotonic())
            return reply
        finally:
            with self.lock:
                self._at_once -= 1

    def _path_fault(self, request: Request) -> str | None:
        """The next fault aimed at this request (by its method and path, or a predicate), if any (the lock
        held)."""
        for part, faults in self.faults.on_path.items():
            if part in f"{request.method} {request.path}" and faults:
                return faults.pop(0)
        for picks, faults in self.faults.on_request:
            if faults and picks(request):
                return faults.pop(0)
        return None

    def _answer(self, number: int, fault: str | None, request: Request) -> Reply:
        slow = (
            self.faults.slow_after is not None
            and number > self.faults.slow_after
            and self.faults.slow_path in request.path
        )
        if slow and self.faults.slow_phase == "before":
            time.sleep(self.faults.slow_seconds)
        if fault == "drop":
            return DROP
        if fault == "timeout":
            time.sleep(self.faults.timeout_seconds)
        if self.faults.hold_path is not None and self.faults.hold_path in request.path:
            self.faults.holding.set()
            self.faults.release.wait(timeout=60)
        if self.faults.before is not None:
            self.faults.before(request)
        if fault is not None and fault not in ("timeout", "drop_after", "partial"):
            reply = self.fault_reply(fault, request)
            if reply is not None:
                return self._logged(number, request, reply)
        with self.lock:
            reply = self._logged(number, request, self.handle(request, partial=fault == "partial"))
        if self.faults.after is not None:
            self.faults.after(request)
        if slow and self.faults.slow_phase == "after":
            time.sleep(self.faults.slow_seconds)
        return DROP if fault == "drop_after" else reply

    def _logged(self, number: int, request: Request, reply: Reply) -> Reply:
        with self.lock:
            self.log.append((number, request.method, request.path, reply.status))
        return reply

    def fault_reply(self, fault: str, request: Request) -> Reply | None:
        if fault in TRANSIENT_STATUSES:
            return Reply(TRANSIENT_STATUSES[fault], {"message": "Service unavailable, try again"})
        return None

    def handle(self, request: Request, *, partial: bool) -> Reply:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as they are written, not 40 ms apart

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client went away mid-request (killed)
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        server: CrmServer = self.server.crm  # type: ignore[attr-defined]
        reply = server.dispatch(Request(self.command, parts.path, query, dict(self.headers.items()), body))
        if reply is DROP:
            self.close_connection = True
            return
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout fault)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Quiet: the server keeps its own log."""
