"""Fixed, deterministic books for the TUI tests, and the orders SQL must put them in."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, TypeVar

from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.screen import Screen
from textual.worker import WorkerCancelled, WorkerFailed

from cockpit.store import Store
from cockpit.tui.screens.book import BookScreen

ScreenT = TypeVar("ScreenT", bound=Screen[Any])

_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne",
    "Soylent", "Vandelay", "Aperture", "Oscorp", "Monarch", "Massive", "Gringotts", "Nakatomi", "Virtucon", "Duff",
)  # fmt: skip
_SUFFIXES = ("Ltd", "Inc", "GmbH", "Labs", "Group", "Systems", "Partners", "Holdings")
_OWNERS = ("Ana Souza", "Ben Okafor", "Chloe Martin", "Dev Patel", None)
_PLANS = ("Starter", "Growth", "Scale", "Enterprise", None)
BOOK_DAY = date(2026, 6, 1)
"""The day the TUI tests' app believes it is (the books renew through 2026)."""


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    owner: str | None
    plan: str | None
    mrr: float
    renewal_date: str


def make_accounts(count: int) -> list[Account]:
    """`count` accounts with unique ASCII names and unique MRRs (up to 10,007 accounts)."""
    accounts = []
    for i in range(count):
        name = f"{_WORDS[i % len(_WORDS)]} {_SUFFIXES[i // len(_WORDS) % len(_SUFFIXES)]}"
        if i >= len(_WORDS) * len(_SUFFIXES):
            name += f" {i // (len(_WORDS) * len(_SUFFIXES))}"
        accounts.append(
            Account(
                id=f"acc-{i:05d}",
                name=name,
                owner=_OWNERS[i % len(_OWNERS)],
                plan=_PLANS[i // 3 % len(_PLANS)],
                mrr=float((i * 7919) % 10007 * 3 + 49),
                renewal_date=(date(2026, 1, 1) + timedelta(days=i * 37 % 365)).isoformat(),
            )
        )
    return accounts


def insert_accounts(store: Store, accounts: list[Account]) -> None:
    with store.write() as db:
        db.conn.executemany(
            "INSERT INTO accounts (id, name, domain, owner, plan, mrr, renewal_date, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00')",
            [(a.id, a.name, f"{a.id}.example.com", a.owner, a.plan, a.mrr, a.renewal_date) for a in accounts],
        )


def _text(value: str | None) -> tuple[bool, str]:
    """SQLite's order for a NOCASE text column: NULL first, then ASCII case-folded."""
    return (value is not None, (value or "").lower())


_SORT_VALUE: dict[str, Callable[[Account], Any]] = {
    "name": lambda a: _text(a.name),
    "owner": lambda a: _text(a.owner),
    "plan": lambda a: _text(a.plan),
    "mrr": lambda a: a.mrr,
    "renewal_date": lambda a: a.renewal_date,
}


def in_book_order(accounts: list[Account], sort: str, *, descending: bool = False) -> list[Account]:
    """The order the book's pages read (`fetch_book_after`, `fetch_book_before`, `fetch_book_page`): the sort column, then ties by name and id, always ascending."""
    by_tie = sorted(accounts, key=lambda a: (a.name.lower(), a.id))
    return sorted(by_tie, key=_SORT_VALUE[sort], reverse=descending)


async def settle(pilot: Pilot[None]) -> None:
    """Wait until no worker is running and every message has been handled.

    Quiet twice in a row, each check after a pause in which every widget handles what it had queued: a
    message handled during one check's pause may post another (a key, then the search, then a worker).
    The pause alone says "idle" when the process merely waited for a busy CPU, so the queues are looked at.
    A failed worker is not an error here: the app reports it, and the tests look at the report. Nor is a
    cancelled one: an exclusive worker (the watch for changes) cancels the one it replaces.
    """
    app = pilot.app
    quiet = 0
    for _ in range(200):
        for worker in list(app.workers):
            with suppress(WorkerFailed, WorkerCancelled):
                await worker.wait()
        await pilot.pause()
        quiet = quiet + 1 if _is_quiet(app) else 0
        if quiet == 2:
            return
    raise AssertionError("the app never settled")


def _is_quiet(app: App[None]) -> bool:
    """No worker running and no message waiting, in the app or in any widget of its screens."""
    pumps: list[MessagePump] = [app]
    for screen in app.screen_stack:
        pumps += screen.walk_children(with_self=True)
    return all(worker.is_finished for worker in app.workers) and not any(
        pump.message_queue_size for pump in pumps
    )


async def press_to(pilot: Pilot[None], key: str, kind: type[ScreenT]) -> ScreenT:
    """Press `key` once the app has settled; the screen it opened, which must be a `kind`."""
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    return screen


async def run_command(pilot: Pilot[None], title: str) -> None:
    """Run the book's command-palette command of this title, once the app has settled."""
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, BookScreen)
    commands = {command.title: command for command in screen.commands()}
    commands[title].callback()
    await settle(pilot)


def notices(
    messages: list[Message], severity: Literal["information", "warning", "error"]
) -> list[tuple[str, str]]:
    """The (title, text) of the notices of `severity` among the app's messages (a `message_hook`'s list)."""
    return [
        (m.notification.title, m.notification.message)
        for m in messages
        if isinstance(m, Notify) and m.notification.severity == severity
    ]
