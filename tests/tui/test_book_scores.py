"""The book shows each account's scores, the change in health since a month before, and sorts by them."""

from __future__ import annotations

from cockpit.store import Store
from cockpit.tui.widgets.book_table import BookTable

from .books import settle
from .conftest import MakeApp
from .test_book_screen import SIZE, book_table, screen_line, status_text

NOW = "2026-11-22T06:00:00+00:00"


def add_runs(store: Store, rows: dict[str, tuple[float, str, str, str, str, float]]) -> None:
    """A run a month ago and one now; `rows` maps account id to (health now, band, churn tier, value tier,
    priority, health a month ago)."""
    with store.write() as db:
        for run_id, as_of in ((1, "2026-10-22"), (2, "2026-11-22")):
            db.execute(
                "INSERT INTO score_runs (id, as_of, started_at, finished_at, accounts) VALUES (?, ?, ?, ?, ?)",
                [run_id, as_of, NOW, NOW, len(rows)],
            )
        for account_id, (health, band, churn, value, priority, before) in rows.items():
            for run_id, score in ((1, before), (2, health)):
                db.execute(
                    "INSERT INTO scores (run_id, account_id, as_of, health, health_band, churn_tier, value_tier, "
                    "priority, adoption_status, cross_sell_ready) VALUES (?, ?, '2026-11-22', ?, ?, ?, ?, ?, 'adopted', 0)",
                    [run_id, account_id, score, band, churn, value, priority],
                )


def lines_by_id(table: BookTable, rows: int) -> dict[str, str]:
    """The first `rows` lines of the table on screen, by the id of the account each shows."""
    return {
        row.id: screen_line(table, index + 1)
        for index, row in enumerate(table.row_at(i) for i in range(rows))
        if row
    }


GREEN = (82.0, "green", "low", "other", "nurture", 70.0)
SAVE_NOW = (35.0, "red", "high", "high", "save now", 61.0)


async def test_scores_and_their_change_show_and_sort(make_app: MakeApp, store: Store) -> None:
    app, accounts = make_app(3)
    first, second, third = (account.id for account in accounts)
    add_runs(
        store, {first: GREEN, second: SAVE_NOW, third: (55.0, "yellow", "medium", "medium", "watch", 55.0)}
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        lines = lines_by_id(table, 3)
        assert " 82 ▲12 " in lines[first]
        assert " 35 ▼26 " in lines[second] and "save now" in lines[second]
        assert " 55 = " in lines[third]
        await pilot.press("p")
        await settle(pilot)
        assert [table.row_at(i).id for i in range(3)] == [second, third, first]  # type: ignore[union-attr]
        await pilot.press("h")
        await settle(pilot)
        assert [table.row_at(i).id for i in range(3)] == [second, third, first]  # type: ignore[union-attr]
        await pilot.press("h")
        await settle(pilot)
        assert [table.row_at(i).id for i in range(3)] == [first, third, second]  # type: ignore[union-attr]


async def test_filter_words_in_the_search_box_narrow_the_book(make_app: MakeApp, store: Store) -> None:
    app, accounts = make_app(4)
    first, second, third, fourth = (account.id for account in accounts)
    add_runs(
        store,
        {
            first: (82.0, "green", "low", "other", "nurture", 70.0),
            second: (35.0, "red", "high", "high", "save now", 61.0),
            third: (55.0, "yellow", "medium", "medium", "watch", 55.0),
            fourth: (30.0, "red", "high", "medium", "rescue", 40.0),
        },
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        await pilot.press("slash", *"band:red")
        await settle(pilot)
        assert table.row_count == 2
        assert {table.row_at(i).id for i in range(2)} == {second, fourth}  # type: ignore[union-attr]
        assert "band:red" in status_text(app)
        await pilot.press(*" value:high")
        await settle(pilot)
        assert table.row_count == 1 and table.row_at(0).id == second  # type: ignore[union-attr]
        await pilot.press(*" churn:h")  # not a tier (yet): the status says why, the list stays
        await settle(pilot)
        shown = table.book_query
        await pilot.press("i")
        await settle(pilot)
        assert "churn: 'hi' is not one of high, medium, low" in status_text(app)
        assert table.book_query == shown
        await pilot.press("g", "h")
        await settle(pilot)
        assert "churn: 'hig'" not in status_text(app) and "band:red value:high churn:high" in status_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == 4


async def test_a_health_with_not_enough_data_shows_what_it_had_and_filters_by_its_band(
    make_app: MakeApp, store: Store
) -> None:
    app, accounts = make_app(3)
    first, second, thin = (account.id for account in accounts)
    add_runs(store, {first: GREEN, second: SAVE_NOW})
    with store.write() as db:
        db.execute(
            "INSERT INTO scores (run_id, account_id, as_of, health, health_band, components, churn_tier, "
            "value_tier, priority) VALUES (2, ?, '2026-11-22', NULL, 'insufficient', ?, 'low', 'other', 'nurture')",
            [thin, '{"support":100.0,"csm_touch":80.0}'],
        )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        lines = lines_by_id(table, 3)
        assert " — (2/7) " in lines[thin]
        assert " — (" not in lines[first] + lines[second]
        await pilot.press("h")  # by health: not enough data comes after every score
        await settle(pilot)
        assert [table.row_at(i).id for i in range(3)] == [second, first, thin]  # type: ignore[union-attr]
        await pilot.press("slash", *"band:insufficient")
        await settle(pilot)
        assert table.row_count == 1 and table.row_at(0).id == thin  # type: ignore[union-attr]
