"""The CSM's day, for `cockpit today` and the Today screen: what is due on the clock's day, and the actions on
it (done, moved to another day); closing the open call tasks of an account once its call is logged.

A follow-up is what a logged interaction asked for (`follow_up_on`): due on its day, until it is marked done
or a later touch of the account settles it. A task is a call task or to-do an outreach playbook queued. Both
are tasks in the CRM (the outbox: `cockpit.services.sync`): moved, their due day changes there; done, they are
completed there."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from cockpit.clock import Clock, stamp
from cockpit.config import Settings
from cockpit.domain import today as rules
from cockpit.domain.today import TodayItem, TodayList, TodaySection
from cockpit.domain.touches import CSM_TOUCHES
from cockpit.errors import CockpitError
from cockpit.store import Store
from cockpit.store import outreach as outreach_sql
from cockpit.store import today as sql


class NotOpen(CockpitError):
    """An action on an item that is no longer open (done meanwhile, or gone)."""

    title = "Nothing changed"
    exit_code = 2


def today_list(
    store: Store,
    settings: Settings,
    *,
    clock: Clock,
    limit: int | None = rules.SECTION_LIMIT,
    quick: bool = False,
) -> TodayList:
    """Everything on the clock's day, each kind in its section, at most `limit` items of a kind (None: all).
    `quick` leaves out what takes longest on a large book (its total None): the count of the follow-ups
    beyond the limit, and the score changes."""
    db, today = store.db, clock.today()
    rows, total = sql.due_follow_ups(db, today, CSM_TOUCHES, limit=limit, counted=not quick)
    follow_ups = [rules.follow_up(*row) for row in rows]
    sections = [TodaySection("follow_up", _heading("follow_up"), tuple(follow_ups), total)]

    by = today + timedelta(days=rules.TASK_DAYS_AHEAD)
    rows, total = sql.due_tasks(db, by, rules.TASK_CHANNELS, rules.OPEN_TASK_STATUSES, limit=limit)
    sections.append(TodaySection("task", _heading("task"), tuple(rules.task(*row) for row in rows), total))

    first, last = rules.month_of(today)
    rows, total = sql.renewals(db, first, last, limit=limit)
    currency = settings.general.currency
    renewing = tuple(rules.renewal(account, name, day, mrr, currency) for account, name, day, mrr in rows)
    sections.append(TodaySection("renewal", _heading("renewal"), renewing, total))

    latest = outreach_sql.latest_run(db, today)
    earlier = None if latest is None else outreach_sql.latest_run(db, latest[1] - timedelta(days=1))
    runs = None if latest is None or earlier is None else (earlier, latest)
    changes: list[TodayItem] = []
    total = None if quick and runs is not None else 0
    if runs is not None and not quick:
        changes, total = _score_changes(store, settings, runs, limit)
    sections.append(TodaySection("score_change", _heading("score_change"), tuple(changes), total))
    compared = None if runs is None else (runs[0][1], runs[1][1])
    return TodayList(today, tuple(sections), compared)


def _heading(kind: rules.TodayKind) -> str:
    return dict(rules.SECTIONS)[kind]


Run = tuple[int, date]
"""A score run: its id and day."""


def _score_changes(
    store: Store, settings: Settings, runs: tuple[Run, Run], limit: int | None
) -> tuple[list[TodayItem], int]:
    """The accounts the later run moved into "save now" or to another churn tier (the first `limit`), and
    how many it moved: "save now" first, then more risk (with the strongest churn signal of the later run's
    explanation), then less; by name."""
    # The explanations (the scoring rules) load here, after the Today screen has painted its first items.
    from cockpit.domain.next_action import strongest_churn_signal
    from cockpit.store.scoring import latest_scores

    (before_run, _), (after_run, after_day) = runs
    save_now = settings.priority.high_high
    found: dict[str, tuple[str, str, int]] = {}
    changed = sql.changed_scores(store.db, before_run, after_run, ("churn_tier", "priority"))
    for account_id, tier, priority, tier_before, priority_before in changed:
        change = rules.score_change(
            rules.Standing(tier_before, priority_before), rules.Standing(tier, priority), save_now=save_now
        )
        if change is not None:
            found[account_id] = change
    names = sql.account_names(store.db, found)
    ranked = sorted(names, key=lambda account_id: (found[account_id][2], names[account_id].casefold()))
    shown = ranked if limit is None else ranked[:limit]
    worse = [account_id for account_id in shown if found[account_id][2] < 2]
    explained = latest_scores(store.db, worse, after_day, sections=("churn",))
    items = [
        rules.with_reason(
            TodayItem(
                "score_change",
                account_id,
                account_id,
                names[account_id],
                after_day,
                *found[account_id][:2],
            ),
            strongest_churn_signal(explained[account_id]) if account_id in explained else None,
        )
        for account_id in shown
    ]
    return items, len(ranked)


def done(store: Store, items: Sequence[TodayItem], *, clock: Clock) -> int:
    """Mark follow-ups and tasks done in one transaction; how many were still open. A task or a follow-up
    done goes to the CRM as completed with the next push."""
    now = stamp(clock())
    with store.write() as db:
        closed = sql.close_follow_ups(db, [item.ref for item in items if item.kind == "follow_up"], now)
        tasks = [item.ref for item in items if item.kind == "task"]
        closed += sql.close_tasks(db, tasks, rules.OPEN_TASK_STATUSES, rules.DONE_STATUS, now)
    return closed


def move(store: Store, item: TodayItem, day: date, *, clock: Clock) -> None:
    """Move a follow-up or task to `day` (snooze or reschedule: it is due again then). A task's new day is a
    CSM's edit, which the planner keeps; the new day of either goes to the CRM with the next push."""
    now = clock()
    if day <= clock.day(now):
        raise NotOpen(f"move it to a day after today ({clock.day(now)}), not {day}.")
    with store.write() as db:
        if item.kind == "follow_up":
            if not sql.move_follow_up(db, item.ref, day, stamp(now)):
                raise NotOpen(f"the follow-up of {item.account_name} is done already.")
            return
        status = sql.task_status(db, item.ref)
        if status not in rules.OPEN_TASK_STATUSES:
            raise NotOpen(f"the task {item.ref} is {status or 'gone'}: nothing to move.")
        outreach_sql.move_item(db, item.ref, rules.moved_task_status(status), day, stamp(now))


def open_call_tasks(store: Store, account_id: str) -> list[TodayItem]:
    """The account's call tasks still to do, whatever their day: what logging a call with it may close."""
    rows = sql.open_tasks(store.db, account_id, ("call_task",), rules.OPEN_TASK_STATUSES)
    return [rules.task(*row) for row in rows]
