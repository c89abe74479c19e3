"""The view of the book as a whole on a small book whose figures are known by hand (tests/book_views.py)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.config import Settings, View, load_settings
from cockpit.domain.book_text import WIDTH, book_text, header
from cockpit.services.book_view import (
    BookViewError,
    BookViewRequest,
    book_view,
    cached_book_view,
    compute_book_view,
)
from cockpit.store import Store
from tests.book_views import AS_OF, build_book
from tests.clocks import at


@pytest.fixture
def settings() -> Settings:
    return load_settings()


def test_retention_of_the_month_and_the_year_against_a_year_before(store: Store, settings: Settings) -> None:
    build_book(store)
    view = compute_book_view(store, settings, BookViewRequest(as_of=AS_OF))
    month, year = view.retention["month"], view.retention["year"]
    # (2026-05-01, 2026-06-01]: A B C D E G at the start (F left a year ago); D churns with its 4,000.
    assert (month.now.customers, month.now.churned) == (6, 1)
    assert month.now.starting_mrr == 1000 + 2000 + 2400 + 4000 + 500 + 800
    assert month.now.logo_churn == pytest.approx(1 / 6)
    assert month.now.expansion_mrr == 500  # B
    assert month.now.grr == pytest.approx((10700 - 4000) / 10700)
    assert month.now.nrr == pytest.approx((1000 + 2500 + 2400 + 500 + 800) / 10700)
    # (2025-06-01, 2026-06-01]: A B C D; C contracted by 600, B expanded by 500, D churned.
    assert (year.now.customers, year.now.churned) == (4, 1)
    assert year.now.contraction_mrr == 600
    assert year.now.grr == pytest.approx((10000 - 4000 - 600) / 10000)
    assert year.now.nrr == pytest.approx(5900 / 10000)
    assert year.now.logo_churn == pytest.approx(0.25)
    # A year before, month and year alike: A B C D F at the start, F (1,500) churned.
    for before in (month.year_before, year.year_before):
        assert (before.customers, before.churned) == (5, 1)
        assert before.grr == pytest.approx(10000 / 11500)
        assert before.nrr == pytest.approx(10000 / 11500)
        assert before.logo_churn == pytest.approx(0.2)


def test_renewals_due_and_renewed(store: Store, settings: Settings) -> None:
    build_book(store)
    view = compute_book_view(store, settings, BookViewRequest(as_of=AS_OF))
    year = view.renewal_totals["year"]
    # A B C renewed; D lost its renewal of 2026-05-20; F, which churned in May 2025, the one of 2025-07-01.
    assert (year["now"].due, year["now"].renewed) == (5, 3)
    assert (year["now"].due_mrr, year["now"].renewed_mrr) == (1000 + 2000 + 2400 + 4000 + 1500, 5400)
    assert (year["year_before"].due, year["year_before"].renewed) == (5, 5)
    month = view.renewal_totals["month"]
    assert (month["now"].due, month["now"].renewed, month["now"].due_mrr) == (1, 0, 4000)
    by_month = {renewals.month: (renewals.due, renewals.renewed) for renewals in view.renewals}
    assert len(view.renewals) == 24
    assert by_month["2026-05"] == (1, 0)
    assert by_month["2025-07"] == (1, 0)
    assert by_month["2026-01"] == (1, 1)


def test_spreads_movers_and_forecast(store: Store, settings: Settings) -> None:
    build_book(store)
    view = compute_book_view(store, settings, BookViewRequest(as_of=AS_OF))
    now, compare = view.snapshots[0], view.snapshots[1]
    assert (now.day, compare.day, compare.run_as_of) == (AS_OF, date(2026, 5, 1), date(2026, 5, 1))
    assert now.distributions["health_band"] == {"green": 3, "red": 1, "yellow": 1}
    assert compare.distributions["churn_tier"] == {"high": 1, "low": 5}
    assert now.distributions["lifecycle_stage"] == {"churned": 2, "customer": 4, "onboarding": 1}
    assert view.snapshots[-1].run_as_of is None  # no run a year before
    assert [(move.account_id, move.dimension, move.worse) for move in view.movers] == [
        ("C", "churn_tier", True),
        ("C", "health_band", True),
        ("E", "churn_tier", True),
        ("E", "health_band", True),
    ]
    assert view.movers_by_dimension["health_band"] == {"worse": 2, "better": 0}
    ahead = view.forecast
    # G renews 2026-07-15 with the learned model's 25%; E 2026-07-20 in the high tier, whose accounts of the
    # run of 2026-03-01 (D) all churned within 90 days.
    assert (ahead.accounts, ahead.mrr_up) == (2, 1300)
    assert ahead.expected_loss_mrr == pytest.approx(500 + 0.25 * 800)
    assert ahead.expected_renewed_mrr == pytest.approx(1300 - 700)
    assert [account.account_id for account in ahead.top] == ["E", "G"]
    assert view.forecast_sources == {"learned": 1, "tier:high": 1}


def test_lifetime_value_per_segment_with_the_cac_of_the_data_or_the_config(
    store: Store, settings: Settings
) -> None:
    build_book(store)
    view = compute_book_view(store, settings, BookViewRequest(as_of=AS_OF))
    smb = {group.group: group for group in view.ltv_by_segment}["smb"]
    assert (smb.accounts, smb.valued) == (6, 2)
    assert (smb.ltv, smb.ltv_low, smb.ltv_high) == (20000, 17000, 26500)
    # Only A has a CAC (5,000): LTV 30,000 [25,000-40,000].
    assert (smb.ltv_cac, smb.ltv_cac_low, smb.ltv_cac_high, smb.meets_target) == (6, 5, 8, True)
    with_default = settings.model_copy(
        update={"book": settings.book.model_copy(update={"default_cac": 2000.0})}
    )
    smb = {
        group.group: group
        for group in compute_book_view(store, with_default, BookViewRequest(as_of=AS_OF)).ltv_by_segment
    }["smb"]
    assert smb.ltv_cac == pytest.approx(40000 / 7000)
    assert smb.cac_from_config == 1


def test_filters_keep_an_owners_accounts(store: Store, settings: Settings) -> None:
    build_book(store)
    view = compute_book_view(store, settings, BookViewRequest(as_of=AS_OF, owner="ana"))
    assert view.accounts == 3
    assert {move.account_id for move in view.movers} == {"C", "E"}
    assert [group.group for group in view.ltv_by_owner] == ["Ana"]
    assert view.filters == {"owner": "ana"}
    segment = compute_book_view(store, settings, BookViewRequest(as_of=AS_OF, segments=("enterprise",)))
    assert segment.accounts == 1


def test_a_saved_views_custom_fields_keep_its_accounts(store: Store, settings: Settings) -> None:
    """A view on an imported custom field (`custom = {industry = [...]}`) keeps the same accounts here as in
    the book's list."""
    build_book(store)
    with store.write() as db:
        db.execute("""UPDATE accounts SET custom = '{"industry": "FinTech"}' WHERE id IN ('A', 'C')""")
        db.execute("""UPDATE accounts SET custom = '{"industry": "Retail"}' WHERE id = 'B'""")
    fintech = View(name="Fintech", custom={"industry": ["fintech"]})
    with_view = settings.model_copy(update={"ui": settings.ui.model_copy(update={"views": [fintech]})})
    view = compute_book_view(store, with_view, BookViewRequest(as_of=AS_OF, view="fintech"))
    assert view.accounts == 2
    assert view.filters == {"view": "fintech", "custom.industry": ["fintech"]}
    assert "custom.industry fintech" in header(view)


def test_bad_requests_are_usage_errors(store: Store, settings: Settings) -> None:
    build_book(store)
    for request in (
        BookViewRequest(as_of=AS_OF, compare="soon"),
        BookViewRequest(as_of=AS_OF, compare="2026-07-01"),
        BookViewRequest(as_of=AS_OF, view="no such view"),
    ):
        with pytest.raises(BookViewError) as raised:
            compute_book_view(store, settings, request)
        assert raised.value.exit_code == 2


def test_the_view_is_kept_until_the_data_changes(store: Store, settings: Settings) -> None:
    build_book(store)
    request = BookViewRequest(as_of=AS_OF, compare="1y")
    assert cached_book_view(store, settings, request) is None
    first = book_view(store, settings, request, clock=at(AS_OF))
    kept = cached_book_view(store, settings, request)
    assert kept is not None and kept.fresh(store) and kept.view == first.view
    with store.write() as db:
        db.execute("UPDATE accounts SET mrr = 900, updated_at = '2026-06-01T10:00:00+00:00' WHERE id = 'A'")
    stale = cached_book_view(store, settings, request)
    assert stale is not None and not stale.fresh(store)
    again = book_view(store, settings, request, clock=at(AS_OF))
    assert (
        again.fresh(store) and again.view.retention["month"].now.nrr != first.view.retention["month"].now.nrr
    )


def test_the_command_prints_bars_or_stable_json(store: Store) -> None:
    build_book(store)
    db = str(store.path)
    shown = CliRunner().invoke(app, ["book", "--db", db, "--as-of", "2026-06-01", "--owner", "Ana"])
    assert shown.exit_code == 0, shown.output
    assert "The book as of 2026-06-01, compared with 2026-05-01 · 3 accounts · owner Ana" in shown.stdout
    assert "  green               1 ████         " in shown.stdout  # A of Ana's 3 (C yellow, E red): a third
    assert "▼ Cedar Group" in shown.stdout
    assert "Renewals 2026-06-02 to 2026-08-30: 1 account(s), MRR up 500" in shown.stdout
    as_json = CliRunner().invoke(
        app, ["book", "--db", db, "--as-of", "2026-06-01", "--compare", "1y", "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    figures = json.loads(as_json.stdout)
    assert list(figures)[:4] == ["as_of", "compare", "compare_day", "filters"]
    assert figures["retention"]["year"]["now"]["grr"] == pytest.approx(0.54)
    assert figures["compare_day"] == "2025-06-01"
    wrong = CliRunner().invoke(app, ["book", "--db", db, "--compare", "soon"])
    assert wrong.exit_code == 2
    assert "--compare: 'soon' is neither 1m, 1y nor a day" in wrong.stderr


def test_every_line_fits_an_80_column_terminal(store: Store, settings: Settings) -> None:
    """Long names and large sums included: the screen beside its scrollbar, and `cockpit book` in a terminal
    of 80 columns, show each figure whole."""
    build_book(store)
    with store.write() as db:
        db.execute(
            "UPDATE accounts SET name = name || ' International Holdings and Partners Group', mrr = mrr * 9999"
        )
        db.execute("UPDATE account_history SET value = value * 9999 WHERE field = 'mrr'")
    view = compute_book_view(store, settings, BookViewRequest(as_of=AS_OF))
    lines = book_text(view)
    assert view.movers and view.forecast.top and view.ltv_by_owner  # each kind of row is in the view
    assert max(len(line) for line in lines) <= WIDTH == 76
    assert any("MRR up 12,998,700," in line for line in lines)  # 1,300 x 9,999, wrapped whole
    assert "  Elm Systems International   2026-07-20  MRR   5.0M  loss 100.0% →   5.0M" in lines
    assert "  ▼ Elm Systems Internatio  churn tier   low → high  MRR 5.0M" in lines
