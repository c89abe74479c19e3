"""The account screen as a CSM uses it: tabs, the journey and its kinds, contacts, and logging an
interaction (with mistakes first) that shows in the journey at once."""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path

import pytest
from rich.console import Console
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, SelectionList, Static, TabbedContent

from cockpit.config import EventsSettings, Settings
from cockpit.scoring import explain
from cockpit.scoring.learned import Contribution, LearnedChurnPart
from cockpit.services.importing import ImportOptions, run_import
from cockpit.store import Store
from cockpit.store.clv import ClvValue
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.account import AccountScreen, _headline, _lifetime_value, _why, local_time
from cockpit.tui.screens.log_interaction import LogInteractionScreen
from tests.clocks import at
from tests.events_sources import DSN_ENV, SOURCES, book_events, forget_events
from tests.postgres import Server, free_port
from tests.processes import wait_until
from tests.scoring.test_explanation_parts import every_part
from tests.tuning import defaults

from .books import BOOK_DAY, Account, insert_accounts, make_accounts, notices, press_to, settle
from .conftest import MakeApp
from .test_book_screen import SIZE

STAMP = "2026-01-01T00:00:00+00:00"


def add_journey(store: Store, account_id: str) -> None:
    with store.write() as db:
        people: list[dict[str, object]] = [
                {"id": "con-1", "account_id": account_id, "name": "Ana Lima", "role": "Champion", "email_opt_in": 1,
                 "personalization_consent": 1, "do_not_contact": 0, "created_at": STAMP, "updated_at": STAMP},
                {"id": "con-2", "account_id": account_id, "name": "Bo Chen", "role": None, "email_opt_in": 0,
                 "personalization_consent": 0, "do_not_contact": 1, "created_at": STAMP, "updated_at": STAMP},
        ]  # fmt: skip
        db.table("contacts").insert_all(people)
        db.table("signals").insert(
            {
                "account_id": account_id,
                "kind": "cancel_page_visit",
                "occurred_at": "2026-11-19T10:00:00+00:00",
            }
        )


def shown(widget: Static) -> bool:
    return widget.display


def rows(screen: AccountScreen, table_id: str) -> list[list[str]]:
    table = screen.query_one(table_id, DataTable)
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


@pytest.mark.slow
async def test_journey_contacts_and_logging_an_interaction(make_app: MakeApp, store: Store) -> None:
    app, accounts = make_app(3)
    first = accounts[0]
    add_journey(store, first.id)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_journey(pilot, first.id)
        assert sorted(row[1:3] for row in rows(screen, "#journey-table")) == [
            ["Contract", "renewal"],
            ["Signal", "cancel page visit"],
        ]
        kinds = screen.query_one("#journey-kinds", SelectionList)
        kinds.focus()
        await pilot.press("down", "space")  # Signals off
        await settle(pilot)
        assert [row[1] for row in rows(screen, "#journey-table")] == ["Contract"]
        await pilot.press("space")  # and on again
        await settle(pilot)

        await pilot.press("3")
        await settle(pilot)
        contacts = rows(screen, "#contacts-table")
        assert contacts[0][:2] == ["Ana Lima", "Champion"] and contacts[0][4] == "consented"
        assert contacts[1][0] == "Bo Chen" and contacts[1][3] == "DO NOT"

        await pilot.press("l")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, LogInteractionScreen)
        await pilot.press("ctrl+s")  # no summary yet
        await settle(pilot)
        summary_error = form.query_one("#log-summary-error", Static)
        assert str(summary_error.render()) == "is required" and shown(summary_error)
        assert summary_error.region.height == 1  # shown, under the field
        assert form.query_one("#log-summary", Input).has_focus
        await pilot.press(*"Walked through the export fix")
        form.query_one("#log-follow_up_on", Input).value = "2020-01-01"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert str(form.query_one("#log-follow_up_on-error", Static).render()) == "is before the interaction"
        assert not shown(summary_error)
        form.query_one("#log-follow_up_on", Input).value = ""
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen and isinstance(screen, AccountScreen)
        await pilot.press("2")
        await settle(pilot)
        journey = rows(screen, "#journey-table")
        assert ["Interaction", "call", "Walked through the export fix"] in [row[1:] for row in journey]
    stored = store.db.execute("SELECT account_id, summary, sync_state FROM interactions").fetchall()
    assert stored == [(first.id, "Walked through the export fix", "pending")]


async def test_log_from_the_book_and_cancel(make_app: MakeApp, store: Store) -> None:
    app, accounts = make_app(5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "l")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, LogInteractionScreen) and form.account_id == accounts[1].id
        await pilot.press(*"Quick check-in")
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, LogInteractionScreen)
        assert store.db.execute("SELECT count(*) FROM interactions").fetchone()[0] == 0
        await pilot.press("l", *"Quick check-in", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, LogInteractionScreen)
    assert store.db.execute("SELECT account_id, kind FROM interactions").fetchall() == [
        (accounts[1].id, "call")
    ]


def test_the_journey_shows_moments_in_the_csms_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert local_time("2026-11-22T14:30:00+00:00") == "2026-11-22 23:30"
        assert local_time("2027-01-25") == "2027-01-25"  # a day stays a day
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


def test_the_overview_says_which_churn_model_scored_and_why() -> None:
    """A learned model's churn: the headline says so, and its largest contributions come before the signals
    the rules saw."""
    body = every_part()[0]
    rules = body.churn
    assert not isinstance(rules, LearnedChurnPart)
    contributions = [Contribution("days_since_use", 45.0, 0.79), Contribution("plan", "Starter", -0.4)]
    learned = body._replace(
        churn=LearnedChurnPart("learned", 0.42, "high", 7, 90, 0.84, 0.3, 0.1, contributions, rules)
    )
    console = Console(width=160, record=True)
    for scored, expected in ((learned, "learned"), (body, "rules")):
        explanation = {"run_id": 1, **explain.explain(explain.terms(defaults()), scored)}
        console.print(_headline(explanation, {}), _why(explanation))
        text = console.export_text()
        if expected == "learned":
            assert "Churn high (0.42, learned)" in text
            assert (
                "Why this churn risk: learned model 7 (holdout AUC 0.84): a 42% chance of churning within 90"
                in text
            )
            assert "days since the last use 45: raises the odds of churn x2.20" in text
            assert "plan Starter: lowers the odds of churn x0.67" in text
            assert "Churn signals the rules saw (the learned model scored)" in text
        else:
            assert "Churn high (0.83)" in text and "Why this churn risk" not in text
            assert "Churn signals that fired" in text


async def test_the_title_shows_the_contract_term_and_the_churn_day(make_app: MakeApp, store: Store) -> None:
    app, accounts = make_app(2)
    with store.write() as db:
        db.execute(
            "UPDATE accounts SET contract_months = 12, churned_on = '2026-05-20' WHERE id = ?",
            [accounts[0].id],
        )
        db.execute("UPDATE accounts SET contract_months = 1 WHERE id = ?", [accounts[1].id])
    async with app.run_test(size=SIZE) as pilot:
        for account in accounts:
            screen = AccountScreen(store, account.id, app.settings, clock=app.clock)
            await app.push_screen(screen)
            await settle(pilot)
            title = str(screen.query_one("#account-title", Static).render())
            if account is accounts[0]:
                assert (
                    "1-year contract" in title and "CHURNED on 2026-05-20" in title and "renews" not in title
                )
            else:
                assert "month-to-month" in title and f"renews {account.renewal_date}" in title
            app.pop_screen()


async def test_the_title_of_an_account_merged_in_a_crm_names_the_account_it_was_merged_into(
    make_app: MakeApp, store: Store
) -> None:
    app, accounts = make_app(2)
    with store.write() as db:
        db.execute(
            "UPDATE accounts SET deleted_at = '2026-05-20T10:00:00+00:00' WHERE id = ?", [accounts[1].id]
        )
        db.execute(
            "INSERT INTO merged_records VALUES ('accounts', ?, ?, 'hubspot', '2026-05-20T10:00:00+00:00')",
            [accounts[1].id, accounts[0].id],
        )
    async with app.run_test(size=SIZE) as pilot:
        screen = AccountScreen(store, accounts[1].id, app.settings, clock=app.clock)
        await app.push_screen(screen)
        await settle(pilot)
        title = str(screen.query_one("#account-title", Static).render())
        assert f"merged into {accounts[0].name} in HubSpot on 2026-05-20" in title


async def test_the_overview_says_where_each_value_came_from(
    make_app: MakeApp, store: Store, tmp_path: Path
) -> None:
    app, [account] = make_app(1)
    export = tmp_path / "hubspot-companies.csv"
    export.write_text(
        f"id,hubspot_id,owner,lifecycle_stage,Last Modified Date\n{account.id},901,Dana,customer,2026-11-20 14:03Z\n",
        encoding="utf-8",
    )
    options = ImportOptions(kind="accounts")
    assert run_import(store, app.settings, [str(export)], options, clock=app.clock).committed
    async with app.run_test(size=SIZE) as pilot:
        screen = AccountScreen(store, account.id, app.settings, clock=app.clock)
        await app.push_screen(screen)
        await settle(pilot)
        sources = screen.query_one("#account-sources", Static)
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(sources.content)
        lines = [line.strip() for line in console.export_text().splitlines()]
    owner = next(line for line in lines if line.startswith("owner"))
    changed = local_time("2026-11-20T14:03:00+00:00")
    assert "Dana" in owner and f"HubSpot, changed there {changed}, import of {export} on" in owner
    assert any(line.startswith("lifecycle stage") and "customer" in line for line in lines)
    assert not any(line.startswith("plan") for line in lines)  # not from a source cockpit knows


def test_the_headline_says_plainly_when_health_has_not_enough_data() -> None:
    score = {
        "health": {"score": None, "band": "insufficient", "evidence": {"present": 2, "total": 7}},
        "churn": {"tier": "low", "risk": 0.1},
    }
    assert _headline(score, {}).plain.startswith("Health — not enough data (2 of 7 known)   Churn low (0.10)")
    score["health"] = {"score": 72.4, "band": "green", "evidence": {"present": 5, "total": 7}}
    assert _headline(score, {}).plain.startswith("Health 72 green   Churn low")


def test_p_alive_of_a_one_time_buyer_comes_with_what_it_is_worth() -> None:
    value = ClvValue(
        *("acc-1", "sbg+bgnbd", 1, 2, 3, 1000.0, 900.0, 1100.0, 990.0, 10.0, 2, 0.9, 5.0),
        *(1.0, 0.2, 0.85, 50.0, 100.0, None),
    )
    shown = _lifetime_value(value, 0.9, 0).plain
    assert "P(buy again) 0.15  ·  P(alive) 1.00 (one purchase: no evidence)  ·  model" in shown
    assert "no evidence" not in _lifetime_value(value, 0.9, 3).plain


async def open_first_account(pilot: Pilot[None]) -> AccountScreen:
    return await press_to(pilot, "enter", AccountScreen)


async def open_journey(pilot: Pilot[None], account_id: str) -> AccountScreen:
    """The first account of the book open on its Journey tab, once loaded."""
    screen = await open_first_account(pilot)
    assert screen.account_id == account_id
    await pilot.press("2")
    await settle(pilot)
    return screen


async def test_tab_keys_work_from_the_journey_checklist(make_app: MakeApp, store: Store) -> None:
    app, accounts = make_app(3)
    add_journey(store, accounts[0].id)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_account(pilot)
        tabs = screen.query_one(TabbedContent)
        for key, tab in (("1", "overview"), ("3", "contacts"), ("4", "outreach")):
            await pilot.press("2")
            await settle(pilot)
            screen.query_one("#journey-kinds", SelectionList).focus()
            await settle(pilot)
            await pilot.press(key)
            await settle(pilot)
            assert tabs.active == tab, key


async def test_the_overview_scrolls_without_tab_first(make_app: MakeApp, store: Store) -> None:
    app, accounts = make_app(3)
    add_journey(store, accounts[0].id)
    async with app.run_test(size=(80, 12)) as pilot:
        screen = await open_first_account(pilot)
        body = screen.query_one("#account-body")
        assert screen.focused is body
        assert body.max_scroll_y > 0
        await pilot.press("pagedown")
        await settle(pilot)
        assert body.scroll_y > 0
        await pilot.press("2", "1")  # back on the overview, its keys scroll it again
        await settle(pilot)
        assert screen.focused is body


def _book_with_sourced_events(
    store: Store, kind: str, tmp_path: Path, settings: Settings, request: pytest.FixtureRequest
) -> tuple[Account, EventsSettings]:
    """Three accounts, the first with a journey whose events then live only in a source of this kind."""
    accounts = make_accounts(3)
    insert_accounts(store, accounts)
    add_journey(store, accounts[0].id)
    events = SOURCES[kind](book_events(store.path), tmp_path, settings, request)
    forget_events(store.path)
    return accounts[0], events


async def test_the_screen_keeps_one_postgresql_session_for_its_journeys_and_closes_it(
    store: Store,
    settings: Settings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The journey read again (its kinds changed) asks the source it opened for the first: one session on
    the server, closed when the screen closes. An unreachable source: the book's own events, and a notice."""
    first, events = _book_with_sourced_events(store, "postgresql", tmp_path, settings, request)
    server: Server = request.getfixturevalue("postgres_server")
    name = f"journey_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(DSN_ENV, f"{server.dsn}?application_name={name}")

    messages: list[Message] = []
    app = CockpitApp(
        store, settings.model_copy(update={"events": events}), clock=at(BOOK_DAY), db_label="b.db"
    )
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await open_journey(pilot, first.id)
        kinds = screen.query_one("#journey-kinds", SelectionList)
        kinds.focus()
        await pilot.press("down", "space", "space", "space", "space")  # Signals off and on, twice
        await settle(pilot)
        assert [row[1:3] for row in rows(screen, "#journey-table")] == [
            ["Signal", "cancel page visit"],
            ["Contract", "renewal"],
        ]
        assert server.sessions(name) == 1
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, AccountScreen)
        wait_until(lambda: server.sessions(name) == 0, "the session's close")

        monkeypatch.setenv(
            DSN_ENV, f"postgresql://cockpit@127.0.0.1:{free_port()}/cockpit"
        )  # nothing listens
        screen = await open_journey(pilot, first.id)
        assert [row[1:3] for row in rows(screen, "#journey-table")] == [["Contract", "renewal"]]
        [(title, text)] = notices(messages, "warning")
        assert title == "Events source unavailable" and "cannot connect" in text
        assert text.endswith("The journey shows this database's events only.")
        assert not notices(messages, "error")


async def test_every_key_of_the_account_is_in_the_command_palette(make_app: MakeApp) -> None:
    app, _accounts = make_app(3)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        book = app.screen
        titles = {command.title.lower(): command for command in app.get_system_commands(book)}
        for word in ("outreach", "review", "draft"):  # the review queue is found by each word
            assert any(word in title for title in titles), word
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AccountScreen)
        commands = {command.title: command for command in app.get_system_commands(screen)}
        assert {"Back", "Log", "Overview", "Journey", "Contacts", "Outreach"} <= set(commands)
        assert "Approve" not in commands  # the review keys are the Outreach tab's only
        commands["Outreach"].callback()
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "outreach"
        commands = {command.title: command for command in app.get_system_commands(screen)}
        assert {"Approve", "Snooze", "Cancel"} <= set(commands)
        commands["Back"].callback()
        await settle(pilot)
        assert app.screen is book


async def test_the_journey_reads_its_signals_from_a_duckdb_source(
    store: Store, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The signals come from the Parquet files (the book's own are gone), the rest from the book; a source
    gone missing is a notice, and the journey shows the book's own events."""
    first, events = _book_with_sourced_events(store, "duckdb-parquet", tmp_path, settings, request)
    sourced = settings.model_copy(update={"events": events})
    messages: list[Message] = []
    app = CockpitApp(store, sourced, clock=at(BOOK_DAY), db_label="book.db")
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await open_journey(pilot, first.id)
        assert [row[1:3] for row in rows(screen, "#journey-table")] == [
            ["Signal", "cancel page visit"],
            ["Contract", "renewal"],
        ]
        (tmp_path / "signals.parquet").unlink()
        kinds = screen.query_one("#journey-kinds", SelectionList)
        kinds.focus()
        await pilot.press("down", "space", "space")  # Signals off and on: read again
        await settle(pilot)
        assert [row[1:3] for row in rows(screen, "#journey-table")] == [["Contract", "renewal"]]
        assert app.screen is screen  # no crash
        [(title, text)] = notices(messages, "warning")
        assert title == "Events source unavailable"
        assert "the engine refused" in text and "signals.parquet" in text  # the kept source's question failed
        assert text.endswith("The journey shows this database's events only.")
