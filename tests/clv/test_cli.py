"""`cockpit clv fit` and `cockpit clv show` on a database file, as a user runs them."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit import resources
from cockpit.cli import app
from cockpit.demo.seedfiles import SEED_ACCOUNTS, load_seeds
from cockpit.store import open_store
from cockpit.store.clv import latest_clv_run
from tests.clv.test_service import DEMO_DAY

runner = CliRunner()


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    path = tmp_path / "demo.db"
    store = open_store(path, create=True)
    load_seeds(store, resources.seeds_dir(), today=DEMO_DAY)
    store.close()
    return str(path)


def test_fit_then_show(demo_db: str) -> None:
    fitted = runner.invoke(app, ["clv", "fit", "--db", demo_db, "--as-of", DEMO_DAY.isoformat()])
    assert fitted.exit_code == 0, fitted.output
    assert f"Valued 150 accounts as of {DEMO_DAY}" in fitted.stdout
    assert "80 churned" in fitted.stdout
    assert "(book)" in fitted.stdout and "log-lik" in fitted.stdout

    shown = runner.invoke(app, ["clv", "show", "acc-00001", "--db", demo_db])
    assert shown.exit_code == 0, shown.output
    assert "Falcon Ledge Industries (acc-00001)" in shown.stdout
    assert "90% interval" in shown.stdout
    assert "renewals fit" in shown.stdout and "purchases fit" in shown.stdout and "spend fit" in shown.stdout
    # A one-time buyer (the account that clicked cancel): P(alive) is 1 by construction, and says so.
    assert "P(buy again in the next 52 periods of 7 days) 0." in shown.stdout
    assert "P(alive) 1.00" in shown.stdout
    assert "one purchase so far" in shown.stdout and "P(alive) is 1 by construction" in shown.stdout
    assert "cancel        clicked on 2026-11-19: this value assumes the subscription goes on" in shown.stdout

    as_json = runner.invoke(app, ["clv", "show", "falconledgeindustries.io", "--json", "--db", demo_db])
    assert as_json.exit_code == 0, as_json.output
    record = json.loads(as_json.stdout)
    assert record["account_id"] == "acc-00001" and record["interval"] == 0.9
    assert record["clv_low"] < record["clv"] < record["clv_high"]
    assert set(record["fits"]) == {"sbg", "bgnbd", "gamma_gamma"}
    assert record["clv"] == pytest.approx(record["subscription_clv"] + record["orders_clv"])
    assert (record["repeat_purchases"], record["p_alive"]) == (0, 1.0)
    assert record["p_buy_again"] == pytest.approx(1 - record["p_no_purchase"]) and record["p_buy_again"] < 0.5
    assert "by construction" in record["p_alive_note"]
    assert record["cancel_clicked"] == "2026-11-19"


def test_a_fit_long_after_the_last_order_warns(demo_db: str) -> None:
    """Fitted 400 days after the demo's latest order, the purchase model would read the days without data as
    customers who left, and `clv fit` says so (stored with the run's notes too)."""
    fresh = runner.invoke(app, ["clv", "fit", "--json", "--db", demo_db, "--as-of", DEMO_DAY.isoformat()])
    assert json.loads(fresh.stdout)["warnings"] == []
    late = DEMO_DAY + timedelta(days=400)
    stale = runner.invoke(app, ["clv", "fit", "--json", "--db", demo_db, "--as-of", late.isoformat()])
    assert stale.exit_code == 0, stale.output
    store = open_store(Path(demo_db))
    moved = str(store.db.execute("SELECT max(occurred_at) FROM transactions").fetchone()[0])[:10]
    store.close()
    gap = (late - date.fromisoformat(moved)).days
    [warning] = json.loads(stale.stdout)["warnings"]
    assert warning.startswith(f"the latest order in the book is of {moved}, {gap} days before")
    shown = runner.invoke(app, ["clv", "fit", "--db", demo_db, "--as-of", late.isoformat()])
    assert f"  warning: the latest order in the book is of {moved}" in shown.stdout
    store = open_store(Path(demo_db))
    try:
        run = latest_clv_run(store.db)
        assert run is not None and run.notes[0] == f"warning: {warning}"
    finally:
        store.close()


def test_fit_as_json(demo_db: str) -> None:
    result = runner.invoke(app, ["clv", "fit", "--json", "--db", demo_db, "--as-of", DEMO_DAY.isoformat()])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accounts"] == SEED_ACCOUNTS and summary["as_of"] == DEMO_DAY.isoformat()
    assert {fit["role"] for fit in summary["fits"]} == {"sbg", "bgnbd", "gamma_gamma"}
    for fit in summary["fits"]:
        assert set(fit["params"]) == set(fit["std_errors"]) and fit["n"] > 0


def test_show_before_fit_and_unknown_accounts_say_what_to_do(demo_db: str) -> None:
    early = runner.invoke(app, ["clv", "show", "acc-00001", "--db", demo_db])
    assert early.exit_code == 1
    assert "no lifetime values yet" in early.stderr and "cockpit clv fit" in early.stderr
    assert "Traceback" not in early.output
    unknown = runner.invoke(app, ["clv", "show", "nobody", "--db", demo_db])
    assert unknown.exit_code == 1 and "no account matches 'nobody'" in unknown.stderr


def test_a_book_that_cannot_identify_a_model_fails_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    store = open_store(path, create=True)
    with store.write() as db:
        db.table("accounts").insert_all(
            {
                "id": f"a{n}",
                "name": f"A{n}",
                "mrr": 10.0,
                "start_date": "2024-01-01",
                "created_at": "x",
                "updated_at": "x",
            }
            for n in range(3)
        )
    store.close()
    result = runner.invoke(app, ["clv", "fit", "--db", str(path), "--as-of", "2025-06-01"])
    assert result.exit_code == 1
    assert "no churn observed among 3 subscription accounts" in result.stderr
    assert "churned_on" in result.stderr  # the hint: what to record
    assert "Traceback" not in result.output
