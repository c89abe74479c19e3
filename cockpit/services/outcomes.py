"""What happened to an account: marking it churned (or not) by hand, and the history of its MRR, renewal
date, plan, segment, seats, contract term and churn day that imports, CRM pulls and these marks record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cockpit.clock import Clock, stamp
from cockpit.services.scoring import find_account
from cockpit.store import Store
from cockpit.store.history import CLI_SOURCE, HistoryRow, account_history, change_account


@dataclass(frozen=True)
class ChurnMark:
    account_id: str
    before: str | None
    """The churn day the account had (None: not churned)."""
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def mark_churned(store: Store, ref: str, day: date | None, *, clock: Clock) -> ChurnMark:
    """Set the account's churn day (None: it did not churn after all), in one transaction with its history."""
    account_id = find_account(store, ref)
    after = None if day is None else day.isoformat()
    with store.write() as db:
        before = change_account(
            db, account_id, {"churned_on": after}, now=stamp(clock()), day=clock.today(), source=CLI_SOURCE
        )
    return ChurnMark(account_id, before.get("churned_on", after), after)


def history_of(store: Store, ref: str) -> tuple[str, list[HistoryRow]]:
    """The account's id and its recorded changes, oldest first."""
    account_id = find_account(store, ref)
    return account_id, account_history(store.db, account_id)
