"""Planning again skips the accounts nothing happened to since the last plan, and plans exactly as planning
every account would."""

from __future__ import annotations

import random
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import Settings
from cockpit.demo import generate_into_store
from cockpit.services.outreach import PlanReport, cancel, plan, snooze
from cockpit.services.scoring import run_scoring
from cockpit.store import Store, open_store
from cockpit.store.db import build_database
from tests.clocks import at

from .builders import TODAY, defaults, tune

ITEMS = (
    "SELECT id, account_id, contact_id, playbook, channel, subject, body, status, due_on, snoozed_until, "
    "dedupe_key, reason, priority FROM outreach ORDER BY id"
)
SKIPS = (
    "SELECT account_id, contact_id, playbook, dedupe_key, reason, trigger_values FROM outreach_skips "
    "ORDER BY account_id, dedupe_key, contact_id, playbook"
)


def one(store: Store, query: str, *params: Any) -> Any:
    return store.db.execute(query, params).fetchone()[0]


def replan(store: Store, day: date = TODAY, settings: Settings | None = None) -> PlanReport:
    return plan(store, settings or defaults(), as_of=day, clock=at(day))


def log_touch(
    store: Store, contact_id: str, day: date, kind: str = "call", direction: str = "outbound"
) -> None:
    """An interaction with the contact on the day (a call: a CSM's touch; an inbound email only a touch of the
    contact, for the contact policy)."""
    with store.write() as db:
        account_id = one(store, "SELECT account_id FROM contacts WHERE id = ?", contact_id)
        key = f"{contact_id}-{day}-{kind}-{direction}"
        db.execute(
            "INSERT INTO interactions (id, account_id, contact_id, kind, direction, occurred_at, summary, sync_key, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'logged', ?, ?, ?)",
            [key, account_id, contact_id, kind, direction, f"{day}T10:00:00", key, day, day],
        )


def drafted_contact(store: Store) -> tuple[str, str, date]:
    """(contact, item, due day) of an email draft the first plan queued."""
    row = store.db.execute(
        "SELECT contact_id, id, due_on FROM outreach WHERE status = 'draft' AND channel = 'email' ORDER BY id"
    ).fetchone()
    return row[0], row[1], date.fromisoformat(row[2])


def test_a_second_plan_the_same_day_plans_no_account_and_leaves_the_queue_and_skips(demo: Store) -> None:
    first = replan(demo)
    items, skips = demo.db.execute(ITEMS).fetchall(), demo.db.execute(SKIPS).fetchall()
    assert first.unchanged == 0 and first.counts()["queued"] > 0 and skips
    second = replan(demo)
    assert (second.accounts, second.fired, second.unchanged) == (
        0,
        0,
        one(demo, "SELECT count(*) FROM accounts"),
    )
    assert demo.db.execute(ITEMS).fetchall() == items
    assert demo.db.execute(SKIPS).fetchall() == skips, "the skips of the accounts not planned again stay"


def test_a_replan_reads_only_the_accounts_changed_since_and_plans_them_again(demo: Store) -> None:
    first = replan(demo)
    accounts = one(demo, "SELECT count(*) FROM accounts")
    nothing = replan(demo)
    assert (nothing.accounts, nothing.counts(), nothing.unchanged) == (
        0,
        dict.fromkeys(nothing.counts(), 0),
        accounts,
    )
    queued = {d.account_id for d in first.queued}
    scored = [
        row[0]
        for row in demo.db.execute(
            "SELECT account_id FROM scores WHERE run_id = ? ORDER BY account_id", [first.score_run]
        )
    ]
    # A row changed (a score), a row deleted (an entitlement) and a row added (a call), each of another account.
    risky = next(account_id for account_id in scored if account_id not in queued)
    entitled = one(demo, "SELECT account_id FROM entitlements WHERE account_id <> ? ORDER BY 1", risky)
    contact_id = one(
        demo, "SELECT id FROM contacts WHERE account_id NOT IN (?, ?) ORDER BY id", risky, entitled
    )
    with demo.write() as db:
        db.execute(
            "UPDATE scores SET churn_risk = 0.97, churn_tier = 'high', health = 12, health_band = 'red' "
            "WHERE run_id = ? AND account_id = ?",
            [first.score_run, risky],
        )
        db.execute(
            "DELETE FROM entitlements WHERE rowid = (SELECT min(rowid) FROM entitlements WHERE account_id = ?)",
            [entitled],
        )
    log_touch(demo, contact_id, TODAY)
    marked = {row[0] for row in demo.db.execute("SELECT account_id FROM plan_changes")}
    assert marked == {risky, entitled}, "rows changed or deleted are marked; a row added is past its mark"
    again = replan(demo)
    assert (again.accounts, again.unchanged) == (3, accounts - 3)
    assert risky in {d.account_id for d in again.queued} | {s.account_id for s in again.skipped}
    assert replan(demo).accounts == 0


def test_without_its_change_triggers_a_book_is_read_whole_and_plans_the_same(demo: Store) -> None:
    replan(demo)
    with demo.write() as db:
        db.execute("DROP TRIGGER plan_changes_contacts_update")
    contact_id, _, _ = drafted_contact(demo)
    with demo.write() as db:
        db.execute("UPDATE contacts SET email_opt_in = 0 WHERE id = ?", [contact_id])
    again = replan(demo)
    assert (again.accounts, again.unchanged) == (1, one(demo, "SELECT count(*) FROM accounts") - 1)
    assert one(demo, "SELECT count(*) FROM plan_state") == 0
    assert replan(demo).accounts == 0


def test_a_dry_run_skips_the_unchanged_accounts_and_stores_no_fingerprint(demo: Store) -> None:
    dry = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY), dry_run=True)
    assert dry.accounts > 0 and one(demo, "SELECT count(*) FROM plan_fingerprints") == 0
    replan(demo)
    assert plan(demo, defaults(), as_of=TODAY, clock=at(TODAY), dry_run=True).accounts == 0


@pytest.mark.parametrize(("kind", "direction"), [("call", "outbound"), ("email", "inbound")])
def test_a_new_touch_plans_its_account_again_and_only_it(demo: Store, kind: str, direction: str) -> None:
    replan(demo)
    contact_id, item_id, due = drafted_contact(demo)
    log_touch(demo, contact_id, due, kind, direction)
    again = replan(demo)
    assert again.accounts == 1
    assert again.unchanged == one(demo, "SELECT count(*) FROM accounts") - 1
    # The touch on the draft's day leaves no gap to it: the draft moves (or goes).
    assert item_id in {d.item_id for d in again.updated} | {c.item_id for c in again.cancelled}
    assert replan(demo).accounts == 0


def test_a_consent_change_plans_its_account_again_and_the_draft_goes_to_someone_else_or_away(
    demo: Store,
) -> None:
    replan(demo)
    contact_id, _, _ = drafted_contact(demo)
    with demo.write() as db:
        db.execute("UPDATE contacts SET email_opt_in = 0 WHERE id = ?", [contact_id])
    again = replan(demo)
    assert again.accounts == 1
    assert not demo.db.execute(
        "SELECT id FROM outreach WHERE contact_id = ? AND status = 'draft' AND channel = 'email'",
        [contact_id],
    ).fetchall(), "no email draft is left for a contact who opted out"


def test_a_score_change_plans_its_account_again(demo: Store) -> None:
    first = replan(demo)
    quiet = next(
        account_id
        for (account_id,) in demo.db.execute(
            "SELECT account_id FROM scores WHERE run_id = ? ORDER BY account_id", [first.score_run]
        )
        if account_id not in {d.account_id for d in first.queued}
    )
    with demo.write() as db:
        db.execute(
            "UPDATE scores SET churn_risk = 0.97, churn_tier = 'high', health = 12, health_band = 'red' "
            "WHERE run_id = ? AND account_id = ?",
            [first.score_run, quiet],
        )
    again = replan(demo)
    assert again.accounts == 1
    assert {d.account_id for d in again.queued} | {s.account_id for s in again.skipped} == {quiet}


def test_a_change_of_templates_or_playbooks_plans_every_account_again(demo: Store) -> None:
    first = replan(demo)
    templates = dict(defaults().outreach.templates)
    name = next(iter(templates))
    templates[name] = templates[name].model_copy(update={"body": templates[name].body + "\n\nP.S. We moved."})
    changed = tune("outreach", templates=templates)
    assert replan(demo, settings=changed).accounts == first.accounts
    assert replan(demo, settings=changed).accounts == 0
    playbooks = [playbook.model_copy(update={"cooldown_days": 1}) for playbook in changed.outreach.playbooks]
    assert replan(demo, settings=tune("outreach", changed, playbooks=playbooks)).accounts == first.accounts


def test_a_new_day_plans_every_account_again_and_a_birthday_two_days_away_fires(demo: Store) -> None:
    replan(demo)
    contact_id = one(
        demo, "SELECT id FROM contacts WHERE email_opt_in = 1 AND deleted_at IS NULL ORDER BY id"
    )
    tomorrow = TODAY + timedelta(days=1)
    birthday = (tomorrow + timedelta(days=2)).replace(year=1980)
    with demo.write() as db:
        db.execute(
            "UPDATE contacts SET birthday = ?, personalization_consent = 1 WHERE id = ?",
            [birthday.isoformat(), contact_id],
        )
    today_again = replan(demo)
    assert today_again.accounts == 1 and not any(d.playbook == "birthday" for d in today_again.queued)
    next_day = replan(demo, tomorrow)
    assert next_day.unchanged == 0
    assert any(d.playbook == "birthday" and d.contact_id == contact_id for d in next_day.queued)


# --- Planning with fingerprints plans as planning every account ----------------------------------------------


@pytest.fixture(scope="module")
def generated_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fingerprints") / "book.db"

    def fill(store: Store) -> None:
        generate_into_store(store, accounts=120, seed=5, anchor=TODAY, parallel=False)
        run_scoring(store, defaults(), TODAY, clock=at(TODAY))

    build_database(path, fill)
    return path


def mutate(store: Store, rng: random.Random, day: date) -> None:
    """Something happens to a few accounts: a call, an opt-out, a score, a CSM's cancel or snooze."""
    contacts = [row[0] for row in store.db.execute("SELECT id FROM contacts ORDER BY id")]
    for contact_id in rng.sample(contacts, 3):
        log_touch(store, contact_id, day)
    drafted = store.db.execute(
        "SELECT contact_id, due_on FROM outreach WHERE status = 'draft' AND contact_id IS NOT NULL ORDER BY id"
    ).fetchall()
    for contact_id, due_on in rng.sample(drafted, min(3, len(drafted))):
        log_touch(store, contact_id, date.fromisoformat(due_on), "email", "inbound")
    with store.write() as db:
        db.execute("UPDATE contacts SET email_opt_in = 1 - email_opt_in WHERE id = ?", [rng.choice(contacts)])
        run = one(store, "SELECT max(id) FROM score_runs")
        scored = [
            row[0] for row in db.execute("SELECT account_id FROM scores WHERE run_id = ? ORDER BY 1", [run])
        ]
        db.execute(
            "UPDATE scores SET churn_risk = ?, churn_tier = 'high' WHERE run_id = ? AND account_id = ?",
            [rng.random(), run, rng.choice(scored)],
        )
    drafts = [
        row[0] for row in store.db.execute("SELECT id FROM outreach WHERE status = 'draft' ORDER BY id")
    ]
    if len(drafts) >= 2:
        first, second = rng.sample(drafts, 2)
        cancel(store, [first], clock=at(day))
        snooze(store, [second], day + timedelta(days=2), clock=at(day))


@pytest.mark.slow
def test_planning_with_fingerprints_leaves_the_queue_planning_every_account_leaves(
    generated_book: Path, tmp_path: Path
) -> None:
    books = {}
    for name in ("skipping", "full"):
        books[name] = tmp_path / f"{name}.db"
        shutil.copy(generated_book, books[name])
    stores = {name: open_store(path) for name, path in books.items()}
    try:
        rngs = {name: random.Random(21) for name in stores}
        days = [
            TODAY,
            TODAY,
            TODAY,
            TODAY + timedelta(days=1),
            TODAY + timedelta(days=1),
            TODAY + timedelta(days=6),
        ]
        skipped_some = False
        for step, day in enumerate(days):
            reports = {
                name: plan(store, defaults(), as_of=day, clock=at(day), full=name == "full")
                for name, store in stores.items()
            }
            skipped_some |= reports["skipping"].unchanged > 0
            for query in (ITEMS, SKIPS):
                found = {name: store.db.execute(query).fetchall() for name, store in stores.items()}
                assert found["skipping"] == found["full"], f"step {step}, {day}"
            keys = [row[10] for row in found_items(stores["skipping"])]
            assert len(keys) == len(set(keys)), "never two open items of one key"
            if step % 2 == 0:
                for name, store in stores.items():
                    mutate(store, rngs[name], day)
        assert skipped_some
    finally:
        for store in stores.values():
            store.close()


def found_items(store: Store) -> list[tuple[Any, ...]]:
    return [row for row in store.db.execute(ITEMS).fetchall() if row[7] in ("draft", "approved", "snoozed")]
