"""A small book whose figures are known by hand, for the view of the book as a whole (as of AS_OF).

Yearly contracts, renewing on the anniversaries of their start:
- A (Ana, smb)   from 2024-01-10, MRR 1,000 throughout;
- B (Ben, smb)   from 2024-02-15, MRR 2,000, expanded to 2,500 on 2026-05-20;
- C (Ana, ent.)  from 2024-03-05, MRR 3,000, contracted to 2,400 on 2025-10-01;
- D (Ben, smb)   from 2024-05-20, MRR 4,000, churned on its second anniversary 2026-05-20 (its MRR zeroed);
- E (Ana, smb)   from 2025-07-20, MRR 500, renews 2026-07-20, in the high churn tier now;
- F (Ben, smb)   from 2023-07-01, MRR 1,500, churned 2025-05-15 (the renewal of 2025-07-01 is the one lost);
- G (Ben, smb)   from 2025-07-15, MRR 800, renews 2026-07-15, the learned model gives it a 25% risk.
Score runs on 2026-03-01 (D high: it churned within 90 days), 2026-05-01 (the compare day) and AS_OF (C and E
worse in health and churn tier); a CLV run values A and B.
"""

from __future__ import annotations

import json
from datetime import date

from cockpit.store import Store

AS_OF = date(2026, 6, 1)
STAMP = "2026-06-01T09:00:00+00:00"
# id, name, owner, segment, start, churned_on, current MRR, cac, lifecycle stage
ACCOUNTS = (
    ("A", "Alder Works", "Ana", "smb", "2024-01-10", None, 1000.0, 5000.0, "customer"),
    ("B", "Birch Labs", "Ben", "smb", "2024-02-15", None, 2500.0, None, "customer"),
    ("C", "Cedar Group", "Ana", "enterprise", "2024-03-05", None, 2400.0, None, "customer"),
    ("D", "Dune Partners", "Ben", "smb", "2024-05-20", "2026-05-20", 0.0, None, "churned"),
    ("E", "Elm Systems", "Ana", "smb", "2025-07-20", None, 500.0, None, "onboarding"),
    ("F", "Fir Holdings", "Ben", "smb", "2023-07-01", "2025-05-15", 1500.0, None, "churned"),
    ("G", "Gum Inc", "Ben", "smb", "2025-07-15", None, 800.0, None, "customer"),
)
MRR_HISTORY = (
    ("A", "2024-01-10", 1000.0),
    ("B", "2024-02-15", 2000.0),
    ("B", "2026-05-20", 2500.0),
    ("C", "2024-03-05", 3000.0),
    ("C", "2025-10-01", 2400.0),
    ("D", "2024-05-20", 4000.0),
    ("D", "2026-05-20", 0.0),
    ("E", "2025-07-20", 500.0),
    ("F", "2023-07-01", 1500.0),
    ("G", "2025-07-15", 800.0),
)
GOOD = ("green", "low", "other", "adopted", "lurker")
# run day -> account -> (health band, churn tier, value tier, adoption, advocacy)
RUNS: dict[str, dict[str, tuple[str, ...]]] = {
    "2026-03-01": {
        **dict.fromkeys("ABCEG", GOOD),
        "D": ("red", "high", "other", "adopted", "lurker"),
    },
    "2026-05-01": {
        **dict.fromkeys("ABCEG", GOOD),
        "D": ("red", "high", "other", "adopted", "lurker"),
    },
    "2026-06-01": {
        "A": GOOD,
        "B": GOOD,
        "C": ("yellow", "medium", "other", "adopted", "lurker"),
        "E": ("red", "high", "other", "adopted", "lurker"),
        "G": GOOD,
    },
}
LEARNED = '[1, {}, "2026-06-01", null, ["learned"]]'


def build_book(store: Store) -> None:
    with store.write() as db:
        for account_id, name, owner, segment, start, churned, mrr, cac, stage in ACCOUNTS:
            db.execute(
                "INSERT INTO accounts (id, name, owner, segment, mrr, start_date, churned_on, cac, lifecycle_stage, "
                "contract_months, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 12, ?, ?)",
                [account_id, name, owner, segment, mrr, start, churned, cac, stage, STAMP, STAMP],
            )
        db.conn.executemany(
            "INSERT INTO account_history (account_id, field, value, changed_on, source) VALUES (?, 'mrr', ?, ?, 'cli')",
            [(account_id, value, day) for account_id, day, value in MRR_HISTORY],
        )
        for run_id, (day, labels) in enumerate(RUNS.items(), start=1):
            db.execute(
                "INSERT INTO score_runs (id, as_of, started_at, finished_at, accounts) VALUES (?, ?, ?, ?, ?)",
                [run_id, day, STAMP, STAMP, len(labels)],
            )
            db.conn.executemany(
                "INSERT INTO scores (run_id, account_id, as_of, health_band, churn_tier, value_tier, "
                "adoption_status, advocacy, churn_risk, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        account_id,
                        day,
                        *values,
                        *((0.25, LEARNED) if account_id == "G" else (0.1, "{}")),
                    )
                    for account_id, values in labels.items()
                ],
            )
        db.execute(
            "INSERT INTO clv_runs (id, as_of, started_at, finished_at, settings) VALUES (1, ?, ?, ?, ?)",
            ["2026-06-01", STAMP, STAMP, json.dumps({})],
        )
        db.conn.executemany(
            "INSERT INTO clv_values (run_id, account_id, model, clv, clv_low, clv_high, realised) "
            "VALUES (1, ?, 'sbg', ?, ?, ?, ?)",
            [("A", 20000.0, 15000.0, 30000.0, 10000.0), ("B", 5000.0, 4000.0, 8000.0, 5000.0)],
        )
