"""Books whose churn is planted, with score runs written straight into the store: the structure is known, so a
test can tell what `cockpit score evaluate` must find.

Each account has a hidden risk r (uniform in [0, 1]); every run scores it with churn risk r, the tier that r
falls in (high from 0.6, medium from 0.3), health 100 x (1 - r) and its band. An account churns at a random
day of the churn window with chance `churn_share` x r, so high risk really churns more; with `shuffle`, the
churn days are dealt out to the accounts at random, so the scores foretell nothing. A run scores only the
accounts that were customers on its day, as a real run does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from cockpit.store import Store

RUN_DAYS = (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 6, 1))
"""Monthly runs, and one in June whose 90 days are not over on TODAY."""
TODAY = date(2026, 7, 1)
CHURN_FROM, CHURN_DAYS = date(2026, 1, 2), 180


@dataclass(frozen=True)
class PlantedAccount:
    id: str
    risk: float
    churned_on: date | None


def _tier(risk: float) -> str:
    return "high" if risk >= 0.6 else "medium" if risk >= 0.3 else "low"


def _band(health: float) -> str:
    return "green" if health >= 70 else "yellow" if health >= 40 else "red"


def plant_book(
    store: Store,
    accounts: int = 3000,
    *,
    seed: int = 14,
    shuffle: bool = False,
    churn_share: float = 0.6,
    run_days: tuple[date, ...] = RUN_DAYS,
) -> list[PlantedAccount]:
    rng = random.Random(seed)
    risks = [rng.random() for _ in range(accounts)]
    days: list[date | None] = [
        CHURN_FROM + timedelta(days=rng.randrange(CHURN_DAYS)) if rng.random() < churn_share * risk else None
        for risk in risks
    ]
    if shuffle:
        rng.shuffle(days)
    book = [
        PlantedAccount(f"acc-{n:05d}", risk, day)
        for n, (risk, day) in enumerate(zip(risks, days, strict=True))
    ]
    stamp = "2025-06-01T09:00:00+00:00"
    with store.write() as db:
        db.conn.executemany(
            "INSERT INTO accounts (id, name, mrr, start_date, churned_on, created_at, updated_at) "
            "VALUES (?, ?, 100, '2025-06-01', ?, ?, ?)",
            [
                (
                    a.id,
                    f"Planted {a.id}",
                    None if a.churned_on is None else a.churned_on.isoformat(),
                    stamp,
                    stamp,
                )
                for a in book
            ],
        )
        for day in run_days:
            run_id = db.execute(
                "INSERT INTO score_runs (as_of, started_at, finished_at, accounts) VALUES (?, ?, ?, ?)",
                [day.isoformat(), stamp, stamp, accounts],
            ).lastrowid
            db.conn.executemany(
                "INSERT INTO scores (run_id, account_id, as_of, health, health_band, churn_risk, churn_tier) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        a.id,
                        day.isoformat(),
                        100 * (1 - a.risk),
                        _band(100 * (1 - a.risk)),
                        a.risk,
                        _tier(a.risk),
                    )
                    for a in book
                    if a.churned_on is None or a.churned_on > day
                ],
            )
    return book
