"""Which column means which field when a file's columns overlap: profiles and --map win over aliases, and
the README's vendor examples run as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.test_import import book, cockpit, rows, write

__all__ = ["book"]

HUBSPOT_CONTACTS = (
    "Record ID,First Name,Last Name,Email,Associated Company,Associated Company IDs (Primary),"
    "Unsubscribed from all email\n"
    "501,Pat,Doe,pat@acme.example,Acme Ltd,acc-1,false\n"
    "502,Sam,Roe,sam@globex.example,Globex,acc-2,true\n"
)


def test_a_profile_column_wins_over_an_alias_of_the_same_field(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "hubspot-contacts.csv", HUBSPOT_CONTACTS)
    code, _, err = cockpit("import", "contacts", source, "--db", book, "--profile", "hubspot-contacts")
    assert code == 0, err
    assert rows(
        book,
        "SELECT hubspot_id, account_id, email_opt_in FROM contacts WHERE hubspot_id IS NOT NULL ORDER BY 1",
    ) == [("501", "acc-1", 1), ("502", "acc-2", 0)]


def test_a_conflict_hint_keeps_the_column_that_can_resolve_and_a_map_settles_it(
    book: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "c.csv", "id,Company,Company ID,email\ncon-9,Acme Ltd,acc-1,x@acme.example\n")
    code, _, err = cockpit("import", "contacts", source, "--db", book)
    assert code == 2
    assert "columns 'Company' and 'Company ID' both mean contacts field 'account'" in err
    assert "--map 'Company=' to ignore 'Company' and keep 'Company ID'" in err
    code, _, err = cockpit("import", "contacts", source, "--db", book, "--map", "Company ID=account")
    assert code == 0, err
    assert rows(book, "SELECT account_id FROM contacts WHERE id = 'con-9'") == [("acc-1",)]


def test_a_blank_inverted_cell_is_not_given(book: Path, tmp_path: Path) -> None:
    """Ann (con-1) opted in; a blank "Email Opt Out" leaves that as it is, as a blank cell does anywhere."""
    source = write(tmp_path / "sf.csv", "Contact ID,Account ID,Last Name,Email,Email Opt Out\n"
                   "003A,acc-1,Lee,ann@acme.example,\n003B,acc-1,Roe,b@acme.example,1\n")  # fmt: skip
    code, _, err = cockpit("import", "contacts", source, "--db", book, "--profile", "salesforce-contacts")
    assert code == 0, err
    assert rows(
        book,
        "SELECT id, salesforce_id, email_opt_in FROM contacts WHERE salesforce_id IS NOT NULL ORDER BY 2",
    ) == [
        ("con-1", "003A", 1),
        ("salesforce-003B", "003B", 0),
    ]


ZENDESK_TICKETS = (
    "Id,Requester,Requester id,Requester external id,Requester email,Requester domain,Submitter,Assignee,"
    "Group,Subject,Tags,Status,Priority,Via,Ticket type,Created at,Updated at,Assigned at,Organization,"
    "Due date,Initially assigned at,Solved at,Resolution time,Satisfaction Score,Reopens,Replies\n"
    "1041,Ann Lee,3810,,ann@acme.example,acme.example,Ann Lee,Kim,Support,Export fails,export bug,solved,"
    "high,Email,Problem,2026-11-18T09:12:00Z,2026-11-19T10:00:00Z,2026-11-18T09:30:00Z,Acme Ltd,,"
    "2026-11-18T09:30:00Z,2026-11-19T10:00:00Z,25,Good,0,3\n"
    "1042,Bo Chan,3811,,bo@globex.example,globex.example,Bo Chan,,,Invoice question,,new,"
    "-,Web form,Question,2026-11-20T14:03:00Z,2026-11-20T14:03:00Z,,Globex,,,,,Unoffered,0,0\n"
    "1043,Bo Chan,3811,,bo@globex.example,globex.example,Bo Chan,Kim,Support,Waiting on vendor,,hold,"
    "urgent,Email,Incident,2026-11-21T08:00:00Z,2026-11-21T09:00:00Z,,Globex,,,,,Unoffered,0,1\n"
)
"""A Zendesk ticket export, its columns as Zendesk's CSV export names them, with Zendesk's own statuses (new,
hold) and a ticket without a priority (`-`)."""


def test_the_readme_zendesk_example_runs_as_written(book: Path, tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    command = re.search(r"`(cockpit import tickets zendesk\.csv[^`]*)`", readme)
    assert command is not None, "the README shows a Zendesk ticket import"
    write(tmp_path / "zendesk.csv", ZENDESK_TICKETS)
    args = [str(tmp_path / arg) if arg == "zendesk.csv" else arg for arg in shlex.split(command.group(1))[1:]]
    code, _, err = cockpit(*args, "--db", book)
    assert code == 0, err
    assert rows(
        book, "SELECT id, account_id, contact_id, status, priority, closed_at FROM tickets ORDER BY 1"
    ) == [
        ("1041", "acc-1", "con-1", "solved", "high", "2026-11-19T10:00:00+00:00"),
        ("1042", "acc-2", "con-2", "open", None, None),
        ("1043", "acc-2", "con-2", "pending", "urgent", None),
    ]
