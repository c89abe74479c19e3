"""A scoring run weighs each account against its own book's norms, read from the store: a support load is
tickets far above the book's average (not a count fixed for every book), and a contract term on file counts
without dates."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cockpit.cli import app

runner = CliRunner()
AS_OF = "2026-11-22"


def cockpit(*args: str | Path) -> str:
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def signals(db: Path, account: str) -> list[str]:
    explained = json.loads(cockpit("explain", account, "--json", "--db", db))
    return [signal["name"] for signal in explained["churn"]["signals"]]


def test_a_run_weighs_tickets_against_the_book_and_reads_the_stated_term(tmp_path: Path) -> None:
    accounts = ["id,name,mrr,start_date,contract_months"]
    accounts += [f"acc-{n},Account {n},100,2024-01-10,12" for n in range(10)]
    accounts.append("monthly,Monthly Ltd,100,2024-01-10,Month-to-month")
    tickets = ["id,account,opened_at,subject"]
    tickets += [f"T-{n},acc-{n},2026-11-01,Question" for n in range(1, 10)]
    # Five tickets over two months: never four within two weeks, so no burst; but five times the book's
    # average of about one per account.
    tickets += [f"B-{n},acc-0,{day},Broken again" for n, day in enumerate(("2026-09-25", "2026-10-10",
                "2026-10-24", "2026-11-07", "2026-11-20"))]  # fmt: skip
    (tmp_path / "accounts.csv").write_text("\n".join(accounts) + "\n", encoding="utf-8")
    (tmp_path / "tickets.csv").write_text("\n".join(tickets) + "\n", encoding="utf-8")
    db = tmp_path / "book.db"
    cockpit("init", "--db", db)
    cockpit("import", "accounts", tmp_path / "accounts.csv", "--db", db)
    cockpit("import", "tickets", tmp_path / "tickets.csv", "--db", db)
    summary = json.loads(cockpit("score", "--as-of", AS_OF, "--json", "--db", db))
    assert summary["counts"]["churn_tier"] == {"high": 1, "medium": 1, "low": 9}
    assert signals(db, "acc-0") == ["support_load"]
    assert signals(db, "acc-1") == []
    assert signals(db, "monthly") == ["month_to_month"]  # no renewal date on file: the stated term
