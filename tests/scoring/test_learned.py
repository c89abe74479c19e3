"""The learned churn model's pure parts: its inputs, the fit on data of known structure, the stored model, the
snapshot days and the validation by time."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pytest

from cockpit.scoring import learned_fit
from cockpit.scoring.churn import ChurnPart, Inactivity
from cockpit.scoring.common import Timeline
from cockpit.scoring.emails import tally_mail
from cockpit.scoring.facts import BookCoverage
from cockpit.scoring.learned import (
    AccountTraits,
    ChurnModel,
    Contribution,
    Inputs,
    account_inputs,
    describe,
    next_renewal,
    unknown_inputs,
)
from cockpit.scoring.learned_fit import SnapshotRows, fit_churn_model, snapshot_days, splits

from .builders import AS_OF, account, ago, defaults, event

SETTINGS = defaults()


def inputs(**given: float | str | None) -> Inputs:
    """Inputs with every number missing or zero, but those given."""
    values: dict[str, float | str | None] = dict.fromkeys(Inputs._fields, None)
    values.update(given)
    return Inputs(**values)  # type: ignore[arg-type]


def test_inputs_read_the_facts_and_treat_never_used_as_unknown_not_as_zero() -> None:
    never_used = account(
        last_usage=None,
        usage_last_30=0,
        usage_prior_30=0,
        mrr=900.0,
        start_date=ago(400),
        renewal_date=AS_OF + timedelta(days=400),
        events=(
            event("support_ticket", 2),
            event("support_ticket", 45),
            event("cancel_click", 10),
            event("nps", 20, value=3.0),
            event("nps", 100, value=9.0),
        ),
    )
    timeline = Timeline(never_used)
    rules = ChurnPart(0.5, "medium", [Inactivity("inactivity", 7, 21, "start", 1.5)])
    found = account_inputs(
        never_used,
        AccountTraits("Team", 12),
        timeline,
        tally_mail(timeline, 60),
        None,
        55.0,
        rules,
        SETTINGS.churn,
    )
    assert found.usage_last_30 is None and found.days_since_use is None and found.active_days is None
    assert (found.tickets_30, found.tickets_90, found.cancel_clicks_30) == (1, 2, 1)
    assert found.nps == 3.0 and found.csat is None
    assert found.tenure_days == 400 and found.mrr == 900.0 and found.seats == 12
    # The renewal 400 days ahead is a yearly one: the next falls 35 days ahead.
    assert found.days_to_renewal == (next_renewal(AS_OF + timedelta(days=400), AS_OF, 12) - AS_OF).days == 35
    assert found.inactivity == pytest.approx(0.5 ** (7 / SETTINGS.churn.half_life_days))
    assert found.low_health == 0.0 and found.health == 55.0
    assert (found.plan, found.segment, found.contract_months) == ("Team", None, None)


@pytest.mark.parametrize(
    ("renewal", "as_of", "term", "expected"),
    [
        (date(2027, 3, 15), date(2026, 1, 10), 12, date(2026, 3, 15)),
        (date(2026, 3, 15), date(2026, 3, 15), 12, date(2026, 3, 15)),
        (date(2025, 3, 15), date(2026, 1, 10), 12, date(2026, 3, 15)),
        (date(2026, 3, 31), date(2026, 1, 10), 1, date(2026, 1, 31)),
        (date(2026, 1, 31), date(2026, 2, 1), 1, date(2026, 2, 28)),
    ],
)
def test_next_renewal_moves_by_whole_terms(renewal: date, as_of: date, term: int, expected: date) -> None:
    assert next_renewal(renewal, as_of, term) == expected


def known_rows(count: int, seed: int, *, shuffled: bool = False) -> tuple[SnapshotRows, list[date]]:
    """Rows of six snapshots whose churn follows log-odds -2.5 + 1.2 x tickets_30 - 0.8 x log(1 + usage) + 1
    on plan Starter, with NPS missing for a third (missingness unrelated to churn)."""
    rng = np.random.default_rng(seed)
    days = [date(2026, 6, 1) - timedelta(days=30 * k) for k in range(6)]
    rows = SnapshotRows()
    for number in range(count):
        snapshot = number % len(days)
        tickets = float(rng.poisson(0.6))
        usage = float(rng.poisson(rng.choice([2, 30])))
        plan = str(rng.choice(["Starter", "Team"]))
        log_odds = -2.5 + 1.2 * tickets - 0.8 * math.log1p(usage) + (1.0 if plan == "Starter" else 0.0) + 1.5
        churned = bool(rng.random() < 1 / (1 + math.exp(-log_odds)))
        nps = None if rng.random() < 1 / 3 else float(rng.integers(0, 11))
        row = inputs(
            tickets_30=tickets, usage_last_30=usage, days_since_use=1.0, nps=nps, mrr=100.0, plan=plan
        )
        rows.add(row, churned, snapshot, f"a{number}", 0.0 if snapshot == 0 else None)
    return rows, days


def test_the_fit_finds_known_effects_and_predicts_what_it_was_measured_with() -> None:
    rows, days = known_rows(12_000, seed=3)
    data = rows.dataset()
    # Shuffled over the rows, the outcome still has both values in every part; the rules know nothing here.
    fit = fit_churn_model(data, days, 30, SETTINGS.churn.learned, lambda risk: "low")
    model = fit.model
    coefficient = {(column.input, column.level): column.coefficient for column in model.columns}
    assert coefficient[("tickets_30", None)] > 0.3
    assert coefficient[("usage_last_30", None)] < -0.3
    assert coefficient[("plan", "Starter")] > coefficient[("plan", "Team")]
    assert ("nps", None) in coefficient  # present, with its missing indicator ...
    assert abs(coefficient[("nps", None)]) < 0.1  # ... and no effect, as it has none
    assert ("mrr", None) not in coefficient  # the same for every row: no column
    assert ("csat", None) not in coefficient  # missing in every row: no column
    assert fit.learned.auc is not None and fit.learned.auc > 0.7
    assert (
        fit.learned.brier is not None and fit.learned.brier < fit.metrics["holdout"]["brier_of_training_rate"]
    )
    assert fit.learned.auc > (fit.rules.auc or 0.5)

    # The stored model reads back exactly, and its chance is the fitted logistic's.
    again = ChurnModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again == model
    everything = np.arange(len(data.churned))
    _, matrix = learned_fit._design(data, everything)
    theta = np.array([column.coefficient for column in model.columns] + [model.intercept])
    expected = 1 / (1 + np.exp(-(matrix[:50] @ theta[:-1] + theta[-1])))
    for index in range(50):
        row = Inputs._make(
            [None if math.isnan(value) else float(value) for value in data.numbers[index]]
            + [names[codes[index]] for codes, names in data.levels.values()]
        )
        assert again.predict(row) == pytest.approx(expected[index], rel=1e-9)
        contributions = again.contributions(row)
        assert again.intercept + sum(item.log_odds for item in contributions) == pytest.approx(
            math.log(expected[index] / (1 - expected[index]))
        )
        assert [abs(item.log_odds) for item in contributions] == sorted(
            (abs(item.log_odds) for item in contributions), reverse=True
        )


def test_shuffled_outcomes_rank_at_chance() -> None:
    rows, days = known_rows(12_000, seed=5)
    data = rows.dataset()
    rng = np.random.default_rng(11)
    shuffled = learned_fit.Dataset(
        data.numbers, data.levels, rng.permutation(data.churned), data.snapshot, data.account, data.rules_risk
    )
    fit = fit_churn_model(shuffled, days, 30, SETTINGS.churn.learned, lambda risk: "low")
    assert fit.learned.auc is not None and abs(fit.learned.auc - 0.5) < 0.06


def test_a_missing_level_contributes_nothing_and_an_unseen_one_is_other() -> None:
    rows, days = known_rows(6_000, seed=7)
    model = fit_churn_model(rows.dataset(), days, 30, SETTINGS.churn.learned, lambda risk: "low").model
    plan_of = {item.input: item for item in model.contributions(inputs(plan=None, mrr=1.0))}
    assert plan_of["plan"].log_odds == 0.0
    unseen = {item.input: item for item in model.contributions(inputs(plan="Enterprise", mrr=1.0))}
    others = [column for column in model.columns if column.input == "plan" and column.level is None]
    assert others == []  # every plan was common: no "other" column, so an unseen plan is the average's
    assert unseen["plan"].log_odds == pytest.approx(
        -sum(
            column.coefficient * column.mean / column.scale
            for column in model.columns
            if column.input == "plan"
        )
    )


def test_what_a_snapshot_could_not_tell_stands_at_the_mean_missing_indicator_included() -> None:
    """Usage came into the book after three of six snapshot days: on those, no account's usage is known, and
    "never used" must not be read into them. The never-used indicator's mean is that of the days that
    could tell, and a snapshot without usage moves nobody's odds by usage."""
    rng = np.random.default_rng(13)
    days = [date(2026, 6, 1) - timedelta(days=30 * k) for k in range(6)]
    rows = SnapshotRows()
    never_used_known = known = 0
    for number in range(6_000):
        snapshot = number % len(days)
        tells = snapshot < 3
        never = bool(rng.random() < 0.3)
        churned = bool(rng.random() < (0.3 if never else 0.1))
        if tells:
            known += 1
            never_used_known += never
        used = tells and not never
        row = inputs(
            days_since_use=float(rng.integers(1, 20)) if used else None,
            tickets_30=float(rng.poisson(0.5)),
            mrr=100.0,
            plan="Team",
        )
        rows.add(row, churned, snapshot, f"a{number}", 0.0 if snapshot == 0 else None)
    for snapshot in range(3, 6):
        rows.unknown(snapshot, unknown_inputs(BookCoverage(usage=False, tickets=True)))
    model = fit_churn_model(rows.dataset(), days, 30, SETTINGS.churn.learned, lambda risk: "low").model
    [indicator] = [
        column for column in model.columns if column.input == "days_since_use" and column.kind == "missing"
    ]
    assert indicator.mean == pytest.approx(never_used_known / known)
    assert indicator.coefficient > 0  # never used, where it could be told, churned more

    blind = model.blind_to(unknown_inputs(BookCoverage(usage=False, tickets=True)))
    never_used = inputs(days_since_use=None, tickets_30=2.0, mrr=100.0, plan="Team")
    assert {item.input for item in blind.contributions(never_used)} == {"tickets_30"}
    shown = {item.input: item.log_odds for item in model.contributions(never_used)}
    assert blind.log_odds(never_used) == pytest.approx(model.log_odds(never_used) - shown["days_since_use"])
    assert model.blind_to(unknown_inputs(BookCoverage(usage=True, tickets=True))) is model


def test_describe_words_a_contribution() -> None:
    assert (
        describe(Contribution("days_since_use", None, math.log(2)))
        == "never used: raises the odds of churn x2.00"
    )
    assert describe(Contribution("plan", "Team", -math.log(2))) == "plan Team: lowers the odds of churn x0.50"
    assert (
        describe(Contribution("tickets_30", 3.0, 0.0))
        == "tickets in the last 30 days 3: raises the odds of churn x1.00"
    )


def test_snapshot_days_go_back_monthly_over_the_history_held() -> None:
    as_of = date(2026, 11, 1)
    assert snapshot_days(as_of, 90, None, 24) == []
    days = snapshot_days(as_of, 90, date(2026, 1, 1), 24)
    assert days[0] == as_of - timedelta(days=90)
    assert all((newer - older).days == 30 for newer, older in pairwise(days))
    assert days[-1] == date(2026, 2, 4)  # 30 days of history behind it at least (2026-01-05 would have 5)
    assert len(days) == 7
    assert len(snapshot_days(as_of, 90, date(2000, 1, 1), 12)) == 12


def test_the_holdout_is_the_newest_day_and_nothing_learned_from_happened_after_it() -> None:
    days = [date(2026, 8, 1) - timedelta(days=30 * k) for k in range(8)]
    plan = splits(days, 90)
    assert plan.holdout == 0
    assert plan.train == (3, 4, 5, 6, 7)  # their 90 days ended by the holdout day
    assert plan.validation == 3 and plan.inner_train == (6, 7)
    short = splits(days[:3], 90)
    assert short.train == (1, 2) and short.validation == 1 and short.inner_train == (2,)
    assert splits(days[:2], 90).validation is None
