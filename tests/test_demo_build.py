"""`cockpit demo`'s database: the book as a nightly run leaves it (valued, scored with history, outreach
planned), written whole or not at all."""

from __future__ import annotations

from pathlib import Path

from cockpit.config import load_settings
from cockpit.demo import SEED_ANCHOR, STORY_ACCOUNTS
from cockpit.demo.seedfiles import SEED_ACCOUNTS
from cockpit.services.demo import HISTORY_MONTHS, build_demo
from cockpit.store import open_store
from tests.clocks import at


def test_the_demo_is_valued_scored_and_planned(tmp_path: Path) -> None:
    target = tmp_path / "demo.db"
    counts = build_demo(target, load_settings(), clock=at(SEED_ANCHOR))
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
        assert valued == customers == 157  # every customer has a lifetime value with its interval
        drafts = {
            (account, playbook)
            for account, playbook in db.execute(
                "SELECT account_id, playbook FROM outreach WHERE status = 'draft'"
            )
        }
        assert (STORY_ACCOUNTS["cancel_lookup"], "save-now") in drafts
        assert (STORY_ACCOUNTS["stalled_feature"], "stalled-feature") in drafts
        assert not any(
            account == STORY_ACCOUNTS["birthday_no_consent"] and book == "birthday"
            for account, book in drafts
        )
    finally:
        store.close()
