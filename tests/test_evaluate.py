"""`cockpit score evaluate` on books whose churn is planted: scores that foretell churn measure as such, scores
that cannot do not, and a run whose horizon is not over is left out."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.config import load_settings
from cockpit.services.evaluate import evaluate_scores
from cockpit.store import Store, open_store
from tests.churn_books import RUN_DAYS, TODAY, plant_book

runner = CliRunner()
SETTINGS = load_settings()


def test_scores_that_foretell_churn_show_it(store: Store) -> None:
    book = plant_book(store)
    evaluation = evaluate_scores(store, SETTINGS, today=TODAY)
    assert [run.as_of for run in evaluation.runs] == list(RUN_DAYS[:3])
    assert [run.as_of for run in evaluation.unobserved] == [RUN_DAYS[3]]
    pooled = evaluation.pooled
    assert pooled is not None and evaluation.message is None
    assert pooled.auc_churn_risk is not None and pooled.auc_churn_risk > 0.65
    assert pooled.auc_health == pooled.auc_churn_risk  # health is 100 x (1 - risk): the same order
    assert pooled.lift_tiers is not None and pooled.lift_tiers > 2
    assert pooled.lift_bands is not None and pooled.lift_bands > 2
    tiers = pooled.tiers
    assert list(tiers) == ["high", "medium", "low"]
    assert tiers["high"].rate > tiers["medium"].rate > tiers["low"].rate  # type: ignore[operator]
    for run in evaluation.runs:
        # Each run is labelled by the churn in the 90 days after its own day, among the accounts it scored.
        scored = [a for a in book if a.churned_on is None or a.churned_on > run.as_of]
        churned = [a for a in scored if a.churned_on and a.churned_on <= run.as_of + timedelta(days=90)]
        assert (run.quality.accounts, run.quality.churned) == (len(scored), len(churned))
        assert run.quality.auc_churn_risk is not None and run.quality.auc_churn_risk > 0.6
    assert pooled.accounts == sum(run.quality.accounts for run in evaluation.runs)


def test_churn_dealt_at_random_is_not_foretold(store: Store) -> None:
    plant_book(store, shuffle=True)
    pooled = evaluate_scores(store, SETTINGS, today=TODAY).pooled
    assert pooled is not None and pooled.churned > 300
    assert pooled.auc_churn_risk is not None and abs(pooled.auc_churn_risk - 0.5) < 0.04
    assert pooled.lift_tiers is not None and 0.75 < pooled.lift_tiers < 1.33


def test_only_runs_whose_horizon_is_over_are_judged(store: Store) -> None:
    plant_book(store, accounts=300)
    # February's 90 days end on 2 May: on 1 May only January's run can be judged.
    early = evaluate_scores(store, SETTINGS, today=date(2026, 5, 1))
    assert [run.as_of for run in early.runs] == [RUN_DAYS[0]]
    assert [run.as_of for run in early.unobserved] == list(RUN_DAYS[1:])
    window = evaluate_scores(store, SETTINGS, today=TODAY, first=date(2026, 2, 1), last=date(2026, 6, 30))
    assert [run.as_of for run in window.runs] == list(RUN_DAYS[1:3])
    short = evaluate_scores(store, SETTINGS, today=TODAY, horizon_days=30)
    assert [run.as_of for run in short.runs] == list(RUN_DAYS)
    assert short.horizon_days == 30
    assert short.runs[0].quality.churned < early.runs[0].quality.churned


def test_nothing_to_judge_says_why(store: Store) -> None:
    nothing = evaluate_scores(store, SETTINGS, today=TODAY)
    assert nothing.runs == [] and nothing.pooled is None
    assert (
        nothing.message is not None
        and "No score run has a fully observed horizon of 90 days" in nothing.message
    )
    plant_book(store, accounts=200, churn_share=0.0)
    quiet = evaluate_scores(store, SETTINGS, today=TODAY)
    assert quiet.pooled is not None and quiet.pooled.churned == 0
    assert quiet.pooled.auc_churn_risk is None and quiet.pooled.lift_tiers is None
    assert quiet.message is not None and "No account churned within 90 days" in quiet.message
    waiting = evaluate_scores(store, SETTINGS, today=date(2026, 3, 1))
    assert (
        waiting.message is not None
        and "the first, as of 2026-01-01, can be judged from 2026-04-01" in waiting.message
    )


def test_the_command_prints_json_and_says_when_nothing_can_be_judged(tmp_path: Path) -> None:
    path = tmp_path / "planted.db"
    empty = runner.invoke(app, ["init", "--db", str(path)])
    assert empty.exit_code == 0
    nothing = runner.invoke(app, ["score", "evaluate", "--db", str(path)])
    assert nothing.exit_code == 1
    assert "No score run has a fully observed horizon" in nothing.stderr
    store = open_store(path)
    plant_book(store, accounts=500)
    store.close()
    # The commands believe it is 2026-11-25 (COCKPIT_NOW): June's horizon is over too.
    result = runner.invoke(app, ["score", "evaluate", "--db", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [run["as_of"] for run in report["runs"]] == [day.isoformat() for day in RUN_DAYS]
    assert report["pooled"]["auc_churn_risk"] > 0.6
    assert set(report["pooled"]["tiers"]) == {"high", "medium", "low"}
    text = runner.invoke(
        app, ["score", "evaluate", "--db", str(path), "--from", "2026-02-01", "--to", "2026-03-01"]
    )
    assert text.exit_code == 0
    assert "2 run(s) as of 2026-02-01 to 2026-03-01" in text.stdout
    assert "AUC of churn risk" in text.stdout and "Churn tiers: high" in text.stdout
    assert runner.invoke(app, ["score", "evaluate", "--db", str(path), "--from", "1/2/2026"]).exit_code == 2
    misplaced = runner.invoke(app, ["score", "--db", str(path), "evaluate"])
    assert misplaced.exit_code == 2 and "put the options after the command" in misplaced.stderr
