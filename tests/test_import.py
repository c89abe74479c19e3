"""`cockpit import` end to end: real files on disk, a real database, the CLI as a user runs it."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.config import load_settings
from cockpit.importer.kinds import KINDS
from cockpit.services.importing import ImportOptions, run_import
from cockpit.store import Store, open_store
from tests.clocks import at

runner = CliRunner()

ACCOUNTS = """id,name,domain,owner,plan,mrr,renewal_date
acc-1,Acme Ltd,acme.example,Dana,Growth,1200,2027-03-01
acc-2,Globex,globex.example,Lee,Starter,450,2027-04-01
"""
CATALOGUE = {
    "products.csv": "id,name\ncore,Core\nanalytics,Analytics\n",
    "features.csv": "id,product,name\nreports,core,Reports\ndashboards,analytics,Dashboards\n",
    "contacts.csv": "id,account,name,email,email_opt_in\ncon-1,acc-1,Ann Lee,ann@acme.example,yes\n"
    "con-2,acc-2,Bo Chan,bo@globex.example,no\n",
}


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def cockpit(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(arg) for arg in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A database with two accounts, their contacts and a small product catalogue."""
    return book_of(tmp_path, ACCOUNTS)


def book_of(tmp_path: Path, accounts: str) -> Path:
    """A database with the `accounts` (CSV text; acc-1 and acc-2 among them), the contacts and catalogue."""
    db = tmp_path / "book.db"
    open_store(db, create=True).close()
    assert cockpit("import", "accounts", write(tmp_path / "accounts.csv", accounts), "--db", db)[0] == 0
    for name, text in CATALOGUE.items():
        assert cockpit("import", name.removesuffix(".csv"), write(tmp_path / name, text), "--db", db)[0] == 0
    return db


def fingerprint(db: Path) -> str:
    """The database file's bytes after a checkpoint: what a failed import must leave exactly as it was."""
    store = Store(db)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return hashlib.sha256(db.read_bytes()).hexdigest()


def records(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table but the log of import runs, which records each import (a re-import too)."""
    store = Store(db)
    try:
        tables = [name for name in store.db.table_names() if name != "import_runs"]
        # Sorted whole: a table may have one column.
        return {
            name: sorted(store.db.execute(f"SELECT * FROM [{name}]").fetchall(), key=repr) for name in tables
        }
    finally:
        store.close()


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    store = Store(db)
    try:
        return [tuple(row) for row in store.db.execute(sql).fetchall()]
    finally:
        store.close()


def test_import_then_reimport_changes_nothing(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "usage.csv", "account,feature,occurred_at,contact,count\n"
                   "acc-1,reports,2026-11-01,con-1,3\nacc-1,reports,2026-11-02,con-1,1\n"
                   "globex.example,dashboards,2026-11-02T10:00:00Z,bo@globex.example,2\n")  # fmt: skip
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 0, err
    assert "3 rows: 3 inserted, 0 updated, 0 unchanged, 0 rejected" in err
    before = records(book)
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 0
    assert "3 rows: 0 inserted, 0 updated, 3 unchanged, 0 rejected" in err
    assert records(book) == before
    assert rows(
        book,
        "SELECT kind, json_extract(counts, '$.files[0].unchanged') FROM import_runs ORDER BY id DESC LIMIT 1",
    ) == [("usage", 3)]
    assert rows(
        book, "SELECT account_id, feature_id, occurred_at, contact_id, count FROM usage_events ORDER BY 3"
    ) == [
        ("acc-1", "reports", "2026-11-01", "con-1", 3),
        ("acc-1", "reports", "2026-11-02", "con-1", 1),
        ("acc-2", "dashboards", "2026-11-02T10:00:00+00:00", "con-2", 2),
    ]


STORED_TIMES = {
    "2026-11-01": "2026-11-01",
    "2026-11-01T10:00:00": "2026-11-01T10:00:00+00:00",
    "2026-11-01T10:00:01Z": "2026-11-01T10:00:01+00:00",
    "2026-11-01 10:00:02": "2026-11-01T10:00:02+00:00",
    "2026-11-01 10:00:03Z": "2026-11-01T10:00:03+00:00",
    "2026-11-01T10:00:04+00:00": "2026-11-01T10:00:04+00:00",
    "2026-11-01T12:00:05+02:00": "2026-11-01T10:00:05+00:00",
    "2026-11-01 05:30:06-04:30": "2026-11-01T10:00:06+00:00",
    "2026-11-02T01:00:07+15:00": "2026-11-01T10:00:07+00:00",
    "2026-11-01T10:00:08.250Z": "2026-11-01T10:00:08+00:00",
    "11/01/2026 10:00": "2026-11-01T10:00:00+00:00",
}
"""Each form an export writes a time in, and what the store has held for it (in UTC, to the second)."""


def test_every_time_form_is_stored_in_utc_as_before(book: Path, tmp_path: Path) -> None:
    lines = [f"acc-1,reports,{written},{index}" for index, written in enumerate(STORED_TIMES)]
    source = write(
        tmp_path / "usage.csv", "account,feature,occurred_at,source_id\n" + "\n".join(lines) + "\n"
    )
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 0, err
    stored = rows(book, "SELECT occurred_at FROM usage_events ORDER BY CAST(source_id AS INTEGER)")
    assert stored == [(value,) for value in STORED_TIMES.values()]


def test_a_changed_row_updates_only_its_columns(book: Path, tmp_path: Path) -> None:
    update = write(tmp_path / "more.csv", "Account ID,MRR\nacc-1,1500\nacc-2,450\n")
    code, _, err = cockpit("import", "accounts", update, "--db", book, "--map", "Account ID=id")
    assert code == 0, err
    assert "2 rows: 0 inserted, 1 updated, 1 unchanged, 0 rejected" in err
    assert rows(book, "SELECT id, name, owner, mrr FROM accounts ORDER BY id") == [
        ("acc-1", "Acme Ltd", "Dana", 1500.0),
        ("acc-2", "Globex", "Lee", 450.0),
    ]


def test_overlapping_event_exports_update_changed_counts(book: Path, tmp_path: Path) -> None:
    monday = write(
        tmp_path / "mon.csv",
        "account,feature,day,count\nacc-1,reports,2026-11-01,3\nacc-1,reports,2026-11-02,1\n",
    )
    tuesday = write(
        tmp_path / "tue.csv",
        "account,feature,day,count\nacc-1,reports,2026-11-02,4\nacc-1,reports,2026-11-03,2\n",
    )
    assert cockpit("import", "usage", monday, "--db", book)[0] == 0
    code, _, err = cockpit("import", "usage", tuesday, "--db", book)
    assert code == 0
    assert "2 rows: 1 inserted, 1 updated, 0 unchanged, 0 rejected" in err
    assert rows(book, "SELECT occurred_at, count FROM usage_events ORDER BY 1") == [
        ("2026-11-01", 3),
        ("2026-11-02", 4),
        ("2026-11-03", 2),
    ]


def test_every_bad_row_is_reported_and_nothing_lands(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "bad.csv", "account,feature,occurred_at,count\n"
                   "acc-1,reports,2026-11-01,3\n"
                   "acc-9,reports,2026-11-01,3\n"
                   "acc-1,nosuch,2026-11-01,3\n"
                   "acc-1,reports,yesterday,3\n"
                   "acc-1,reports,2026-11-05,-2\n"
                   "acc-1,reports,2026-11-06,lots\n")  # fmt: skip
    before = fingerprint(book)
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 1
    assert f"{source}:3: account: no such account (by id, CRM id or domain) (acc-9)" in err
    assert f"{source}:4: feature: no such feature (nosuch)" in err
    assert (
        f"{source}:5: occurred_at: not a date (expected YYYY-MM-DD, optionally with a time and zone) (yesterday)"
        in err
    )
    assert f"{source}:6: count: input should be greater than or equal to 0" in err.lower()
    assert f"{source}:7: count: not a number (lots)" in err
    # The good row's count says what it would have been: none landed.
    assert f"{source}: 6 rows: 1 would be inserted, 0 would be updated, 0 unchanged, 5 rejected" in err
    assert "5 row(s) rejected; nothing was written" in err
    assert fingerprint(book) == before


def test_skip_invalid_lands_the_good_rows_and_writes_the_rejects(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "mixed.csv", "account,feature,occurred_at,count,note\n"
                   "acc-1,reports,2026-11-01,3,fine\nacc-9,reports,2026-11-01,3,typo\n")  # fmt: skip
    rejects = tmp_path / "rejects.csv"
    code, _, err = cockpit("import", "usage", source, "--db", book, "--skip-invalid", "--rejects", rejects)
    assert code == 1
    assert "ignored columns 'note'" in err
    assert rows(book, "SELECT count(*) FROM usage_events") == [(1,)]
    text = rejects.read_text(encoding="utf-8").splitlines()
    assert text[0] == "error,source,row,account,feature,occurred_at,count,note"
    assert (
        text[1]
        == f'"account: no such account (by id, CRM id or domain) (acc-9)",{source},3,acc-9,reports,2026-11-01,3,typo'
    )


def test_dry_run_checks_everything_and_writes_nothing(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "u.csv", "account,feature,occurred_at\nacc-1,reports,2026-11-01\n")
    before = fingerprint(book)
    code, out, err = cockpit("import", "usage", source, "--db", book, "--dry-run", "--json")
    assert code == 0
    assert "1 would be inserted" in err
    assert json.loads(out)["totals"]["inserted"] == 1
    assert fingerprint(book) == before


def test_max_errors_stops_early(book: Path, tmp_path: Path) -> None:
    body = "".join(f"acc-9{day},reports,2026-11-{day:02d}\n" for day in range(1, 21))
    source = write(tmp_path / "u.csv", "account,feature,occurred_at\n" + body)
    code, _, err = cockpit("import", "usage", source, "--db", book, "--max-errors", "5")
    assert code == 1
    assert err.count("no such account") == 5
    assert "Stopped after 5 errors" in err


def test_duplicate_keys_in_one_file_name_the_first_row(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "dup.csv", "id,name,domain\nacc-7,Seven,seven.example\nacc-8,Eight,eight.example\n"
                   "acc-7,Seven again,seven.example\n")  # fmt: skip
    before = fingerprint(book)
    code, _, err = cockpit("import", "accounts", source, "--db", book)
    assert code == 1
    assert f"{source}:4: duplicate: the same account as row 2" in err
    assert fingerprint(book) == before


def test_duplicate_events_across_files_of_one_import(book: Path, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", "account,kind,occurred_at,value\nacc-1,nps,2026-11-01,9\n")
    second = write(tmp_path / "b.csv", "account,kind,occurred_at,value\nacc-1,nps,2026-11-01,3\n")
    code, _, err = cockpit("import", "signals", first, second, "--db", book)
    assert code == 1
    assert f"{second}:2: duplicate: the same signal is given earlier in this import with other values" in err
    code, _, err = cockpit("import", "signals", first, first, "--db", book)
    assert code == 0, err
    assert "1 rows: 0 inserted, 0 updated, 0 unchanged, 0 rejected, 1 merged" in err


def test_rows_of_one_moment_without_a_source_id_are_one_event(book: Path, tmp_path: Path) -> None:
    """Raw exports write several rows for one account, feature and minute: identical rows are one event,
    rows with other counts add up to it; importing the file again changes nothing."""
    source = write(
        tmp_path / "raw.csv",
        "account,feature,occurred_at,count\n"
        + "acc-1,reports,2026-11-01 10:03,2\n" * 2
        + "acc-1,reports,2026-11-01 10:03,5\nacc-1,reports,2026-11-01 10:03,2\nacc-2,reports,2026-11-01 10:03,1\n",
    )
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 0, err
    assert "5 rows: 2 inserted, 0 updated, 0 unchanged, 0 rejected, 3 merged" in err
    assert rows(book, "SELECT account_id, count FROM usage_events ORDER BY 1") == [("acc-1", 7), ("acc-2", 1)]
    before = records(book)
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 0, err
    assert "5 rows: 0 inserted, 0 updated, 2 unchanged, 0 rejected, 3 merged" in err
    assert records(book) == before


def test_jsonl_gzip_and_stdin(book: Path, tmp_path: Path) -> None:
    lines = [
        {"account": "acc-1", "kind": "cancel_page_visit", "occurred_at": "2026-11-20T08:00:00+01:00"},
        {
            "account": "acc-2",
            "kind": "NPS",
            "occurred_at": "2026-11-20",
            "value": 9,
            "payload": {"comment": "great"},
        },
    ]
    packed = write(tmp_path / "signals.jsonl.gz", gzip.compress("\n".join(map(json.dumps, lines)).encode()))
    code, _, err = cockpit("import", "signals", packed, "--db", book)
    assert code == 0, err
    assert rows(book, "SELECT account_id, kind, occurred_at, value, payload FROM signals ORDER BY 1") == [
        ("acc-1", "cancel_page_visit", "2026-11-20T07:00:00+00:00", None, "{}"),
        ("acc-2", "nps", "2026-11-20", 9.0, '{"comment": "great"}'),
    ]
    result = runner.invoke(
        app,
        ["import", "surveys", "-", "--db", str(book)],
        input="account,kind,score,responded_at\nacc-1,nps,10,2026-11-21\n",
    )
    assert result.exit_code == 0, result.stderr
    assert rows(book, "SELECT account_id, kind, score FROM surveys") == [("acc-1", "nps", 10)]


def test_profiles_map_crm_exports(book: Path, tmp_path: Path) -> None:
    companies = write(tmp_path / "hubspot.csv", "Record ID,Company name,Company Domain Name,Company owner,Annual Revenue\n"
                      "901,Initech,https://www.initech.example/,Kim,5000000\n")  # fmt: skip
    code, _, err = cockpit("import", "accounts", companies, "--db", book, "--profile", "hubspot-companies")
    assert code == 0, err
    assert rows(
        book, "SELECT id, hubspot_id, name, domain, owner FROM accounts WHERE hubspot_id IS NOT NULL"
    ) == [("hubspot-901", "901", "Initech", "initech.example", "Kim")]
    contacts = write(tmp_path / "sf.csv", "Contact ID,Account ID,First Name,Last Name,Email,Email Opt Out,Birthdate\n"
                     "003X,initech.example,Pat,Doe,pat@initech.example,1,22/11/1980\n")  # fmt: skip
    code, _, err = cockpit(
        "import", "contacts", contacts, "--db", book, "--profile", "salesforce-contacts", "--dayfirst"
    )
    assert code == 0, err
    assert rows(
        book,
        "SELECT account_id, name, email, email_opt_in, birthday FROM contacts WHERE salesforce_id = '003X'",
    ) == [("hubspot-901", "Pat Doe", "pat@initech.example", 0, "1980-11-22")]


def test_profile_for_another_kind_is_refused(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "x.csv", "id,name\nx,y\n")
    code, _, err = cockpit("import", "products", source, "--db", book, "--profile", "hubspot-contacts")
    assert code == 2
    assert "profile 'hubspot-contacts' is for contacts, not products" in err


def test_map_option_and_unknown_field(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "Ticket,Client,Opened\nT-1,acc-1,2026-11-20\n")
    code, _, err = cockpit(
        "import",
        "tickets",
        source,
        "--db",
        book,
        "--map",
        "Ticket=id",
        "--map",
        "Client=account",
        "--map",
        "Opened=opened_at",
    )
    assert code == 0, err
    code, _, err = cockpit("import", "tickets", source, "--db", book, "--map", "Ticket=ticket_no")
    assert code == 2
    assert "'ticket_no' is not a field of tickets" in err


def test_csv_injection_is_stored_as_text(book: Path, tmp_path: Path) -> None:
    payload = "=cmd|' /C calc'!A0"
    source = write(
        tmp_path / "i.csv", f'account,kind,occurred_at,summary\nacc-1,note,2026-11-20,"{payload}"\n'
    )
    assert cockpit("import", "interactions", source, "--db", book)[0] == 0
    assert rows(book, "SELECT summary, sync_state FROM interactions") == [(payload, "pending")]


def test_latin1_file_with_encoding_option(book: Path, tmp_path: Path) -> None:
    source = write(
        tmp_path / "l.csv", "id,name,domain\nacc-5,Caf\xe9 M\xfcller,cafe.example\n".encode("latin-1")
    )
    code, _, err = cockpit("import", "accounts", source, "--db", book)
    assert code == 1
    assert "not UTF-8 text (byte 0xe9" in err
    assert "--encoding" in err
    assert cockpit("import", "accounts", source, "--db", book, "--encoding", "latin-1")[0] == 0
    assert rows(book, "SELECT name FROM accounts WHERE id = 'acc-5'") == [("Café Müller",)]


def test_bom_and_semicolons(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "s.csv", "\ufeffid;name;domain\nacc-6;Umbrella;umbrella.example\n")
    code, _, err = cockpit("import", "accounts", source, "--db", book)
    assert code == 2
    assert "--delimiter ';'" in err
    assert cockpit("import", "accounts", source, "--db", book, "--delimiter", ";")[0] == 0


BROKEN: dict[str, tuple[bytes, str]] = {
    "empty.csv": (b"", "the file is empty"),
    "header-only.csv": (b"account,feature,occurred_at\n", "has a header but no rows"),
    "missing-column.csv": (
        b"account,occurred_at\nacc-1,2026-11-01\n",
        "no column for required field 'feature'",
    ),
    "semicolons.csv": (b"account;feature;occurred_at\nacc-1;reports;2026-11-01\n", "--delimiter ';'"),
    "latin1.csv": (
        "account,feature,occurred_at,contact\nacc-1,reports,2026-11-01,J\xfcrgen\n".encode("latin-1"),
        "not UTF-8 text",
    ),
    "garbage.csv": (bytes(range(256)) * 40, "a binary file"),
    "truncated.csv.gz": (
        gzip.compress(b"account,feature,occurred_at\n" + b"acc-1,reports,2026-11-01\n" * 5000)[:-300],
        "gzip data is damaged or cut short",
    ),
    "huge-field.csv": (
        b'account,feature,occurred_at,contact\nacc-1,reports,2026-11-01,"' + b"x" * 10_000_000 + b'"\n',
        "longer than 1,000,000 characters",
    ),
    "bad-date.csv": (
        b"account,feature,occurred_at\nacc-1,reports,31/31/2026\n",
        "occurred_at: not a valid month/day/year date",
    ),
    "bad-number.csv": (
        b"account,feature,occurred_at,count\nacc-1,reports,2026-11-01,1.5.6\n",
        "count: not a number",
    ),
    "negative.csv": (
        b"account,feature,occurred_at,count\nacc-1,reports,2026-11-01,-4\n",
        "count: input should be greater than or equal to 0",
    ),
    "unknown-account.csv": (
        b"account,feature,occurred_at\nnobody.example,reports,2026-11-01\n",
        "no such account",
    ),
    "duplicates.csv": (
        b"account,feature,occurred_at,count,source_id\nacc-1,reports,2026-11-01,1,e1\nacc-1,reports,2026-11-01,2,e1\n",
        "duplicate: the same usage event is given earlier in this import with other values",
    ),
    "ragged.csv": (
        b"account,feature,occurred_at\nacc-1,reports,2026-11-01,extra,more\n",
        "5 fields where the header has 3",
    ),
    "unclosed-quote.csv": (b'account,feature,occurred_at\nacc-1,"reports,2026-11-01\n', "not valid CSV"),
    "array.json": (b'[{"account": "acc-1"}]', "a JSON array"),
    "bad-line.jsonl": (
        b'{"account": "acc-1", "feature": "reports", "occurred_at": "2026-11-01"}\n{"account": \n',
        ":2: not valid JSON",
    ),
    "not-object.jsonl": (b"[1, 2]\n", "each line must be a JSON object"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_fail_cleanly_and_leave_the_database_untouched(
    book: Path, tmp_path: Path, name: str
) -> None:
    content, message = BROKEN[name]
    source = write(tmp_path / name, content)
    before = fingerprint(book)
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code != 0
    assert message in err
    assert str(source) in err
    assert fingerprint(book) == before


UNREADABLE: dict[str, tuple[bytes, str]] = {
    "empty.csv": (b"", "the file is empty"),
    "header-only.csv": (b"whatever\n", "has a header but no rows"),
    "garbage.csv": (bytes(range(256)) * 40, "a binary file"),
    "latin1.csv": ("J\xfcrgen,x\n1,2\n".encode("latin-1"), "not UTF-8 text"),
    "truncated.csv.gz": (gzip.compress(b"a,b\n" + b"1,2\n" * 100)[:15], "gzip data is damaged or cut short"),
    "huge-header.csv": (b'"' + b"x" * 2_000_000 + b'"\n1\n', "longer than 1,000,000 characters"),
    "array.json": (b'[{"id": "x"}]', "a JSON array"),
    "bad-line.jsonl": (b'{"id": \n', ":1: not valid JSON"),
    "not-object.jsonl": (b"[1, 2]\n", "each line must be a JSON object"),
}
"""Files that cannot be read as any kind: each kind refuses each of them the same way."""


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.slow
def test_every_kind_refuses_unreadable_files(book: Path, tmp_path: Path, kind: str) -> None:
    before = fingerprint(book)
    for name, (content, message) in UNREADABLE.items():
        source = write(tmp_path / name, content)
        code, _, err = cockpit("import", kind, source, "--db", book)
        assert code != 0, name
        assert message in err, name
        assert str(source) in err, name
    assert fingerprint(book) == before


def test_missing_file_and_unknown_kind(book: Path, tmp_path: Path) -> None:
    code, _, err = cockpit("import", "usage", tmp_path / "nope.csv", "--db", book)
    assert code == 1
    assert "no such file" in err
    code, _, err = cockpit("import", "widgets", tmp_path / "nope.csv", "--db", book)
    assert code == 2


def test_service_counts_per_file(book: Path, tmp_path: Path) -> None:
    first = write(tmp_path / "p1.csv", "id,name\np1,One\n")
    second = write(tmp_path / "p2.csv", "id,name\np1,One\np2,Two\n")
    store = open_store(book)
    try:
        result = run_import(
            store, load_settings(), [str(first)], ImportOptions(kind="products"), clock=at(date(2026, 11, 25))
        )
        assert result.committed
        result = run_import(
            store,
            load_settings(),
            [str(second)],
            ImportOptions(kind="products"),
            clock=at(date(2026, 11, 25)),
        )
    finally:
        store.close()
    assert [(s.inserted, s.updated, s.unchanged) for s in result.files] == [(1, 0, 1)]


def test_tickets_and_surveys_add_their_signals_once(book: Path, tmp_path: Path) -> None:
    """Scoring reads the signal stream: a ticket or a survey answer adds its signal, and re-importing it
    does not add another."""
    tickets = write(
        tmp_path / "t.csv", "id,account,opened_at,subject,escalated\nT-1,acc-1,2026-11-20,Login broken,yes\n"
    )
    surveys = write(
        tmp_path / "s.csv", "id,account,kind,score,responded_at,comment\nS-1,acc-2,nps,3,2026-11-21,Slow\n"
    )
    for _ in range(2):
        assert cockpit("import", "tickets", tickets, "--db", book)[0] == 0
        assert cockpit("import", "surveys", surveys, "--db", book)[0] == 0
    assert rows(
        book, "SELECT account_id, kind, occurred_at, value, source_id, payload FROM signals ORDER BY kind"
    ) == [
        ("acc-1", "escalation", "2026-11-20", None, "T-1", '{"subject": "Login broken", "ticket_id": "T-1"}'),
        ("acc-2", "nps", "2026-11-21", 3.0, "S-1", '{"comment": "Slow"}'),
        (
            "acc-1",
            "support_ticket",
            "2026-11-20",
            None,
            "T-1",
            '{"subject": "Login broken", "ticket_id": "T-1"}',
        ),
    ]


def test_exported_csv_is_spreadsheet_safe_and_jsonl_exact(book: Path, tmp_path: Path) -> None:
    payload = "=cmd|' /C calc'!A0"
    source = write(
        tmp_path / "i.csv", f'id,account,kind,occurred_at,summary\nI-1,acc-1,note,2026-11-20,"{payload}"\n'
    )
    assert cockpit("import", "interactions", source, "--db", book)[0] == 0
    code, out, err = cockpit("export", "interactions", "--db", book)
    assert code == 0, err
    exported = next(csv.DictReader(io.StringIO(out)))
    assert exported["summary"] == "'" + payload
    target = tmp_path / "out.jsonl"
    assert cockpit("export", "interactions", "--db", book, "--format", "jsonl", "-o", target)[0] == 0
    assert json.loads(target.read_text(encoding="utf-8").splitlines()[0])["summary"] == payload
    assert cockpit("export", "widgets", "--db", book)[0] == 2
