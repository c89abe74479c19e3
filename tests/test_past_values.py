"""The book as it stood on a past day: a churn fit's snapshots and a scoring run as of a past day read the
account fields whose history is kept (MRR, renewal date, contract term, plan, segment, seats) as they were
then, not as they are now."""

from __future__ import annotations

from datetime import date

from cockpit.services.scoring import run_scoring, windows
from cockpit.store import Store
from cockpit.store.churn import SnapshotFacts, account_traits
from cockpit.store.history import change_account, record_changes
from cockpit.store.scoring import account_facts, latest_scores
from tests.clocks import at
from tests.tuning import defaults

STAMP = "2024-01-01T00:00:00+00:00"
CHANGED = date(2026, 6, 1)
"""The day account "grew" changed everything its history keeps."""
TODAY = date(2026, 11, 25)


def book(store: Store) -> None:
    """Three accounts: "grew", whose history starts with its values on its start day and changes on CHANGED;
    "late", whose history starts (with its values then) only after the snapshot days and changes later
    still; "still", with no history at all."""
    with store.write() as db:
        db.table("accounts").insert_all(
            [
                {
                    "id": account_id,
                    "name": account_id.title(),
                    "mrr": 100.0,
                    "plan": "Starter",
                    "segment": "smb",
                    "seats": 5,
                    "start_date": "2024-03-15",
                    "renewal_date": "2026-03-15",
                    "contract_months": 12,
                    "created_at": STAMP,
                    "updated_at": STAMP,
                }
                for account_id in ("grew", "late", "still")
            ]
        )
        first = {
            "mrr": 100.0,
            "plan": "Starter",
            "segment": "smb",
            "seats": 5,
            "renewal_date": "2026-03-15",
            "contract_months": 12,
        }
        record_changes(db, "grew", first, day=date(2024, 3, 15), source="created")
        record_changes(db, "late", first, day=date(2026, 9, 1), source="import:1")
        later = {
            "mrr": 900.0,
            "plan": "Business",
            "segment": "mid-market",
            "seats": 40,
            "renewal_date": "2027-06-01",
            "contract_months": 24,
        }
        change_account(db, "grew", later, now=STAMP, day=CHANGED, source="cli")
        change_account(db, "late", later, now=STAMP, day=date(2026, 10, 1), source="cli")


SNAPSHOT_DAYS = [date(2026, 7, 1), date(2026, 6, 1), date(2026, 5, 2), date(2026, 4, 2)]
"""Newest first: the first two after (or on) the change, the others before it."""


def test_snapshots_and_past_facts_see_the_values_of_their_day(store: Store) -> None:
    book(store)
    settings = defaults()
    with SnapshotFacts(store.db, SNAPSHOT_DAYS, windows(settings)) as snapshots:
        seen = {
            (facts.account_id, SNAPSHOT_DAYS[day]): (
                facts.mrr,
                facts.renewal_date,
                facts.contract_months,
                facts.segment,
                traits,
            )
            for day, facts, traits in snapshots
        }
    before = (100.0, date(2026, 3, 15), 12, "smb", ("Starter", 5))
    after = (900.0, date(2027, 6, 1), 24, "mid-market", ("Business", 40))
    for day in SNAPSHOT_DAYS:
        assert seen[("grew", day)] == (after if day >= CHANGED else before)
        # Its history starts later, with the values it had before its change: the nearest known.
        assert seen[("late", day)] == before
        # No history: as it is now.
        assert seen[("still", day)] == before
        # A scoring run as of the day reads the same facts and traits (BookFacts, account_traits).
        facts = {found.account_id: found for found in account_facts(store.db, day, windows(settings))}
        traits = account_traits(store.db, day)
        for account_id in ("grew", "late", "still"):
            found = facts[account_id]
            shown = (found.mrr, found.renewal_date, found.contract_months, found.segment, traits[account_id])
            assert shown == seen[(account_id, day)]
    # Today, every account is as the accounts table holds it.
    today = {found.account_id: found for found in account_facts(store.db, TODAY, windows(settings))}
    assert (today["grew"].mrr, today["late"].mrr, today["still"].mrr) == (900.0, 900.0, 100.0)


def test_a_past_day_scored_again_reads_the_renewal_it_had_then(store: Store) -> None:
    """As of 2026-03-01, "grew" renewed on 2026-03-15 (its renewal date then); "still", which holds no
    history, renews on the anniversary of its renewal date on its cycle, not on today's date a term on."""
    book(store)
    with store.write() as db:
        db.execute("UPDATE accounts SET renewal_date = '2027-03-15' WHERE id = 'still'")
    past = date(2026, 3, 1)
    run_scoring(store, defaults(), past, clock=at(TODAY))
    scores = latest_scores(store.db, as_of=past, sections=("churn",))
    for account_id in ("grew", "still"):
        signals = {signal["name"]: signal for signal in scores[account_id]["churn"]["signals"]}
        assert "renewal_near" in signals, account_id
        assert signals["renewal_near"]["detail"].startswith("renews on 2026-03-15, in 14 days (12-month term")
    # Today's run reads the renewal dates as they are.
    run_scoring(store, defaults(), TODAY, clock=at(TODAY))
    today = latest_scores(store.db, as_of=TODAY, sections=("churn",))
    assert all(
        signal["name"] != "renewal_near" for score in today.values() for signal in score["churn"]["signals"]
    )
