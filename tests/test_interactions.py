"""Logging an interaction by hand: field-by-field checks, one transaction, the CRM outbox; the journey and
contacts it shows in; and the suggested next action."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from cockpit.domain.next_action import next_action
from cockpit.domain.records import SYNC_KEY_NAMESPACE
from cockpit.errors import DatabaseBusy
from cockpit.services.interactions import InteractionInvalid, check_interaction, log_interaction
from cockpit.store import Store, open_store
from cockpit.store.journey import JOURNEY_KINDS, contacts, journey

NOW = datetime(2026, 11, 22, 15, 30, tzinfo=timezone(timedelta(hours=1)))
STAMP = "2026-01-01T00:00:00+00:00"


def fill(store: Store) -> None:
    with store.write() as db:
        db.table("accounts").insert(
            {"id": "acc-1", "name": "Acme", "start_date": "2024-03-01", "renewal_date": "2027-03-01",
             "created_at": STAMP, "updated_at": STAMP}
        )  # fmt: skip
        for cid, name, dnc in (("con-1", "Ana", 0), ("con-2", "Ben", 1)):
            db.table("contacts").insert(
                {"id": cid, "account_id": "acc-1", "name": name, "do_not_contact": dnc, "email_opt_in": 1,
                 "created_at": STAMP, "updated_at": STAMP}
            )  # fmt: skip
        db.table("signals").insert_all(
            [
                {"account_id": "acc-1", "kind": "cancel_click", "occurred_at": "2026-11-19T10:00:00+00:00"},
                {"account_id": "acc-1", "kind": "login", "occurred_at": "2026-11-20T10:00:00+00:00"},
            ]
        )
        db.table("tickets").insert(
            {"id": "t-1", "account_id": "acc-1", "opened_at": "2026-11-01T09:00:00+00:00", "priority": "urgent",
             "subject": "Export broken", "escalated": 1}
        )  # fmt: skip


def form(**fields: str) -> dict[str, str]:
    return {
        "kind": "call",
        "contact": "con-1",
        "occurred_at": "now",
        "summary": "Renewal plan agreed",
        **fields,
    }


def test_a_valid_form_becomes_a_record_in_utc() -> None:
    record = check_interaction("acc-1", form(occurred_at="2026-11-20 09:15"), contact_ids={"con-1"}, now=NOW)
    local = datetime(2026, 11, 20, 9, 15).astimezone()  # a time without a zone is the CSM's local time
    assert record.occurred_at == local.astimezone(UTC).isoformat()
    assert (record.kind, record.contact, record.summary) == ("call", "con-1", "Renewal plan agreed")
    now = check_interaction("acc-1", form(), contact_ids={"con-1"}, now=NOW)
    assert now.occurred_at == "2026-11-22T14:30:00+00:00"
    yesterday = check_interaction("acc-1", form(occurred_at="yesterday"), contact_ids={"con-1"}, now=NOW)
    assert yesterday.occurred_at == "2026-11-21T14:30:00+00:00"


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        ({"summary": " "}, {"summary": "is required"}),
        ({"kind": "lunch"}, {"kind": "must be call, meeting, email, note or qbr"}),
        ({"contact": "con-9"}, {"contact": "not a contact of this account"}),
        (
            {"occurred_at": "2026-11-23"},
            {"occurred_at": "is in the future: log an interaction once it happened"},
        ),
        (
            {"occurred_at": "2026-11-22T18:00:00+01:00"},
            {"occurred_at": "is in the future: log an interaction once it happened"},
        ),
        ({"occurred_at": "soon"}, {"occurred_at": "not a date"}),
        ({"follow_up_on": "2026-11-01"}, {"follow_up_on": "is before the interaction"}),
        (
            {"sentiment": "ecstatic", "summary": ""},
            {"sentiment": "must be positive, neutral or negative", "summary": "is required"},
        ),
    ],
)
def test_every_wrong_field_is_named(fields: dict[str, str], problems: dict[str, str]) -> None:
    with pytest.raises(InteractionInvalid) as raised:
        check_interaction("acc-1", form(**fields), contact_ids={"con-1"}, now=NOW)
    assert {field: text[: len(problems[field])] for field, text in raised.value.problems.items()} == problems


def test_a_logged_interaction_waits_in_the_outbox_and_shows_in_the_journey(store: Store) -> None:
    fill(store)
    record = check_interaction("acc-1", form(follow_up_on="2026-12-01"), contact_ids={"con-1"}, now=NOW)
    logged = log_interaction(store, record, author="Priya", now=NOW)
    row = store.db.execute(
        "SELECT account_id, contact_id, kind, sync_state, sync_key, author, follow_up_on FROM interactions WHERE id = ?",
        [logged.id],
    ).fetchone()
    assert row == (
        "acc-1",
        "con-1",
        "call",
        "pending",
        str(uuid.uuid5(SYNC_KEY_NAMESPACE, logged.id)),
        "Priya",
        "2026-12-01",
    )
    events = journey(store.db, "acc-1")
    assert [(event.kind, event.what) for event in events] == [
        ("contract", "renewal"),
        ("interaction", "call with Ana"),
        ("signal", "cancel click"),  # logins are usage, not journey
        ("ticket", "ticket (urgent)"),
        ("contract", "became a customer"),
    ]
    assert events[1].detail == "Renewal plan agreed · follow up 2026-12-01 · Priya"  # who logged it
    assert "escalated" in events[3].detail
    only = journey(store.db, "acc-1", ("signal", "ticket"))
    assert {event.kind for event in only} == {"signal", "ticket"}
    assert journey(store.db, "acc-1", ()) == []
    people = {contact.name: contact for contact in contacts(store.db, "acc-1")}
    assert people["Ana"].last_touch == "2026-11-22T14:30:00+00:00" and people["Ben"].last_touch is None
    assert people["Ben"].do_not_contact and not people["Ana"].do_not_contact
    assert set(JOURNEY_KINDS) >= {event.kind for event in events}


def test_a_busy_database_is_an_error_not_a_half_write(store: Store) -> None:
    fill(store)
    record = check_interaction("acc-1", form(), contact_ids={"con-1"}, now=NOW)
    other = open_store(store.path, busy_timeout_ms=50)
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with store.write():
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    holding.wait(5)
    try:
        with pytest.raises(DatabaseBusy):
            log_interaction(other, record, author=None, now=NOW)
    finally:
        release.set()
        holder.join()
        other.close()
    assert store.db.execute("SELECT count(*) FROM interactions").fetchone()[0] == 0


def explained(**parts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "health": {"band": "green"},
        "churn": {"tier": "low", "signals": []},
        "adoption": {"features": []},
        "cross_sell": {"ready": False},
        "advocacy": {"segment": "liker"},
    }
    return {**base, **parts}


TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    ("score", "renewal", "touch", "action"),
    [
        (None, None, None, "Score the book"),
        (
            explained(churn={"tier": "high", "signals": [
                {"detail": "cancel page visit", "on": "2026-11-10", "effect": 0.2},
                {"detail": "cancel click", "on": "2026-11-19", "effect": 0.5},
            ]}),
            "2026-12-01", "2026-11-20", "Call the account this week",
        ),
        (explained(), "2026-12-01", "2026-11-20", "Prepare the renewal of 2026-12-01"),
        (explained(adoption={"features": [{"name": "Funnels", "stalled": True}]}), "2027-06-01", None, "Help them adopt Funnels"),
        (explained(cross_sell={"ready": True, "product": "Analytics", "reason": "builds on core"}), None, "2026-11-20", "Offer Analytics"),
        (explained(advocacy={"segment": "lover"}), None, "2026-11-20", "Ask for a referral"),
        (explained(), None, "2026-08-01", "Check in"),
        (explained(), "2025-01-01", None, "Check in"),
        (explained(), None, "2026-11-01T10:00:00+00:00", "Nothing urgent"),
    ],
)  # fmt: skip
def test_next_action_takes_the_most_urgent(
    score: dict[str, Any] | None, renewal: str | None, touch: str | None, action: str
) -> None:
    suggestion = next_action(score, renewal_date=renewal, last_touch=touch, today=TODAY)
    assert suggestion.action.startswith(action)
    if action == "Call the account this week":
        assert suggestion.because == "strongest signal: cancel click on 2026-11-19"
