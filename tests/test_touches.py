"""What counts as a CSM's touch: the rule (`cockpit.domain.touches`), and the two readers of it in the store
(scoring facts and outreach planning), which find exactly the touches the rule they are given names."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import product
from pathlib import Path
from typing import get_args

import pytest

from cockpit import resources
from cockpit.config import load_settings
from cockpit.demo import load_seeds
from cockpit.domain.names import DirectionName, InteractionKindName
from cockpit.domain.touches import CSM_TOUCHES
from cockpit.services.scoring import run_scoring, windows
from cockpit.store import Store, open_store
from cockpit.store.db import build_database
from cockpit.store.outreach import latest_run, plan_accounts
from cockpit.store.scoring import account_facts
from tests.clocks import at

TODAY = date(2026, 11, 22)
EVERY_PAIR = list(product(get_args(InteractionKindName), get_args(DirectionName)))


def test_calls_meetings_qbrs_and_emails_sent_are_touches() -> None:
    counted = {pair: pair in CSM_TOUCHES for pair in EVERY_PAIR}
    assert set(CSM_TOUCHES) <= set(EVERY_PAIR)  # no kind or direction the records do not hold
    for kind in ("call", "meeting", "qbr"):
        assert all(counted[kind, direction] for direction in get_args(DirectionName)), kind
    assert counted["email", "outbound"]
    assert not counted["email", "inbound"] and not counted["email", "internal"]
    assert not any(counted["note", direction] for direction in get_args(DirectionName))


@pytest.fixture(scope="module")
def touched_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scored demo book, and one interaction of every kind and direction, each the newest of its own
    account (on a day of its own)."""
    path = tmp_path_factory.mktemp("touches") / "demo.db"

    def fill(store: Store) -> None:
        load_seeds(store, resources.seeds_dir(), today=TODAY)
        with store.write() as db:
            accounts = [row[0] for row in db.execute("SELECT id FROM accounts ORDER BY id LIMIT 30")]
            for number, ((kind, direction), account) in enumerate(
                zip(EVERY_PAIR, accounts[-15:], strict=False)
            ):
                on = TODAY - timedelta(days=number % 3)
                db.execute(
                    "INSERT INTO interactions (id, account_id, kind, direction, occurred_at, summary, sync_key, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'touch?', ?, ?, ?)",
                    [
                        f"int-t{number}",
                        account,
                        kind,
                        direction,
                        f"{on}T08:00:00+00:00",
                        f"k-t{number}",
                        on,
                        on,
                    ],
                )
        run_scoring(store, load_settings(), TODAY, clock=at(TODAY))

    build_database(path, fill)
    return path


def last_touches(store: Store, rule: frozenset[tuple[str, str]]) -> dict[str, date]:
    """The day of each account's newest interaction that the rule names, found in Python."""
    found: dict[str, date] = {}
    for account, kind, direction, occurred_at in store.db.execute(
        "SELECT account_id, kind, direction, occurred_at FROM interactions"
    ):
        day = date.fromisoformat(occurred_at[:10])
        if (kind, direction) in rule and day <= TODAY:
            found[account] = max(day, found.get(account, day))
    return found


@pytest.mark.parametrize(
    "rule", [CSM_TOUCHES, frozenset({("note", "internal"), ("email", "inbound")})], ids=["csm", "other"]
)
def test_the_store_finds_the_touches_its_rule_names(
    touched_book: Path, rule: frozenset[tuple[str, str]]
) -> None:
    store = open_store(touched_book)
    try:
        expected = last_touches(store, rule)
        facts = account_facts(store.db, TODAY, replace(windows(load_settings()), csm_touches=rule))
        run = latest_run(store.db, TODAY)
        assert run is not None
        planned = plan_accounts(store.db, run[0], TODAY, 30, rule)
    finally:
        store.close()
    assert len(expected) > 15
    assert {account.account_id: account.last_csm_touch for account in facts} == {
        account.account_id: expected.get(account.account_id) for account in facts
    }
    assert {account.id: account.facts["days_since_touch"] for account in planned} == {
        account.id: None if account.id not in expected else (TODAY - expected[account.id]).days
        for account in planned
    }
