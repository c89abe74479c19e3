"""The book screen, driven headless: paging, sorting, selection and errors."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlite_utils import Database
from textual.events import Key
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import Worker, get_current_worker

from cockpit.config import Settings, load_settings
from cockpit.store import Store
from cockpit.store.book import BookCursor, BookPage, BookQuery, BookRow, count_book, fetch_book_after
from cockpit.tui import bindings
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens import book as book_screen
from cockpit.tui.screens.account import AccountScreen
from cockpit.tui.screens.book_view import BookViewScreen
from cockpit.tui.screens.confirm import ConfirmScreen
from cockpit.tui.screens.help import HelpScreen
from cockpit.tui.screens.journeys import JourneysScreen, PathScreen
from cockpit.tui.screens.log_interaction import LogInteractionScreen
from cockpit.tui.screens.outreach import EditDraftScreen, OutreachScreen
from cockpit.tui.screens.score_quality import ScoreQualityScreen
from cockpit.tui.screens.sync import SyncScreen
from cockpit.tui.screens.today import DayScreen, TodayScreen
from cockpit.tui.widgets.book_table import EMPTY_MESSAGE, BookTable, column_layout
from tests.clocks import at

from .books import BOOK_DAY, in_book_order, insert_accounts, make_accounts, notices, settle
from .conftest import MakeApp

SIZE = (100, 30)
VISIBLE_ROWS = 30 - 5  # header, column titles, search bar, status line, footer


def book_table(app: CockpitApp) -> BookTable:
    return app.screen.query_one(BookTable)


def status_text(app: CockpitApp) -> str:
    return str(app.screen.query_one("#book-status", Static).content)


def first_visible_index(table: BookTable) -> int:
    return round(table.scroll_y)


def visible_ids(table: BookTable) -> list[str]:
    first = first_visible_index(table)
    rows = [table.row_at(index) for index in range(first, first + VISIBLE_ROWS)]
    return [row.id for row in rows if row is not None]


def screen_line(table: BookTable, y: int) -> str:
    """What the table shows on line `y` (0 is the column titles)."""
    return table.render_line(y).text


async def test_book_opens_sorted_by_name(make_app: MakeApp) -> None:
    app, accounts = make_app(300)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        expected = in_book_order(accounts, "name")
        assert table.row_count == 300
        assert visible_ids(table) == [a.id for a in expected[:VISIBLE_ROWS]]
        assert screen_line(table, 0).split() == [
            "Name", "▲", "Owner", "Health", "Churn", "Value", "Priority", "MRR", "Renewal"
        ]  # fmt: skip
        assert screen_line(table, 1).startswith(f" {expected[0].name} ")
        assert status_text(app) == "All accounts · 300 accounts · sorted by Name ▲"
        assert app.sub_title == "book.db"


async def test_the_book_opens_on_a_view_the_users_config_adds(store: Store, tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text(
        "[ui]\ndefault_view = 'big ones'\n\n[[ui.views]]\nname = 'Big ones'\nsort = '-mrr'\n",
        encoding="utf-8",
    )
    accounts = make_accounts(40)
    insert_accounts(store, accounts)
    app = CockpitApp(store, load_settings(config), clock=at(BOOK_DAY), db_label="book.db")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert status_text(app) == "Big ones · 40 accounts · sorted by MRR ▼"
        assert (
            visible_ids(book_table(app))
            == [a.id for a in in_book_order(accounts, "mrr", descending=True)][:VISIBLE_ROWS]
        )
        await pilot.press("f")
        await settle(pilot)
        assert status_text(app).startswith("All accounts · 40 accounts")  # after the shipped views, round


async def test_m_sorts_by_mrr_biggest_first_then_smallest(make_app: MakeApp) -> None:
    app, accounts = make_app(300)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)

        await pilot.press("m")
        await settle(pilot)
        assert visible_ids(table)[0] == in_book_order(accounts, "mrr", descending=True)[0].id
        assert f"{max(a.mrr for a in accounts):,.0f}" in screen_line(table, 1)
        assert status_text(app) == "All accounts · 300 accounts · sorted by MRR ▼"

        await pilot.press("m")
        await settle(pilot)
        cheapest = in_book_order(accounts, "mrr")[0]
        assert table.row_at(first_visible_index(table)) == BookRow(
            cheapest.id, cheapest.name, cheapest.owner, cheapest.plan, cheapest.mrr, cheapest.renewal_date
        )
        assert status_text(app) == "All accounts · 300 accounts · sorted by MRR ▲"


@pytest.mark.parametrize(("key", "sort"), [("o", "owner"), ("r", "renewal_date")])
async def test_sort_keys_sort_and_reverse(make_app: MakeApp, key: str, sort: str) -> None:
    app, accounts = make_app(300)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        await pilot.press(key)
        await settle(pilot)
        assert visible_ids(table) == [a.id for a in in_book_order(accounts, sort)[:VISIBLE_ROWS]]
        await pilot.press(key)
        await settle(pilot)
        expected = in_book_order(accounts, sort, descending=True)
        assert visible_ids(table) == [a.id for a in expected[:VISIBLE_ROWS]]
        await pilot.press("n")
        await settle(pilot)
        assert visible_ids(table)[0] == in_book_order(accounts, "name")[0].id


async def test_clicking_a_column_title_sorts_by_it(make_app: MakeApp) -> None:
    app, accounts = make_app(100)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        mrr = next(
            span for span in column_layout(table.scrollable_content_region.width) if span.column.key == "mrr"
        )
        await pilot.click(BookTable, offset=(mrr.x + 1, 0))
        await settle(pilot)
        assert (table.book_query.sort, table.book_query.descending) == ("mrr", True)
        assert visible_ids(table)[0] == in_book_order(accounts, "mrr", descending=True)[0].id


async def test_a_new_sort_starts_at_the_top(make_app: MakeApp) -> None:
    app, accounts = make_app(1000)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        await pilot.press("end")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert table.cursor_row == 0
        assert first_visible_index(table) == 0
        assert visible_ids(table)[0] == in_book_order(accounts, "renewal_date")[0].id


async def test_moving_past_the_first_page_shows_rows_from_later_pages(make_app: MakeApp) -> None:
    app, accounts = make_app(1000)
    expected = in_book_order(accounts, "name")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        assert table.page_size == 200

        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_row == 999
        assert first_visible_index(table) == 1000 - VISIBLE_ROWS
        assert visible_ids(table) == [a.id for a in expected[-VISIBLE_ROWS:]]
        assert screen_line(table, VISIBLE_ROWS).startswith(f" {expected[999].name} ")

        await pilot.press("home", *["pagedown"] * 10)
        await settle(pilot)
        assert table.cursor_row == 10 * VISIBLE_ROWS
        row = table.row_at(table.cursor_row)
        assert row is not None
        assert row.id == expected[10 * VISIBLE_ROWS].id
        assert first_visible_index(table) == 10 * VISIBLE_ROWS - VISIBLE_ROWS + 1

        await pilot.press("pageup", "up")
        await settle(pilot)
        assert table.cursor_row == 9 * VISIBLE_ROWS - 1
        assert first_visible_index(table) == table.cursor_row


@pytest.mark.slow
async def test_page_cache_stays_bounded_while_scrolling_through_the_book(make_app: MakeApp) -> None:
    app, accounts = make_app(5000, page_size=50)
    expected = [a.id for a in in_book_order(accounts, "name")]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        # Key repeat: many reads in flight at once.
        await pilot.press(*["pagedown"] * 20)
        await settle(pilot)
        assert table.cached_pages <= 5
        assert visible_ids(table) == expected[first_visible_index(table) :][:VISIBLE_ROWS]
        for top in range(0, 5001, 200):
            table.scroll_to(y=top, animate=False)
            await settle(pilot)
            assert table.cached_pages <= 5
            assert visible_ids(table) == expected[first_visible_index(table) :][:VISIBLE_ROWS]
        assert visible_ids(table)[-1] == expected[-1]


async def test_a_large_book_opens_with_one_count_and_one_page(make_app: MakeApp) -> None:
    requests: list[BookTable.FetchRows] = []

    def record(message: Message) -> None:
        if isinstance(message, BookTable.FetchRows) and message.control is not None:
            requests.append(message)

    app, _ = make_app(10_000)
    async with app.run_test(size=SIZE, message_hook=record) as pilot:
        await settle(pilot)
        # The hook sees the request once at each node it bubbles through: keep one of each.
        distinct = {(r.generation, r.page, r.with_count) for r in requests}
        assert distinct == {(1, 0, True)}
        assert book_table(app).cached_pages == 1
        assert book_table(app).row_count == 10_000


async def test_rows_of_an_older_sort_are_never_shown(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first read (by name) answers after the user re-sorted by MRR: its rows must be dropped."""
    name_read_started = threading.Event()
    release_name_read = threading.Event()
    mrr_read = threading.Event()
    held: list[Worker[None]] = []

    def slow_by_name(
        db: Database, query: BookQuery, after: BookCursor | None, *, limit: int, offset: int = 0
    ) -> BookPage:
        if query.sort == "name":
            held.append(get_current_worker())
            name_read_started.set()
            release_name_read.wait(10)
        page = fetch_book_after(db, query, after, limit=limit, offset=offset)
        if query.sort == "mrr":
            mrr_read.set()
        return page

    monkeypatch.setattr(book_screen, "fetch_book_after", slow_by_name)
    app, accounts = make_app(300)
    async with app.run_test(size=SIZE) as pilot:
        assert await asyncio.to_thread(name_read_started.wait, 10)
        await pilot.pause()
        table = book_table(app)
        assert app.focused is table
        await pilot.press("m")
        assert await asyncio.to_thread(mrr_read.wait, 10)
        if others := [worker for worker in app.workers if worker not in held]:
            await app.workers.wait_for_complete(others)
        await pilot.pause()
        by_mrr = [a.id for a in in_book_order(accounts, "mrr", descending=True)[:VISIBLE_ROWS]]
        assert visible_ids(table) == by_mrr

        release_name_read.set()
        await settle(pilot)
        assert visible_ids(table) == by_mrr
        assert status_text(app) == "All accounts · 300 accounts · sorted by MRR ▼"


async def test_the_count_of_an_older_sort_is_never_run(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first page (by name) is read after the user re-sorted by MRR: its count, which on a big book takes
    longer than the page, is not run at all (nor would it be shown)."""
    name_read_started = threading.Event()
    release_name_read = threading.Event()
    counted: list[str] = []

    def slow_by_name(
        db: Database, query: BookQuery, after: BookCursor | None, *, limit: int, offset: int = 0
    ) -> BookPage:
        if query.sort == "name":
            name_read_started.set()
            release_name_read.wait(10)
        return fetch_book_after(db, query, after, limit=limit, offset=offset)

    def counting(db: Database, query: BookQuery) -> int:
        counted.append(query.sort)
        return count_book(db, query)

    monkeypatch.setattr(book_screen, "fetch_book_after", slow_by_name)
    monkeypatch.setattr(book_screen, "count_book", counting)
    app, _ = make_app(300)
    async with app.run_test(size=SIZE) as pilot:
        assert await asyncio.to_thread(name_read_started.wait, 10)
        await pilot.pause()
        await pilot.press("m")
        release_name_read.set()
        await settle(pilot)
        await app.workers.wait_for_complete()
        assert book_table(app).row_count == 300
    assert counted == ["mrr"]


async def test_a_sort_keeps_the_count_and_a_short_first_page_is_one(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new order of the same rows is not counted again, nor is the scroll view resized (a layout of the
    whole screen); a search's rows are counted, unless its first page holds them all."""
    counted: list[BookQuery] = []

    def counting(db: Database, query: BookQuery) -> int:
        counted.append(query)
        return count_book(db, query)

    monkeypatch.setattr(book_screen, "count_book", counting)
    app, accounts = make_app(300)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        sizes: list[object] = []
        table.watch(table, "virtual_size", lambda size: sizes.append(size), init=False)
        for key in ("m", "m", "o"):
            await pilot.press(key)
            await settle(pilot)
            assert table.row_count == 300
        assert [query.sort for query in counted] == ["name"] and sizes == []
        assert visible_ids(table)[0] == in_book_order(accounts, "owner")[0].id
        assert table.page_size < 300
        await pilot.press("slash", *"acc-0")  # every domain, more than a page: counted
        await settle(pilot)
        assert counted[-1].search == "acc-0" and table.row_count == 300
        await pilot.press(*"01")  # acc-00100 to acc-00199, fewer than a page: its first page is the count
        await settle(pilot)
        assert counted[-1].search == "acc-00" and table.row_count == 100  # every id is acc-00...


async def test_enter_opens_the_account_under_the_cursor_and_escape_comes_back(make_app: MakeApp) -> None:
    messages: list[Message] = []
    app, accounts = make_app(50)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        chosen = in_book_order(accounts, "name")[2]
        selected = [m for m in messages if isinstance(m, BookTable.AccountSelected)]
        assert {(m.account_id, m.name) for m in selected} == {(chosen.id, chosen.name)}
        assert isinstance(app.screen, AccountScreen)
        assert app.screen.account_id == chosen.id
        assert str(app.screen.query_one("#account-title", Static).content).startswith(chosen.name)
        await pilot.press("escape")
        await settle(pilot)
        assert book_table(app).cursor_row == 2


async def test_q_quits(make_app: MakeApp) -> None:
    app, _ = make_app(10)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_an_empty_book_says_how_to_fill_it(make_app: MakeApp) -> None:
    app, _ = make_app(0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        assert table.row_count == 0
        shown = " ".join(screen_line(table, y).strip() for y in range(2, 5))
        assert EMPTY_MESSAGE in shown
        assert status_text(app) == "All accounts · 0 accounts · sorted by Name ▲"
        await pilot.press("down", "end", "enter")
        assert table.cursor_row == 0


async def test_a_garbage_database_file_is_reported_and_the_app_keeps_running(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database, just some text\n" * 100)
    messages: list[Message] = []
    store = Store(path)
    app = CockpitApp(store, settings, clock=at(BOOK_DAY))
    try:
        async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
            await settle(pilot)
            [(title, text)] = notices(messages, "error")
            assert title == "Database error"
            assert text.startswith(f"{path}: not a cockpit database, or the file is damaged")
            assert status_text(app).startswith("All accounts · Book not loaded")
            assert screen_line(book_table(app), 2).strip() == "The book could not be read."
            await pilot.press("m")
            await settle(pilot)
            assert status_text(app) == "All accounts · Book not loaded · sorted by MRR ▼"
            assert len(notices(messages, "error")) == 1  # the same error: its notice is still on screen
            await pilot.press("q")
        assert app.return_code == 0
    finally:
        store.close()


async def test_a_database_broken_mid_session_is_reported_once(make_app: MakeApp, store: Store) -> None:
    messages: list[Message] = []
    app, _ = make_app(300)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await settle(pilot)
        other = sqlite3.connect(store.path)
        other.execute("DROP TABLE accounts")
        other.commit()
        other.close()
        # Two reads fail alike: the sort's, and a reload's (as when the watch for changes sees the file change).
        await pilot.press("m", "ctrl+r")
        await settle(pilot)
        [(title, text)] = notices(messages, "error")
        assert title == "Database error"
        assert text == f"{store.path}: no such table: accounts"
        assert "database is locked" not in text
        await pilot.press("n", "down")
        await settle(pilot)
        assert app.is_running


@pytest.mark.parametrize(
    ("error", "title", "text"),
    [
        (
            sqlite3.OperationalError("database is locked"),
            "Database is busy",
            "another cockpit process (a sync or an import) is writing and did not finish in time.",
        ),
        (RuntimeError("boom"), "Unexpected error", "RuntimeError: boom"),
    ],
)
async def test_worker_errors_become_notifications(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, error: Exception, title: str, text: str
) -> None:
    def failing(
        db: Database, query: BookQuery, after: BookCursor | None, *, limit: int, offset: int = 0
    ) -> BookPage:
        raise error

    monkeypatch.setattr(book_screen, "fetch_book_after", failing)
    messages: list[Message] = []
    app, _ = make_app(10)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await settle(pilot)
        [(shown_title, shown_text)] = notices(messages, "error")
        assert shown_title == title
        assert text in shown_text
        assert "database is locked" not in shown_text
        assert app.is_running


@pytest.mark.parametrize("theme", ["cockpit-dark", "cockpit-light"])
async def test_theme_comes_from_the_settings(make_app: MakeApp, theme: str) -> None:
    app, _ = make_app(5, theme=theme)
    async with app.run_test(size=SIZE):
        assert app.theme == theme


async def test_keymap_rebinds_keys_by_binding_id(make_app: MakeApp) -> None:
    app, _ = make_app(100, keymap={bindings.BOOK_SORT_MRR: "x"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        await pilot.press("m")
        await settle(pilot)
        assert (table.book_query.sort, table.book_query.descending) == ("name", False)
        await pilot.press("x")
        await settle(pilot)
        assert (table.book_query.sort, table.book_query.descending) == ("mrr", True)


def test_every_binding_has_an_id_a_description_and_a_tooltip() -> None:
    ids = []
    screens = [
        *book_screen.BookScreen.BINDINGS,
        *AccountScreen.BINDINGS,
        *LogInteractionScreen.BINDINGS,
        *SyncScreen.BINDINGS,
        *OutreachScreen.BINDINGS,
        *EditDraftScreen.BINDINGS,
        *ScoreQualityScreen.BINDINGS,
        *BookViewScreen.BINDINGS,
        *JourneysScreen.BINDINGS,
        *PathScreen.BINDINGS,
        *ConfirmScreen.BINDINGS,
        *TodayScreen.BINDINGS,
        *DayScreen.BINDINGS,
        *HelpScreen.BINDINGS,
    ]
    for binding in [*CockpitApp.BINDINGS, *screens, *BookTable.BINDINGS]:
        assert not isinstance(binding, tuple)
        assert binding.id and binding.description and binding.tooltip, binding
        ids.append(binding.id)
    assert sorted(ids) == sorted(bindings.BINDING_IDS)


async def test_search_narrows_the_book_as_you_type(make_app: MakeApp) -> None:
    app, accounts = make_app(300)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        await pilot.press("slash", *"umbrella")
        await settle(pilot)
        wanted = [a.id for a in in_book_order(accounts, "name") if "umbrella" in a.name.lower()]
        assert table.row_count == len(wanted) > 0
        assert visible_ids(table) == wanted[:VISIBLE_ROWS]
        assert "matching 'umbrella'" in status_text(app)
        await pilot.press("enter")  # keep the search, back to the rows
        assert table.has_focus
        await pilot.press("down")
        assert table.cursor_row == 1
        await pilot.press("slash", "escape")  # clear it
        await settle(pilot)
        assert table.row_count == 300
        assert table.has_focus


async def test_keys_typed_in_one_burst_with_the_search_key_are_the_search(make_app: MakeApp) -> None:
    """A terminal delivers `/umbrella` typed fast (or pasted) as key events queued together: none may be
    lost or taken as a command (`u`, `m`, `b`... would otherwise be swallowed or sort the book)."""
    app, accounts = make_app(300)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for character in "/umbrella":
            app.post_message(Key("slash" if character == "/" else character, character))
        await settle(pilot)
        table = book_table(app)
        assert app.screen.query_one("#book-search", Input).value == "umbrella"
        assert table.book_query.sort == "name"
        assert table.row_count == sum(1 for a in accounts if "umbrella" in a.name.lower())


@pytest.mark.slow
async def test_command_palette_reaches_the_book_actions(make_app: MakeApp) -> None:
    app, _accounts = make_app(30)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"sort by mrr")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert (book_table(app).book_query.sort, book_table(app).book_query.descending) == ("mrr", True)
        await pilot.press("ctrl+p", *"view: save now")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert status_text(app).startswith("Save now · ")


async def test_question_mark_shows_and_hides_the_keys(make_app: MakeApp) -> None:
    app, _accounts = make_app(5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, book_screen.BookScreen)
