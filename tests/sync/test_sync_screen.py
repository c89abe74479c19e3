"""The TUI's sync screen after real syncs against the Salesforce test server: the runs, and a conflict the
CSM settles with a key."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from cockpit.store import Store
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.sync import SyncScreen
from tests.clocks import at
from tests.crm_servers.salesforce import SalesforceServer
from tests.tui.books import settle

from .books import SYNC_DAY, name_changed_on_both_sides, nightly


def cells(screen: SyncScreen, table_id: str) -> list[list[str]]:
    table = screen.query_one(table_id, DataTable)
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


async def test_the_sync_screen_shows_runs_and_settles_a_conflict(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    settings, local_id = name_changed_on_both_sides(store, salesforce, tmp_path / "c.toml")
    assert nightly(store, settings).exit_code == 1  # the conflict is left for the CSM

    app = CockpitApp(store, settings, clock=at(SYNC_DAY))
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        runs = cells(screen, "#sync-runs")
        assert [row[1] for row in runs] == ["salesforce", "salesforce"] and runs[0][3] == "partial"
        assert cells(screen, "#sync-conflicts") == [
            ["salesforce", "account · Ours", "name", "Company 0", "Ours", "Theirs"]
        ]
        screen.query_one("#sync-conflicts", DataTable).focus()
        await pilot.press("c")
        await settle(pilot)
        assert cells(screen, "#sync-conflicts") == []
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, SyncScreen)
    assert store.db.execute("SELECT name FROM accounts WHERE id = ?", [local_id]).fetchone()[0] == "Theirs"
