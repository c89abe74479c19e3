"""The nightly run fits the learned churn model afresh when none has been fitted or the latest is older than
`churn.learned.refit_after_days`, before it scores, and says so; a book without the churn history a fit needs
is reported, and the run carries on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cockpit.cli.sync import render_report
from cockpit.store import Store
from cockpit.store.scoring import latest_scores
from tests.crm_servers.hubspot import HubSpotServer
from tests.learned_books import Truth, build_book
from tests.tuning import tune

from .books import SYNC_DAY, hubspot_book, nightly, settings_for, write_config


def models(store: Store) -> list[tuple[int, str]]:
    return [tuple(row) for row in store.db.execute("SELECT id, as_of FROM churn_models ORDER BY id")]


@pytest.mark.slow
def test_the_model_is_fitted_when_absent_kept_while_young_and_refitted_when_old(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    build_book(store, accounts=800)
    hubspot_book(hubspot, companies=2)
    settings = tune(
        "churn.learned",
        base=settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url)),
        max_snapshots=6,
    )
    first = nightly(store, settings)
    assert first.exit_code == 0, first.errors
    assert models(store) == [(1, SYNC_DAY.isoformat())]
    assert first.churn_model is not None and first.churn_model["action"] == "fitted"
    assert first.churn_model["reason"] == "no model had been fitted" and first.churn_model["model_id"] == 1
    # Tonight's scores come from the model fitted tonight (auto uses it: the known book's churn is learnable).
    assert first.churn_model["auto_uses_it"] is True
    scored = latest_scores(store.db, sections=("churn",))
    assert scored and {score["churn"]["model"] for score in scored.values()} == {"learned"}
    assert "churn     model fitted: no model had been fitted (model 1, holdout AUC" in render_report(first)

    second = nightly(store, settings)
    assert second.churn_model is not None and second.churn_model["action"] == "kept"
    assert models(store) == [(1, SYNC_DAY.isoformat())]
    assert "model 1 was fitted as of 2026-11-25, 0 days before (refit after 30)" in second.churn_model["line"]

    with store.write() as db:  # the model is now 30 days old
        db.execute("UPDATE churn_models SET as_of = ?", [(SYNC_DAY - timedelta(days=30)).isoformat()])
    third = nightly(store, settings)
    assert third.exit_code == 0
    assert third.churn_model is not None and third.churn_model["action"] == "fitted"
    assert third.churn_model["reason"].startswith("model 1 was fitted as of 2026-10-26, 30 days before")
    assert [model_id for model_id, _ in models(store)] == [1, 2]

    # A longer age keeps it.
    with store.write() as db:
        db.execute(
            "UPDATE churn_models SET as_of = ? WHERE id = 2", [(SYNC_DAY - timedelta(days=30)).isoformat()]
        )
    patient = nightly(store, tune("churn.learned", base=settings, refit_after_days=45))
    assert patient.churn_model is not None and patient.churn_model["action"] == "kept"
    assert len(models(store)) == 2


def test_a_book_without_enough_churn_history_is_reported_and_the_run_carries_on(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    build_book(store, accounts=60, truth=Truth(base=-30.0, falling=0.0, tickets=0.0))  # nobody churns
    hubspot_book(hubspot, companies=1)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    report = nightly(store, settings)
    assert report.exit_code == 0 and report.scoring is not None
    assert report.churn_model is not None and report.churn_model["action"] == "not fitted"
    assert report.churn_model["reason"] == (
        "no model had been fitted, but the book holds 0 churned accounts, fewer than min_churned 30"
    )
    assert "churn     model not fitted: no model had been fitted, but the book holds 0" in render_report(
        report
    )

    # Mode "learned" tries whatever the count; the fit's own refusal is reported, not fatal.
    learned = tune("churn", base=settings, mode="learned")
    report = nightly(store, learned)
    assert report.churn_model is not None and report.churn_model["action"] == "not fitted"
    assert "not enough churn history to learn from: 0 churned account(s)" in report.churn_model["reason"]
    assert models(store) == []
    # The scoring that follows cannot use a model that does not exist: that, as before, is the run's error.
    assert report.errors and "no churn model has been fitted" in report.errors[0]

    rules = tune("churn", base=settings, mode="rules")
    report = nightly(store, rules)
    assert report.exit_code == 0
    assert (
        report.churn_model is not None and report.churn_model["line"] == 'not fitted: churn.mode is "rules"'
    )
