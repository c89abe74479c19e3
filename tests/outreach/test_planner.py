"""The planner on books built by hand: what it queues, keeps, cancels and skips, and why; and, over random
books and policies, that it never breaks the contact policy and that planning twice queues nothing new."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.config import Settings
from cockpit.outreach.facts import ChurnSignal, FeatureRef, LastEmail, Offer, PlanAccount, PlanContact
from cockpit.outreach.items import ClosedItem, Draft, OpenItem
from cockpit.outreach.planner import Plan, cooldown_starts
from cockpit.outreach.policy import Touch, quiet, unreachable

from .builders import TODAY, account, compiled, contact, days, defaults, plan, tune

CANCEL = (ChurnSignal("cancel_click", days(-2).isoformat(), "cancel click"),)


def at_risk(account_id: str = "acc-1", **facts: Any) -> PlanAccount:
    return account(account_id, churn_tier="high", value_tier="high", churn=CANCEL, **facts)


def only(playbooks: str, base: Settings | None = None) -> Settings:
    """The shipped settings with only the named playbooks (comma-separated)."""
    chosen = base or defaults()
    names = playbooks.split(",")
    return tune("outreach", chosen, playbooks=[p for p in chosen.outreach.playbooks if p.id in names])


def open_item(draft: Draft, item_id: str, **changes: Any) -> OpenItem:
    """The open item a stored draft becomes."""
    item = OpenItem(
        item_id, draft.account_id, draft.contact_id, draft.playbook, draft.channel, "draft", draft.due_on, None,
        draft.dedupe_key, False, draft.subject, draft.body, draft.priority, draft.reason,
    )  # fmt: skip
    return replace(item, **changes)


def test_save_now_calls_the_champion_and_says_why() -> None:
    result = plan(
        [at_risk()], [contact("c2", "acc-1", role="Admin"), contact("c1", "acc-1", role="Champion")]
    )
    [draft] = [d for d in result.queued if d.playbook == "save-now"]
    assert (draft.channel, draft.contact_id, draft.due_on, draft.dedupe_key) == (
        "call_task", "c1", TODAY, "save-now:acc-1",
    )  # fmt: skip
    assert draft.subject == "Call Namec1 Last at Account acc-1: churn risk high"
    assert "cancel click" in draft.body
    assert draft.reason["trigger"] == "churn_tier == 'high' and value_tier == 'high'"
    assert draft.reason["values"] == {"churn_tier": "high", "value_tier": "high"}
    assert draft.reason["contact"] == {"id": "c1", "name": "Namec1 Last", "why": "role Champion"}


def test_an_email_passes_over_contacts_who_opted_out_and_says_so() -> None:
    offer = Offer("analytics", "Analytics", "slice reports by cohort", "core", "Core")
    book = [account("acc-1", cross_sell_ready=True, offer=offer)]
    people = [
        contact("c1", "acc-1", role="Champion", opt_in=False),
        contact("c2", "acc-1", role="Admin", dnc=True),
        contact("c3", "acc-1", role="End user"),
    ]
    [draft] = plan(book, people, settings=only("cross-sell")).queued
    assert draft.contact_id == "c3"
    assert draft.dedupe_key == "cross-sell:acc-1:analytics"
    assert draft.subject == "Analytics for Account acc-1"
    assert "Your team gets a lot out of Core. Analytics builds on it: slice reports by cohort." in draft.body
    why = draft.reason["contact"]["why"]
    assert "Namec1 Last (Champion): opted out of email" in why and "(Admin): do not contact" in why


def test_a_call_ignores_the_email_opt_out_but_not_do_not_contact() -> None:
    people = [contact("c1", "acc-1", opt_in=False), contact("c2", "acc-1", dnc=True, role="Admin")]
    [draft] = plan([at_risk()], people, settings=only("save-now")).queued
    assert draft.contact_id == "c1"


def test_nobody_reachable_is_a_skip_with_every_reason() -> None:
    people = [contact("c1", "acc-1", dnc=True), contact("c2", "acc-1", deleted=True, role="Admin")]
    result = plan([at_risk()], people, settings=only("save-now"))
    assert result.queued == []
    [skip] = result.skipped
    assert (
        skip.why
        == "no contact can be reached: Namec1 Last (Champion): do not contact; Namec2 Last (Admin): deleted"
    )
    assert skip.values == {"churn_tier": "high", "value_tier": "high"}
    assert plan([at_risk()], [], settings=only("save-now")).skipped[0].why == "the account has no contacts"


def test_a_token_that_renders_empty_is_not_queued_and_the_reason_names_it() -> None:
    orphan = at_risk(owner=None)
    no_me = tune("general", only("save-now,referral"), me="")
    lover = account("acc-2", advocacy="lover", churn_tier="low", owner=None)
    result = plan([orphan, lover], [contact("c1", "acc-1"), contact("c2", "acc-2")], settings=no_me)
    assert [d.playbook for d in result.queued] == ["save-now"]  # its template has no csm.name
    [skip] = result.skipped
    assert skip.playbook == "referral"
    assert skip.why == "template 'referral': body: {{ csm.name }} is empty"
    me = tune("general", only("referral"), me="Dana")
    [draft] = plan([lover], [contact("c2", "acc-2")], settings=me).queued
    assert draft.body.endswith("Dana")


def test_nothing_to_be_about_is_a_skip() -> None:
    result = plan(
        [account("acc-1", cross_sell_ready=True)], [contact("c1", "acc-1")], settings=only("cross-sell")
    )
    assert [s.why for s in result.skipped] == ["no complementary product to offer"]


def test_the_stalled_feature_is_the_one_tried_last_and_names_the_key() -> None:
    tried = FeatureRef("ana-explore", "Explorer", "analytics", days(-28), days(-23))
    book = [account("acc-1", churn_tier="low", stalled=tried)]
    [draft] = plan(book, [contact("c1", "acc-1")], settings=only("stalled-feature")).queued
    assert draft.dedupe_key == "stalled-feature:acc-1:ana-explore"
    assert draft.subject == "Getting more from Explorer"
    assert draft.reason["values"] == {"stalled_tried_days": 28, "stalled_idle_days": 23, "churn_tier": "low"}


def test_a_follow_up_goes_to_the_unopened_email_s_recipient() -> None:
    email = LastEmail("Your quarterly usage summary", days(-10), "c2")
    book = [account("acc-1", last_email=email)]
    people = [contact("c1", "acc-1"), contact("c2", "acc-1", role="End user")]
    [draft] = plan(book, people, settings=only("unopened-follow-up")).queued
    assert (draft.contact_id, draft.subject) == ("c2", "Re: Your quarterly usage summary")
    gone = plan(book, [contact("c1", "acc-1")], settings=only("unopened-follow-up"))
    assert gone.skipped[0].why == "the unopened email's recipient is not a contact of the account"


def test_a_bulk_send_is_followed_up_only_by_a_playbook_that_names_its_campaign() -> None:
    digest = LastEmail("Your monthly product digest", days(-10), "c1", campaign="Monthly digest")
    book, people = [account("acc-1", last_email=digest)], [contact("c1", "acc-1")]
    ignored = plan(book, people, settings=only("unopened-follow-up"))
    assert not ignored.queued
    assert [s.why for s in ignored.skipped] == [
        "the unopened email is a bulk send (campaign 'Monthly digest'), not followed up"
    ]
    base = only("unopened-follow-up")
    [playbook] = base.outreach.playbooks
    marked = tune(
        "outreach", base, playbooks=[playbook.model_copy(update={"follow_up_campaigns": ["Monthly digest"]})]
    )
    [draft] = plan(book, people, settings=marked).queued
    assert draft.subject == "Re: Your monthly product digest"


def test_birthdays_only_where_shared_and_due_on_the_day() -> None:
    born = date(1988, TODAY.month, TODAY.day) + timedelta(days=2)  # Friday
    people = [contact("c1", "acc-1", birthday=born), contact("c2", "acc-1", role="Admin")]  # c2: no consent
    [draft] = plan([account("acc-1")], people, settings=only("birthday")).queued
    assert (draft.contact_id, draft.due_on, draft.dedupe_key) == ("c1", days(2), "birthday:acc-1:c1")
    assert draft.subject == "Happy birthday, Namec1!"


def test_a_birthday_on_a_quiet_day_comes_early_rather_than_late() -> None:
    saturday = date(1990, days(3).month, days(3).day)
    people = [contact("c1", "acc-1", birthday=saturday)]
    soon = only("birthday")  # its trigger looks two days ahead; this one three
    ahead = [p.model_copy(update={"trigger": "birthday_in_days <= 3"}) for p in soon.outreach.playbooks]
    wide = tune("outreach", soon, playbooks=ahead)
    [draft] = plan([account("acc-1")], people, settings=wide).queued
    assert draft.due_on == days(2)  # Friday
    assert draft.reason["due"] == f"moved from {days(3)}: {days(3)} is a quiet day"


def test_higher_priority_claims_the_contact_first() -> None:
    strict = tune("outreach.policy", max_touches=1, window_days=14, min_gap_days=0)
    offer = Offer("analytics", "Analytics", "cohorts", "core", "Core")
    book = [at_risk(cross_sell_ready=True, offer=offer)]
    result = plan(book, [contact("c1", "acc-1")], settings=only("save-now,cross-sell", strict))
    assert [d.playbook for d in result.queued] == ["save-now"]
    [skip] = result.skipped
    assert skip.playbook == "cross-sell"
    assert skip.why.startswith("no contact can be reached: Namec1 Last (Champion): no day within 7 days")
    assert "1 touches from" in skip.why


def test_logged_interactions_count_as_touches() -> None:
    strict = tune("outreach.policy", max_touches=1, window_days=14, min_gap_days=0)
    strict = tune("outreach", strict, max_shift_days=14)
    touched = [Touch("c1", days(-3))]
    result = plan([at_risk()], [contact("c1", "acc-1")], settings=only("save-now", strict), touches=touched)
    # Day 11 is the first whose 14-day windows all miss day -3; a Sunday, so Monday.
    assert result.queued[0].due_on == days(12)
    assert result.queued[0].reason["due"] == (
        f"moved from {TODAY}: 1 touches from {days(-13)} to {TODAY} (at most 1 in 14 days)"
    )


def test_cooldown_after_an_item_went_or_was_cancelled() -> None:
    closed = {"save-now:acc-1": days(-5)}
    result = plan([at_risk()], [contact("c1", "acc-1")], settings=only("save-now"), closed=closed)
    assert result.queued == []
    assert result.skipped[0].why == (
        f"cooling down: the last one went or was cancelled on {days(-5)}; again from {days(9)}"
    )
    later = plan(
        [at_risk()], [contact("c1", "acc-1")], settings=only("save-now"), closed=closed, today=days(9)
    )
    assert len(later.queued) == 1


def first_draft() -> Draft:
    return plan([at_risk()], [contact("c1", "acc-1")], settings=only("save-now")).queued[0]


def replan(
    *items: OpenItem, book: list[PlanAccount] | None = None, people: list[PlanContact] | None = None
) -> Plan:
    return plan(
        [at_risk()] if book is None else book,
        [contact("c1", "acc-1")] if people is None else people,
        settings=only("save-now"),
        open_items=items,
    )


def test_a_rule_that_fires_again_keeps_its_one_open_item() -> None:
    draft = first_draft()
    again = replan(open_item(draft, "out-1"))
    assert (again.queued, again.updated, [k.why for k in again.kept]) == ([], [], ["unchanged"])
    for status, why in (("approved", "approved, waiting for the sync"),):
        assert [k.why for k in replan(open_item(draft, "out-1", status=status)).kept] == [why]
    snoozed = open_item(draft, "out-1", status="snoozed", snoozed_until=days(3), due_on=days(3))
    assert [k.why for k in replan(snoozed).kept] == [f"snoozed until {days(3)}"]
    edited = open_item(draft, "out-1", edited=True, body="My own words")
    assert [k.why for k in replan(edited).kept] == ["edited by the CSM"]


def test_a_snooze_ends_on_its_day_and_the_item_is_a_draft_again() -> None:
    draft = first_draft()
    woken = replan(open_item(draft, "out-1", status="snoozed", snoozed_until=TODAY))
    assert [d.item_id for d in woken.updated] == ["out-1"]
    edited = replan(
        open_item(draft, "out-1", status="snoozed", snoozed_until=TODAY, edited=True, body="Mine")
    )
    assert [(d.item_id, d.body) for d in edited.updated] == [("out-1", "Mine")]


def test_drafts_go_when_their_rule_stops_but_the_csm_s_work_stays() -> None:
    draft = first_draft()
    calm = [account("acc-1", churn_tier="low", value_tier="high")]
    gone = replan(open_item(draft, "out-1"), book=calm)
    assert [(c.item_id, c.why) for c in gone.cancelled] == [("out-1", "its rule no longer fires")]
    for kept in (open_item(draft, "out-1", edited=True), open_item(draft, "out-1", status="approved")):
        assert replan(kept, book=calm).cancelled == []


def test_opt_out_wins_over_every_open_item_even_an_approved_one() -> None:
    draft = first_draft()
    blocked = contact("c1", "acc-1", dnc=True)
    for status in ("draft", "approved", "snoozed"):
        item = open_item(draft, "out-1", status=status, edited=True, contact=blocked)
        result = replan(item, people=[blocked])
        assert [(c.item_id, c.why) for c in result.cancelled] == [("out-1", "contact do not contact")]
        assert result.queued == []
    gone = replan(open_item(draft, "out-1", status="approved", contact=None), people=[])
    assert [c.why for c in gone.cancelled] == ["contact is gone"]


def test_an_untouched_draft_moves_to_a_contact_who_may_be_reached() -> None:
    draft = first_draft()
    people = [contact("c1", "acc-1", dnc=True), contact("c2", "acc-1", role="Admin")]
    moved = replan(open_item(draft, "out-1"), people=people)
    assert [(d.item_id, d.contact_id) for d in moved.updated] == [("out-1", "c2")]
    assert "passed over: Namec1 Last (Champion): do not contact" in moved.updated[0].reason["contact"]["why"]
    alone = replan(open_item(draft, "out-1"), people=people[:1])
    assert [(c.item_id, c.why) for c in alone.cancelled] == [
        ("out-1", "no contact can be reached: Namec1 Last (Champion): do not contact")
    ]


def test_an_open_item_moves_only_when_it_must() -> None:
    draft = first_draft()
    later = open_item(draft, "out-1", due_on=days(1))
    assert [k.why for k in replan(later).kept] == ["unchanged"]  # its day still allowed: it stays
    overdue = open_item(draft, "out-1", due_on=days(-2))
    assert [d.due_on for d in replan(overdue).updated] == [TODAY]


# --- Properties over random books and policies ---------------------------------------------------------------

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@st.composite
def books(draw: st.DrawFn) -> tuple[Settings, list[PlanAccount], list[PlanContact], list[Touch]]:
    rules = tune(
        "outreach.policy",
        max_touches=draw(st.integers(1, 3)),
        window_days=draw(st.integers(1, 14)),
        min_gap_days=draw(st.integers(0, 4)),
        quiet_weekdays=draw(st.lists(st.sampled_from(WEEKDAYS), max_size=4, unique=True)),
    )
    rules = tune("outreach", rules, max_shift_days=draw(st.integers(0, 6)))
    accounts: list[PlanAccount] = []
    contacts: list[PlanContact] = []
    touches: list[Touch] = []
    for number in range(draw(st.integers(1, 5))):
        account_id = f"acc-{number}"
        people = [
            contact(
                f"c{number}-{index}",
                account_id,
                role=draw(st.sampled_from(["Champion", "Admin", "End user", None])),
                opt_in=draw(st.booleans()),
                dnc=draw(st.booleans()),
                email=draw(st.sampled_from(["", None])),
                birthday=draw(st.none() | st.integers(0, 6).map(lambda n: days(n).replace(year=1980))),
            )
            for index in range(draw(st.integers(0, 3)))
        ]
        contacts += people
        touches += [
            Touch(draw(st.sampled_from(people)).id, days(draw(st.integers(-20, 20))))
            for _ in range(draw(st.integers(0, 4)) if people else 0)
        ]
        recipient = draw(st.sampled_from([p.id for p in people] + ["stranger"]))
        accounts.append(
            account(
                account_id,
                churn_tier=draw(st.sampled_from(["high", "medium", "low"])),
                value_tier=draw(st.sampled_from(["high", "medium", "other"])),
                advocacy=draw(st.sampled_from(["lover", "liker", "lurker"])),
                cross_sell_ready=draw(st.booleans()),
                offer=draw(st.none() | st.just(Offer("analytics", "Analytics", "cohorts", "core", "Core"))),
                renewal_date=draw(st.none() | st.integers(-10, 120).map(days)),
                last_email=draw(st.none() | st.integers(0, 30).map(days_ago).map(sent_to(recipient))),
                stalled=draw(
                    st.sampled_from([None, FeatureRef("f1", "Reports", "core", days(-30), days(-20))])
                ),
                churn=CANCEL,
                owner=draw(st.sampled_from(["Sofia", None])),
                mrr=float(draw(st.integers(0, 5000))),
            )
        )
    return rules, accounts, contacts, touches


def days_ago(count: int) -> date:
    return days(-count)


def sent_to(recipient: str) -> Callable[[date], LastEmail]:
    return lambda day: LastEmail("Hello", day, recipient)


def as_stored(result: Plan, before: list[OpenItem]) -> list[OpenItem]:
    """The open items after the plan is written, as the next run reads them."""
    by_id = {item.id: item for item in before}
    for cancelled in result.cancelled:
        by_id.pop(cancelled.item_id, None)
    for draft in result.updated:
        by_id[draft.item_id or ""] = open_item(
            draft, draft.item_id or "", contact=by_id[draft.item_id or ""].contact
        )
    for number, draft in enumerate(result.queued):
        by_id[f"new-{number}"] = open_item(draft, f"new-{number}")
    return list(by_id.values())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
@pytest.mark.slow
def test_plans_keep_the_policy_and_planning_twice_queues_nothing_new(
    book: tuple[Settings, list[PlanAccount], list[PlanContact], list[Touch]],
) -> None:
    rules, accounts, contacts, touches = book
    policy = rules.outreach.policy
    people = {person.id: person for person in contacts}
    first = plan(accounts, contacts, settings=rules, touches=touches)
    drafts = first.queued
    # Never someone who may not be reached by the channel (opt-out and do-not-contact always win).
    for draft in drafts:
        if draft.channel != "todo":
            assert draft.contact_id is not None
            assert unreachable(people[draft.contact_id], draft.channel) is None
        assert draft.due_on >= TODAY and not quiet(draft.due_on, policy)
    # No window that holds a new touch holds more than the cap; every new touch keeps its gap.
    for draft in drafts:
        if draft.contact_id is None:
            continue
        mine = [t.day for t in touches if t.contact_id == draft.contact_id]
        mine += [d.due_on for d in drafts if d.contact_id == draft.contact_id]
        mine.remove(draft.due_on)
        assert all(abs((draft.due_on - day).days) >= policy.min_gap_days for day in mine)
        for start in range(policy.window_days):
            first_day = draft.due_on - timedelta(days=start)
            last_day = first_day + timedelta(days=policy.window_days - 1)
            assert sum(first_day <= day <= last_day for day in mine) + 1 <= policy.max_touches
    # One open item per dedupe key.
    assert len({d.dedupe_key for d in drafts}) == len(drafts)
    # Planning again over what the first plan stored queues nothing and changes nothing.
    stored = [replace(item, contact=people.get(item.contact_id or "")) for item in as_stored(first, [])]
    second = plan(accounts, contacts, settings=rules, touches=touches, open_items=stored)
    assert second.queued == [] and second.updated == [] and second.cancelled == []
    assert {k.item_id for k in second.kept} == {item.id for item in stored}


def test_a_cooldown_starts_on_the_day_an_item_went_or_a_person_cancelled_it() -> None:
    closed = [
        ClosedItem("a", "synced", days(-20), None, None),
        ClosedItem("a", "cancelled", days(9), days(-3), "csm"),  # cancelled before it was due
        ClosedItem("b", "cancelled", days(-2), days(-2), "plan"),  # withdrawn by the planner
        ClosedItem("c", "sent", days(-5), None, None),
        ClosedItem("c", "cancelled", days(-30), None, "csm"),  # an old cancellation that recorded no day
    ]
    assert cooldown_starts(closed) == {"a": days(-3), "c": days(-5)}


def test_the_playbooks_read_the_emails_only_where_one_planning_needs_them() -> None:
    """Whether a plan reads the unopened emails (from an events source, opening it): a trigger, the recipient
    or the template of a playbook not muted."""
    assert not compiled(only("save-now,rescue,renewal,referral")).emails
    assert compiled(defaults()).emails
    assert not replace(compiled(defaults()), muted=frozenset({"unopened-follow-up"})).emails
    [rescue] = only("rescue").outreach.playbooks
    for change in (
        {"trigger": "unopened_email_days >= 7"},  # the trigger
        {"about": "email"},  # the recipient
        {"template": "unopened-follow-up"},  # the template's `last_email`
    ):
        assert compiled(tune("outreach", only("rescue"), playbooks=[rescue.model_copy(update=change)])).emails
