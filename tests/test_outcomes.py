"""Outcomes a book learns from: churn days and contract terms imported, churn marked by hand, and the history
of MRR, renewal, plan, segment, seats, term and churn that every change leaves."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.domain.parsing import parse_contract_months
from cockpit.store import Store, open_store
from cockpit.store.history import record_changes, values_as_of

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures"
DAY = "2026-11-25"
"""The day the commands believe it is (COCKPIT_NOW, tests/conftest.py): changes are recorded on it."""

ACCOUNTS = """id,name,mrr,plan,seats,renewal_date,Contract,Churn Date
acc-1,Acme,1200,Growth,10,2027-03-01,Month-to-month,
acc-2,Globex,450,Starter,3,,One year,2026-10-01
acc-3,Initech,89,Starter,,,Two year,10/02/2026
acc-4,Hooli,300,Scale,5,,18,
"""


def cockpit(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(arg) for arg in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def query(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    store = Store(db)
    try:
        return [tuple(row) for row in store.db.execute(sql, params).fetchall()]
    finally:
        store.close()


@pytest.fixture
def book(tmp_path: Path) -> Path:
    db = tmp_path / "book.db"
    open_store(db, create=True).close()
    code, _, err = cockpit("import", "accounts", write(tmp_path / "accounts.csv", ACCOUNTS), "--db", db)
    assert code == 0, err
    return db


@pytest.mark.parametrize(
    ("given", "months"),
    [
        ("Month-to-month", 1),
        ("month to month", 1),
        ("monthly", 1),
        ("quarterly", 3),
        ("One year", 12),
        ("annual", 12),
        ("Yearly", 12),
        ("Two year", 24),
        ("2 years", 24),
        ("12", 12),
        ("18 months", 18),
        (36, 36),
        (12.0, 12),
    ],
)
def test_contract_terms_as_exports_write_them(given: object, months: int) -> None:
    assert parse_contract_months(given) == months


@pytest.mark.parametrize("given", ["forever", "0", "-12", "1.5", "twelve", "", True])
def test_what_is_not_a_contract_term(given: object) -> None:
    with pytest.raises(ValueError, match=r"contract term|number"):
        parse_contract_months(given)


def test_churn_days_and_contract_terms_import(book: Path) -> None:
    assert query(book, "SELECT id, contract_months, churned_on FROM accounts ORDER BY id") == [
        ("acc-1", 1, None),
        ("acc-2", 12, "2026-10-01"),
        ("acc-3", 24, "2026-10-02"),
        ("acc-4", 18, None),
    ]


def test_a_bad_contract_term_names_file_row_and_column(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "terms.csv", "id,Contract Term\nacc-1,12\nacc-2,forever\nacc-3,0\n")
    code, _, err = cockpit("import", "accounts", source, "--db", book)
    assert code == 1
    assert f"{source}:3: Contract Term: not a contract term" in err and "(forever)" in err
    assert f"{source}:4: Contract Term: a contract term is at least one month (0)" in err
    assert query(book, "SELECT contract_months FROM accounts WHERE id = 'acc-1'") == [(1,)]  # nothing landed


def test_an_import_records_what_it_changed_and_nothing_else(book: Path, tmp_path: Path) -> None:
    first = query(
        book, "SELECT account_id, field, value, changed_on, source FROM account_history ORDER BY id"
    )
    assert ("acc-1", "mrr", 1200.0, DAY, "import:1") in first
    assert ("acc-2", "churned_on", "2026-10-01", DAY, "import:1") in first
    assert ("acc-4", "contract_months", 18, DAY, "import:1") in first
    assert not [row for row in first if row[0] == "acc-3" and row[1] == "seats"]  # not given: not recorded
    again = write(tmp_path / "again.csv", ACCOUNTS)
    assert cockpit("import", "accounts", again, "--db", book)[0] == 0
    assert query(book, "SELECT count(*) FROM account_history") == [(len(first),)]
    changed = write(
        tmp_path / "changed.csv", "id,mrr,plan,name\nacc-1,900,Growth,Acme Corp\nacc-2,450,Scale,Globex\n"
    )
    assert cockpit("import", "accounts", changed, "--db", book)[0] == 0
    assert query(
        book,
        "SELECT account_id, field, value, source FROM account_history WHERE id > ? ORDER BY id",
        len(first),
    ) == [
        ("acc-1", "mrr", 900.0, "import:3"),
        ("acc-2", "plan", "Scale", "import:3"),
    ]
    failing = write(tmp_path / "failing.csv", "id,mrr\nacc-1,1000\nacc-2,lots\n")
    assert cockpit("import", "accounts", failing, "--db", book)[0] == 1
    assert query(book, "SELECT count(*) FROM account_history") == [(len(first) + 2,)]  # whole or nothing


def test_churn_marked_by_hand_and_undone(book: Path) -> None:
    code, _, err = cockpit("accounts", "churned", "acc-1", "--on", "2026-11-20", "--db", book)
    assert code == 0 and "acc-1 churned on 2026-11-20." in err
    code, _, err = cockpit("accounts", "churned", "Acme", "--on", "2026-11-20", "--db", book)
    assert code == 0 and "already churned on 2026-11-20; nothing changed" in err
    code, _, err = cockpit("accounts", "churned", "acc-2", "--undo", "--db", book)
    assert code == 0 and "no longer marked churned (it was on 2026-10-01)" in err
    code, _, _ = cockpit("accounts", "churned", "acc-4", "--db", book)
    assert code == 0
    assert query(book, "SELECT id, churned_on FROM accounts ORDER BY id") == [
        ("acc-1", "2026-11-20"),
        ("acc-2", None),
        ("acc-3", "2026-10-02"),
        ("acc-4", DAY),  # today, by default
    ]
    code, out, _ = cockpit("accounts", "history", "acc-2", "--json", "--db", book)
    assert code == 0
    changes = [json.loads(line) for line in out.splitlines()]
    assert [(c["field"], c["value"], c["source"]) for c in changes if c["field"] == "churned_on"] == [
        ("churned_on", "2026-10-01", "import:1"),
        ("churned_on", None, "cli"),
    ]
    code, out, _ = cockpit("accounts", "history", "acc-1", "--db", book)
    assert code == 0
    assert "2026-11-25  mrr              1,200                 import:1" in out
    assert "2026-11-25  churned_on       2026-11-20            cli" in out
    code, _, err = cockpit("accounts", "churned", "acc-9", "--db", book)
    assert code == 1 and "no account matches 'acc-9'" in err
    assert cockpit("accounts", "churned", "acc-1", "--on", "2026-11-20", "--undo", "--db", book)[0] == 2
    assert cockpit("accounts", "churned", "acc-1", "--on", "20/11/2026", "--db", book)[0] == 2


def test_churned_accounts_leave_the_list_unless_asked_for(book: Path) -> None:
    code, out, _ = cockpit("accounts", "list", "--json", "--db", book)
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["acc-1", "acc-4"]
    code, out, _ = cockpit("accounts", "list", "--json", "--include-churned", "--db", book)
    listed = {row["id"]: row["churned_on"] for row in map(json.loads, out.splitlines())}
    assert listed == {"acc-1": None, "acc-2": "2026-10-01", "acc-3": "2026-10-02", "acc-4": None}
    code, out, _ = cockpit("accounts", "list", "--include-churned", "--db", book)
    assert out.splitlines()[0].endswith("churned")
    assert next(line for line in out.splitlines() if line.startswith("acc-2")).endswith("2026-10-01")


def test_a_field_as_it_stood_on_a_day(store: Store) -> None:
    with store.write() as db:
        db.execute(
            "INSERT INTO accounts (id, name, created_at, updated_at) VALUES ('a', 'A', ?, ?), ('b', 'B', ?, ?)",
            ["2025-01-01T00:00:00"] * 4,
        )
        for account, mrr, day in (("a", 100.0, "2025-01-01"), ("a", 80.0, "2025-06-01"), ("a", 120.0, "2025-06-01"),
                                  ("b", 50.0, "2025-03-01")):  # fmt: skip
            record_changes(
                db, account, {"mrr": mrr, "name": "ignored"}, day=date.fromisoformat(day), source="cli"
            )
    db = store.db
    assert values_as_of(db, "mrr", date(2024, 12, 31)) == {}
    assert values_as_of(db, "mrr", date(2025, 2, 1)) == {"a": 100.0}
    assert values_as_of(db, "mrr", date(2025, 5, 31)) == {"a": 100.0, "b": 50.0}
    assert values_as_of(db, "mrr", date(2025, 6, 1)) == {"a": 120.0, "b": 50.0}  # the day's last change
    assert values_as_of(db, "mrr", date(2026, 1, 1), ["b"]) == {"b": 50.0}
    # Before its history began, the first value recorded stands in, if asked for.
    assert values_as_of(db, "mrr", date(2025, 2, 1), earliest=True) == {"a": 100.0, "b": 50.0}
    assert values_as_of(db, "mrr", date(2025, 6, 1), earliest=True) == {"a": 120.0, "b": 50.0}
    assert values_as_of(db, "plan", date(2026, 1, 1)) == {}
    assert db.execute("SELECT count(*) FROM account_history").fetchone()[0] == 4  # names have no history
    with pytest.raises(ValueError, match="no history is kept of 'name'"):
        values_as_of(db, "name", date(2026, 1, 1))


def test_history_starts_with_the_values_accounts_had_when_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "cockpit-0.1.0.sql").read_text(encoding="utf-8"))
    conn.close()
    open_store(path).close()
    assert query(
        path,
        "SELECT account_id, field, value, changed_on, source FROM account_history WHERE account_id = 'acc-00001' ORDER BY field",
    ) == [
        ("acc-00001", "mrr", 1200.0, "2026-01-15", "created"),
        ("acc-00001", "plan", "Growth", "2026-01-15", "created"),
        ("acc-00001", "renewal_date", "2027-03-01", "2026-01-15", "created"),
        ("acc-00001", "seats", 10, "2026-01-15", "created"),
    ]
    assert query(path, "SELECT count(DISTINCT account_id) FROM account_history") == [(3,)]


def test_segment_history_starts_with_the_segment_accounts_had_when_upgraded(tmp_path: Path) -> None:
    """Migration 0020: a book made before segments were kept gets its accounts' segments as history (dated at
    their creation), and a segment change is recorded from then on."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "cockpit-0.1.0.sql").read_text(encoding="utf-8"))
    conn.execute("UPDATE accounts SET segment = 'smb' WHERE id = 'acc-00001'")
    conn.commit()
    conn.close()
    store = open_store(path)
    try:
        with store.write() as db:
            record_changes(db, "acc-00001", {"segment": "enterprise"}, day=date(2026, 6, 1), source="cli")
    finally:
        store.close()
    assert query(
        path,
        "SELECT field, value, changed_on, source FROM account_history "
        "WHERE account_id = 'acc-00001' AND field = 'segment' ORDER BY id",
    ) == [("segment", "smb", "2026-01-15", "created"), ("segment", "enterprise", "2026-06-01", "cli")]
    assert query(path, "SELECT count(*) FROM account_history WHERE field = 'segment'") == [(2,)]
