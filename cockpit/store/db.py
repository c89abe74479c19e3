"""Opening the store: one SQLite file in WAL mode, one connection per thread, migrations on open.

A `Store` is shared by every layer; each thread that touches it gets its own connection (SQLite objects
cannot cross threads), so the TUI's workers, the CLI and a sync can all use one `Store`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cockpit.errors import (
    DatabaseBusy,
    DatabaseError,
    DatabaseFromFuture,
    DatabaseMissing,
    DatabaseReadOnly,
    DiskFull,
    NotACockpitDatabase,
)
from cockpit.store.book import RememberedCounts, restage_changed, share_counts
from cockpit.store.migrations import MIGRATION_SET, migrations
from cockpit.store.sqlite import Database
from cockpit.store.staging import import_applying

DEFAULT_BUSY_TIMEOUT_MS = 5000
NOTICE_AFTER_MS = 300
"""A write that waits longer than this for another process says so (`Store.on_wait`)."""
T = TypeVar("T")


@dataclass(frozen=True)
class SchemaStatus:
    applied: list[str]
    pending: list[str]
    unknown: list[str]
    """Migrations recorded in the file that this cockpit does not know: the file is from a newer version."""


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "database is locked" in text or "database is busy" in text


CREATE_HINT = "Create one with `cockpit init`, or try the demo book with `cockpit demo`."
READ_ONLY_HINT = (
    "Make the file and its folder writable (SQLite keeps its -wal and -shm files beside the database), "
    "or copy the file somewhere writable and point --db at the copy."
)


FULL_BELOW_BYTES = 1 << 20
"""A file system with less room than this is full: SQLite cannot even map the shared-memory file it needs
to open a database, and reports a disk I/O error rather than a full disk."""


def _file_system(folder: Path) -> tuple[Path, int]:
    """The mount point of the file system holding `folder`, and the bytes free on it."""
    mount = folder
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    return mount, shutil.disk_usage(folder).free


def _sqlite_temporary_folder() -> Path:
    """Where SQLite writes its temporary files (sorts and index builds too big for memory): on Unix the first
    writable folder of these, as SQLite looks for one."""
    environment = [os.environ.get("SQLITE_TMPDIR"), os.environ.get("TMPDIR")]
    for candidate in [*environment, "/var/tmp", "/usr/tmp", "/tmp"]:
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return Path(candidate)
    return Path(tempfile.gettempdir())


def _amount(count: float) -> str:
    if count < 1000:
        return f"{count:.0f} bytes"
    for unit in ("kB", "MB", "GB"):
        count /= 1000
        if count < 1000:
            return f"{count:.1f} {unit}"
    return f"{count / 1000:.1f} TB"


def _disk_full(path: Path, folder: Path) -> DiskFull:
    """Out of room: where the database lives and, when elsewhere, where SQLite keeps temporary files."""
    mount, free = _file_system(folder)
    rooms = [(mount, free, "which holds the database")]
    temporary_mount, temporary_free = _file_system(_sqlite_temporary_folder())
    if temporary_mount != mount:
        rooms.append((temporary_mount, temporary_free, "where SQLite keeps its temporary files"))
    fullest = min(rooms, key=lambda room: room[1])[0]
    shown = "; ".join(f"{_amount(free_bytes)} free on {where}, {role}" for where, free_bytes, role in rooms)
    return DiskFull(
        f"{path}: the disk is full: SQLite could not write what it needed ({shown}); nothing was saved, "
        "and the database is as it was.",
        hint=f"Free space on {fullest}, or move the database to a disk with room and point --db at it; "
        "then run the command again.",
    )


def _disk_trouble(error: sqlite3.Error, path: Path, folder: Path) -> DatabaseError | None:
    """A full disk (SQLITE_FULL, or an I/O error on a file system without room) or a failing one."""
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF  # the primary code of an extended one
    if code == sqlite3.SQLITE_FULL:
        return _disk_full(path, folder)
    if code != sqlite3.SQLITE_IOERR:
        return None
    if folder.is_dir() and _file_system(folder)[1] < FULL_BELOW_BYTES:
        return _disk_full(path, folder)
    return DatabaseError(
        f"{path}: the disk failed to read or write the database ({getattr(error, 'sqlite_errorname', error)}).",
        hint="Check the disk and its file system (the system log says what failed), then run `cockpit doctor`.",
    )


def recognise_sqlite_error(error: sqlite3.Error, path: Path) -> DatabaseError | None:
    """The error as one the user can act on, when it comes from the file or its surroundings (busy,
    read-only, full, damaged, unreachable) rather than from the statement that met it (a bug: None)."""
    text = str(error)
    folder = Path(os.path.realpath(path)).parent  # SQLite keeps its -wal and -shm files beside the real file
    if isinstance(error, sqlite3.OperationalError) and _is_busy(error):
        return DatabaseBusy(
            f"{path}: another cockpit process (a sync or an import) is writing and did not finish in time.",
            hint="Try again in a moment, or raise database.busy_timeout_ms in your config.",
        )
    trouble = _disk_trouble(error, path, folder)
    if trouble is not None:
        return trouble
    if "file is not a database" in text or "malformed" in text:
        return DatabaseError(
            f"{path}: not a cockpit database, or the file is damaged ({text}).",
            hint="Point --db at a cockpit database, or create one with `cockpit init`.",
        )
    if "readonly" in text:
        return DatabaseReadOnly(
            f"{path}: the database is read-only, so nothing can be saved to it.", hint=READ_ONLY_HINT
        )
    if "unable to open" in text and folder.is_dir() and not os.access(folder, os.W_OK):
        return DatabaseReadOnly(
            f"{path}: cannot open the database: its folder {folder} is read-only, and SQLite needs to "
            "create its -wal and -shm files there.",
            hint=READ_ONLY_HINT,
        )
    if "unable to open" in text:
        return DatabaseError(
            f"{path}: cannot open the database ({text}).",
            hint="Check that the file and its folder exist and are writable.",
        )
    return None


def translate_sqlite_error(error: sqlite3.Error, path: Path) -> DatabaseError:
    """Turn a sqlite3 error into one the user can act on."""
    return recognise_sqlite_error(error, path) or DatabaseError(f"{path}: {error}")


def _schema_objects(path: Path, busy_timeout_ms: int) -> tuple[list[str], bool]:
    """The names in the file's schema, and whether cockpit's migrations are recorded in it; read through a
    read-only connection, so that nothing is written to a file that may belong to another application."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout_ms / 1000)
    try:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name"
            )
        ]
        try:
            ours = conn.execute(
                f"SELECT 1 FROM [{migrations.migrations_table}] WHERE migration_set = ? LIMIT 1",
                [MIGRATION_SET],
            ).fetchone()
        except sqlite3.OperationalError:  # no migrations table, or another tool's of another shape
            ours = None
        return names, ours is not None
    finally:
        conn.close()


def check_cockpit_file(path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, empty_ok: bool) -> None:
    """Refuse an existing file that is not a cockpit database, before anything is written to it: a SQLite
    file whose schema has objects but no record of cockpit's migrations belongs to another application
    (`NotACockpitDatabase`). An empty one gets cockpit's schema only where `empty_ok` (creating commands);
    for the others it is `DatabaseMissing`."""
    try:
        names, ours = _schema_objects(path, busy_timeout_ms)
    except sqlite3.Error as error:
        raise translate_sqlite_error(error, path) from None
    if names and not ours:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise NotACockpitDatabase(
            f"{path}: not a cockpit database: it holds another application's data ({shown}); "
            "cockpit left it untouched.",
            hint="Point --db at your cockpit database, or create a new one with `cockpit init --db NEW.db`.",
        )
    if not names and not empty_ok:
        raise DatabaseMissing(
            f"{path}: no cockpit database here (the file is empty).",
            hint=CREATE_HINT,
        )


_saved: Counter[Path] = Counter()
"""Transactions committed by this process, per database file (see `saved_in_this_process`)."""
_saved_lock = threading.Lock()
_IDLE_READERS = 4
"""Connections kept for `Store.reader` (the book's page, count and marks workers use one each at a time)."""
_READER_CACHE_KIB = 32 * 1024
"""A reader's page cache, filled only as it reads: enough for the indexes a deep jump into a 100,000-account
book walks (the accounts' filter columns by id, 6 MB; a score's order, 2 MB), which SQLite's default (2 MB)
read again from the file at every jump."""


def _count_saved(path: Path, count: int) -> None:
    with _saved_lock:
        _saved[path] += count


def saved_in_this_process() -> dict[Path, int]:
    """The transactions this process has committed, per database file: what an interrupt leaves behind (a
    file that `remove_database` removed, such as a book built under a temporary name, counts for none)."""
    with _saved_lock:
        return {path: count for path, count in _saved.items() if count > 0}


def _roll_back(conn: sqlite3.Connection) -> None:
    """Undo the transaction under way. A rollback that fails itself (the disk failing) is not reported over
    the error that caused it: SQLite ignores a transaction that never committed, in the WAL or the journal,
    the next time the file is opened."""
    with suppress(sqlite3.Error):
        conn.rollback()


class Store:
    """The cockpit database at `path`. Use `db` for reads and `write()` for transactions.

    A write waits for another process's write up to `busy_timeout_ms`; given `write_wait_seconds` (longer),
    it waits on up to that, telling `on_wait` once, with what it waits for ("import" when an import is
    applying its rows, else None), so that the shells can say so."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        write_wait_seconds: float = 0,
        on_wait: Callable[[str | None], None] | None = None,
    ) -> None:
        self.path = Path(os.path.realpath(path))
        """The real file, symbolic links resolved: the database's one identity, whatever name opened it, for
        the locks, the watch for changes and the files kept beside it."""
        self.busy_timeout_ms = busy_timeout_ms
        self.write_wait_seconds = write_wait_seconds
        self.on_wait = on_wait
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._idle_readers: list[Database] = []
        self._closes = 0
        """How many times `close` ran: a reader taken before one is closed when given back."""
        self._lock = threading.Lock()
        self._counts = RememberedCounts(self._open)
        """The book's counts, shared by every connection (`share_counts`)."""
        self.applied_on_open: list[str] = []
        """Migrations that `open_store` applied to bring this file up to date."""

    @property
    def db(self) -> Database:
        """This thread's connection, opened on first use."""
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            db = Database(self._connect())
            share_counts(db, self._counts)
            self._local.db = db
        return db

    @contextmanager
    def reader(self) -> Iterator[Database]:
        """A connection for reads in a short-lived thread (a TUI worker), one at a time: taken from those kept
        since an earlier read, so that its page cache and parsed schema stay warm from one read to the next
        (a thread's own, `db`, is opened cold in each new thread: a page of the book read that way cost 2-3 ms
        of CPU more, and a deep jump re-read the indexes it walks). Given back after, at most `_IDLE_READERS`
        kept; a store closed meanwhile closes it."""
        with self._lock:
            db = self._idle_readers.pop() if self._idle_readers else None
            closes = self._closes
        if db is None:
            db = Database(self._open())
            db.execute(f"PRAGMA cache_size = -{_READER_CACHE_KIB}")
            share_counts(db, self._counts)
        try:
            yield db
        finally:
            _roll_back(db.conn)  # a read leaves no transaction open: the next one sees the file as it is then
            with self._lock:
                keep = closes == self._closes and len(self._idle_readers) < _IDLE_READERS
                if keep:
                    self._idle_readers.append(db)
            if not keep:
                db.conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = self._open()
        with self._lock:
            # Threads come and go (the TUI runs each query in a worker thread): close the connections of
            # threads that have ended, so open connections stay bounded by the live threads.
            for thread, old in [pair for pair in self._connections if not pair[0].is_alive()]:
                old.close()
                self._connections.remove((thread, old))
            self._connections.append((threading.current_thread(), conn))
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            # Each thread uses only its own connection (thread-local) or one `reader` at a time;
            # check_same_thread is off so that close() can close them from whichever thread shuts the store down.
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL makes NORMAL safe against corruption; a power cut may lose only the last commit.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as error:
            raise translate_sqlite_error(error, self.path) from None
        return conn

    @contextmanager
    def write(self, *, foreign_keys: bool = True, keep: bool = True) -> Iterator[Database]:
        """A write transaction that lands whole or not at all.

        BEGIN IMMEDIATE takes the write lock up front, so a busy database waits (busy_timeout) instead of
        failing half way when a read transaction tries to become a write. `foreign_keys=False` is for bulk
        writers that have resolved every reference themselves. `keep=False` rolls the transaction back at
        the end: a rehearsal, which tells whether the writes would land and leaves the file as it was.
        """
        db = self.db
        if db.conn.in_transaction:
            assert keep, "a rehearsal cannot run inside another transaction"
            with db.atomic():
                yield db
            return
        if not foreign_keys:
            db.execute("PRAGMA foreign_keys = OFF")
        try:
            self._begin(db)
        except sqlite3.OperationalError as error:
            db.execute("PRAGMA foreign_keys = ON")
            raise translate_sqlite_error(error, self.path) from None
        except DatabaseBusy:
            db.execute("PRAGMA foreign_keys = ON")
            raise
        try:
            yield db
            if keep:
                restage_changed(db)  # the stored stages of accounts this write changed (migration 0036)
                # Counted before the commit, so that an interrupt right after it is never reported as
                # "nothing was written"; uncounted if it fails.
                _count_saved(self.path, 1)
                try:
                    db.conn.commit()
                except sqlite3.Error:
                    _count_saved(self.path, -1)
                    raise
            else:
                db.conn.rollback()
        except sqlite3.Error as error:
            # A read-only file or a full disk fails here, at the first write or the commit (BEGIN IMMEDIATE
            # succeeds on them), in this thread or in a worker thread whose error the body re-raised.
            _roll_back(db.conn)
            problem = recognise_sqlite_error(error, self.path)
            if problem is None:
                raise
            raise problem from None
        except BaseException:
            _roll_back(db.conn)
            raise
        finally:
            if not foreign_keys:
                db.execute("PRAGMA foreign_keys = ON")

    def _begin(self, db: Database) -> None:
        """BEGIN IMMEDIATE: wait for another process's write up to the busy timeout, or, given a longer
        `write_wait_seconds`, say so after a moment and wait on up to that."""
        if self.write_wait_seconds * 1000 <= self.busy_timeout_ms:
            db.execute("BEGIN IMMEDIATE")
            return
        deadline = time.monotonic() + self.write_wait_seconds
        try:
            db.execute(f"PRAGMA busy_timeout = {min(self.busy_timeout_ms, NOTICE_AFTER_MS)}")
            try:
                db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
            what = "import" if import_applying(self.path) else None
            if self.on_wait is not None:
                self.on_wait(what)
            db.execute(f"PRAGMA busy_timeout = {max(1, int((deadline - time.monotonic()) * 1000))}")
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
                raise DatabaseBusy(
                    f"{self.path}: another cockpit process{f' ({what})' if what else ''} kept writing to "
                    f"the database; waited {self.write_wait_seconds:g} s, and nothing was written.",
                    hint="Try again when it has finished, or raise database.write_wait_seconds in your config.",
                ) from None
        finally:
            db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")

    def change_marker(self) -> tuple[int, ...]:
        """A value that changes whenever any process commits: a commit appends to the WAL file, and a
        checkpoint rewrites the database file. Cheap enough to poll (two stat calls, no SQL)."""
        marker: list[int] = []
        for suffix in ("", "-wal"):
            try:
                stat = os.stat(f"{self.path}{suffix}")
            except FileNotFoundError:
                marker += [0, 0]
            else:
                marker += [stat.st_mtime_ns, stat.st_size]
        return tuple(marker)

    def schema_status(self) -> SchemaStatus:
        known = [migration.name for migration in migrations._migrations]
        applied = [migration.name for migration in migrations.applied(self.db)]
        return SchemaStatus(
            applied=applied,
            pending=[name for name in known if name not in applied],
            unknown=[name for name in applied if name not in known],
        )

    def _known_schema(self) -> SchemaStatus:
        """The schema status; a file written by a newer cockpit is refused."""
        status = self.schema_status()
        if status.unknown:
            raise DatabaseFromFuture(
                f"{self.path}: the database has schema changes this cockpit does not know "
                f"({', '.join(status.unknown)}); it was written by a newer version.",
                hint="Upgrade cockpit (pip install -U cockpit), or open another database with --db.",
            )
        return status

    def migrate(self, *, rehearse: bool = False) -> list[str]:
        """Apply the pending migrations, all in one transaction: they land whole or not at all (sqlite-utils
        would give each its own, and create its record table before any). Returns what was applied. With
        `rehearse`, apply them and roll back: what `migrate` would do or raise, with nothing written."""
        if not self._known_schema().pending:
            return []
        try:
            with self.write(keep=not rehearse) as db:
                # Again under the write lock: another process may have applied them meanwhile.
                pending = self._known_schema().pending
                migrations.apply(db)
        except sqlite3.Error as error:
            raise DatabaseError(
                f"{self.path}: cannot bring the database up to this cockpit's schema ({error}); "
                "nothing was changed.",
                hint="The file's schema clashes with cockpit's: restore it from a backup, or point --db at "
                "another database.",
            ) from None
        return pending

    def reads_beside_writes(self) -> bool:
        """Whether another connection can read committed data while this thread's connection writes: only in
        WAL mode, and only outside a transaction of this thread's, whose changes another could not see."""
        db = self.db
        return not db.conn.in_transaction and db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def integrity_problems(self) -> list[str]:
        """What SQLite's quick check finds wrong (nothing: an empty list)."""
        found = [str(row[0]) for row in self.db.execute("PRAGMA quick_check").fetchall()]
        return [] if found == ["ok"] else found

    def broken_references(self) -> list[str]:
        """The table of each row that points at a record that does not exist."""
        return [str(row[0]) for row in self.db.execute("PRAGMA foreign_key_check").fetchall()]

    def check_writable(self) -> None:
        """Raise `DatabaseReadOnly` (or `DatabaseBusy`) unless a write would land. Writes nothing: the
        probe sets a header field to its own value, rolled back."""
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        with self.write(keep=False) as db:
            db.execute(f"PRAGMA user_version = {version}")

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended. A thread still running (a
        reader an interrupt left behind) keeps its own: closing a connection while another thread steps
        through it crashes SQLite; the process's end closes it."""
        with self._lock:
            current = threading.current_thread()
            running = [
                (thread, conn)
                for thread, conn in self._connections
                if thread.is_alive() and thread is not current
            ]
            for thread, conn in self._connections:
                if (thread, conn) not in running:
                    conn.close()
            self._connections = running
            for reader in self._idle_readers:
                reader.conn.close()
            self._idle_readers.clear()
            self._closes += 1
        self._counts.close()
        self._local = threading.local()


def open_store(
    path: Path,
    *,
    create: bool = False,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    write_wait_seconds: float = 0,
    on_wait: Callable[[str | None], None] | None = None,
) -> Store:
    """Open the cockpit database at `path`, migrated to the current schema. With `create`, a missing or
    empty file becomes a new one; without, it is `DatabaseMissing`. Another application's SQLite file is
    refused before anything is written to it. The writes' waiting is `Store`'s."""
    if not create:
        if not path.parent.is_dir():
            raise DatabaseMissing(
                f"{path}: no database here: the folder {path.parent} does not exist.", hint=CREATE_HINT
            )
        if not path.exists():
            raise DatabaseMissing(
                f"{path}: no database here.",
                hint=CREATE_HINT,
            )
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseError(
                f"{path}: cannot create the folder {path.parent} ({error.strerror})."
            ) from None
    if path.is_dir():
        raise DatabaseError(f"{path}: is a folder, not a database file.")
    if path.exists():
        check_cockpit_file(path, busy_timeout_ms=busy_timeout_ms, empty_ok=create)
    store = Store(
        path, busy_timeout_ms=busy_timeout_ms, write_wait_seconds=write_wait_seconds, on_wait=on_wait
    )
    try:
        store.applied_on_open = store.migrate()
    except sqlite3.Error as error:
        store.close()
        raise translate_sqlite_error(error, path) from None
    except DatabaseError:
        store.close()
        raise
    return store


def remove_database(path: Path) -> None:
    """Delete a database file together with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with _saved_lock:
        _saved.pop(Path(os.path.realpath(path)), None)


def build_database(path: Path, fill: Callable[[Store], T], *, replace: bool = False) -> T:
    """Create a new database at `path` filled by `fill`, so that it appears whole or not at all.

    The file is built under a temporary name beside `path` (beside the real file, when `path` is a symbolic
    link) and renamed into place only once `fill` has returned; an error or an interrupt leaves `path` as
    it was.
    """
    path = Path(os.path.realpath(path))
    if path.exists() and not replace:
        raise DatabaseError(
            f"{path}: a file already exists here.", hint="Choose another --db, or pass --replace."
        )
    temporary = path.with_name(f".{path.name}.building")
    remove_database(temporary)
    try:
        store = open_store(temporary, create=True)
        try:
            result = fill(store)
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            store.close()
    except BaseException:
        remove_database(temporary)
        raise
    remove_database(path)
    os.replace(temporary, path)
    with _saved_lock:
        _saved[path] += _saved.pop(temporary, 0)
    return result


__all__ = [
    "MIGRATION_SET",
    "SchemaStatus",
    "Store",
    "build_database",
    "check_cockpit_file",
    "open_store",
    "recognise_sqlite_error",
    "remove_database",
    "saved_in_this_process",
    "translate_sqlite_error",
]
