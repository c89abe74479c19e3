"""An import reads, checks and stages its rows without the database's write lock, then applies them in one
short transaction: a CSM's write gets in while it reads; a killed or interrupted import leaves nothing
written, and its staging file never outlives it (the next import removes a killed one's). The importer is
`cockpit import` in a process of its own, reading a pipe: what it has read is what the test has written."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cockpit.config import load_settings
from cockpit.services.importing import ImportOptions, run_import
from cockpit.services.interactions import check_interaction, log_interaction
from cockpit.store import Store, open_store
from tests.clocks import at

DAY = at(datetime(2026, 11, 22).date())
HEADER = "account,feature,occurred_at,source_id\n"
PIPE_BUFFER = 64 * 1024
"""The most a pipe holds that its reader has not read (Linux)."""


def events(start: int, stop: int) -> str:
    """Usage events with ids of their own: one row each, about 40 bytes."""
    return "".join(
        f"acc-{1 + n % 2},reports,2026-11-{1 + n % 20:02d},event-{n:07d}\n" for n in range(start, stop)
    )


def import_file(db: Path, kind: str, path: Path) -> None:
    store = open_store(db, create=True)
    try:
        result = run_import(store, load_settings(), [str(path)], ImportOptions(kind=kind), clock=DAY)
        assert result.committed, result.errors
    finally:
        store.close()


@pytest.fixture
def book(tmp_path: Path) -> Path:
    db = tmp_path / "book.db"
    files = {
        "accounts": "id,name,domain\nacc-1,Acme,acme.example\nacc-2,Globex,globex.example\n",
        "products": "id,name\ncore,Core\n",
        "features": "id,product,name\nreports,core,Reports\n",
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        import_file(db, kind, path)
    return db


def staging_files(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f".{db.name}.import-*.staging"))


def contents(db: Path) -> dict[str, list[tuple[object, ...]]]:
    store = Store(db)
    try:
        return {
            name: sorted(store.db.execute(f"SELECT * FROM [{name}]").fetchall(), key=repr)
            for name in store.db.table_names()
        }
    finally:
        store.close()


def count(db: Path, table: str) -> int:
    store = Store(db)
    try:
        return int(store.db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])
    finally:
        store.close()


@contextmanager
def importing_from_a_pipe(db: Path, rows: int) -> Iterator[subprocess.Popen[str]]:
    """`cockpit import usage -` in its own process, in the middle of reading: it has been given `rows` events
    and has read all but at most a pipe's buffer of them, so it has started; its input stays open."""
    with subprocess.Popen(
        [sys.executable, "-m", "cockpit", "import", "usage", "-", "--db", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as importer:
        assert importer.stdin is not None
        given = HEADER + events(0, rows)
        assert len(given) > 2 * PIPE_BUFFER
        importer.stdin.write(given)
        importer.stdin.flush()  # returns once the importer has read all but the pipe's buffer
        yield importer


def test_a_csms_write_gets_in_while_an_import_reads(book: Path) -> None:
    with importing_from_a_pipe(book, 20_000) as importer:
        # A write that would fail at once if the import held the write lock (as it did while it read).
        store = Store(book, busy_timeout_ms=100)
        now = datetime(2026, 11, 22, 12, tzinfo=UTC)
        record = check_interaction(
            "acc-1", {"kind": "call", "summary": "Budget call"}, contact_ids=set(), now=now
        )
        log_interaction(store, record, author="Dana", now=now)
        assert store.db.execute("SELECT count(*) FROM usage_events").fetchone()[0] == 0  # nothing shows yet
        store.close()
        assert len(staging_files(book)) == 1
        _out, err = importer.communicate(events(20_000, 21_000), timeout=300)
    assert importer.returncode == 0, err
    assert "21,000 rows: 21,000 inserted" in err
    assert count(book, "usage_events") == 21_000
    assert count(book, "interactions") == 1
    assert staging_files(book) == []


def test_a_killed_import_leaves_nothing_and_the_next_removes_its_staging_file(
    book: Path, tmp_path: Path
) -> None:
    before = contents(book)
    with importing_from_a_pipe(book, 20_000) as importer:
        importer.kill()
        importer.wait()
    assert len(staging_files(book)) == 1
    assert contents(book) == before
    source = tmp_path / "usage.csv"
    source.write_text(HEADER + events(0, 3), encoding="utf-8")
    import_file(book, "usage", source)
    assert staging_files(book) == []
    assert count(book, "usage_events") == 3


def test_an_interrupted_import_removes_its_staging_file(book: Path) -> None:
    before = contents(book)
    with importing_from_a_pipe(book, 20_000) as importer:
        importer.send_signal(signal.SIGINT)
        _out, err = importer.communicate(timeout=300)
    assert importer.returncode != 0
    assert "Traceback" not in err
    assert staging_files(book) == []
    assert contents(book) == before


def test_a_rejected_import_removes_its_staging_file(book: Path, tmp_path: Path) -> None:
    source = tmp_path / "usage.csv"
    source.write_text(HEADER + events(0, 3) + "acc-9,reports,2026-11-01,x\n", encoding="utf-8")
    store = open_store(book)
    try:
        result = run_import(store, load_settings(), [str(source)], ImportOptions(kind="usage"), clock=DAY)
    finally:
        store.close()
    assert not result.committed
    assert [error.row for error in result.errors] == [5]
    assert result.totals["inserted"] == 3  # what it would have written
    assert staging_files(book) == []
    assert count(book, "usage_events") == 0


def test_a_record_staged_earlier_in_the_import_is_found_by_another_identifier(
    book: Path, tmp_path: Path
) -> None:
    """The second row names the first one's new account by its domain: the same account given twice, not a
    second account with that domain, whether or not the two rows are read in one batch."""
    source = tmp_path / "accounts.csv"
    source.write_text(
        "id,hubspot_id,name,domain\nacc-7,,Seven,seven.example\n,77,Seven Inc,SEVEN.example\n",
        encoding="utf-8",
    )
    store = open_store(book)
    try:
        result = run_import(store, load_settings(), [str(source)], ImportOptions(kind="accounts"), clock=DAY)
    finally:
        store.close()
    assert [str(error) for error in result.errors] == [f"{source}:3: duplicate: the same account as row 2"]
