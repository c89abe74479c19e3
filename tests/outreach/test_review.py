"""Reviewing the queue through the service the CLI and the TUI share: approve (the policy checked again),
snooze, cancel, edit; and what the next plan does with each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from cockpit.demo import STORY_ACCOUNTS
from cockpit.outreach.items import ItemFilter, OutreachItem, ReviewResult
from cockpit.services.outreach import (
    ItemNotFound,
    ReviewRefused,
    approve,
    cancel,
    get_item,
    items_for_account,
    list_items,
    plan,
    snooze,
    update_draft,
)
from cockpit.store import Store
from tests.clocks import at

from .builders import TODAY, days, defaults


def planned(demo: Store, key_start: str) -> OutreachItem:
    plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    [item] = [
        i for i in list_items(demo, ItemFilter(statuses=("draft",))) if i.dedupe_key.startswith(key_start)
    ]
    return item


def status_of(demo: Store, item_id: str) -> Any:
    return demo.db.execute("SELECT status FROM outreach WHERE id = ?", [item_id]).fetchone()[0]


SAVE = f"save-now:{STORY_ACCOUNTS['cancel_lookup']}"
REFERRAL = f"referral:{STORY_ACCOUNTS['lover']}"


def test_approve_makes_an_item_ready_for_the_outbox_and_the_plan_keeps_it(demo: Store) -> None:
    item = planned(demo, SAVE)
    result = approve(demo, defaults(), [item.id], clock=at(TODAY))
    assert [(i.id, i.status) for i in result.changed] == [(item.id, "approved")]
    assert result.refused == []
    # What the sync's push reads: approved items with their stable key.
    outbox = demo.db.execute("SELECT id, sync_key FROM outreach WHERE status = 'approved'").fetchall()
    assert outbox == [(item.id, item.sync_key)]
    again = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    assert [k.why for k in again.kept if k.item_id == item.id] == ["approved, waiting for the sync"]
    assert approve(demo, defaults(), [item.id], clock=at(TODAY)).notes == {item.id: "already approved"}


def test_approval_refuses_a_contact_who_opted_out_since_and_the_plan_cancels_it(demo: Store) -> None:
    item = planned(demo, REFERRAL)
    with demo.write() as db:
        db.execute("UPDATE contacts SET email_opt_in = 0 WHERE id = ?", [item.contact_id])
    result = approve(demo, defaults(), [item.id], clock=at(TODAY))
    assert result.changed == []
    assert [(r.item_id, r.why) for r in result.refused] == [(item.id, "contact opted out of email")]
    assert status_of(demo, item.id) == "draft"
    with demo.write() as db:
        db.execute("UPDATE outreach SET status = 'approved' WHERE id = ?", [item.id])
    report = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    assert [(c.item_id, c.why) for c in report.cancelled if c.item_id == item.id] == [
        (item.id, "contact opted out of email")
    ]
    assert status_of(demo, item.id) == "cancelled"


def test_approval_moves_a_day_that_a_logged_call_took(demo: Store) -> None:
    item = planned(demo, SAVE)
    with demo.write() as db:
        db.execute(
            "INSERT INTO interactions (id, account_id, contact_id, kind, direction, occurred_at, summary, sync_key, "
            "created_at, updated_at) VALUES ('int-x', ?, ?, 'call', 'outbound', ?, 'Called', 'k-x', ?, ?)",
            [
                item.account_id,
                item.contact_id,
                f"{TODAY}T09:00:00+00:00",
                TODAY.isoformat(),
                TODAY.isoformat(),
            ],
        )
    result = approve(demo, defaults(), [item.id], clock=at(TODAY))
    [approved] = result.changed
    gap = defaults().outreach.policy.min_gap_days
    assert approved.due_on == TODAY + timedelta(days=gap + 2)  # the gap ends on a Saturday: Monday
    assert result.notes[item.id].startswith(f"moved from {TODAY}: touched on {TODAY}")


def test_snooze_holds_the_item_and_its_rule_until_the_day(demo: Store) -> None:
    item = planned(demo, SAVE)
    with pytest.raises(ReviewRefused):
        snooze(demo, [item.id], TODAY, clock=at(TODAY))
    [snoozed] = snooze(demo, [item.id], days(5), clock=at(TODAY)).changed
    assert (snoozed.status, snoozed.snoozed_until, snoozed.due_on) == ("snoozed", days(5), days(5))
    held = plan(demo, defaults(), as_of=days(1), clock=at(days(1)))
    assert [k.why for k in held.kept if k.item_id == item.id] == [f"snoozed until {days(5)}"]
    assert not [d for d in held.queued if d.dedupe_key == SAVE]
    woken = plan(demo, defaults(), as_of=days(5), clock=at(days(5)))
    assert [d.item_id for d in woken.updated if d.dedupe_key == SAVE] == [item.id]
    assert status_of(demo, item.id) == "draft"


def test_cancel_starts_the_cooldown(demo: Store) -> None:
    item = planned(demo, SAVE)
    [cancelled] = cancel(demo, [item.id], clock=at(TODAY)).changed
    assert cancelled.status == "cancelled"
    assert cancelled.reason["closed"] == {"by": "csm", "on": TODAY.isoformat(), "why": "cancelled by the CSM"}
    report = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    cooldown = [s.why for s in report.skipped if s.dedupe_key == SAVE]
    assert cooldown == [f"cooling down: the last one went or was cancelled on {TODAY}; again from {days(14)}"]
    assert [r.why for r in cancel(demo, [item.id], clock=at(TODAY)).refused] == ["it is cancelled"]


def test_an_edit_is_checked_and_then_left_alone_by_the_planner(demo: Store) -> None:
    item = planned(demo, REFERRAL)
    edited = update_draft(
        demo, defaults(), item.id, "  A personal note ", "Hi,\n\nThank you!\n", clock=at(TODAY)
    )
    assert (edited.subject, edited.body, edited.status) == ("A personal note", "Hi,\n\nThank you!", "draft")
    assert edited.edited_at is not None
    planned_text = demo.db.execute(
        "SELECT planned_subject FROM outreach_edits WHERE item_id = ?", [item.id]
    ).fetchone()
    assert planned_text == (item.subject,)
    report = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    assert [k.why for k in report.kept if k.item_id == item.id] == ["edited by the CSM"]
    assert get_item(demo, item.id).subject == "A personal note"
    for subject, body, problem in (
        ("", "x", "the subject is empty"),
        ("Two\nlines", "x", "more than one line"),
        ("Hi {{ contact.name }}", "x", "template markup"),
        ("Hi", "  \n", "the body is empty"),
    ):
        with pytest.raises(ReviewRefused) as caught:
            update_draft(demo, defaults(), item.id, subject, body, clock=at(TODAY))
        assert problem in caught.value.message
    assert get_item(demo, item.id).subject == "A personal note"
    approve(demo, defaults(), [item.id], clock=at(TODAY))
    with pytest.raises(ReviewRefused) as refused:
        update_draft(demo, defaults(), item.id, "Late", "Too late", clock=at(TODAY))
    assert refused.value.hint == "Snooze an approved item to edit it, then approve it again."


def test_unknown_ids_change_nothing(demo: Store) -> None:
    item = planned(demo, SAVE)
    actions: list[Callable[[], ReviewResult]] = [
        lambda: approve(demo, defaults(), [item.id, "out-99999"], clock=at(TODAY)),
        lambda: cancel(demo, [item.id, "nope"], clock=at(TODAY)),
        lambda: snooze(demo, ["nope", item.id], days(3), clock=at(TODAY)),
    ]
    for action in actions:
        with pytest.raises(ItemNotFound):
            action()
        assert status_of(demo, item.id) == "draft"
    with pytest.raises(ItemNotFound):
        get_item(demo, "nope")


def test_filters_and_an_account_s_items(demo: Store) -> None:
    plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    account_id = STORY_ACCOUNTS["lover"]
    mine = items_for_account(demo, account_id)
    assert {i.playbook for i in mine} == {"referral", "cross-sell", "stalled-feature"} - {"stalled-feature"}
    assert all(i.account_id == account_id for i in mine)
    renewals = list_items(demo, ItemFilter(playbooks=("renewal",)))
    assert renewals and all(i.playbook == "renewal" and i.contact_id is None for i in renewals)
    owner = mine[0].owner
    assert owner and all(i.owner == owner for i in list_items(demo, ItemFilter(owner=owner.upper())))
    assert len(list_items(demo, ItemFilter(limit=3))) == 3
    due = list_items(demo, ItemFilter(due_by=TODAY))
    assert due and all(i.due_on <= TODAY for i in due)
