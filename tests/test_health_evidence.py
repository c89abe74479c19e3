"""A book that holds little: scores that say what they do not know, through import, scoring and the CLI.

Accounts of a CRM export with start and renewal dates (month-to-month) and their support tickets, nothing
else: no usage, no surveys, no emails. No health is green (each is "not enough data"), no signal speaks
of missing usage, no monthly renewal is a renewal near, and month-to-month, the whole book's way, is no sign
about one account; the two new ones are in their early life.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.store import open_store

runner = CliRunner()
AS_OF = "2026-11-22"
ACCOUNTS = """id,name,plan,mrr,start_date,renewal_date
acc-1,Acme Ltd,Monthly,120,2026-10-30,2026-11-30
acc-2,Globex,Monthly,80,2025-05-05,2026-12-05
acc-3,Initech,Monthly,60,2024-01-10,2026-12-10
acc-4,Umbrella,Monthly,200,2026-11-01,2026-12-01
"""
TICKETS = """id,account,opened_at,subject
T-1,acc-2,2026-11-02,Cannot log in
T-2,acc-2,2026-11-15,Invoice wrong
T-3,acc-3,2026-10-01,Question
"""


def cockpit(*args: str | Path) -> str:
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_book_of_tickets_only_is_never_green_and_shows_not_enough_data(tmp_path: Path) -> None:
    db = tmp_path / "book.db"
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    cockpit("init", "--db", db)
    cockpit("import", "accounts", tmp_path / "accounts.csv", "--db", db)
    cockpit("import", "tickets", tmp_path / "tickets.csv", "--db", db)

    summary = json.loads(cockpit("score", "--as-of", AS_OF, "--json", "--db", db))
    assert summary["counts"]["health_band"] == {"insufficient": 4}
    assert summary["counts"]["churn_tier"] == {"low": 2, "medium": 2}
    assert summary["coverage"] == {"usage": False, "tickets": True}
    shown = cockpit("score", "--as-of", AS_OF, "--db", db)
    assert "4 not enough data" in shown
    assert "no usage in the book: adoption (in health) and inactivity are not scored" in shown

    explained = json.loads(cockpit("explain", "acc-2", "--json", "--db", db))
    assert (explained["health"]["score"], explained["health"]["band"]) == (None, "insufficient")
    assert explained["health"]["evidence"]["detail"] == "not enough data: 1 of 7 components known, 3 needed"
    # The monthly contract, shared by the whole book, is no signal, nor a renewal near; no usage in the book
    # is no inactivity.
    assert explained["churn"]["signals"] == []
    new = json.loads(cockpit("explain", "acc-1", "--json", "--db", db))
    assert [signal["name"] for signal in new["churn"]["signals"]] == ["early_life"]

    listed = [
        json.loads(line)
        for line in cockpit("accounts", "list", "--band", "insufficient", "--json", "--db", db).splitlines()
    ]
    assert sorted(row["id"] for row in listed) == ["acc-1", "acc-2", "acc-3", "acc-4"]
    assert {
        (row["health"], row["health_evidence"]["present"], row["health_evidence"]["of"]) for row in listed
    } == {(None, 1, 7)}
    assert cockpit("accounts", "list", "--band", "green", "--json", "--db", db) == ""
    table = cockpit("accounts", "list", "--db", db)
    assert all(" n/a " in line for line in table.splitlines()[1:])

    store = open_store(db)
    try:
        assert store.integrity_problems() == []  # the scores' CHECKs hold the new band
    finally:
        store.close()


def test_usage_that_begins_within_the_window_does_not_cover_it(tmp_path: Path) -> None:
    """Usage recorded from a few days before the day cannot tell an account that did not use the product from
    one whose use was not recorded yet: the book covers usage only once it records the whole window."""
    db = tmp_path / "book.db"
    files = {
        "accounts": ACCOUNTS,
        "products": "id,name\ncore,Core\n",
        "features": "id,product,name\nreports,core,Reports\n",
        "usage": "account,feature,occurred_at,count\nacc-2,reports,2026-11-18,3\nacc-2,reports,2026-11-20,1\n",
    }
    cockpit("init", "--db", db)
    for kind, text in files.items():
        (tmp_path / f"{kind}.csv").write_text(text, encoding="utf-8")
        cockpit("import", kind, tmp_path / f"{kind}.csv", "--db", db)

    within = json.loads(cockpit("score", "--as-of", AS_OF, "--json", "--db", db))
    assert within["coverage"]["usage"] is False
    explained = json.loads(cockpit("explain", "acc-3", "--json", "--db", db))
    assert "inactivity" not in [signal["name"] for signal in explained["churn"]["signals"]]

    # Thirty days on, the usage recorded spans the whole window: a silence is now a silence.
    later = json.loads(cockpit("score", "--as-of", "2026-12-20", "--json", "--db", db))
    assert later["coverage"]["usage"] is True
