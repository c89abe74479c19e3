"""The shared transport: retries, backoff, Retry-After, rate limits, the daily reserve, URLs and secrets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import keyring
import pytest
from keyring.backend import KeyringBackend

from cockpit.config import Settings
from cockpit.crm.hubspot import HubSpotAdapter
from cockpit.crm.secrets import MASK, Secret, load_secret, redact
from cockpit.crm.transport import (
    DailyLimitReached,
    InsecureUrl,
    PermanentError,
    RateLimiter,
    TransientError,
    check_url,
    retry_after,
)
from tests.crm_servers.base import FaultPlan
from tests.crm_servers.hubspot import HubSpotServer

from .books import TOKEN, settings_for, write_config


class Sleeps(list[float]):
    """Records each wait instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


MakeAdapter = Callable[..., HubSpotAdapter]


@pytest.fixture
def adapter_for(tmp_path: Path) -> Iterator[MakeAdapter]:
    """HubSpot adapters on a test server, with `sync` settings; closed after the test."""
    made: list[HubSpotAdapter] = []

    def make(server: HubSpotServer, sleep: Callable[[float], None], **sync: object) -> HubSpotAdapter:
        settings: Settings = settings_for(
            write_config(tmp_path / "c.toml", hubspot=server.url, sync=dict(sync))
        )
        made.append(HubSpotAdapter(settings, token=Secret(TOKEN, "test"), sleep=sleep))
        return made[-1]

    yield make
    for adapter in made:
        adapter.close()


def test_retry_after_is_honoured(hubspot: HubSpotServer, adapter_for: MakeAdapter) -> None:
    hubspot.retry_after = 3
    hubspot.faults = FaultPlan(at={1: "429"})
    sleeps = Sleeps()
    adapter = adapter_for(hubspot, sleeps)
    assert adapter.setup()["idempotency:notes"] == "unique"
    assert len(sleeps) == 1 and sleeps[0] == pytest.approx(3.0, abs=0.05)  # counted from the 429, once
    assert adapter.stats.retries == 1


def test_backoff_grows_exponentially_with_jitter(hubspot: HubSpotServer, adapter_for: MakeAdapter) -> None:
    hubspot.faults = FaultPlan(at={1: "503", 2: "500", 3: "502"})
    sleeps = Sleeps()
    adapter = adapter_for(hubspot, sleeps, backoff_initial_seconds=1.0, backoff_max_seconds=3.0)
    adapter.setup()
    assert len(sleeps) == 3
    for wait, ceiling in zip(sleeps, (1.0, 2.0, 3.0), strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_retries_run_out_into_a_transient_error(hubspot: HubSpotServer, adapter_for: MakeAdapter) -> None:
    hubspot.faults = FaultPlan(at=dict.fromkeys(range(1, 10), "drop"))
    adapter = adapter_for(hubspot, Sleeps(), max_retries=2)
    with pytest.raises(TransientError, match="failed"):
        adapter.setup()
    assert hubspot.requests == 3


def test_a_refused_request_is_not_retried(hubspot: HubSpotServer, adapter_for: MakeAdapter) -> None:
    hubspot.faults = FaultPlan(at={1: "echo_auth"})
    sleeps = Sleeps()
    with pytest.raises(PermanentError) as refused:
        adapter_for(hubspot, sleeps).setup()
    assert hubspot.requests == 1 and sleeps == []
    assert TOKEN not in str(refused.value) and MASK in str(refused.value)


def test_the_limiter_keeps_below_the_apps_limit_from_its_headers(
    hubspot: HubSpotServer, adapter_for: MakeAdapter
) -> None:
    hubspot.rate_limit, hubspot.interval_ms = 4, 150
    adapter = adapter_for(hubspot, time.sleep)  # really wait: the server counts real time
    for _ in range(3):
        adapter.setup()  # 5 requests each
    assert hubspot.rate_limited == 0
    assert adapter.transport.limiter is not None and adapter.transport.limiter.limit == 3


def test_rate_limiter_waits_for_the_window() -> None:
    moments = iter([0.0, 0.1, 0.2, 0.3, 1.3])
    sleeps = Sleeps()
    limiter = RateLimiter(3, 1.0, clock=lambda: next(moments))
    for _ in range(4):
        limiter.acquire(sleeps)
    assert len(sleeps) == 1 and sleeps[0] == pytest.approx(0.7)


def test_the_daily_reserve_stops_before_the_allowance_is_gone(
    hubspot: HubSpotServer, adapter_for: MakeAdapter
) -> None:
    hubspot.daily_limit = 20
    adapter = adapter_for(hubspot, Sleeps(), daily_quota_reserve=0.25)
    adapter.setup()  # 10 requests: each property looked up, then created
    adapter.setup()  # 5 more: looked up
    with pytest.raises(DailyLimitReached) as stopped:
        adapter.setup()
    assert hubspot.requests == 15  # stopped with 5 of 20 left, without sending another
    assert stopped.value.exit_code == 4


def test_a_daily_limit_answer_stops(hubspot: HubSpotServer, adapter_for: MakeAdapter) -> None:
    hubspot.faults = FaultPlan(at={2: "daily_limit"})
    with pytest.raises(DailyLimitReached, match="daily limit"):
        adapter_for(hubspot, Sleeps()).setup()
    assert hubspot.requests == 2


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.hubapi.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:1", True),
        ("http://[::1]:8080", True),
        ("http://api.hubapi.com", False),
        ("http://10.0.0.1", False),
        ("ftp://127.0.0.1", False),
    ],
)
def test_only_https_except_loopback(url: str, allowed: bool) -> None:
    if allowed:
        assert str(check_url(url)).startswith(url.split(":")[0])
    else:
        with pytest.raises(InsecureUrl):
            check_url(url)


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


def test_secrets_come_from_the_environment_then_the_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COCKPIT_HUBSPOT_TOKEN")
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        assert load_secret("COCKPIT_HUBSPOT_TOKEN") is None
        memory.set_password("cockpit", "COCKPIT_HUBSPOT_TOKEN", "from-the-keyring-77")
        found = load_secret("COCKPIT_HUBSPOT_TOKEN")
        assert found is not None and found.reveal() == "from-the-keyring-77"
        assert "from-the-keyring-77" not in repr(found) and "keyring" in found.source
        monkeypatch.setenv("COCKPIT_HUBSPOT_TOKEN", "from-the-env-42")
        found = load_secret("COCKPIT_HUBSPOT_TOKEN")
        assert found is not None and found.reveal() == "from-the-env-42"
        assert redact("x from-the-env-42 y from-the-keyring-77") == f"x {MASK} y {MASK}"
    finally:
        keyring.set_keyring(previous)


def test_a_retry_after_date_counts_from_the_answers_own_date() -> None:
    def answer(**headers: str) -> httpx.Response:
        return httpx.Response(429, headers=headers)

    sent = "Wed, 25 Nov 2026 09:00:00 GMT"
    assert retry_after(answer(**{"Retry-After": "Wed, 25 Nov 2026 09:00:07 GMT", "Date": sent})) == 7.0
    assert retry_after(answer(**{"Retry-After": "Wed, 25 Nov 2026 08:59:00 GMT", "Date": sent})) == 0.0
    assert retry_after(answer(**{"Retry-After": "Wed, 25 Nov 2026 09:00:07 GMT"})) is None
    assert retry_after(answer(**{"Retry-After": "12"})) == 12.0
    assert retry_after(answer()) is None
