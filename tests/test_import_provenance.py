"""Two sources disagree on an account field: the newer value wins by the sources' own modified times, an
older one never overwrites it, and where each value came from is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.store import Store
from cockpit.store.provenance import field_sources
from tests.test_import import book_of, cockpit, rows, write

ACCOUNTS = """id,name,domain,hubspot_id,salesforce_id
acc-1,Acme Ltd,acme.example,901,001A000001aBcDeIAK
acc-2,Globex,globex.example,902,001A000002QrStU
"""
HUBSPOT = """Record ID,Company name,Company owner,Lifecycle Stage,Last Modified Date
901,Acme Ltd,Dana,customer,2026-11-20 14:03
902,Globex,Lee,customer,2026-11-20 14:03
"""
SALESFORCE = """Account ID,Account Name,Account Owner,Type,Last Modified Date
001A000001aBcDe,Acme Ltd,Robin,Customer - Direct,11/19/2026 9:00 AM
001A000002QrStU,Globex,Sam,Customer - Channel,11/25/2026 3:45 PM
"""
"""Acme last changed in Salesforce before HubSpot; Globex after."""


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return book_of(tmp_path, ACCOUNTS)


def _import(book: Path, path: Path, profile: str) -> str:
    code, _, err = cockpit("import", "accounts", path, "--profile", profile, "--db", book)
    assert code == 0, err
    return err


def test_the_newer_value_wins_whichever_source_comes_last(book: Path, tmp_path: Path) -> None:
    hubspot = write(tmp_path / "hubspot-companies.csv", HUBSPOT)
    salesforce = write(tmp_path / "salesforce-accounts.csv", SALESFORCE)
    _import(book, hubspot, "hubspot-companies")
    err = _import(book, salesforce, "salesforce-accounts")
    assert "3 value(s) older than the one stored (by the sources' modified times) left as they were" in err
    expected = [("acc-1", "Dana", "customer"), ("acc-2", "Sam", "Customer - Channel")]
    assert rows(book, "SELECT id, owner, lifecycle_stage FROM accounts ORDER BY id") == expected
    # A report's 15-character Salesforce ids are kept in the API's 18-character form.
    assert rows(book, "SELECT salesforce_id FROM accounts ORDER BY id") == [
        ("001A000001aBcDeIAK",),
        ("001A000002QrStUIAV",),
    ]
    # The other order lands on the same values: an older file imported last changes nothing it should not.
    _import(book, hubspot, "hubspot-companies")
    assert rows(book, "SELECT id, owner, lifecycle_stage FROM accounts ORDER BY id") == expected
    store = Store(book)
    try:
        sources = {(source.field, source.value): source for source in field_sources(store.db, "acc-2")}
    finally:
        store.close()
    owner = sources["owner", "Sam"]
    assert (owner.system, owner.file, owner.modified_at) == (
        "salesforce",
        str(salesforce),
        "2026-11-25T15:45:00+00:00",
    )
    assert owner.written_by.startswith("import:")
    assert sources["name", "Globex"].system == "salesforce"
    # The same from the command line, naming the account by its HubSpot id.
    code, out, err = cockpit("accounts", "sources", "902", "--db", book)
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("owner"))
    assert line.split()[1] == "Sam"
    assert f"Salesforce, changed there 2026-11-25 15:45, import of {salesforce} on 2026-11-25 09:00" in line


def test_a_file_without_modified_times_is_written_as_given(book: Path, tmp_path: Path) -> None:
    """Whoever imports a value with no time of change says it is current."""
    _import(book, write(tmp_path / "hubspot-companies.csv", HUBSPOT), "hubspot-companies")
    code, _, err = cockpit(
        "import", "accounts", write(tmp_path / "owners.csv", "id,owner\nacc-1,Kim\n"), "--db", book
    )
    assert code == 0, err
    assert rows(book, "SELECT owner FROM accounts WHERE id = 'acc-1'") == [("Kim",)]
    assert rows(
        book,
        "SELECT system, modified_at FROM account_field_sources WHERE account_id = 'acc-1' AND field = 'owner'",
    ) == [(None, None)]


def test_a_value_set_by_hand_says_so(book: Path, tmp_path: Path) -> None:
    accounts = write(
        tmp_path / "churn.csv", "id,churned_on,Last Modified Date\nacc-1,2026-11-01,2026-11-20T10:00:00Z\n"
    )
    _import(book, accounts, "hubspot-companies")
    code, _, err = cockpit("accounts", "churned", "acc-1", "--undo", "--db", book)
    assert code == 0, err
    code, out, err = cockpit("accounts", "sources", "acc-1", "--db", book)
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("churned_on"))
    assert "(none)" in line and "set by hand on 2026-11-25 09:00" in line and "import" not in line
