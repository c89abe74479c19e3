"""How a follow-up's task as the CRM has it merges with the follow-up (`merge.merge_task`): the cases the
test servers do not reach."""

from __future__ import annotations

from cockpit.services.sync.merge import merge_task

OPEN = {"due_on": "2026-11-27", "done": False}
DONE = {"due_on": "2026-11-27", "done": True}
MOVED = {"due_on": "2026-12-05", "done": False}


def test_without_the_values_pushed_the_follow_up_stands_for_them_unless_it_waits() -> None:
    assert merge_task(MOVED, OPEN, None, waiting=False).apply == {"due_on": "2026-12-05"}
    waits = merge_task(MOVED, OPEN, None, waiting=True)  # changed here: ours goes out
    assert (waits.apply, waits.conflicts) == ({}, [])


def test_a_task_reopened_in_the_crm_is_agreed_on_not_applied() -> None:
    result = merge_task(OPEN, DONE, DONE, waiting=False)
    assert (result.apply, result.agreed["done"]) == ({}, False)


def test_a_new_day_for_a_follow_up_done_here_is_not_applied() -> None:
    result = merge_task(MOVED, DONE, OPEN, waiting=True)
    assert (result.apply, result.conflicts, result.agreed["due_on"]) == ({}, [], "2026-12-05")
