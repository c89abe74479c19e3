"""The push states of an outbox item (`cockpit.services.sync.states`): when a CRM's refusals give it up, and when the
item itself is synced or failed."""

from __future__ import annotations

from cockpit.services.sync.states import Answered, answered, settled


def test_refusals_give_an_item_up_at_the_limit() -> None:
    refusals, states = 0, []
    for _attempt in range(3):
        after = answered(error="bad field", refused=True, refusals=refusals, max_attempts=3)
        refusals = after.refusals
        states.append(after.state)
    assert states == ["error", "error", "failed"] and refusals == 3
    assert answered(error="bad field", refused=True, refusals=0, max_attempts=1) == Answered("failed", 1)


def test_a_passing_error_is_tried_again_without_counting() -> None:
    after = answered(error="timeout", refused=False, refusals=2, max_attempts=3)
    assert after == Answered("error", 2) and not after.done


def test_a_pushed_item_is_synced_at_its_version() -> None:
    after = answered(error=None, refused=False, refusals=1, max_attempts=3)
    assert after == Answered("synced", 1) and after.done
    assert answered(error="bad", refused=True, refusals=2, max_attempts=3).done  # given up on: done too


def test_an_item_settles_once_every_crm_has_it() -> None:
    assert settled(["synced", "synced"], crms=2) == "synced"
    assert settled(["synced", "failed"], crms=2) == "failed"
    assert settled(["failed"], crms=1) == "failed"
    assert settled(["synced"], crms=2) is None  # the other CRM does not have it yet
    assert settled(["synced", "error"], crms=2) is None
    assert settled([], crms=1) is None
