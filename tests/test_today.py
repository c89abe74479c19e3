"""The CSM's day (`cockpit.services.today`) on a real database, on a pinned day: what is due, what renews,
which accounts the latest run moved and why; follow-ups and tasks done or moved, and what the CRM is told."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.config import Settings, load_settings
from cockpit.domain.today import (
    LongOverdue,
    TodayItem,
    TodayKind,
    TodayList,
    fold_long_overdue,
)
from cockpit.domain.touches import CSM_TOUCHES
from cockpit.errors import ConfigError
from cockpit.services import today as service
from cockpit.store import Store
from cockpit.store import sync as store_sync
from cockpit.store.compact_scores import compact_run_ids, compact_score_runs
from tests.clocks import at
from tests.hostile import without_raw_control
from tests.processes import on_a_terminal
from tests.today_books import DAY, STAMP, fill_day


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def day_store(store: Store) -> Store:
    fill_day(store)
    return store


def refs(day: TodayList, kind: str) -> list[str]:
    return [item.ref for section in day.sections if section.kind == kind for item in section.items]


def item(day: TodayList, ref: str, kind: str | None = None) -> TodayItem:
    return next(found for found in day.items() if found.ref == ref and kind in (None, found.kind))


def test_the_day_lists_what_is_due_with_its_account(day_store: Store, settings: Settings) -> None:
    day = service.today_list(day_store, settings, clock=at(DAY))
    assert day.day == DAY
    # Overdue first; not one due later, nor one a later call settled (a later note settles nothing).
    assert refs(day, "follow_up") == ["int-late", "int-due"]
    # Call tasks and to-dos of the coming week, open (a synced one is in the CRM, not done; a snoozed one
    # once its day came), never emails, cancelled ones, a snooze still running or a task weeks away.
    assert refs(day, "task") == ["out-woken", "out-synced", "out-call", "out-todo"]
    # This month's renewals of customers (not the churned account's, nor next month's).
    assert refs(day, "renewal") == ["acc-2", "acc-1"]
    late = item(day, "int-late")
    assert (late.account_id, late.account_name, late.day) == ("acc-2", "Globex", date(2026, 11, 10))
    assert item(day, "out-call").detail == "call task of the rescue playbook, with Ana"


def test_score_changes_say_what_moved_and_why(day_store: Store, settings: Settings) -> None:
    day = service.today_list(day_store, settings, clock=at(DAY))
    assert day.compared_runs == (date(2026, 11, 24), DAY)
    entered, eased = (item(day, "acc-1", "score_change"), item(day, "acc-2", "score_change"))
    assert refs(day, "score_change") == ["acc-1", "acc-2"]  # save now first; acc-3 did not move
    assert entered.title == "Entered save now"
    assert entered.detail == (
        "churn tier medium → high; priority protect → save now; strongest signal: cancel click on 2026-11-19"
    )
    # Less risk needs no churn signal to explain it.
    assert (eased.title, eased.detail) == (
        "Churn risk high → low",
        "churn tier high → low; priority rescue → nurture",
    )


def test_without_two_runs_there_are_no_changes(day_store: Store, settings: Settings) -> None:
    day = service.today_list(day_store, settings, clock=at(date(2026, 11, 24)))
    assert day.compared_runs is None and refs(day, "score_change") == []


def test_a_limit_cuts_each_section_and_keeps_the_count(day_store: Store, settings: Settings) -> None:
    day = service.today_list(day_store, settings, clock=at(DAY), limit=1)
    assert {section.kind: (len(section.items), section.total) for section in day.sections} == {
        "follow_up": (1, 2), "task": (1, 4), "renewal": (1, 2), "score_change": (1, 2),
    }  # fmt: skip


def test_done_closes_follow_ups_and_tasks_and_the_task_goes_to_the_crm_completed(
    day_store: Store, settings: Settings
) -> None:
    day = service.today_list(day_store, settings, clock=at(DAY))
    assert service.done(day_store, [item(day, "int-late"), item(day, "out-synced")], clock=at(DAY)) == 2
    after = service.today_list(day_store, settings, clock=at(DAY))
    assert "int-late" not in refs(after, "follow_up") and "out-synced" not in refs(after, "task")
    # Done again: nothing was open.
    assert service.done(day_store, [item(day, "int-late")], clock=at(DAY)) == 0
    outbox = {
        row.local_id: row
        for row in store_sync.pending(day_store.db, "hubspot", "outreach", CSM_TOUCHES, after="", limit=50)
    }
    assert outbox["out-synced"].done and not outbox["out-call"].done


def test_snooze_and_reschedule_move_the_day(day_store: Store, settings: Settings) -> None:
    day = service.today_list(day_store, settings, clock=at(DAY))
    tomorrow = DAY + timedelta(days=1)
    service.move(day_store, item(day, "int-due"), tomorrow, clock=at(DAY))
    service.move(day_store, item(day, "out-woken"), date(2026, 12, 10), clock=at(DAY))
    after = service.today_list(day_store, settings, clock=at(DAY))
    assert "int-due" not in refs(after, "follow_up") and "out-woken" not in refs(after, "task")
    assert "int-due" in refs(service.today_list(day_store, settings, clock=at(tomorrow)), "follow_up")
    on_the_day = service.today_list(day_store, settings, clock=at(date(2026, 12, 10)))
    assert "out-woken" in refs(on_the_day, "task")
    with pytest.raises(service.NotOpen, match="a day after today"):
        service.move(day_store, item(day, "out-call"), DAY, clock=at(DAY))


def test_a_moved_task_in_the_crm_goes_there_again(day_store: Store, settings: Settings) -> None:
    day = service.today_list(day_store, settings, clock=at(DAY))
    before = store_sync.pending(day_store.db, "hubspot", "outreach", CSM_TOUCHES, after="", limit=50)
    assert "out-synced" not in {row.local_id for row in before}
    service.move(day_store, item(day, "out-synced"), DAY + timedelta(days=2), clock=at(DAY))
    after = {
        row.local_id: row
        for row in store_sync.pending(day_store.db, "hubspot", "outreach", CSM_TOUCHES, after="", limit=50)
    }
    assert after["out-synced"].occurred_at == "2026-11-27" and not after["out-synced"].done
    # Moved again (an item edited twice: the edit's trigger once broke the second upsert of its edit mark).
    service.move(day_store, item(day, "out-synced"), DAY + timedelta(days=3), clock=at(DAY, hour=10))
    moved = day_store.db.execute("SELECT due_on FROM outreach WHERE id = 'out-synced'").fetchone()
    assert moved == ("2026-11-28",)


def test_open_call_tasks_of_an_account(day_store: Store) -> None:
    assert [task.ref for task in service.open_call_tasks(day_store, "acc-1")] == ["out-call", "out-far"]
    # A snoozed call task is still to do; a to-do is not a call, a cancelled one not open.
    assert [task.ref for task in service.open_call_tasks(day_store, "acc-2")] == ["out-asleep"]


def test_cockpit_today_json_is_the_day_in_a_stable_shape(day_store: Store) -> None:
    """`COCKPIT_NOW` (tests/conftest.py) is the book's day."""
    result = CliRunner().invoke(app, ["today", "--db", str(day_store.path), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert set(shown) == {"day", "compared_runs", "sections"} and shown["day"] == DAY.isoformat()
    assert shown["compared_runs"] == {"before": "2026-11-24", "after": "2026-11-25"}
    assert [section["kind"] for section in shown["sections"]] == [
        "follow_up",
        "task",
        "renewal",
        "score_change",
    ]
    follow_ups = shown["sections"][0]
    assert follow_ups["total"] == 2 and follow_ups["items"][0] == {
        "kind": "follow_up",
        "id": "int-late",
        "account": {"id": "acc-2", "name": "Globex"},
        "day": "2026-11-10",
        "title": "Follow up: call int-late",
        "detail": "asked for by the call of 2026-11-01",
    }


def test_cockpit_today_text_shows_hostile_data_inert(hostile_db: Path) -> None:
    result = CliRunner().invoke(app, ["today", "--db", str(hostile_db)])
    assert result.exit_code == 0, result.output
    assert "Call tasks and to-dos this week (" in result.stdout
    assert without_raw_control(result.stdout) is None


@pytest.mark.slow
def test_cockpit_today_on_a_terminal_honours_no_color(day_store: Store) -> None:
    arguments = ["today", "--db", str(day_store.path)]
    assert b"\x1b[" in on_a_terminal(arguments)  # bold headings, overdue days in red
    written = on_a_terminal(arguments, {"NO_COLOR": "1"})
    assert b"Follow-ups due (2)" in written and b"\x1b" not in written


def test_score_changes_read_a_compact_earlier_run_alike(day_store: Store, settings: Settings) -> None:
    full = service.today_list(day_store, settings, clock=at(DAY)).sections[-1]
    with day_store.write() as db:
        compact_score_runs(db, [1])
        assert compact_run_ids(db) == {1}
    assert service.today_list(day_store, settings, clock=at(DAY)).sections[-1] == full


def test_quick_leaves_out_what_takes_longest(day_store: Store, settings: Settings) -> None:
    """The Today screen's first paint: the items, not the score changes nor the count beyond the limit."""
    quick = service.today_list(day_store, settings, clock=at(DAY), limit=1, quick=True)
    assert [(section.kind, section.total) for section in quick.sections] == [
        ("follow_up", None), ("task", 4), ("renewal", 2), ("score_change", None),
    ]  # fmt: skip
    assert refs(quick, "follow_up") == ["int-late"] and refs(quick, "score_change") == []


def test_due_follow_ups_find_the_later_touches_in_an_index(day_store: Store) -> None:
    """Whether a later touch settled a follow-up is read from the index of the account's interactions by time
    (which carries their kind and direction, 0040), not from their rows: on a large book the first open
    follow-ups are found among thousands settled."""
    statements: list[str] = []
    day_store.db.conn.set_trace_callback(statements.append)
    service.today_list(day_store, load_settings(), clock=at(DAY), quick=True)
    day_store.db.conn.set_trace_callback(None)
    [query] = [sql for sql in statements if "follow_up_on <=" in sql and sql.lstrip().startswith("SELECT")]
    plan = " / ".join(row[3] for row in day_store.db.execute(f"EXPLAIN QUERY PLAN {query}").fetchall())
    assert "SEARCH i USING INDEX interactions_follow_up" in plan, plan
    assert "SEARCH j USING COVERING INDEX interactions_account_time" in plan, plan


def test_follow_ups_long_overdue_fold_into_one_where_the_first_stood() -> None:
    def item(kind: TodayKind, ref: str, late: int) -> TodayItem:
        return TodayItem(kind, ref, f"acc-{ref}", ref, DAY - timedelta(days=late), ref, "")

    old, older, edge, late, task = (
        item("follow_up", "old", 91),
        item("follow_up", "older", 400),
        item("follow_up", "edge", 90),
        item("follow_up", "late", 3),
        item("task", "task", 200),
    )
    day = [older, old, edge, late, task]
    fold = LongOverdue((older, old), 90)
    assert fold_long_overdue(day, DAY, days=90) == [
        fold,
        edge,
        late,
        task,
    ]  # 90 days late is not more than 90
    assert fold_long_overdue(day, DAY, days=90, opened=True) == [fold, older, old, edge, late, task]
    assert fold.title == "2 follow-ups overdue by more than 90 days" and fold.oldest == older
    assert fold_long_overdue([old, late], DAY, days=90) == [old, late]  # one alone stays as it is
    # The days are the setting's: at 89, the one 90 days late folds too.
    assert fold_long_overdue(day, DAY, days=89) == [LongOverdue((older, old, edge), 89), late, task]


def test_the_fold_is_a_setting_above_zero(tmp_path: Path) -> None:
    assert load_settings().today.fold_overdue_after_days == 90
    mine = tmp_path / "mine.toml"
    mine.write_text("[today]\nfold_overdue_after_days = 30\n")
    assert load_settings(mine).today.fold_overdue_after_days == 30
    mine.write_text("[today]\nfold_overdue_after_days = 0\n")
    with pytest.raises(ConfigError, match="fold_overdue_after_days"):
        load_settings(mine)


def test_cockpit_today_folds_the_long_overdue_unless_all(day_store: Store, tmp_path: Path) -> None:
    """One line for the follow-ups more than `[today] fold_overdue_after_days` late, with the oldest; `--all`
    lists them; `--json` always has them all."""
    with day_store.write() as db:
        db.table("accounts").insert(
            {"id": "acc-5", "name": "Hooli", "renewal_date": "2027-06-01", "mrr": 100, "created_at": STAMP,
             "updated_at": STAMP}
        )  # fmt: skip
        db.table("interactions").insert(
            {"id": "int-old", "account_id": "acc-5", "kind": "call", "occurred_at": "2026-07-20T10:00:00+00:00",
             "summary": "call int-old", "follow_up_on": "2026-08-01", "sync_key": "key-int-old",
             "sync_state": "synced", "created_at": STAMP, "updated_at": STAMP}
        )  # fmt: skip
    arguments = ["today", "--db", str(day_store.path)]
    # By default (90 days) the one follow-up 116 days late stays as it is.
    shown = CliRunner().invoke(app, arguments)
    assert shown.exit_code == 0, shown.output
    assert "Follow up: call int-old" in shown.stdout and "overdue by more than" not in shown.stdout
    mine = tmp_path / "mine.toml"
    mine.write_text("[today]\nfold_overdue_after_days = 10\n")
    folded = CliRunner().invoke(app, [*arguments, "--config", str(mine)])
    assert folded.exit_code == 0, folded.output
    assert "  2 follow-ups overdue by more than 10 days, the oldest 116 days late (Hooli)\n" in folded.stdout
    assert "Follow-ups due (3)" in folded.stdout and "int-old" not in folded.stdout
    assert "int-late" not in folded.stdout and "Follow up: call int-due" in folded.stdout
    listed = CliRunner().invoke(app, [*arguments, "--config", str(mine), "--all"])
    assert listed.exit_code == 0, listed.output
    assert "overdue by more than" not in listed.stdout
    assert all(f"Follow up: call {ref}" in listed.stdout for ref in ("int-old", "int-late", "int-due"))
    as_json = CliRunner().invoke(app, [*arguments, "--config", str(mine), "--json"])
    assert as_json.exit_code == 0, as_json.output
    follow_ups = json.loads(as_json.stdout)["sections"][0]
    assert [item["id"] for item in follow_ups["items"]] == ["int-old", "int-late", "int-due"]


def test_follow_ups_go_to_the_crm_open_and_again_once_moved_done_or_settled(
    day_store: Store, settings: Settings
) -> None:
    """The outbox's follow-ups: of interactions cockpit pushed (not int-later's: it came from elsewhere),
    open ones only (int-settled's, settled by a later touch before it ever went, stays home); once in the
    CRM, each move, done or settling touch is a new version, and done ones go out completed."""
    with day_store.write() as db:
        run = store_sync.start_run(db, "hubspot", dry_run=False, now=STAMP)

    def pushed(item_type: store_sync.ItemType, ids: list[str]) -> None:
        """Every one of `ids` in HubSpot as it is now."""
        rows = {row.local_id: row for row in outbox()} if item_type == "follow_up" else {}
        outcomes = [
            store_sync.PushOutcome(
                item_type=item_type,
                local_id=local_id,
                crm_object="tasks",
                crm_id=f"crm-{local_id}",
                error=None,
                state="synced",
                refusals=0,
                pushed_version=rows[local_id].version if rows else STAMP,
            )
            for local_id in ids
        ]
        with day_store.write() as db:
            store_sync.record_pushes(db, "hubspot", outcomes, run_id=run, now=STAMP)

    def outbox() -> list[store_sync.OutboxRow]:
        return store_sync.pending(day_store.db, "hubspot", "follow_up", CSM_TOUCHES, after="", limit=50)

    pushed("interaction", ["int-due", "int-late", "int-settled"])
    assert [(row.local_id, row.done) for row in outbox()] == [("int-due", False), ("int-late", False)]
    pushed("follow_up", ["int-due", "int-late"])
    assert outbox() == []

    day = service.today_list(day_store, settings, clock=at(DAY))
    service.move(day_store, item(day, "int-due"), DAY + timedelta(days=3), clock=at(DAY))
    service.done(day_store, [item(day, "int-late")], clock=at(DAY))
    assert [(row.local_id, row.occurred_at, row.done) for row in outbox()] == [
        ("int-due", "2026-11-28", False),
        ("int-late", "2026-11-10", True),
    ]
    pushed("follow_up", ["int-due", "int-late"])
    assert outbox() == []

    with day_store.write() as db:  # a call with Acme after int-due's: it settles the follow-up
        db.table("interactions").insert(
            {"id": "int-next", "account_id": "acc-1", "kind": "call", "occurred_at": "2026-11-24T10:00:00+00:00",
             "summary": "call", "sync_key": "key-int-next", "created_at": "2026-11-25T10:00:00+00:00",
             "updated_at": "2026-11-25T10:00:00+00:00"}
        )  # fmt: skip
    assert [(row.local_id, row.done) for row in outbox()] == [("int-due", True)]
    assert store_sync.count_pending(day_store.db, "hubspot", ["follow_up"], CSM_TOUCHES) == {"follow_up": 1}
