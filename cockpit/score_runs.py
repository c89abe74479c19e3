"""Scoring runs: the facts of the book from the store, scores from the rules, kept as one run.

Each run stores one row per account (`scores`), so any account can be compared with a month or a year ago,
and a past day can be scored again (`as_of`) from the data up to that day.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from cockpit.config import Settings
from cockpit.errors import CockpitError
from cockpit.scoring import AccountScore, score_book
from cockpit.store import Store
from cockpit.store.imports import References
from cockpit.store.scoring import Windows, account_facts, latest_score, start_score_run, write_scores


class AccountNotFound(CockpitError):
    title = "No such account"


@dataclass
class RunSummary:
    run_id: int
    as_of: date
    accounts: int
    seconds: float
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "accounts": self.accounts,
            "seconds": round(self.seconds, 2),
            "counts": self.counts,
        }


def windows(settings: Settings) -> Windows:
    thresholds = settings.health.thresholds
    lookback = max(
        settings.churn.horizon_days,
        thresholds.sentiment_window_days,
        thresholds.email_window_days,
        settings.advocacy.window_days,
    )
    return Windows(adoption_days=settings.adoption.window_days, lookback_days=lookback)


def score_row(score: AccountScore) -> tuple[Any, ...]:
    """A score as a row of the `scores` table (SCORE_COLUMNS without run_id)."""
    health = score.explanation.get("health")
    parts = health.get("components") if isinstance(health, dict) else None
    # Each component's 0-100 score, for queries and charts; the explanation has the details.
    components = (
        {str(part["name"]): part["score"] for part in parts if isinstance(part, dict)}
        if isinstance(parts, list)
        else {}
    )
    return (
        score.account_id,
        score.as_of.isoformat(),
        score.health,
        score.health_band,
        _compact_json(components),
        score.adoption_status,
        score.adoption_share,
        score.churn_risk,
        score.churn_tier,
        score.value_tier,
        score.priority,
        int(score.cross_sell_ready),
        score.cross_sell_product,
        score.advocacy,
        None,
        None,
        None,
        _compact_json(score.explanation),
    )


_compact_json = json.JSONEncoder(separators=(",", ":"), check_circular=False, ensure_ascii=False).encode
"""JSON without spaces, for the million small documents a scoring run stores."""


def run_scoring(store: Store, settings: Settings, as_of: date, *, now: datetime | None = None) -> RunSummary:
    """Score every account as of `as_of` and store the run; one transaction."""
    started = now or datetime.now(UTC)
    clock = datetime.now(UTC)
    with store.write() as db:
        facts = account_facts(db, as_of, windows(settings))
        scores = score_book(facts, settings)
        run_id = start_score_run(db, as_of, started.isoformat(timespec="seconds"), settings.model_dump_json())
        write_scores(
            db,
            run_id,
            [score_row(score) for score in scores],
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
    summary = RunSummary(run_id, as_of, len(scores), (datetime.now(UTC) - clock).total_seconds())
    for name in ("health_band", "churn_tier", "value_tier", "adoption_status", "advocacy", "priority"):
        summary.counts[name] = dict(Counter(str(getattr(score, name)) for score in scores))
    summary.counts["cross_sell_ready"] = {"ready": sum(score.cross_sell_ready for score in scores)}
    return summary


def find_account(store: Store, ref: str) -> str:
    """An account's id from its id, CRM id, domain or exact name."""
    found = References(store.db).find("account", ref)
    if found is None:
        row = store.db.execute("SELECT id FROM accounts WHERE name = ? COLLATE NOCASE", [ref]).fetchall()
        if len(row) == 1:
            found = str(row[0][0])
    if found is None:
        raise AccountNotFound(
            f"no account matches {ref!r}.", hint="Give its id, CRM id, domain or exact name."
        )
    return found


def explanation_for(store: Store, ref: str, as_of: date | None) -> dict[str, Any]:
    """The stored explanation of the account's latest score (of a run as of `as_of` or before)."""
    account_id = find_account(store, ref)
    stored = latest_score(store.db, account_id, as_of)
    if stored is None:
        when = f" as of {as_of.isoformat()} or before" if as_of else ""
        raise AccountNotFound(
            f"{ref!r} has not been scored{when}.", hint="Score the book with `cockpit score`."
        )
    return stored
