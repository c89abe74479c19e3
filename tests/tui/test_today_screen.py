"""The Today screen over a real book on its day: what it lists, and each key's action on the item under the
cursor, as the database then holds it."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from cockpit.config import load_settings
from cockpit.services import today as service
from cockpit.store import Store
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.account import AccountScreen
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.log_interaction import LogInteractionScreen
from cockpit.tui.screens.today import DayScreen, TodayScreen
from tests.clocks import at
from tests.today_books import DAY, STAMP, fill_day

from .books import press_to, settle


@pytest.fixture
def app(store: Store) -> CockpitApp:
    fill_day(store)
    return CockpitApp(store, load_settings(), clock=at(DAY), db_label="day.db")


def rows(app: CockpitApp) -> list[tuple[str, ...]]:
    table = app.screen.query_one(DataTable)
    return [tuple(str(cell) for cell in table.get_row_at(index)) for index in range(table.row_count)]


def refs(store: Store) -> list[str]:
    return [item.ref for item in service.today_list(store, load_settings(), clock=at(DAY)).items()]


async def test_t_opens_the_day_with_each_item_and_its_account(app: CockpitApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await press_to(pilot, "T", TodayScreen)
        shown = rows(app)
        assert shown[:2] == [
            ("15 days late", "Follow-up", "Globex", "Follow up: call int-late"),
            ("today", "Follow-up", "Acme", "Follow up: call int-due"),
        ]
        assert [row[1] for row in shown] == ["Follow-up"] * 2 + ["Task"] * 4 + ["Renewal"] * 2 + ["Score"] * 2
        assert "Globex · Follow up: call int-late" in str(app.screen.query_one("#today-detail").render())


async def test_a_day_longer_than_the_terminal_is_listed_whole(app: CockpitApp, store: Store) -> None:
    """The first read takes no more items of a kind than the terminal has rows (it paints sooner on a large
    book); the whole day follows, though every kind was counted (no score runs to compare)."""
    with store.write() as db:
        db.execute("DELETE FROM scores")
        db.execute("DELETE FROM score_runs")
        db.table("accounts").insert_all(
            {"id": f"acc-r{n}", "name": f"Renewing {n:02}", "renewal_date": "2026-11-29", "mrr": 100,
             "created_at": STAMP, "updated_at": STAMP}
            for n in range(30)
        )  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        await press_to(pilot, "T", TodayScreen)
        assert [row[1] for row in rows(app)].count("Renewal") == 32
        assert "32 renewals this month" in str(app.screen.query_one("#today-status").render())


async def test_the_cursor_stays_on_its_item_when_the_day_is_read_again(app: CockpitApp, store: Store) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await press_to(pilot, "T", TodayScreen)
        await pilot.press("down", "down")  # the first task: out-woken
        [late] = [item for item in service.today_list(store, load_settings(), clock=at(DAY)).items()
                  if item.ref == "int-late"]  # fmt: skip
        service.done(store, [late], clock=at(DAY))  # done elsewhere: the rows above the cursor move up
        await pilot.press("ctrl+r")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert rows(app)[table.cursor_row][3] == "Subject out-woken"
        assert "Subject out-woken" in str(app.screen.query_one("#today-detail").render())


async def test_x_marks_done_and_z_snoozes_to_tomorrow(app: CockpitApp, store: Store) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await press_to(pilot, "T", TodayScreen)
        await pilot.press("x")  # the overdue follow-up
        await settle(pilot)
        assert "int-late" not in refs(store)
        assert rows(app)[0][3] == "Follow up: call int-due"
        await pilot.press("z")
        await settle(pilot)
        assert "int-due" not in refs(store)
        assert rows(app)[0][1] == "Task"


async def test_r_moves_to_the_day_typed(app: CockpitApp, store: Store) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await press_to(pilot, "T", TodayScreen)
        await pilot.press("down", "down")  # the first task: out-woken
        await press_to(pilot, "r", DayScreen)
        await pilot.press(*"2026-11-24", "enter")  # a day gone: refused, the box stays
        await settle(pilot)
        assert isinstance(app.screen, DayScreen)
        app.screen.query_one(Input).value = ""
        await pilot.press(*"+20", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert "out-woken" not in refs(store)
        assert "out-woken" in [
            item.ref
            for item in service.today_list(
                store, load_settings(), clock=at(DAY.replace(day=15, month=12))
            ).items()
        ]


async def test_a_renewal_is_opened_not_done(app: CockpitApp, store: Store) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await press_to(pilot, "T", TodayScreen)
        await pilot.press(*["down"] * 6, "x")  # the first renewal
        await settle(pilot)
        assert refs(store).count("acc-2") == 2  # still a renewal and a score change
        account = await press_to(pilot, "enter", AccountScreen)
        assert account.account_id == "acc-2"


async def test_logging_a_call_offers_to_close_the_accounts_call_task(app: CockpitApp, store: Store) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await press_to(pilot, "T", TodayScreen)
        await pilot.press("down")  # Acme's follow-up; Acme has two open call tasks
        await press_to(pilot, "l", LogInteractionScreen)
        await pilot.press(*"Called Ana", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "its 2 open call tasks" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert service.open_call_tasks(store, "acc-1") == []
        assert "out-call" not in refs(store)


async def test_today_is_in_the_command_palette(app: CockpitApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"today", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)


async def test_saying_no_keeps_the_call_tasks_open(app: CockpitApp, store: Store) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await press_to(pilot, "T", TodayScreen)
        await pilot.press("down")
        await press_to(pilot, "l", LogInteractionScreen)
        await pilot.press(*"Left a voicemail", "enter")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert [task.ref for task in service.open_call_tasks(store, "acc-1")] == ["out-call", "out-far"]


async def test_follow_ups_long_overdue_are_one_line_that_enter_opens_and_folds(
    app: CockpitApp, store: Store
) -> None:
    """Follow-ups more than 90 days late (accounts left untouched since) are one line at the top; Enter lists
    them below it, each as any follow-up, and Enter on the line folds them again; x on the line does nothing."""
    with store.write() as db:
        db.table("accounts").insert_all(
            {"id": account_id, "name": name, "mrr": 100, "created_at": STAMP, "updated_at": STAMP}
            for account_id, name in (("acc-5", "Hooli"), ("acc-6", "Vandelay"))
        )
        db.table("interactions").insert_all(
            {"id": interaction_id, "account_id": account_id, "kind": "call", "occurred_at": f"{day}T10:00:00+00:00",
             "summary": f"call {interaction_id}", "follow_up_on": day, "sync_key": f"key-{interaction_id}",
             "sync_state": "synced", "created_at": STAMP, "updated_at": STAMP}
            for interaction_id, account_id, day in (("int-old", "acc-5", "2025-06-01"), ("int-aged", "acc-6", "2026-08-26"))
        )  # fmt: skip
    before = refs(store)
    folded = ("> 90 days late", "Follow-ups", "▸ 2 follow-ups", "of 2 accounts, overdue by more than 90 days")
    async with app.run_test(size=(120, 40)) as pilot:
        today = await press_to(pilot, "T", TodayScreen)
        assert rows(app)[:2] == [folded, ("15 days late", "Follow-up", "Globex", "Follow up: call int-late")]
        detail = str(today.query_one("#today-detail").render())
        assert "the oldest 542 days late (Hooli)" in detail and "Enter lists them." in detail
        await pilot.press("x")
        await settle(pilot)
        assert refs(store) == before  # nothing done
        await pilot.press("enter")
        await settle(pilot)
        assert rows(app)[:4] == [
            ("> 90 days late", "Follow-ups", "▾ 2 follow-ups", folded[3]),
            ("542 days late", "Follow-up", "Hooli", "Follow up: call int-old"),
            ("91 days late", "Follow-up", "Vandelay", "Follow up: call int-aged"),
            ("15 days late", "Follow-up", "Globex", "Follow up: call int-late"),
        ]
        await pilot.press("down")
        account = await press_to(pilot, "enter", AccountScreen)  # an item of the fold: its account
        assert account.account_id == "acc-5"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is today and rows(app)[1][2] == "Hooli"  # still listed
        await pilot.press("up", "enter")
        await settle(pilot)
        assert rows(app)[:2] == [folded, ("15 days late", "Follow-up", "Globex", "Follow up: call int-late")]
