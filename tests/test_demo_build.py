"""`cockpit demo`'s database: the book as a nightly run leaves it (valued, scored with history, outreach
planned, the learned churn model fitted), written whole or not at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.config import load_settings
from cockpit.demo import SEED_ANCHOR, STORY_ACCOUNTS
from cockpit.demo.seedfiles import SEED_ACCOUNTS
from cockpit.services.churn import latest_fit
from cockpit.services.demo import HISTORY_MONTHS, build_demo
from cockpit.services.scoring import run_scoring
from cockpit.store import open_store
from cockpit.store.scoring import latest_scores
from tests.clocks import at
from tests.processes import children, needs_proc, running, wait_until
from tests.tuning import tune


def test_the_demo_is_valued_scored_and_planned(tmp_path: Path) -> None:
    target = tmp_path / "demo.db"
    settings = load_settings()
    counts = build_demo(target, settings, clock=at(SEED_ANCHOR))
    assert counts["accounts"] == SEED_ACCOUNTS
    store = open_store(target)
    try:
        db = store.db
        assert db.execute("SELECT count(*) FROM score_runs WHERE finished_at IS NOT NULL").fetchone()[0] == (
            HISTORY_MONTHS + 1
        )
        customers, valued = db.execute(
            "SELECT count(*), count(v.clv_low) FROM accounts a LEFT JOIN clv_latest v ON v.account_id = a.id "
            "WHERE a.churned_on IS NULL OR a.churned_on > ?",
            [SEED_ANCHOR.isoformat()],
        ).fetchone()
        assert valued == customers == 150  # every customer has a lifetime value with its interval
        drafts = {
            (account, playbook)
            for account, playbook in db.execute(
                "SELECT account_id, playbook FROM outreach WHERE status = 'draft'"
            )
        }
        # The learned churn model is fitted on the demo's own two years of churn, as of today, and measured on
        # its holdout beside the rules; the runs stored are the rules' (none learned from what followed it).
        # The demo holds usage, emails and touches over the whole history, so the days the holdout's model
        # learns from show the falling usage, low health and unopened emails that tell churners, beside the
        # contract, plan, segment and tenure the rules cannot weigh: it beats the rules on the holdout, and
        # mode "auto" scores with it from the next run on.
        fit = latest_fit(store, settings)
        assert (fit.run.id, fit.run.as_of) == (1, SEED_ANCHOR.isoformat()) and fit.run.snapshots >= 12
        assert fit.verdict.uses, fit.verdict.reason
        models = {score["churn"]["model"] for score in latest_scores(db, sections=("churn",)).values()}
        assert models == {"rules"}
        run_scoring(store, settings, SEED_ANCHOR, clock=at(SEED_ANCHOR))
        models = {score["churn"]["model"] for score in latest_scores(db, sections=("churn",)).values()}
        assert models == {"learned"}
        assert (STORY_ACCOUNTS["cancel_lookup"], "save-now") in drafts
        assert (STORY_ACCOUNTS["stalled_feature"], "stalled-feature") in drafts
        assert not any(
            account == STORY_ACCOUNTS["birthday_no_consent"] and book == "birthday"
            for account, book in drafts
        )
    finally:
        store.close()


def test_the_demo_account_that_clicked_cancel_is_high_risk_under_the_learned_model(tmp_path: Path) -> None:
    """The model kept learns from every snapshot, the newest with usage: the cancel-lookup story (a cancel
    click last week, the book's highest MRR) is high risk, for its cancel signals, not lost among the
    enterprise accounts its MRR and plan rank it with."""
    target = tmp_path / "demo.db"
    build_demo(target, load_settings(), clock=at(SEED_ANCHOR))
    store = open_store(target)
    try:
        run_scoring(store, tune("churn", mode="learned"), SEED_ANCHOR, clock=at(SEED_ANCHOR))
        scores = latest_scores(store.db, sections=("churn",))
    finally:
        store.close()
    churn = scores[STORY_ACCOUNTS["cancel_lookup"]]["churn"]
    assert churn["model"] == "learned" and churn["tier"] == "high", churn["detail"]
    assert churn["risk"] == max(score["churn"]["risk"] for score in scores.values())
    # Its cancel signals raise the odds, rather than cancel one another out.
    largest = churn["contributions"][0]
    assert largest["name"].startswith("cancel") and largest["log_odds"] > 0, churn["contributions"]


@needs_proc
@pytest.mark.slow
def test_a_killed_demo_leaves_no_worker_behind(tmp_path: Path) -> None:
    """kill -9 of `cockpit demo --accounts N` while its generator process runs: the generator (and the
    resource tracker that multiprocessing started with it) end too, instead of waiting forever on a full
    queue that nobody reads."""
    target = tmp_path / "big.db"
    command = ["demo", "--accounts", "5000", "--no-score", "--no-open", "--db", str(target)]
    demo = subprocess.Popen(
        [sys.executable, "-m", "cockpit", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    helpers: dict[int, str] = {}
    try:

        def generating() -> bool:
            assert demo.poll() is None, "the demo ended before it was killed"
            helpers.update(children(demo.pid))
            wal = tmp_path / f".{target.name}.building-wal"  # the parent has inserted the child's batches
            return any("spawn_main" in command for command in helpers.values()) and (
                wal.exists() and wal.stat().st_size > 0
            )

        wait_until(generating, "the demo's generator process handing over batches")
        os.kill(demo.pid, signal.SIGKILL)
        demo.wait()
        wait_until(
            lambda: not any(map(running, helpers)), "the end of the demo's helper processes", seconds=30
        )
    finally:
        for pid in helpers:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
