"""A database that cannot be written, a file that is not cockpit's, a migration that fails: each command
says so, names the file and exits 3, and the file is left exactly as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit import paths, resources
from cockpit.cli import app
from cockpit.clock import fixed_clock
from cockpit.config import load_settings
from cockpit.errors import DatabaseError, DatabaseReadOnly, DiskFull, NotACockpitDatabase
from cockpit.services.demo import build_demo
from cockpit.services.scoring import run_scoring
from cockpit.store import Store, open_store
from cockpit.store.db import build_database
from cockpit.store.migrations import migrations
from tests.clocks import PINNED_NOW

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cockpit(*args: str) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "cockpit", *args],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """Make files or folders read-only for every process, root's included: the tests run as root, who
    ignores permission bits, so the immutable attribute (`chattr +i`) it is. Skips where the file system or
    the container does not allow it."""
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr (e2fsprogs) is needed to make a file read-only for root")
    marked: list[Path] = []
    try:
        for path in paths:
            result = subprocess.run([chattr, "+i", str(path)], capture_output=True, text=True, check=False)
            if result.returncode != 0:
                pytest.skip(f"chattr +i is not allowed here: {result.stderr.strip()}")
            marked.append(path)
        yield
    finally:
        for path in marked:
            subprocess.run([chattr, "-i", str(path)], check=True)


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo book as of the day the commands believe it is: scored, valued, with outreach drafts to
    review."""
    path = tmp_path_factory.mktemp("book") / "demo.db"
    build_demo(path, load_settings(), clock=fixed_clock(datetime.fromisoformat(PINNED_NOW)))
    return path


@pytest.fixture
def book(demo_book: Path, tmp_path: Path) -> Path:
    """A private copy of the demo book in a folder of its own."""
    folder = tmp_path / "books"
    folder.mkdir()
    copy = folder / "book.db"
    shutil.copy(demo_book, copy)
    return copy


def first_draft(book: Path) -> str:
    conn = sqlite3.connect(book)
    try:
        return str(conn.execute("SELECT id FROM outreach WHERE status = 'draft' ORDER BY id").fetchone()[0])
    finally:
        conn.close()


def run_read_only(book: Path, frozen: Path, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Run each command on `book` while `frozen` (the book, or its folder) is read-only: none may print a
    traceback or change the book."""
    before = digest(book)
    with immutable(frozen):
        results = [cockpit(*command, "--db", str(book)) for command in commands]
    for result in results:
        assert "Traceback" not in result.stderr + result.stdout
    assert digest(book) == before
    return results


WRITING_COMMANDS = [["score"], ["outreach", "plan"], ["clv", "fit"], ["outreach", "approve", "DRAFT"]]


@pytest.mark.parametrize("command", WRITING_COMMANDS, ids=[" ".join(c[:2]) for c in WRITING_COMMANDS])
@pytest.mark.slow
def test_a_write_to_a_read_only_file_says_so_and_exits_3(book: Path, command: list[str]) -> None:
    args = [first_draft(book) if arg == "DRAFT" else arg for arg in command]
    [result] = run_read_only(book, book, args)
    assert result.returncode == 3, result.stderr
    assert f"error: {book}: the database is read-only" in result.stderr
    assert "writable" in result.stderr


def test_a_read_only_file_is_still_read_and_doctor_reports_it(book: Path) -> None:
    listed, doctor = run_read_only(book, book, ["accounts", "list", "--limit", "3"], ["doctor"])
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 4  # the header and three accounts
    assert doctor.returncode == 3
    assert f"FAIL  writing      {book}: the database is read-only" in doctor.stdout
    assert "ok    integrity" in doctor.stdout


def test_a_read_only_folder_is_named(book: Path) -> None:
    """SQLite keeps its -wal and -shm files beside the database: in a read-only folder it cannot even read."""
    scored, doctor = run_read_only(book, book.parent, ["score"], ["doctor"])
    assert scored.returncode == 3
    assert f"its folder {book.parent} is read-only" in scored.stderr
    assert doctor.returncode == 3
    assert f"FAIL  database     {book}: cannot open the database: its folder" in doctor.stdout
    assert sorted(book.parent.iterdir()) == [book]


def test_through_a_symbolic_link_the_real_folder_is_named(book: Path, tmp_path: Path) -> None:
    """SQLite follows the link: its -wal and -shm files go beside the real file, so that folder is the one
    that must be writable."""
    link = tmp_path / "link.db"
    link.symlink_to(book)
    with immutable(book.parent):
        scored = cockpit("score", "--db", str(link))
    assert scored.returncode == 3
    assert f"its folder {book.parent} is read-only" in scored.stderr


def test_a_book_built_through_a_symbolic_link_replaces_the_real_file(book: Path, tmp_path: Path) -> None:
    """The new file is built beside the real one and renamed over it; the link stays a link."""
    link = tmp_path / "link.db"
    link.symlink_to(book)
    built = build_database(link, lambda store: store.path, replace=True)
    assert built == book.with_name(f".{book.name}.building")
    assert link.is_symlink()
    assert sorted(book.parent.iterdir()) == [book]
    assert counts(book) == dict.fromkeys(("accounts", "usage_events", "scores", "outreach"), 0)


def test_a_write_that_fails_in_a_worker_thread_reaches_the_caller_translated(book: Path) -> None:
    """The scoring run inserts from a thread of its own; its failure is re-raised inside the transaction."""
    with immutable(book):
        store = open_store(book)
        try:
            with (
                pytest.raises(DatabaseReadOnly, match=str(book)),
                store.write() as db,
                ThreadPoolExecutor(max_workers=1) as writer,
            ):
                writer.submit(db.conn.execute, "DELETE FROM outreach").result()
        finally:
            store.close()


def foreign_file(folder: Path, *, accounts: bool) -> Path:
    """Another application's SQLite database, with or without a table that cockpit also has."""
    path = folder / ("crm-export.db" if accounts else "notes.db")
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, login TEXT); INSERT INTO accounts VALUES (1, 'ada');"
        if accounts
        else "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('kept as it was');"
    )
    conn.close()
    return path


FOREIGN_COMMANDS = [
    ["accounts", "list"],
    ["init"],
    ["score"],
    ["explain", "acme"],
    ["export", "accounts"],
    ["outreach", "plan"],
    ["import", "accounts", str(resources.seeds_dir() / "accounts.csv")],
]


@pytest.mark.parametrize("accounts", [True, False], ids=["with-accounts", "without"])
@pytest.mark.parametrize("command", FOREIGN_COMMANDS, ids=[" ".join(c[:2]) for c in FOREIGN_COMMANDS])
def test_another_applications_database_is_refused_untouched(
    tmp_path: Path, command: list[str], accounts: bool
) -> None:
    path = foreign_file(tmp_path, accounts=accounts)
    before = digest(path)
    result = runner.invoke(app, [*command, "--db", str(path)])
    assert result.exit_code == 3, result.output
    assert f"error: {path}: not a cockpit database" in result.stderr
    assert digest(path) == before
    assert sorted(tmp_path.iterdir()) == [path]


def test_doctor_on_another_applications_database(tmp_path: Path) -> None:
    path = foreign_file(tmp_path, accounts=True)
    before = digest(path)
    result = runner.invoke(app, ["doctor", "--db", str(path)])
    assert result.exit_code == 3
    assert f"FAIL  database     {path}: not a cockpit database" in result.stdout
    assert "`cockpit init`" not in result.stdout  # init could not succeed on it
    assert "--db NEW.db" in result.stdout
    assert digest(path) == before


def test_reading_commands_never_create_a_database(tmp_path: Path) -> None:
    default = paths.resolve_db_path(None)
    for command in (
        ["accounts", "list"],
        ["export", "accounts"],
        ["outreach", "list"],
        ["sync", "status"],
        [],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 3, command
        assert f"error: {default}: no database here" in result.stderr
        assert "cockpit init" in result.stderr
        assert not default.exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    result = runner.invoke(app, ["accounts", "list", "--db", str(empty)])
    assert result.exit_code == 3
    assert f"error: {empty}: no cockpit database here (the file is empty)" in result.stderr
    assert empty.read_bytes() == b""
    assert runner.invoke(app, ["init", "--db", str(empty)]).exit_code == 0


def test_an_import_creates_the_default_database_on_first_use() -> None:
    default = paths.resolve_db_path(None)
    result = runner.invoke(app, ["import", "accounts", str(resources.seeds_dir() / "accounts.csv")])
    assert result.exit_code == 0, result.output
    assert default.exists()


def old_cockpit_file(path: Path, *, clash: str | None = None) -> Path:
    """A database of cockpit 0.1.0 (schema 0001, in WAL mode as cockpit leaves it); `clash` adds a table
    that a later migration creates, so that the upgrade fails half way."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript((FIXTURES / "cockpit-0.1.0.sql").read_text(encoding="utf-8"))
    if clash:
        conn.execute(f"CREATE TABLE {clash} (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    return path


def test_a_migration_that_fails_half_way_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    names = [migration.name for migration in migrations._migrations]
    assert names.index("0003_clv") > names.index("0002_import_runs")  # earlier ones apply before it fails
    path = old_cockpit_file(tmp_path / "old.db", clash="clv_runs")
    before = digest(path)
    with pytest.raises(DatabaseError, match=r"table clv_runs already exists.*nothing was changed"):
        open_store(path)
    assert digest(path) == before
    conn = sqlite3.connect(path)
    assert [row[0] for row in conn.execute("SELECT name FROM _sqlite_migrations")] == ["0001_initial"]
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'import_runs'").fetchone()[0] == 0
    conn.close()
    result = runner.invoke(app, ["init", "--db", str(path)])
    assert result.exit_code == 3
    assert f"error: {path}: cannot bring the database up to this cockpit's schema" in result.stderr
    doctor = runner.invoke(app, ["doctor", "--db", str(path)])
    assert "FAIL  schema" in doctor.stdout
    assert "they cannot be applied" in doctor.stdout
    assert "`cockpit init`" not in doctor.stdout
    assert digest(path) == before


def test_doctor_rehearses_pending_migrations_without_applying_them(tmp_path: Path) -> None:
    path = old_cockpit_file(tmp_path / "old.db")
    result = runner.invoke(app, ["doctor", "--db", str(path)])
    assert "warn  schema" in result.stdout
    assert "now with `cockpit init`" in result.stdout
    conn = sqlite3.connect(path)
    assert [row[0] for row in conn.execute("SELECT name FROM _sqlite_migrations")] == ["0001_initial"]
    conn.close()


def test_the_store_refuses_a_foreign_file_before_writing(tmp_path: Path) -> None:
    path = foreign_file(tmp_path, accounts=False)
    with pytest.raises(NotACockpitDatabase, match="notes"):
        open_store(path, create=True)


# --- A full disk ------------------------------------------------------------------------------------------


@contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[Path]:
    """A file system of its own, `megabytes` big (a tmpfs): a disk that really fills up. Mounting one needs
    root (the tests run as root); elsewhere the tests that need it skip, and the ones below that fill a
    database to SQLite's page limit instead still run."""
    mount = shutil.which("mount")
    if mount is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a disk that fills up) needs root and mount(8)")
    folder.mkdir()
    result = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def fill_up(folder: Path) -> None:
    """Take every free byte of the file system holding `folder`."""
    with (folder / "filler").open("wb", buffering=0) as handle:
        for size in (1 << 20, 4096, 512, 1):
            with suppress(OSError):
                while handle.write(bytes(size)):
                    pass
    assert shutil.disk_usage(folder).free == 0


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("accounts", "usage_events", "scores", "outreach")
        }
    finally:
        conn.close()


def assert_disk_full_reported(result: subprocess.CompletedProcess[str], book: Path, disk: Path) -> None:
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"error: {book}: the disk is full" in result.stderr
    assert f"free on {disk}, which holds the database" in result.stderr
    assert f"Free space on {disk}" in result.stderr


@pytest.mark.slow
def test_an_import_that_fills_the_disk_says_so_and_keeps_the_book(demo_book: Path, tmp_path: Path) -> None:
    """The import runs out of room half way: it says which disk is full and what to do, and lands nothing."""
    header, *rows = (resources.seeds_dir() / "usage_events.csv").read_text(encoding="utf-8").splitlines()
    source = header.split(",").index("source_id")
    copies = []  # four times the demo's usage, each copy new (another source id)
    for n in range(4):
        for row in rows:
            cells = row.split(",")
            cells[source] = f"copy-{n}"
            copies.append(",".join(cells))
    big = tmp_path / "usage.csv"  # on the big disk
    big.write_text("\n".join([header, *copies]) + "\n", encoding="utf-8")
    with small_disk(tmp_path / "disk", 10) as disk:
        book = disk / "book.db"
        shutil.copy(demo_book, book)
        before = counts(book)
        result = cockpit("import", "usage", str(big), "--db", str(book))
        assert_disk_full_reported(result, book, disk)
        assert counts(book) == before


@pytest.mark.slow
def test_on_a_full_disk_every_command_says_which_disk_and_doctor_reports_it(
    demo_book: Path, tmp_path: Path
) -> None:
    """A completely full disk: SQLite cannot even map its shared-memory file, and says "disk I/O error"."""
    with small_disk(tmp_path / "disk", 10) as disk:
        book = disk / "book.db"
        shutil.copy(demo_book, book)
        before = counts(book)
        fill_up(disk)
        scored, listed, doctor = (
            cockpit(*command, "--db", str(book)) for command in (["score"], ["accounts", "list"], ["doctor"])
        )
        for result in (scored, listed):
            assert_disk_full_reported(result, book, disk)
        assert doctor.returncode == 3
        assert "Traceback" not in doctor.stderr + doctor.stdout
        assert f"FAIL  database     {book}: the disk is full" in doctor.stdout
        assert f"fix: Free space on {disk}" in doctor.stdout
        (disk / "filler").unlink()
        assert counts(book) == before


@pytest.mark.slow
def test_a_commit_that_finds_the_disk_full_saves_nothing(demo_book: Path, tmp_path: Path) -> None:
    """The database is open elsewhere (its -wal and -shm files exist) when the disk fills: the approval's
    change fails when it is committed to the WAL."""
    with small_disk(tmp_path / "disk", 10) as disk:
        book = disk / "book.db"
        shutil.copy(demo_book, book)
        before = counts(book)
        draft = first_draft(book)
        reader = sqlite3.connect(book)  # as the TUI keeps it open
        try:
            reader.execute("PRAGMA journal_mode = WAL").fetchone()
            fill_up(disk)
            result = cockpit("outreach", "approve", draft, "--db", str(book))
            assert_disk_full_reported(result, book, disk)
        finally:
            reader.close()
        (disk / "filler").unlink()
        assert counts(book) == before
        assert first_draft(book) == draft  # still a draft


@pytest.mark.slow
def test_a_read_that_finds_sqlites_temporary_folder_full_names_it(tmp_path: Path) -> None:
    """Reading needs room too: a big sort spills to SQLite's temporary folder. The churn fit reads the book
    before any transaction; the folder is named all the same."""
    book = tmp_path / "generated.db"
    now = datetime.fromisoformat(PINNED_NOW)
    build_demo(book, load_settings(), clock=fixed_clock(now), accounts=1000, score=False)
    before = counts(book)
    with small_disk(tmp_path / "disk", 1) as disk:
        fill_up(disk)
        result = subprocess.run(
            [sys.executable, "-m", "cockpit", "churn", "fit", "--db", str(book)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "SQLITE_TMPDIR": str(disk)},
        )
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert f"error: {book}: the disk is full" in result.stderr
    assert f"0 bytes free on {disk}, where SQLite keeps its temporary files" in result.stderr
    assert f"Free space on {disk}" in result.stderr
    assert counts(book) == before


def full_at(store: Store, spare_pages: int = 2) -> None:
    """Let the store's connection grow the file by `spare_pages` pages only: SQLite's own "database or disk
    is full" (SQLITE_FULL), the error a full disk gives, on any file system and for any user."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + spare_pages}")


def test_a_scoring_run_whose_writer_thread_finds_the_disk_full_saves_nothing(book: Path) -> None:
    """The scores go in from a thread of their own: its failure comes back as the disk-full error."""
    before = counts(book)
    store = open_store(book)
    try:
        full_at(store)
        now = datetime.fromisoformat(PINNED_NOW)
        with pytest.raises(DiskFull, match=rf"{book}: the disk is full") as full:
            run_scoring(store, load_settings(), now.date(), clock=fixed_clock(now))
        assert "Free space on " in str(full.value)
    finally:
        store.close()
    assert counts(book) == before


def test_a_migration_that_finds_the_disk_full_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = old_cockpit_file(tmp_path / "old.db")
    before = digest(path)
    store = Store(path)
    try:
        full_at(store, spare_pages=1)
        with pytest.raises(DiskFull, match=rf"{path}: the disk is full.*nothing was saved"):
            store.migrate()
    finally:
        store.close()
    assert digest(path) == before
