"""One HTTP client for every CRM adapter: timeouts, retries with backoff, client-side rate limits, typed errors.

A request is retried on 429, on 408/423/477 and 5xx answers, on timeouts and on dropped connections, up to
`sync.max_retries` times, waiting `Retry-After` when the CRM sends it and otherwise an exponential backoff
with jitter. Everything else is an error of a type the sync engine acts on: `DailyLimitReached` stops the
run cleanly, `AuthError` and `PermanentError` are reported, `TransientError` leaves the work for a retry.
Each vendor subclass reads its own rate-limit headers and error bodies (`observe`, `classify`, `describe`).

Only https URLs are accepted, except for loopback hosts (the test servers); redirects are never followed.
Every message is passed through `secrets.redact` (every `CrmError` redacts its own), so no secret reaches an
error, a report or a log in any form.
"""

from __future__ import annotations

import ipaddress
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from cockpit.config import SyncSettings
from cockpit.crm.secrets import redact
from cockpit.errors import CockpitError, ConfigError

Sleep = Callable[[float], None]


class CrmError(CockpitError):
    """A CRM answered in a way the run cannot get past by retrying now. Its message and hint are redacted
    (`secrets.redact`) as it is made, so no error that leaves the transport can carry a secret."""

    title = "CRM error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(redact(message), hint=None if hint is None else redact(hint))


class AuthError(CrmError):
    title = "CRM authentication failed"


class PermanentError(CrmError):
    """The CRM refused the request as it is (400, 403, 404 ...); retrying the same request will not help."""

    title = "CRM refused the request"

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


class TransientError(CrmError):
    """Timeouts, dropped connections or 5xx answers that outlasted every retry: try again later."""

    title = "CRM unavailable"


class RateLimited(TransientError):
    title = "CRM rate limit"


class DailyLimitReached(CrmError):
    """The daily API allowance is used up (or down to the configured reserve): stop, resume another day."""

    title = "CRM daily limit reached"
    exit_code = 4


class InsecureUrl(ConfigError):
    title = "Insecure CRM address"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str | httpx.URL) -> httpx.URL:
    """The URL, if it is https, or http to a loopback host; anything else is refused."""
    parsed = httpx.URL(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and is_loopback(parsed.host)):
        return parsed
    raise InsecureUrl(
        f"{parsed.scheme}://{parsed.host}: CRM addresses must use https (plain http only to a loopback host).",
        hint="Fix the URL in your config ([crm.*] base_url / instance_url).",
    )


class RateLimiter:
    """At most `limit` requests in any `window` seconds, counted over our own sends (a sliding window), and
    none while paused: a 429's Retry-After holds back every request of the run, not only the one refused.
    Shared by every thread that sends (`limit` None: no cap of its own, only the pauses)."""

    def __init__(
        self, limit: int | None, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = None if limit is None else max(1, limit)
        self.window = window
        self._clock = clock
        self._sent: deque[float] = deque()
        self._paused_until = -math.inf
        self._slept_to = -math.inf
        """A sleep is taken to have lasted as long as asked, whatever the clock says (an injected sleep)."""
        self._lock = threading.Lock()

    def adjust(self, limit: int, window: float) -> None:
        with self._lock:
            self.limit, self.window = max(1, limit), window

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` from now (a later pause may make it longer, never shorter)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def acquire(self, sleep: Sleep) -> float:
        """Wait until one more request fits, and count it; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = max(self._clock(), self._slept_to)
                ready = self._ready(now)
                if ready <= now:
                    self._sent.append(max(now, self._sent[-1]) if self._sent else now)
                    return waited
            sleep(ready - now)
            waited += ready - now
            with self._lock:
                self._slept_to = max(self._slept_to, ready)

    def _ready(self, now: float) -> float:
        """When the next request may go (the lock held)."""
        ready = max(now, self._paused_until)
        if self.limit is None:
            return ready
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            # It may go once enough of the window's sends have aged out.
            ready = max(ready, self._sent[len(self._sent) - self.limit] + self.window)
        return ready


@dataclass(frozen=True)
class Retry:
    """A failed attempt worth retrying: the error if retries run out, and how long the CRM asked to wait."""

    error: CrmError
    wait: float | None = None


@dataclass(frozen=True)
class Refresh:
    """The session expired: get a new token once, then repeat the request."""

    error: AuthError


Outcome = Retry | Refresh | None

RETRY_STATUSES = frozenset({408, 423, 477, 500, 502, 503, 504, 521, 522, 523, 524})


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds, or an HTTP date counted from the answer's own
    `Date`, so that a skewed local clock does not matter), if there is one."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
        sent = parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError):
        return None  # without the server's Date there is nothing to count from: back off as usual
    return max(0.0, (when - sent).total_seconds())


@dataclass
class TransportStats:
    requests: int = 0
    """HTTP requests sent, retries included."""
    retries: int = 0
    waited_seconds: float = 0.0
    """Time spent in backoff and in the rate limiter (summed over the threads that waited)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, requests: int = 0, retries: int = 0, waited: float = 0.0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.waited_seconds += waited


class Transport:
    """An httpx client bound to one CRM host. Subclasses know their vendor's headers and error bodies.

    Thread-safe: a run sends several requests at once from worker threads over the one client (httpx's
    connection pool is shared), all paced by the one `limiter`."""

    vendor = "CRM"

    def __init__(
        self,
        base_url: str,
        settings: SyncSettings,
        *,
        limiter: RateLimiter | None = None,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = check_url(base_url.rstrip("/"))
        self.settings = settings
        self.limiter = limiter or RateLimiter(None, 1.0)
        self.stats = TransportStats()
        self._sleep = sleep
        self._daily: tuple[int, int] | None = None
        """(used, allowed) today, from the vendor's headers."""
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(settings.request_timeout_seconds, connect=settings.connect_timeout_seconds),
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    # Vendor hooks -------------------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {}

    def refresh(self) -> bool:
        """Get a new session after a 401; False if this vendor's credentials cannot be refreshed."""
        return False

    def observe(self, response: httpx.Response) -> None:
        """Read the rate-limit and quota headers of any answer."""

    def describe(self, response: httpx.Response) -> tuple[str, str | None]:
        """The error message and code in a failed answer's body."""
        return response.text[:300], None

    def classify(self, response: httpx.Response) -> Outcome:
        """None for success; a Retry or Refresh; or raise the error the answer means."""
        status = response.status_code
        if status < 300:
            return None
        message, code = self.describe(response)
        text = redact(f"{self.vendor} answered {status}: {message}")
        if status == 429:
            return Retry(RateLimited(text), retry_after(response))
        if status in RETRY_STATUSES:
            return Retry(TransientError(text), retry_after(response))
        if status == 401:
            return Refresh(AuthError(text, hint="Check the CRM credentials (see `cockpit doctor`)."))
        if status == 403:
            raise AuthError(text, hint="The credentials lack a permission (scope) this sync needs.")
        raise PermanentError(text, status=status, code=code)

    # Quota ----------------------------------------------------------------------------------------

    def record_daily(self, used: int, allowed: int) -> None:
        self._daily = (used, allowed)

    def daily_remaining(self) -> tuple[int, int] | None:
        """(remaining, allowed) API calls today, when the vendor told us."""
        if self._daily is None:
            return None
        used, allowed = self._daily
        return max(0, allowed - used), allowed

    def _check_quota(self) -> None:
        remaining = self.daily_remaining()
        if remaining is None:
            return
        left, allowed = remaining
        if allowed and left <= allowed * self.settings.daily_quota_reserve:
            raise DailyLimitReached(
                f"{self.vendor}: {left:,} of {allowed:,} daily API calls left, at the reserve "
                f"(sync.daily_quota_reserve = {self.settings.daily_quota_reserve:g}); stopping cleanly.",
                hint="The next run carries on where this one stopped.",
            )

    # Requests -------------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        growth: float = self.settings.backoff_initial_seconds * 2.0**attempt
        return min(self.settings.backoff_max_seconds, growth) * random.uniform(0.5, 1.0)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.add(waited=seconds)
            self._sleep(seconds)

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        data: Mapping[str, str] | None = None,
        limiter: RateLimiter | None = None,
        authenticated: bool = True,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send one request, retrying what is worth retrying; the answer is a success (2xx) or an error.

        A request that is not `idempotent` (a create) is retried only when it surely did not reach the
        CRM (it could not connect, or was rate limited); after a timeout, a dropped answer or a 5xx its
        outcome is unknown, so the error goes to the caller, which looks before it sends it again.

        A rate-limit answer pauses the request's limiters, so that every request of the run waits, not
        only this one."""
        if "://" in url:
            check_url(url)
        # The request's own gate first: the transport's window is the one a late stamp would stretch.
        gates = [gate for gate in (limiter, self.limiter) if gate is not None]
        refreshed = False
        attempt = 0
        while True:
            self._check_quota()
            for gate in gates:
                self.stats.add(waited=gate.acquire(self._sleep))
            self.stats.add(requests=1)
            headers = self.auth_headers() if authenticated else {}
            failure: CrmError
            wait: float | None = None
            unsent = False
            try:
                response = self._client.request(
                    method, url, json=json, params=params, data=data, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                unsent = True
                failure = TransientError(
                    f"{self.vendor}: {method} {_path(url)}: cannot connect: {redact(str(error)) or type(error).__name__}"
                )
            except httpx.TimeoutException:
                failure = TransientError(f"{self.vendor}: {method} {_path(url)} timed out")
            except httpx.TransportError as error:
                failure = TransientError(
                    f"{self.vendor}: {method} {_path(url)} failed: {redact(str(error)) or type(error).__name__}"
                )
            else:
                self.observe(response)
                outcome = self.classify(response)
                if outcome is None:
                    return response
                if isinstance(outcome, Refresh):
                    if authenticated and not refreshed and self.refresh():
                        refreshed = True
                        continue
                    raise outcome.error
                failure, wait = outcome.error, outcome.wait
                unsent = isinstance(failure, RateLimited)
            if attempt >= self.settings.max_retries or not (idempotent or unsent):
                raise failure
            attempt += 1
            self.stats.add(retries=1)
            pause = wait if wait is not None else self._backoff(attempt - 1)
            if isinstance(failure, RateLimited):
                for gate in gates:
                    gate.pause(pause)  # waited out in `acquire`, by this request and every other
            else:
                self._wait(pause)


def _path(url: str) -> str:
    """The path of a URL without its query (which may be long, e.g. a SOQL query)."""
    return url.split("?", 1)[0]


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise TransientError(
            f"answer to {response.request.method} {response.request.url.path} is not JSON"
        ) from None
