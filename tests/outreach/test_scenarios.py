"""Planning on the demo book: the drafts its stories call for, nothing that breaks the policy, nothing new the
second time; and the same over random policies."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.config import Settings
from cockpit.demo import STORY_ACCOUNTS
from cockpit.demo.words import EMAIL_CAMPAIGNS
from cockpit.outreach.items import ItemFilter, OutreachItem
from cockpit.outreach.policy import quiet
from cockpit.services import outreach as service
from cockpit.services.outreach import NotScored, list_items, plan, skipped
from cockpit.store import Store, open_store
from tests.clocks import at

from .builders import TODAY, defaults, tune


def drafts(store: Store) -> dict[str, OutreachItem]:
    return {item.dedupe_key: item for item in list_items(store, ItemFilter(statuses=("draft",)))}


def one(store: Store, sql: str, *params: Any) -> Any:
    return store.db.execute(sql, params).fetchone()[0]


# (playbook, story, the end of the dedupe key after the account, channel, contact role, words in the subject)
STORIES = [
    ("save-now", "cancel_lookup", "", "call_task", "Champion", "churn risk high"),
    ("rescue", "silent", "", "call_task", "Champion", "Check in with"),
    ("renewal", "renewal_soon", ":{renewal}", "todo", None, "Renewal of"),
    ("stalled-feature", "stalled_feature", ":ana-explore", "email", "Champion", "Getting more from Explorer"),
    ("cross-sell", "cross_sell_ready", ":analytics", "email", "Champion", "Analytics for"),
    ("unopened-follow-up", "unopened_email", "", "email", "Champion", "Re: Checking in on your rollout"),
    ("referral", "lover", "", "email", "Champion", "Would you introduce us?"),
    ("birthday", "birthday", ":{birthday_contact}", "email", "Admin", "Happy birthday"),
]


@pytest.mark.parametrize(("playbook", "story", "suffix", "channel", "role", "subject"), STORIES)
def test_each_default_playbook_queues_its_story(
    demo: Store, playbook: str, story: str, suffix: str, channel: str, role: str | None, subject: str
) -> None:
    account_id = STORY_ACCOUNTS[story]
    report = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    assert report.counts()["queued"] > 0
    renewal = one(demo, "SELECT renewal_date FROM accounts WHERE id = ?", account_id)
    birthday_contact = demo.db.execute(
        "SELECT id FROM contacts WHERE account_id = ? AND birthday IS NOT NULL AND personalization_consent = 1",
        [account_id],
    ).fetchone()
    key = f"{playbook}:{account_id}" + suffix.format(
        renewal=renewal, birthday_contact=birthday_contact[0] if birthday_contact else None
    )
    item = drafts(demo)[key]
    assert (item.channel, item.status) == (channel, "draft")
    # Due today, unless a message of higher priority took the contact's day (the lover is also ready for a
    # cross-sell): then the reason says why it moved.
    assert item.due_on == TODAY or item.reason["due"].startswith(f"moved from {TODAY}")
    assert subject in item.subject
    assert item.reason["playbook"] == playbook
    assert item.reason["values"]  # the values that fired it
    if role is None:
        assert item.contact_id is None
    else:
        assert one(demo, "SELECT role FROM contacts WHERE id = ?", item.contact_id) == role
    # The seeded drafts of the stories were updated in place, not doubled.
    assert one(demo, "SELECT count(*) FROM outreach WHERE dedupe_key = ?", key) == 1


def test_no_birthday_without_consent_and_nothing_for_a_churned_account(demo: Store) -> None:
    plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    vendor = STORY_ACCOUNTS["birthday_no_consent"]
    # The contact's birthday is there, born today, but came from a vendor without consent.
    born = one(
        demo,
        "SELECT birthday FROM contacts WHERE account_id = ? AND birthday IS NOT NULL AND personalization_consent = 0",
        vendor,
    )
    assert born[5:] == TODAY.isoformat()[5:]
    assert (
        one(demo, "SELECT count(*) FROM outreach WHERE playbook = 'birthday' AND account_id = ?", vendor) == 0
    )
    churned = STORY_ACCOUNTS["churned"]
    assert one(demo, "SELECT count(*) FROM outreach WHERE account_id = ?", churned) == 0


def follow_ups(store: Store) -> dict[str, str]:
    """The unopened-email follow-ups queued, by account: the subject of the email each follows up."""
    return {
        item.account_id: item.subject.removeprefix("Re: ")
        for item in drafts(store).values()
        if item.playbook == "unopened-follow-up"
    }


def test_only_a_persons_emails_are_followed_up_never_a_newsletter(demo: Store) -> None:
    plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    followed = follow_ups(demo)
    assert followed[STORY_ACCOUNTS["unopened_email"]] == "Checking in on your rollout"
    # The demo book sends newsletters and digests to every account (their payload names the campaign):
    # none is followed up, and a person's email sent before an unopened newsletter still is.
    assert set(followed.values()) <= {"Checking in on your rollout", "Your admin checklist for next quarter",
                                      "Join our customer advisory board"}  # fmt: skip
    assert not set(followed.values()) & set(EMAIL_CAMPAIGNS)


def test_a_playbook_follows_up_the_campaigns_it_names(demo: Store) -> None:
    webinars = [
        playbook.model_copy(update={"follow_up_campaigns": ["Monthly digest"]})
        if playbook.id == "unopened-follow-up"
        else playbook
        for playbook in defaults().outreach.playbooks
    ]
    plan(demo, tune("outreach", playbooks=webinars), as_of=TODAY, clock=at(TODAY))
    followed = follow_ups(demo)
    assert "Your monthly product digest" in followed.values()
    assert not set(followed.values()) & (set(EMAIL_CAMPAIGNS) - {"Your monthly product digest"})


def test_a_muted_playbook_queues_nothing_until_unmuted(demo: Store) -> None:
    first = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    queued = first.by_playbook()["cross-sell"]["queued"]
    assert queued > 0 and first.muted == []
    assert service.set_muted(demo, defaults(), "cross-sell", True, clock=at(TODAY))
    assert not service.set_muted(demo, defaults(), "cross-sell", True, clock=at(TODAY))  # already
    muted = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))  # not --full: muting re-plans the book
    assert muted.muted == ["cross-sell"]
    assert not [draft for draft in muted.queued if draft.playbook == "cross-sell"]
    withdrawn = [c for c in muted.cancelled if c.playbook == "cross-sell"]
    assert len(withdrawn) == queued and {c.why for c in withdrawn} == {"its playbook is muted"}
    assert one(demo, "SELECT count(*) FROM outreach WHERE playbook = 'cross-sell' AND status = 'draft'") == 0
    # A withdrawal is the planner's, not the CSM's: no cooldown, so unmuting queues them again at once.
    assert service.set_muted(demo, defaults(), "cross-sell", False, clock=at(TODAY))
    again = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    assert again.muted == [] and again.by_playbook()["cross-sell"]["queued"] == queued


def test_muting_a_playbook_that_does_not_exist_is_refused(demo: Store) -> None:
    with pytest.raises(service.UnknownPlaybook, match="no playbook 'cross-sel'; the playbooks are save-now"):
        service.set_muted(demo, defaults(), "cross-sel", True, clock=at(TODAY))
    assert service.muted_playbooks(demo) == frozenset()


def assert_policy_kept(store: Store, rules: Settings) -> None:
    """Every open or gone item respects reachability, quiet days and the cap and gap over every window that
    holds one, counting logged interactions; the plan wrote none that breaks them."""
    policy = rules.outreach.policy
    contacts = {
        row[0]: row[1:]
        for row in store.db.execute(
            "SELECT id, email_opt_in, do_not_contact, email, deleted_at FROM contacts"
        )
    }
    items = store.db.execute(
        "SELECT id, contact_id, channel, due_on, created_at FROM outreach WHERE status IN ('draft', 'approved', "
        "'snoozed') AND contact_id IS NOT NULL"
    ).fetchall()
    touches: dict[str, list[date]] = {}
    for contact_id, day in store.db.execute(
        "SELECT contact_id, substr(occurred_at, 1, 10) FROM interactions WHERE contact_id IS NOT NULL "
        "AND kind <> 'note' AND direction <> 'internal'"
    ):
        touches.setdefault(contact_id, []).append(date.fromisoformat(day))
    for _, contact_id, _, due, _ in items:
        touches.setdefault(contact_id, []).append(date.fromisoformat(due))
    for item_id, contact_id, channel, due_text, _ in items:
        opt_in, dnc, email, deleted = contacts[contact_id]
        assert not dnc and deleted is None, item_id
        if channel == "email":
            assert opt_in and email, item_id
        due = date.fromisoformat(due_text)
        assert due >= TODAY and not quiet(due, policy), item_id
        others = list(touches[contact_id])
        others.remove(due)
        assert all(abs((due - day).days) >= policy.min_gap_days for day in others), item_id
        for start in range(policy.window_days):
            first = due - timedelta(days=start)
            last = first + timedelta(days=policy.window_days - 1)
            assert sum(first <= day <= last for day in touches[contact_id]) <= policy.max_touches, item_id


def test_the_plan_keeps_the_policy_and_the_second_plan_queues_nothing(demo: Store) -> None:
    first = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    assert_policy_kept(demo, defaults())
    assert first.run_id is not None
    stored = one(demo, "SELECT count(*) FROM outreach WHERE status = 'draft'")
    assert stored == first.counts()["queued"] + first.counts()["updated"]
    second = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY), full=True)
    skipped_again = first.counts()["skipped"]  # what no contact could take the first time (unreachable)
    assert second.counts() == {
        "queued": 0,
        "updated": 0,
        "kept": stored,
        "cancelled": 0,
        "skipped": skipped_again,
    }
    assert {skip.dedupe_key for skip in second.skipped} == {skip.dedupe_key for skip in first.skipped}
    # Planning again changes nothing, so the third plan (not `full`) plans no account again.
    third = plan(demo, defaults(), as_of=TODAY, clock=at(TODAY))
    assert third.counts() == dict.fromkeys(third.counts(), 0)
    assert third.accounts == 0 and third.unchanged >= first.accounts
    assert {skip.dedupe_key for skip in skipped(demo)} == {skip.dedupe_key for skip in first.skipped}
    assert one(demo, "SELECT count(*) FROM outreach") == one(demo, "SELECT count(*) FROM outreach")


def test_a_dry_run_writes_nothing(demo: Store) -> None:
    before = demo.db.execute("SELECT * FROM outreach ORDER BY id").fetchall()
    report = plan(demo, defaults(), as_of=TODAY, dry_run=True, clock=at(TODAY))
    assert report.counts()["queued"] > 0 and report.run_id is None
    assert all(draft.item_id is None for draft in report.queued)
    assert demo.db.execute("SELECT * FROM outreach ORDER BY id").fetchall() == before
    assert one(demo, "SELECT count(*) FROM outreach_runs") == 0


def test_an_unscored_book_is_refused(store: Store) -> None:
    with pytest.raises(NotScored) as caught:
        plan(store, defaults(), as_of=TODAY, clock=at(TODAY))
    assert caught.value.hint == "Score the book first: cockpit score"


def test_skips_are_recorded_with_why(demo: Store) -> None:
    strict = tune("outreach.policy", max_touches=1, window_days=30, min_gap_days=0)
    report = plan(demo, tune("outreach", strict, max_shift_days=0), as_of=TODAY, clock=at(TODAY))
    assert report.skipped
    stored = skipped(demo)
    assert len(stored) == len(report.skipped)
    assert {(s.account_id, s.playbook, s.why) for s in stored} == {
        (s.account_id, s.playbook, s.why) for s in report.skipped
    }
    account_id = report.skipped[0].account_id
    mine = skipped(demo, account_id)
    assert mine and all(skip.account_id == account_id for skip in mine)
    assert any(
        "no contact can be reached" in skip.why and "at most 1 in 30 days" in skip.why for skip in stored
    )


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    max_touches=st.integers(1, 3),
    window_days=st.integers(1, 21),
    min_gap_days=st.integers(0, 5),
    quiet_weekdays=st.lists(
        st.sampled_from(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]), max_size=4, unique=True
    ),
    shift=st.integers(0, 5),
    opt_outs=st.integers(0, 100),
)
@pytest.mark.slow
def test_random_policies_on_the_demo_book(
    scored_demo: Path,
    tmp_path_factory: pytest.TempPathFactory,
    max_touches: int,
    window_days: int,
    min_gap_days: int,
    quiet_weekdays: list[str],
    shift: int,
    opt_outs: int,
) -> None:
    """Whatever the policy, and with random contacts opted out or marked do-not-contact after a first plan:
    the plans never break the policy, opted-out contacts lose their items, and planning twice is stable."""
    path = tmp_path_factory.mktemp("random") / "demo.db"
    shutil.copy(scored_demo, path)
    rules = tune(
        "outreach.policy",
        max_touches=max_touches,
        window_days=window_days,
        min_gap_days=min_gap_days,
        quiet_weekdays=quiet_weekdays,
    )
    rules = tune("outreach", rules, max_shift_days=shift)
    store = open_store(path)
    try:
        plan(store, rules, as_of=TODAY, clock=at(TODAY))
        assert_policy_kept(store, rules)
        with store.write() as db:
            db.execute(
                "UPDATE contacts SET email_opt_in = 0 WHERE (CAST(substr(id, 5) AS INTEGER) * 7919) % 100 < ?",
                [opt_outs // 2],
            )
            db.execute(
                "UPDATE contacts SET do_not_contact = 1 WHERE (CAST(substr(id, 5) AS INTEGER) * 104729) % 100 < ?",
                [opt_outs // 4],
            )
        plan(store, rules, as_of=TODAY, clock=at(TODAY))
        assert_policy_kept(store, rules)
        again = plan(store, rules, as_of=TODAY, clock=at(TODAY))
        assert (again.queued, again.updated, again.cancelled) == ([], [], [])
    finally:
        store.close()
