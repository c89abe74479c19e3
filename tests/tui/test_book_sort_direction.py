"""The first press of a sort sorts the way a CSM looks (the worst risk, the most money first; names from A),
the second reverses it, and the column title and the status line say which way the rows read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from cockpit.scoring.lifecycle import STAGES
from cockpit.scoring.order import ADOPTION_ORDER, VALUE_TIER_ORDER, priority_rank
from cockpit.store import Store
from cockpit.store.book import BookRow
from cockpit.store.clv import CLV_COLUMNS, ClvValue, finish_clv_run, start_clv_run, write_clv_values
from cockpit.tui.widgets.book_table import BookTable, column_layout

from .books import settle
from .conftest import MakeApp
from .test_book_screen import book_table, screen_line, status_text

WIDE = (150, 20)
"""Wide enough for every column, plan's too."""
NOW = "2026-06-01T06:00:00+00:00"
# Per account: health, churn risk, churn tier, value tier, adoption, cross-sell ready, lifetime value.
SCORES: tuple[tuple[float, float, str, str, str, int, float], ...] = (
    (82.0, 0.05, "low", "other", "power", 1, 1_000.0),
    (35.0, 0.80, "high", "high", "not started", 0, 50_000.0),
    (55.0, 0.40, "medium", "medium", "onboarding", 0, 20_000.0),
    (30.0, 0.70, "high", "medium", "adopted", 1, 8_000.0),
    (68.0, 0.20, "low", "high", "adopted", 0, 30_000.0),
)


def _text(value: str | None) -> tuple[bool, str]:
    return (value is not None, (value or "").lower())


# Each sort key: its key (plan has none: its column title is clicked), what the status line calls it, a
# measure of a row that the first press puts in ascending order (the rows read the CSM's way), and the arrow
# the first press shows.
FIRST_PRESS: dict[str, tuple[str, str, Callable[[BookRow], Any], str]] = {
    "name": ("n", "Name", lambda row: row.name.lower(), "▲"),
    "owner": ("o", "Owner", lambda row: _text(row.owner), "▲"),
    "plan": ("", "Plan", lambda row: _text(row.plan), "▲"),
    "health": ("h", "Health", lambda row: row.health, "▲"),  # the worst health first
    "churn": ("c", "Churn", lambda row: -(row.churn_risk or 0), "▼"),  # the highest risk first
    "value": ("v", "Value", lambda row: VALUE_TIER_ORDER.index(row.value_tier), "▼"),
    "priority": ("p", "Priority", lambda row: priority_rank(row.churn_tier, row.value_tier), "▼"),  # type: ignore[arg-type]
    "adoption": ("a", "Adoption", lambda row: -ADOPTION_ORDER.index(row.adoption_status), "▲"),
    "cross_sell": ("x", "X-sell", lambda row: not row.cross_sell_ready, "▼"),
    "stage": ("e", "Stage", lambda row: STAGES.index(row.lifecycle_stage), "▲"),  # onboarding first
    "clv": ("t", "CLV", lambda row: -(row.clv or 0), "▼"),
    "mrr": ("m", "MRR", lambda row: -row.mrr, "▼"),
    "renewal_date": ("r", "Renewal", lambda row: row.renewal_date, "▲"),  # the soonest first
}


def add_scores_and_values(store: Store, account_ids: list[str]) -> None:
    """A finished score run and a finished CLV run over every account, no two alike in any score."""
    with store.write() as db:
        db.execute(
            "INSERT INTO score_runs (id, as_of, started_at, finished_at, accounts) VALUES (1, '2026-06-01', ?, ?, ?)",
            [NOW, NOW, len(account_ids)],
        )
        values = []
        for index, (account_id, score) in enumerate(zip(account_ids, SCORES, strict=True)):
            health, risk, churn, value, adoption, ready, clv = score
            db.execute(
                "INSERT INTO scores (run_id, account_id, as_of, health, health_band, churn_risk, churn_tier, "
                "value_tier, priority, adoption_status, cross_sell_ready, value) "
                "VALUES (1, ?, '2026-06-01', ?, 'yellow', ?, ?, ?, 'watch', ?, ?, ?)",
                [account_id, health, risk, churn, value, adoption, ready, 100.0 - index],
            )
            clv_row: dict[str, Any] = dict.fromkeys(CLV_COLUMNS)
            clv_row.update(account_id=account_id, model="sbg", clv=clv)
            values.append(ClvValue(**clv_row))
        run = start_clv_run(db, date(2026, 6, 1), NOW, {})
        write_clv_values(db, run, values)
        finish_clv_run(db, run, NOW, len(values), [])


async def press_sort(pilot: Any, table: BookTable, key: str) -> None:
    """The sort's key, or a click on its column's title for plan (which has no key)."""
    if letter := FIRST_PRESS[key][0]:
        await pilot.press(letter)
    else:
        span = next(s for s in column_layout(table.scrollable_content_region.width) if s.column.key == key)
        await pilot.click(BookTable, offset=(span.x + 1, 0))
    await settle(pilot)


@pytest.mark.parametrize("key", list(FIRST_PRESS))
async def test_first_press_sorts_the_csms_way_and_the_second_reverses(
    make_app: MakeApp, store: Store, key: str
) -> None:
    app, accounts = make_app(len(SCORES))
    add_scores_and_values(store, [account.id for account in accounts])
    _, title, measure, arrow = FIRST_PRESS[key]
    other = "▲" if arrow == "▼" else "▼"
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = book_table(app)
        if key == "name":  # the book opens by name: sort by another key first
            await press_sort(pilot, table, "mrr")

        await press_sort(pilot, table, key)
        first = [table.row_at(index) for index in range(len(SCORES))]
        measures = [measure(row) for row in first if row]
        assert len(measures) == len(SCORES) and measures == sorted(measures), (key, measures)
        assert status_text(app).endswith(f"sorted by {title} {arrow}")
        header = screen_line(table, 0)
        assert arrow in header and other not in header, header

        await press_sort(pilot, table, key)
        second = [table.row_at(index) for index in range(len(SCORES))]
        assert [measure(row) for row in second if row] == measures[::-1]
        assert status_text(app).endswith(f"sorted by {title} {other}")
        header = screen_line(table, 0)
        assert other in header and arrow not in header, header
