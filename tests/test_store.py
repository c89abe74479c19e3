from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlite_utils import Database

from cockpit.errors import DatabaseBusy, DatabaseError, DatabaseFromFuture, DatabaseMissing
from cockpit.store import Store, open_store
from cockpit.store.book import BookQuery, count_book, fetch_book_page
from cockpit.store.db import build_database
from cockpit.store.migrations import MIGRATION_SET, migrations

FIXTURES = Path(__file__).parent / "fixtures"
NOW = "2026-11-22T09:00:00"


def add_account(db: Database, account_id: str, name: str, **fields: object) -> None:
    row = {"id": account_id, "name": name, "created_at": NOW, "updated_at": NOW, **fields}
    db.table("accounts").insert(row)


def test_fresh_database_has_every_table(store: Store) -> None:
    expected = {
        "accounts", "contacts", "products", "features", "product_complements", "entitlements", "usage_events",
        "signals", "tickets", "surveys", "transactions", "interactions", "outreach", "score_runs", "scores",
        "sync_runs", "sync_items", "sync_watermarks", "import_runs", "clv_runs", "clv_fits", "clv_values",
        "sync_conflicts", "sync_snapshots", "sync_pushes", "sync_crm_state", "_sqlite_migrations",
        "outreach_edits", "outreach_runs", "outreach_skips", "account_history", "churn_models", "score_keys",
        "compact_scores", "plan_fingerprints", "subscriptions", "churn_events", "book_view_cache",
        "account_aliases", "account_field_sources", "playbook_mutes", "follow_ups_done", "unscored_accounts",
        "unscored_counts", "plan_changes", "plan_marks", "plan_state", "stage_changes", "follow_up_moves", "merged_records",
    }  # fmt: skip
    assert set(store.db.table_names()) == expected
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_migrations_apply_twice_without_change(tmp_path: Path) -> None:
    path = tmp_path / "twice.db"
    first = open_store(path, create=True)
    schema = first.db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    first.close()
    second = open_store(path)
    assert second.applied_on_open == []
    assert second.db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert [m.name for m in migrations.applied(second.db)] == [
        m.name for m in migrations.pending(Database(memory=True))
    ]
    second.close()


def test_stop_before_leaves_later_migrations_pending(tmp_path: Path) -> None:
    db = Database(tmp_path / "partial.db")
    names = [m.name for m in migrations.pending(db)]
    migrations.apply(db, stop_before=names[-1])
    assert [m.name for m in migrations.pending(db)] == names[-1:]
    db.close()


def test_upgrade_keeps_the_data_of_an_older_file(tmp_path: Path) -> None:
    """A database written by cockpit 0.1.0 (schema 0001, with data) opens and upgrades with its data intact."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "cockpit-0.1.0.sql").read_text(encoding="utf-8"))
    conn.close()
    before = _table_rows(path)
    store = open_store(path)
    assert store.applied_on_open  # the fixture predates later migrations
    assert store.schema_status().pending == []
    store.close()
    after = _table_rows(path, {table: columns for table, (columns, _rows) in before.items()})
    for table, (_columns, rows) in before.items():
        if table != "_sqlite_migrations":
            assert after[table][1] == rows, table
    assert len(after["accounts"][1]) == 3


def _table_rows(
    path: Path, columns: dict[str, list[str]] | None = None
) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    """Each table's columns and rows; with `columns`, only those columns of those tables."""
    db = Database(path)
    found = {}
    for name in columns or db.table_names():
        names = (columns or {}).get(name) or [column.name for column in db.table(name).columns]
        selected = ", ".join(f"[{column}]" for column in names)
        found[name] = (names, db.execute(f"SELECT {selected} FROM [{name}] ORDER BY 1").fetchall())
    db.close()
    return found


def test_database_from_the_future_is_refused(store: Store) -> None:
    with store.write() as db:
        db.table("_sqlite_migrations").insert(
            {"migration_set": MIGRATION_SET, "name": "9999_from_the_future", "applied_at": NOW}
        )
    store.close()
    with pytest.raises(DatabaseFromFuture, match="9999_from_the_future"):
        open_store(store.path)


def test_missing_folder_and_file_are_reported(tmp_path: Path) -> None:
    with pytest.raises(DatabaseMissing, match="does not exist"):
        open_store(tmp_path / "no" / "such" / "cockpit.db")
    with pytest.raises(DatabaseMissing, match="no database here"):
        open_store(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()


def test_garbage_file_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not sqlite at all, just some text" * 100)
    with pytest.raises(DatabaseError, match="not a cockpit database"):
        open_store(path)


def test_write_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as db:
        add_account(db, "a1", "Acme")
        raise RuntimeError("boom")
    assert count_book(store.db, BookQuery()) == 0


def test_each_thread_gets_its_own_connection(store: Store) -> None:
    with store.write() as db:
        add_account(db, "a1", "Acme")
    seen: list[int] = []

    def read() -> None:
        seen.append(count_book(store.db, BookQuery()))

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen == [1]


def test_busy_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    open_store(path, create=True).close()
    holder = Store(path)
    impatient = Store(path, busy_timeout_ms=50)
    with holder.write() as db:
        add_account(db, "a1", "Acme")
        with pytest.raises(DatabaseBusy, match="another cockpit process"), impatient.write():
            pass
    holder.close()
    impatient.close()


def test_build_database_is_all_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "built.db"

    def fail(store: Store) -> None:
        with store.write() as db:
            add_account(db, "a1", "Acme")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        build_database(target, fail)
    assert list(tmp_path.iterdir()) == []

    def fill(store: Store) -> int:
        with store.write() as db:
            add_account(db, "a1", "Acme")
        return 1

    assert build_database(target, fill) == 1
    with pytest.raises(DatabaseError, match="already exists"):
        build_database(target, fill)
    assert build_database(target, fill, replace=True) == 1


def test_book_pages_sort_and_search(store: Store) -> None:
    with store.write() as db:
        for number in range(250):
            add_account(
                db,
                f"acc-{number:03d}",
                f"Company {number:03d}",
                domain=f"c{number}.example",
                mrr=float(number % 7),
                owner=["Ana", "bo", "Cy"][number % 3],
                renewal_date=f"2027-{1 + number % 12:02d}-01",
            )
    query = BookQuery()
    assert count_book(store.db, query) == 250
    first = fetch_book_page(store.db, query, offset=0, limit=100)
    second = fetch_book_page(store.db, query, offset=100, limit=100)
    assert [row.name for row in first][:2] == ["Company 000", "Company 001"]
    assert second[0].name == "Company 100"
    by_mrr = fetch_book_page(store.db, BookQuery(sort="mrr", descending=True), offset=0, limit=3)
    assert [row.mrr for row in by_mrr] == [6.0, 6.0, 6.0]
    assert [row.name for row in by_mrr] == ["Company 006", "Company 013", "Company 020"]
    by_owner = fetch_book_page(store.db, BookQuery(sort="owner"), offset=0, limit=1)
    assert by_owner[0].owner == "Ana"
    found = BookQuery(search="c12.EXAMPLE")
    assert [row.id for row in fetch_book_page(store.db, found, offset=0, limit=10)] == ["acc-012"]
    assert count_book(store.db, BookQuery(search="100%")) == 0
    assert count_book(store.db, BookQuery(search="company 10")) == 10


def test_deleted_accounts_are_not_in_the_book(store: Store) -> None:
    with store.write() as db:
        add_account(db, "a1", "Kept")
        add_account(db, "a2", "Gone", deleted_at=NOW)
    assert [row.id for row in fetch_book_page(store.db, BookQuery(), offset=0, limit=10)] == ["a1"]


def test_connections_of_ended_threads_are_closed(store: Store) -> None:
    def read() -> None:
        count_book(store.db, BookQuery())

    for _ in range(20):
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
    store.db  # noqa: B018 - opening this thread's connection prunes the ended ones
    assert len(store._connections) <= 2


def test_a_reader_is_kept_warm_across_threads_and_sees_each_commit(store: Store) -> None:
    """`Store.reader`: each short-lived thread reads on a connection kept from the reads before (at most a
    few kept), sees what was written since (no read transaction left open), and a closed store closes them."""
    seen: list[tuple[int, int]] = []

    def read() -> None:
        with store.reader() as db:
            seen.append((id(db.conn), count_book(db, BookQuery())))

    for name in ("First", "Second"):
        with store.write() as db:
            add_account(db, name.lower(), name)
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
    assert [count for _, count in seen] == [1, 2]
    assert seen[0][0] == seen[1][0], "the second thread read on a new connection"
    with store.reader() as first, store.reader() as second:
        assert first is not second
    taken = [store.reader() for _ in range(8)]
    readers = [reader.__enter__() for reader in taken]
    for reader in taken:
        reader.__exit__(None, None, None)
    assert store._idle_readers == readers[:4]
    with pytest.raises(sqlite3.ProgrammingError):  # one more than are kept: closed as it came back
        readers[4].conn.execute("SELECT 1")
    store.close()
    assert store._idle_readers == []
    with pytest.raises(sqlite3.ProgrammingError):
        readers[0].conn.execute("SELECT 1")


def test_the_health_evidence_migration_lets_scores_be_not_enough_data(tmp_path: Path) -> None:
    """0011 rebuilds `scores` with "insufficient" among the bands its CHECK allows: the rows, columns and
    indexes stay as they were, and any other band is still refused."""
    db = Database(tmp_path / "scores.db")
    db.execute("PRAGMA foreign_keys = ON")
    migrations.apply(db, stop_before="0011_health_evidence")
    add_account(db, "acc-1", "Acme")
    db.execute("INSERT INTO score_runs (id, as_of, started_at) VALUES (1, '2026-11-22', ?)", [NOW])
    db.execute(
        "INSERT INTO scores (run_id, account_id, as_of, health, health_band, churn_risk, churn_tier, value) "
        "VALUES (1, 'acc-1', '2026-11-22', 80, 'green', 0.1, 'low', 1200)"
    )
    rows = db.execute("SELECT * FROM scores").fetchall()
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scores' ORDER BY name"
    ).fetchall()
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE scores SET health_band = 'insufficient'")

    migrations.apply(db, stop_before="0036_stored_stage")  # which adds a column
    assert db.execute("SELECT * FROM scores").fetchall() == rows
    assert (
        db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'scores' ORDER BY name"
        ).fetchall()
        == indexes
    )
    db.execute("UPDATE scores SET health = NULL, health_band = 'insufficient'")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE scores SET health_band = 'purple'")
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.close()
