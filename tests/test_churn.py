"""The learned churn model on real SQLite books: the facts as of many days in one pass, fits on books whose
churn follows a known rule, which model scores a run, and the `cockpit churn` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.demo import generate_into_store
from cockpit.errors import CockpitError
from cockpit.scoring.learned import UNKNOWN_WITHOUT
from cockpit.services.churn import ChurnFit, fit_churn
from cockpit.services.scoring import run_scoring, windows
from cockpit.store import Store, open_store
from cockpit.store.book import BookQuery, fetch_book_page
from cockpit.store.churn import SnapshotFacts
from cockpit.store.scoring import account_facts, latest_scores
from tests.clocks import at
from tests.learned_books import Truth, build_book, build_export
from tests.tuning import defaults, tune

pytestmark = pytest.mark.slow  # each test fits a model on a book of a few thousand accounts

runner = CliRunner()
DEMO_DAY = date(2026, 11, 22)


@pytest.mark.parametrize("adoption_days", [30, 45])
def test_snapshot_facts_are_the_book_facts_of_each_day(store: Store, adoption_days: int) -> None:
    """On a demo book (contacts, features, entitlements, every kind of signal, touches), the facts read for
    many days in one pass are, account by account and day by day, those a scoring run reads as of each
    day; with an adoption window that spans usage buckets too (45 days)."""
    generate_into_store(store, accounts=60, anchor=DEMO_DAY, parallel=False)
    settings = tune("adoption", window_days=adoption_days)
    days = [DEMO_DAY - timedelta(days=5 + 30 * k) for k in range(8)]
    with SnapshotFacts(store.db, days, windows(settings), range_accounts=7) as snapshots:
        found = {(day, facts.account_id): facts for day, facts, _traits in snapshots}
    for index, day in enumerate(days):
        expected = account_facts(store.db, day, windows(settings))
        assert [key for key in found if key[0] == index] == [(index, facts.account_id) for facts in expected]
        for facts in expected:
            assert found[(index, facts.account_id)] == facts
    assert sum(len(facts.features) for facts in found.values()) > 0


TWELVE = tune("churn.learned", max_snapshots=12)
"""Twelve monthly snapshots, as bench/churn.py times."""


def fitted(store: Store, **book: Any) -> tuple[date, ChurnFit]:
    made = build_book(store, **book)
    return made.anchor, fit_churn(store, TWELVE, made.anchor, clock=at(made.anchor))


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, date, ChurnFit]]:
    """A book of 2,000 accounts over two years whose churn follows `Truth()`, fitted once."""
    store = open_store(tmp_path_factory.mktemp("known") / "book.db", create=True)
    anchor, fit = fitted(store)
    yield store, anchor, fit
    store.close()


@pytest.mark.slow
def test_the_learned_model_finds_the_known_rule(known: tuple[Store, date, ChurnFit]) -> None:
    _store, _anchor, fit = known
    holdout = fit.run.metrics["holdout"]
    assert holdout["learned"]["auc"] > 0.8
    assert holdout["learned"]["auc"] > holdout["rules"]["auc"]
    assert holdout["learned"]["brier"] < holdout["brier_of_training_rate"]
    coefficient = {
        (name, level): value for name, _kind, level, _mean, _scale, value in fit.run.model["columns"]
    }
    assert (
        coefficient[("plan", "Starter")] > coefficient[("plan", "Team")] > coefficient[("plan", "Business")]
    )
    assert coefficient[("tickets_30", None)] > 0
    assert coefficient[("usage_trend", None)] < 0  # falling usage raises the risk
    assert fit.verdict.uses and fit.run.churned >= 30
    tiers = holdout["learned"]["tiers"]
    assert tiers["high"]["rate"] > 2 * tiers["low"]["rate"]


FIT_BEFORE = Path(__file__).parent / "fixtures" / "churn-fit-known-book.json"
"""The model fitted on the known book by the fit before it ran on one core (every column's mean, scale and
coefficient, the intercept, the penalty chosen, the holdout AUC)."""


@pytest.mark.slow
def test_the_fit_on_one_core_is_the_fit_it_was(known: tuple[Store, date, ChurnFit]) -> None:
    """Speeding the fit up changes nothing it finds: the columns' means and scales (so the inputs matrix),
    the penalty and the holdout AUC are as they were, the coefficients to rounding."""
    _store, _anchor, fit = known
    before = json.loads(FIT_BEFORE.read_text())
    model = fit.run.model
    assert model["penalty"] == before["penalty"]
    assert fit.run.metrics["holdout"]["learned"]["auc"] == pytest.approx(before["holdout_auc"], abs=1e-12)
    assert model["intercept"] == pytest.approx(before["intercept"], abs=1e-9)
    assert [column[:3] for column in model["columns"]] == [column[:3] for column in before["columns"]]
    for found, was in zip(model["columns"], before["columns"], strict=True):
        assert found[3:5] == pytest.approx(was[3:5], rel=1e-12), found[:3]
        assert found[5] == pytest.approx(was[5], abs=1e-9), found[:3]


@pytest.mark.slow
def test_auto_scores_with_the_model_and_says_so(known: tuple[Store, date, ChurnFit]) -> None:
    store, anchor, fit = known
    run_scoring(store, defaults(), anchor, clock=at(anchor))
    scores = latest_scores(store.db, sections=("churn",))
    churn = next(iter(scores.values()))["churn"]
    assert churn["model"] == "learned" and churn["model_id"] == fit.run.id
    assert churn["holdout_auc"] == fit.run.metrics["holdout"]["learned"]["auc"]
    assert churn["detail"].startswith(f"learned model {fit.run.id} (holdout AUC ")
    assert 0 < len(churn["contributions"]) <= 5
    assert all(item["detail"] for item in churn["contributions"])
    risks = [float(score["churn"]["risk"]) for score in scores.values()]
    assert len(set(risks)) > 100  # a chance per account, not a handful of rule sums
    page = fetch_book_page(store.db, BookQuery(), offset=0, limit=50)
    scored = [row for row in page if row.churn_risk is not None]  # the accounts gone before have no score
    assert scored and {row.churn_model for row in scored} == {"learned"}  # read off the explanation
    stored = store.db.execute("SELECT churn_tier, churn_risk FROM scores").fetchall()
    learned = defaults().churn.learned
    for tier, risk in stored:
        assert tier == (
            "high" if risk >= learned.high_min else "medium" if risk >= learned.medium_min else "low"
        )

    # mode "rules" scores as before, and says so.
    run_scoring(store, tune("churn", mode="rules"), anchor, clock=at(anchor))
    churn = next(iter(latest_scores(store.db, sections=("churn",)).values()))["churn"]
    assert churn["model"] == "rules" and "contributions" not in churn
    page = fetch_book_page(store.db, BookQuery(), offset=0, limit=50)
    assert {row.churn_model for row in page if row.churn_risk is not None} == {"rules"}


@pytest.mark.slow
def test_shuffled_outcomes_leave_nothing_to_learn(store: Store) -> None:
    _anchor, fit = fitted(store, shuffled=True)
    auc = fit.run.metrics["holdout"]["learned"]["auc"]
    assert abs(auc - 0.5) < 0.06
    assert not fit.verdict.uses


@pytest.mark.slow
def test_churn_that_rests_on_plan_and_term_alone_is_found_better_than_the_rules_find_it(store: Store) -> None:
    """No usage, ticket or renewal date tells the churners: only the plan and the contract term do. The
    rules read the term (month-to-month) but cannot know which plan leaves."""
    truth = Truth(
        base=-4.0,
        falling=0.0,
        tickets=0.0,
        trouble=0.0,
        plans={"Starter": 1.2, "Team": 0.0, "Business": -1.2},
        terms={1: 1.0, 12: -1.0},
    )
    _anchor, fit = fitted(store, truth=truth, contract_terms=True, renewal_dates=False)
    holdout = fit.run.metrics["holdout"]
    assert holdout["learned"]["auc"] > 0.75
    assert 0.55 < holdout["rules"]["auc"] < holdout["learned"]["auc"] - 0.05
    coefficient = {
        (name, level): value for name, _kind, level, _mean, _scale, value in fit.run.model["columns"]
    }
    assert coefficient[("contract_months", None)] < 0
    assert coefficient[("plan", "Starter")] > coefficient[("plan", "Business")]
    assert fit.verdict.uses


@pytest.mark.slow
def test_a_book_exported_on_one_day_is_checked_on_accounts_it_did_not_learn_from(store: Store) -> None:
    """Sixty days of activity up to the export day, the churners leaving on it: one snapshot, the day before;
    a quarter of the accounts is the holdout."""
    churned = build_export(store)
    day = date(2026, 9, 1)
    fit = fit_churn(store, defaults(), day + timedelta(days=90), clock=at(day + timedelta(days=90)))
    metrics = fit.run.metrics
    assert metrics["snapshots"] == ["2026-08-31"] and metrics["holdout"]["by"] == "accounts"
    assert metrics["holdout"]["churned"] == sum(int(account[1:]) % 4 == 0 for account in churned)
    assert metrics["holdout"]["learned"]["auc"] > 0.65
    assert metrics["holdout"]["learned"]["auc"] > metrics["holdout"]["rules"]["auc"]
    coefficient = {
        (name, level): value for name, _kind, level, _mean, _scale, value in fit.run.model["columns"]
    }
    assert coefficient[("plan", "intl")] > coefficient[("plan", "basic")]


@pytest.mark.slow
def test_a_book_without_usage_is_not_read_as_one_nobody_used(store: Store) -> None:
    """The known book with its usage never imported: the fit learns from what the book holds (tickets, plan,
    term, tenure), health and the rules read it as a scoring run does (no inactivity without usage), and
    neither the fit nor a scoring run reads an input that only usage could tell."""
    made = build_book(store, accounts=1200)
    with store.write() as db:
        db.execute("DELETE FROM usage_events")
    fit = fit_churn(store, TWELVE, made.anchor, clock=at(made.anchor))
    read = {name for name, *_rest in fit.run.model["columns"]}
    assert "tickets_30" in read and "plan" in read
    assert read.isdisjoint(UNKNOWN_WITHOUT["usage"])
    run_scoring(store, tune("churn", mode="learned"), made.anchor, clock=at(made.anchor))
    shown = {
        item["name"]
        for score in latest_scores(store.db, sections=("churn",)).values()
        for item in score["churn"]["contributions"]
    }
    assert shown and shown.isdisjoint(UNKNOWN_WITHOUT["usage"])


def test_a_book_without_history_says_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "book.db"
    open_store(path, create=True).close()
    result = runner.invoke(app, ["churn", "fit", "--db", str(path), "--as-of", "2026-11-01"])
    assert result.exit_code == 1
    assert "holds no day to learn from" in result.stderr and "(0 churned accounts found" in result.stderr
    shown = runner.invoke(app, ["churn", "show", "--db", str(path)])
    assert shown.exit_code == 1 and "no churn model has been fitted yet" in shown.stderr


def test_a_book_without_churn_says_how_many_churned(store: Store) -> None:
    build_book(store, accounts=150, truth=Truth(base=-30.0, falling=0.0, tickets=0.0))
    with pytest.raises(CockpitError, match=r"0 churned account\(s\) in all"):
        fit_churn(store, defaults(), date(2026, 11, 1), clock=at(date(2026, 11, 1)))
    assert store.db.execute("SELECT count(*) FROM churn_models").fetchone()[0] == 0


def test_mode_learned_without_a_model_is_an_error_and_auto_falls_back_to_the_rules(store: Store) -> None:
    build_book(store, accounts=50)
    day = date(2026, 11, 1)
    with pytest.raises(CockpitError, match="no churn model has been fitted"):
        run_scoring(store, tune("churn", mode="learned"), day, clock=at(day))
    run_scoring(store, defaults(), day, clock=at(day))
    churn = next(iter(latest_scores(store.db, sections=("churn",)).values()))["churn"]
    assert churn["model"] == "rules"


def test_fit_and_show_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "book.db"
    store = open_store(path, create=True)
    build_book(store, accounts=400)
    store.close()
    config = tmp_path / "config.toml"
    config.write_text("[churn.learned]\nmax_snapshots = 6\nmin_churned = 10000\n", encoding="utf-8")
    common = ["--db", str(path), "--config", str(config)]
    fitted_run = runner.invoke(app, ["churn", "fit", "--as-of", "2026-11-01", "--horizon", "60", *common])
    assert fitted_run.exit_code == 0, fitted_run.output
    assert (
        "Learned churn model 1: the chance of churning within 60 days, fitted as of 2026-11-01"
        in fitted_run.stdout
    )
    assert "learned from 6 snapshots" in fitted_run.stdout and "rules " in fitted_run.stdout
    assert (
        'churn.mode "auto" does not use it' in fitted_run.stdout and "min_churned 10000" in fitted_run.stdout
    )
    shown = runner.invoke(app, ["churn", "show", "--json", *common])
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    assert record["model_id"] == 1 and record["horizon_days"] == 60 and record["snapshots"] == 6
    assert record["auto_uses_it"] is False
    assert set(record["metrics"]["holdout"]) >= {"learned", "rules", "base_rate", "accounts", "churned"}
    assert record["metrics"]["holdout"]["learned"]["reliability"]
