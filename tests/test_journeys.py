"""Journey patterns: the sequences the demo generator planted before churn are found; shuffled outcomes find
nothing; the mining's order, gaps and periods by hand."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from cockpit.config import load_settings
from cockpit.demo import STORY_ACCOUNTS, generate_into_store
from cockpit.demo.seedfiles import SEED_ANCHOR
from cockpit.scoring import journeys as rules
from cockpit.services.journeys import find_journeys, read_timelines
from cockpit.store import Store, open_store
from cockpit.store.db import build_database


def test_the_demo_finds_the_trouble_the_generator_plants_before_churn(seeds_demo: Store) -> None:
    """Churn follows trouble (cockpit/demo/generator.py: `_Spell`): use falls, tickets come in bursts with an
    escalation, check-in emails go unopened, CSAT answers sour, the CSM logs a negative call, and users visit
    the cancel page in the weeks before; each, and their sequences, comes out as a path to churn."""
    report = find_journeys(seeds_demo, load_settings(), SEED_ANCHOR, outcome="churn")
    found = {path.pattern.steps: path for path in report.paths}
    for planted in (
        ("ticket_burst",),
        ("escalation",),
        ("emails_unopened",),
        ("low_csat",),
        ("cancel_page_visit",),
        ("negative_interaction", "emails_unopened"),
    ):
        assert planted in found, planted
        pattern = found[planted].pattern
        assert pattern.lift > 1.5 and pattern.q_value <= 0.05
        assert pattern.outcome_low > report.base_rate  # type: ignore[operator]
    # Use falls in trouble, before the emails go unread or after: a path with it stands out.
    assert any("usage_drop" in steps for steps in found)
    # The cancel page comes last, in the weeks before the churn; the trouble a month or two before.
    assert found[("cancel_page_visit",)].pattern.lead_days == 14
    assert found[("ticket_burst",)].pattern.lead_days >= 28
    # What the generator does not tie to churn is not a path to it.
    assert not any({"referral", "review", "promoter_nps"} & set(steps) for steps in found)
    # Each path opens the customers on it now: none of them churned.
    churned = {
        row[0] for row in seeds_demo.db.execute("SELECT id FROM accounts WHERE churned_on IS NOT NULL")
    }
    on_path = set(found[("cancel_page_visit",)].on_path)
    assert on_path and not on_path & churned
    assert "acc-00001" in on_path  # the cancel_lookup story visited the cancel page last week


def assert_nothing_without_the_outcomes(store: Store, as_of: date, seed: int, *, lift_within: float) -> None:
    """The book's timelines with their outcomes shuffled, 20 times: the patterns' lifts are near 1, and at
    most one shuffle in the 20 shows any pattern to churn or renewal (the test holds false findings to the
    false discovery rate, 5%, a run); with the real outcomes some stand out (so the shuffle removed them)."""
    settings = load_settings()
    config = settings.journeys
    learned = read_timelines(store, settings, as_of)
    generator = np.random.default_rng(seed)
    lifts = []
    found = 0
    for _ in range(20):
        shuffled = generator.permutation(learned.churned)
        candidates = rules.mine(
            learned.timelines, shuffled, min_accounts=config.min_accounts, max_steps=config.max_steps
        )
        found += any(
            rules.significant(
                candidates,
                shuffled,
                outcome,
                false_discovery_rate=config.false_discovery_rate,
                period_days=config.period_days,
            )
            for outcome in rules.OUTCOMES
        )
        base = shuffled.mean()
        lifts += [c.churned / c.accounts / base for c in candidates if c.accounts >= 30]
    assert found <= 1
    assert lifts and abs(float(np.median(lifts)) - 1) < lift_within
    real = rules.mine(learned.timelines, learned.churned, min_accounts=config.min_accounts, max_steps=3)
    assert rules.significant(real, learned.churned, "churn", false_discovery_rate=0.05, period_days=28)


def test_shuffled_outcomes_show_no_pattern_on_the_demo(seeds_demo: Store) -> None:
    assert_nothing_without_the_outcomes(seeds_demo, SEED_ANCHOR, seed=19, lift_within=0.15)


@pytest.mark.slow
def test_a_generated_book_shows_its_paths_and_none_once_its_outcomes_are_shuffled(tmp_path: Path) -> None:
    """2,000 generated accounts: enough to see the planted paths with less support, and still nothing once
    the outcomes are shuffled."""
    path = tmp_path / "book.db"
    build_database(path, lambda store: generate_into_store(store, accounts=2_000, anchor=SEED_ANCHOR))
    store = open_store(path)
    try:
        report = find_journeys(store, load_settings(), SEED_ANCHOR)
        found = {path.pattern.text: path.pattern for path in report.paths}
        for planted in ("usage_drop", "low_nps", "cancel_click", "ticket_burst", "emails_unopened"):
            assert found[planted].lift > 1.5, planted
        assert_nothing_without_the_outcomes(store, SEED_ANCHOR, seed=7, lift_within=0.1)
    finally:
        store.close()


def _lines(*events: dict[str, list[int]], periods: int = 6) -> rules.Timelines:
    """Timelines from {event: periods it happened in (0: the oldest)}."""
    bits = np.zeros((len(events), len(rules.EVENT_NAMES)), dtype=np.uint64)
    for line, happened in enumerate(events):
        for name, at in happened.items():
            for period in at:
                bits[line, rules.EVENT_NAMES.index(name)] |= np.uint64(1 << period)
    return rules.Timelines(np.arange(len(events), dtype=np.int64), bits, periods)


def test_a_pattern_needs_its_steps_in_later_periods_with_gaps_allowed() -> None:
    lines = _lines(
        {"usage_drop": [0], "ticket_burst": [3], "cancel_click": [5]},  # in order, with gaps
        {"usage_drop": [2], "ticket_burst": [2], "cancel_click": [5]},  # drop and burst in one period
        {"ticket_burst": [1], "usage_drop": [2, 4], "cancel_click": [3]},  # the drop after the burst
        {"usage_drop": [1, 4], "ticket_burst": [2]},  # no click
    )
    path = rules.codes(("usage_drop", "ticket_burst", "cancel_click"))
    assert rules.holding(lines, path).tolist() == [True, False, False, False]
    assert rules.holding(lines, rules.codes(("ticket_burst", "usage_drop"))).tolist() == [
        False,
        False,
        True,
        True,
    ]
    churned = np.array([True, True, False, False])
    mined = {c.steps: c for c in rules.mine(lines, churned, min_accounts=1, max_steps=3)}
    assert mined[path].accounts == 1 and mined[path].churned == 1
    assert mined[path].churned_ends.tolist() == [1, 0, 0, 0, 0, 0]  # complete in the last period
    drop_burst = mined[rules.codes(("usage_drop", "ticket_burst"))]
    assert (drop_burst.accounts, drop_burst.churned) == (2, 1)  # the first line and the last
    assert rules.codes(("usage_drop", "usage_drop")) in mined  # the same event in two periods


def test_renewals_are_the_contract_anniversaries_within_the_look_back() -> None:
    as_of = date(2026, 11, 22)
    yearly = rules.AccountDates("a", date(2023, 3, 10), date(2027, 3, 10), None, 12)
    monthly = rules.AccountDates("b", date(2026, 1, 30), date(2026, 12, 30), None, 1)
    churned = rules.AccountDates("c", date(2022, 5, 1), date(2026, 5, 1), date(2026, 5, 1), 12)
    new = rules.AccountDates("d", date(2026, 6, 1), date(2027, 6, 1), None, 12)
    old_churn = rules.AccountDates("e", date(2020, 5, 1), date(2024, 5, 1), date(2024, 5, 1), 12)
    found = rules.decisions([yearly, monthly, churned, new, old_churn], as_of, 365)
    assert found == [
        rules.Decision(0, date(2026, 3, 10), False),
        rules.Decision(1, date(2026, 10, 30), False),
        rules.Decision(2, date(2026, 5, 1), True),
    ]


def test_a_window_of_more_than_32_periods_is_refused(seeds_demo: Store, tmp_path: Path) -> None:
    from cockpit.services.journeys import WindowTooLong

    with pytest.raises(WindowTooLong, match="--window 990 makes 36 periods"):
        find_journeys(seeds_demo, load_settings(), SEED_ANCHOR, window_days=990)


def test_the_command_prints_the_paths_and_their_accounts_as_json(seeds_demo: Store) -> None:
    from typer.testing import CliRunner

    from cockpit.cli import app

    runner = CliRunner()
    as_of = ["--as-of", SEED_ANCHOR.isoformat(), "--db", str(seeds_demo.path)]
    shown = runner.invoke(app, ["journeys", *as_of])
    assert shown.exit_code == 0, shown.output
    assert "Journeys that preceded churn" in shown.output
    assert "negative_interaction > emails_unopened" in shown.output
    found = runner.invoke(app, ["journeys", *as_of, "--json"])
    report = json.loads(found.output)
    paths = {" > ".join(pattern["steps"]): pattern for pattern in report["patterns"]}
    visit = paths["cancel_page_visit"]
    assert "acc-00001" in visit["on_path"] and visit["lift"] > 1.5 and visit["lead_days"] == 14
    assert report["decided"] == 144 and report["churned"] == 31
    renewal = runner.invoke(app, ["journeys", *as_of, "--outcome", "renewal", "--window", "90"])
    assert renewal.exit_code == 0 and "Journeys that preceded renewal" in renewal.output
    assert "Timelines of the 90 days" in renewal.output
    refused = runner.invoke(app, ["journeys", *as_of, "--window", "2000"])
    assert refused.exit_code == 2 and "at most 896 days" in refused.output
    assert "Traceback" not in refused.output


def test_a_customers_timeline_reaches_the_day_mined(seeds_demo: Store) -> None:
    """The silent story stopped using the product 24 days ago: the fall shows in the last period of its
    timeline now (dated on the day mined, which a customer's timeline includes)."""
    learned = read_timelines(seeds_demo, load_settings(), SEED_ANCHOR)
    silent = learned.account_ids.index(STORY_ACCOUNTS["silent"])
    now = learned.now
    (row,) = np.flatnonzero(now.account == silent)
    assert int(now.bits[row, rules.EVENT_NAMES.index("usage_drop")]) == 1 << (now.periods - 1)
