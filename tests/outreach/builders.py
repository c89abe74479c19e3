"""Planning inputs by hand: accounts, contacts and settings with a few keys changed, for the planner tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from cockpit.config import Settings
from cockpit.outreach.facts import (
    ChurnSignal,
    FeatureRef,
    LastEmail,
    Offer,
    PlanAccount,
    PlanContact,
    days_to_birthday,
)
from cockpit.outreach.items import OpenItem
from cockpit.outreach.planner import Book, Plan, decide, evaluate
from cockpit.outreach.playbooks import Playbooks, compile_playbooks
from cockpit.outreach.policy import Calendar, Touch
from cockpit.outreach.triggers import FACTS
from tests.tuning import defaults as defaults
from tests.tuning import tune as tune

TODAY = date(2026, 11, 25)
"""A Wednesday."""


def account(
    account_id: str,
    *,
    stalled: FeatureRef | None = None,
    churn: tuple[ChurnSignal, ...] = (),
    offer: Offer | None = None,
    last_email: LastEmail | None = None,
    renewal_date: date | None = None,
    **facts: Any,
) -> PlanAccount:
    """An account with every fact None but those given (and a name, an owner and MRR), already explained."""
    values: dict[str, Any] = dict.fromkeys(FACTS)
    values.update(
        account_id=account_id,
        name=f"Account {account_id}",
        owner="Sofia Marquez",
        mrr=1000.0,
        arr=12000.0,
        cross_sell_ready=False,
        churn_signals=tuple(dict.fromkeys(signal.name for signal in churn)),
        stalled_features=(stalled.id,) if stalled else (),
    )
    if stalled:
        first = stalled
        values["stalled_feature"] = first.id
        values["stalled_tried_days"] = (TODAY - first.first_used).days if first.first_used else None
        values["stalled_idle_days"] = (TODAY - first.last_used).days if first.last_used else None
    if renewal_date is not None:
        values["renewal_in_days"] = (renewal_date - TODAY).days
    if last_email is not None:
        values["unopened_email_days"] = (TODAY - last_email.sent_on).days
    values.update(facts)
    return PlanAccount(
        account_id,
        values,
        f"{account_id}.example",
        "2024-01-01",
        renewal_date,
        offer,
        last_email,
        stalled,
        churn,
        explained=True,
    )


def contact(
    contact_id: str,
    account_id: str,
    *,
    role: str | None = "Champion",
    opt_in: bool = True,
    dnc: bool = False,
    email: str | None = "",
    birthday: date | None = None,
    deleted: bool = False,
) -> PlanContact:
    address = f"{contact_id}@example.com" if email == "" else email
    return PlanContact(
        contact_id,
        account_id,
        f"Name{contact_id} Last",
        address,
        None,
        role,
        birthday,
        opt_in,
        dnc,
        deleted,
        {
            "birthday_in_days": None if birthday is None else days_to_birthday(birthday, TODAY),
            "contact_role": role,
        },
    )


def plan(
    accounts: list[PlanAccount],
    contacts: list[PlanContact],
    *,
    settings: Settings | None = None,
    touches: Sequence[Touch] = (),
    open_items: Sequence[OpenItem] = (),
    closed: dict[str, date] | None = None,
    today: date = TODAY,
) -> Plan:
    """Evaluate and decide, as the service does, over the given book."""
    chosen = settings or defaults()
    playbooks = compiled(chosen)
    by_account: dict[str, list[PlanContact]] = {}
    for one in contacts:
        by_account.setdefault(one.account_id, []).append(one)
    facts = {key: [(c.id, c.facts) for c in listed] for key, listed in by_account.items()}
    fired = evaluate(playbooks, accounts, facts)
    item_touches = [
        Touch(i.contact_id, i.due_on, i.id) for i in open_items if i.contact_id and i.channel != "todo"
    ]
    people = {one.id: one for one in contacts}
    book = Book(
        accounts={one.id: one for one in accounts},
        contacts=by_account,
        # As the store reads them: each with its contact as it is now, if it is still there.
        open_items=[
            replace(item, contact=item.contact or people.get(item.contact_id or "")) for item in open_items
        ],
        closed=closed or {},
        calendar=Calendar.of(chosen.outreach.policy, [*touches, *item_touches]),
    )
    return decide(
        fired,
        book,
        playbooks,
        today=today,
        max_shift_days=chosen.outreach.max_shift_days,
        me=chosen.general.me,
        score_run=1,
    )


_COMPILED: dict[int, tuple[Settings, Playbooks]] = {}


def compiled(settings: Settings) -> Playbooks:
    """The settings' playbooks, compiled once per settings object (compiling the templates is the slow part)."""
    found = _COMPILED.get(id(settings))
    if found is None or found[0] is not settings:
        found = _COMPILED[id(settings)] = (settings, compile_playbooks(settings))
    return found[1]


def days(offset: int) -> date:
    return TODAY + timedelta(days=offset)
