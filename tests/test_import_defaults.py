"""A value the file gives is never replaced by a default that contradicts it, another column or the store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.test_import import book, cockpit, rows, write

__all__ = ["book"]


def test_a_ticket_with_a_closing_time_and_no_status_is_closed(book: Path, tmp_path: Path) -> None:
    tickets = write(
        tmp_path / "tickets.csv",
        "id,account,opened_at,closed_at\nt-1,acc-1,2026-11-01,2026-11-03T10:00:00Z\nt-2,acc-2,2026-11-02,\n",
    )
    code, _, err = cockpit("import", "tickets", tickets, "--db", book)
    assert code == 0, err
    assert rows(book, "SELECT id, status FROM tickets ORDER BY id") == [("t-1", "closed"), ("t-2", "open")]


def test_a_file_without_a_column_leaves_what_the_store_holds(book: Path, tmp_path: Path) -> None:
    first = write(
        tmp_path / "first.csv", "id,account,opened_at,status,escalated\nt-1,acc-1,2026-11-01,pending,yes\n"
    )
    assert cockpit("import", "tickets", first, "--db", book)[0] == 0
    again = write(tmp_path / "again.csv", "id,account,opened_at,subject\nt-1,acc-1,2026-11-01,Login fails\n")
    code, _, err = cockpit("import", "tickets", again, "--db", book)
    assert code == 0, err
    assert rows(book, "SELECT status, escalated, subject FROM tickets") == [("pending", 1, "Login fails")]


def test_reimported_interactions_keep_their_sync_state_and_notes_are_internal(
    book: Path, tmp_path: Path
) -> None:
    calls = write(
        tmp_path / "calls.csv",
        "id,account,kind,occurred_at,summary\ni-1,acc-1,call,2026-11-01,Kick-off\ni-2,acc-1,note,2026-11-02,Budget\n",
    )
    assert cockpit("import", "interactions", calls, "--db", book)[0] == 0
    assert rows(book, "SELECT id, direction, sync_state FROM interactions ORDER BY id") == [
        ("i-1", "outbound", "pending"),
        ("i-2", "internal", "pending"),
    ]
    with sqlite3.connect(book) as conn:  # the outbox pushed them
        conn.execute("UPDATE interactions SET sync_state = 'synced'")
    code, _, err = cockpit("import", "interactions", calls, "--db", book)
    assert code == 0, err
    assert "2 unchanged" in err
    assert rows(book, "SELECT sync_state FROM interactions") == [("synced",), ("synced",)]
