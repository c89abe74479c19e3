"""No data takes over the screen: the book, an account (its title, journey, contacts and outreach), the outreach
queue, notices and the log form show hostile text (escape sequences, CR, backspaces, bidi overrides, zero-width
characters, Rich markup, a 10,000-character word) as characters, never sent to the terminal or read as markup,
and keep their layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widget import Widget
from textual.widgets import Input

from cockpit.config import load_settings
from cockpit.domain.display import visible
from cockpit.store import open_store
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.account import AccountScreen
from cockpit.tui.screens.log_interaction import LogInteractionScreen
from cockpit.tui.screens.outreach import EditDraftScreen, OutreachScreen
from tests.clocks import at
from tests.hostile import AS_OF, HOSTILE, JOURNEY_ACCOUNT, RAW_CONTROL

from .books import settle

pytestmark = pytest.mark.slow

SIZE = (120, 40)


def hostile_app(db: Path) -> CockpitApp:
    from datetime import date

    return CockpitApp(
        open_store(db), load_settings(), clock=at(date.fromisoformat(AS_OF)), db_label="hostile"
    )


def screen_lines(app: CockpitApp) -> list[str]:
    """What the screen shows, line by line, checked to hold no character a terminal would act on, no link and
    no click action (markup in data read as markup)."""
    lines = []
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            assert not RAW_CONTROL.search(segment.text), repr(segment.text)
            style = segment.style
            assert style is None or (not style.link and "@click" not in (style.meta or {})), segment
        lines.append(strip.text)
    return lines


def shown(key: str, limit: int = 12) -> str:
    """The start of a hostile text as the screen shows it."""
    return visible(HOSTILE[key])[:limit]


async def test_the_book_shows_every_hostile_name_inert(hostile_db: Path) -> None:
    app = hostile_app(hostile_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        lines = screen_lines(app)
        titles = next(index for index, line in enumerate(lines) if "Name ▲" in line)
        rows = lines[titles + 1 : titles + 1 + len(HOSTILE)]
        for key in HOSTILE:
            assert any(shown(key) in row for row in rows), key
        mrr_end = lines[titles].index("MRR") + len("MRR")
        assert sorted(row[mrr_end - 3 : mrr_end] for row in rows) == [
            str(100 + i) for i in range(len(HOSTILE))
        ]
        assert "Cockpit — hostile" in lines[0]


@pytest.mark.parametrize("account", [JOURNEY_ACCOUNT, "acc-long-word", "acc-markup", "acc-bidi"])
async def test_an_account_screen_shows_hostile_data_inert(hostile_db: Path, account: str) -> None:
    app = hostile_app(hostile_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(AccountScreen(app.store, account, app.settings, clock=app.clock))
        await settle(pilot)
        key = account.removeprefix("acc-")
        lines = screen_lines(app)
        assert lines[1].lstrip().startswith(shown(key))
        assert "Overview  Journey  Contacts  Outreach" in lines[2]  # the title keeps to its line
        custom = next(line for line in lines if line.strip().startswith("industry"))
        assert shown(key, 8) in custom and len(custom) <= SIZE[0]  # the custom field, inert, on its line
        for tab, expected in (
            ("2", ["On", "Kind", "What", "Detail"]),
            ("3", ["Name", "Role", "Opt-in", "Contact"]),
        ):
            await pilot.press(tab)
            await settle(pilot)
            lines = screen_lines(app)
            assert any(line.split()[: len(expected)] == expected for line in lines), tab
        await pilot.press("4")
        await settle(pilot)
        lines = screen_lines(app)
        assert any(f"Call {shown(key, 8)}" in line for line in lines) or key == "long-word"


async def test_the_journey_shows_every_hostile_summary_and_subject(hostile_db: Path) -> None:
    app = hostile_app(hostile_db)
    async with app.run_test(size=(120, 70)) as pilot:  # room for all 26 rows
        await settle(pilot)
        app.push_screen(AccountScreen(app.store, JOURNEY_ACCOUNT, app.settings, clock=app.clock))
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        lines = screen_lines(app)
        for key in HOSTILE:
            assert sum(shown(key) in line for line in lines) >= 2, key  # a call's summary, a ticket's subject


async def test_the_outreach_queue_and_a_notice_show_hostile_text_inert(hostile_db: Path) -> None:
    app = hostile_app(hostile_db)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, OutreachScreen)
        lines = screen_lines(app)
        header = next(line for line in lines if "Status" in line and "Playbook" in line)
        assert header.split()[:6] == ["Status", "Due", "Account", "To", "Playbook", "Subject"]
        for key in set(HOSTILE) - {"long-word"}:  # its message was too long to queue
            assert any(shown(key) in line for line in lines), key
        for _ in HOSTILE:
            await pilot.press("down")
            screen_lines(app)  # each draft's preview, as it will be sent
        app.notify(HOSTILE["osc-title"] + " [@click=app.quit]quit[/]", title=HOSTILE["csi"])
        await settle(pilot)
        lines = screen_lines(app)
        assert any("[@click=app.quit]quit[/]" in line for line in lines)
        await pilot.press("e")  # the draft under the cursor, to edit: the text as it shows
        await settle(pilot)
        assert isinstance(app.screen, EditDraftScreen)
        screen_lines(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_log_form_keeps_its_fields_on_screen_for_a_long_name(
    hostile_db: Path, size: tuple[int, int]
) -> None:
    app = hostile_app(hostile_db)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.push_screen(AccountScreen(app.store, "acc-long-word", app.settings, clock=app.clock))
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, LogInteractionScreen)
        screen_lines(app)
        width, height = size
        fields: list[Widget] = [form.query_one(f"#log-{name}") for name in ("kind", "contact", "occurred_at")]
        fields += [
            form.query_one(f"#log-{name}") for name in ("summary", "sentiment", "follow_up_on", "save")
        ]
        for field in fields:
            region = field.region
            assert region.height > 0 and region.y >= 0 and region.bottom <= height, field.id
            assert region.x >= 0 and region.right <= width, field.id
        await pilot.press(*"Called about the name")
        assert form.query_one("#log-summary", Input).value == "Called about the name"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen)
