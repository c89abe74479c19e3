"""One customer view: a reference to an account, from whatever system wrote it, finds that account or says
why not (none, or more than one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.domain.identity import domain_forms, salesforce_forms, salesforce_suffix
from tests.test_import import book_of, cockpit, fingerprint, rows, write

ACCOUNTS = """id,name,domain,hubspot_id,salesforce_id
acc-1,Acme Ltd,acme.example,901,001A000001aBcDeIAK
acc-2,Globex,www.globex.example,902,001A000002QrStU
901,Initech,initech.example,,
"""
"""acc-1's Salesforce id is given in its 18-character form, acc-2's in its 15-character one (kept in its 18);
the account whose id is 901 is not the one whose HubSpot id is 901."""


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return book_of(tmp_path, ACCOUNTS)


def test_salesforce_ids_in_both_forms_are_the_same_record() -> None:
    """The documented checksum: a bit per upper-case letter of each five characters, read in A-Z0-5."""
    assert salesforce_suffix("001A000001aBcDe") == "IAK"
    assert salesforce_suffix("001A000002QrStU") == "IAV"
    assert salesforce_suffix("abcdeabcdeabcde") == "AAA"
    assert salesforce_suffix("ABCDEABCDEABCDE") == "555"
    assert salesforce_forms("001A000001aBcDe") == ("001A000001aBcDe", "001A000001aBcDeIAK")
    # The 18-character form is case-insensitive: its suffix restores the case of the first fifteen.
    assert salesforce_forms("001a000001abcdeiak") == ("001A000001aBcDe", "001A000001aBcDeIAK")
    assert salesforce_forms("001A000001aBcDe12") is None  # '1' says a letter where there is a digit
    assert salesforce_forms("acme.example") is None


def test_domains_are_read_from_addresses_and_emails() -> None:
    assert domain_forms("https://www.Acme.com/path?q=1") == ("acme.com",)
    assert domain_forms("WWW.Acme.com") == ("acme.com",)
    assert domain_forms("app.acme.com") == ("app.acme.com",)
    assert domain_forms("app.acme.com", ["app"]) == ("app.acme.com", "acme.com")
    assert domain_forms("Jane.Doe@Acme.com") == ("acme.com",)
    assert domain_forms("max@www.acme.com") == ("acme.com",)
    assert domain_forms("max@app.acme.com", ["app"]) == ("app.acme.com", "acme.com")
    assert domain_forms("jane@gmail.com") == ()
    assert domain_forms("12345") == domain_forms("1.5") == domain_forms("acc-1") == ()


RESOLVED = [
    ("acc-1", "acc-1"),
    ("902", "acc-2"),
    ("001A000001aBcDe", "acc-1"),  # the 15-character form of the 18 stored
    ("001A000002QrStUIAV", "acc-2"),  # the 18-character form of the 15 given
    ("001a000002qrstuiav", "acc-2"),  # ... in any case
    ("https://www.Acme.example/pricing", "acc-1"),
    ("WWW.Globex.example", "acc-2"),
    ("jane.doe@acme.example", "acc-1"),  # a person not in the book: their email's domain
]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_every_way_of_naming_an_account_finds_it(book: Path, tmp_path: Path, suffix: str) -> None:
    """Usage from CSV (the fast path) and JSON Lines (full validation) resolve alike."""
    if suffix == "csv":
        body = "account,feature,occurred_at\n" + "".join(
            f"{ref},reports,2026-11-{day:02d}\n" for day, (ref, _) in enumerate(RESOLVED, 1)
        )
    else:
        body = "".join(
            f'{{"account": "{ref}", "feature": "reports", "occurred_at": "2026-11-{day:02d}"}}\n'
            for day, (ref, _) in enumerate(RESOLVED, 1)
        )
    code, _, err = cockpit("import", "usage", write(tmp_path / f"usage.{suffix}", body), "--db", book)
    assert code == 0, err
    stored = rows(book, "SELECT account_id FROM usage_events ORDER BY occurred_at")
    assert stored == [(account,) for _, account in RESOLVED]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_a_bare_number_that_is_an_id_and_a_crm_id_is_an_error(
    book: Path, tmp_path: Path, suffix: str
) -> None:
    text = (
        "account,feature,occurred_at\nacc-1,reports,2026-11-01\n901,reports,2026-11-02\n"
        if suffix == "csv"
        else '{"account": "acc-1", "feature": "reports", "occurred_at": "2026-11-01"}\n'
        '{"account": 901, "feature": "reports", "occurred_at": "2026-11-02"}\n'
    )
    source = write(tmp_path / f"usage.{suffix}", text)
    before = fingerprint(book)
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 1
    row = 3 if suffix == "csv" else 2  # after the header; JSON Lines have none
    assert (
        f"{source}:{row}: account: names more than one account: 901 (by id) and acc-1 (by HubSpot id) (901)"
        in err
    )
    assert fingerprint(book) == before
    # Commands naming an account say so too, instead of picking one.
    code, _, err = cockpit("accounts", "history", "901", "--db", book)
    assert code == 1
    assert "'901' names more than one account: 901 (by id) and acc-1 (by HubSpot id)." in err


def test_a_reference_matching_two_accounts_names_both(book: Path, tmp_path: Path) -> None:
    """A domain that is one account's and a Salesforce id that is another's, given as one reference, cannot
    happen; a HubSpot id that is another account's Salesforce id can."""
    accounts = "id,name,hubspot_id\nacc-9,Umbrella,001A000001aBcDe\n"
    assert cockpit("import", "accounts", write(tmp_path / "more.csv", accounts), "--db", book)[0] == 0
    source = write(tmp_path / "signals.csv", "account,kind,occurred_at\n001A000001aBcDe,login,2026-11-01\n")
    code, _, err = cockpit("import", "signals", source, "--db", book)
    assert code == 1
    assert "names more than one account: acc-9 (by HubSpot id) and acc-1 (by Salesforce id)" in err


def test_a_free_mail_address_names_no_account(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "signals.csv", "account,kind,occurred_at\njane@gmail.com,login,2026-11-01\n")
    code, _, err = cockpit("import", "signals", source, "--db", book)
    assert code == 1
    assert f"{source}:2: account: a free-mail address names no account (jane@gmail.com)" in err


def test_a_sub_domain_names_its_account_only_where_configured(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "signals.csv", "account,kind,occurred_at\napp.acme.example,login,2026-11-01\n")
    code, _, err = cockpit("import", "signals", source, "--db", book)
    assert code == 1
    assert "no such account" in err
    config = write(tmp_path / "config.toml", '[import]\naccount_subdomains = ["app"]\n')
    code, _, err = cockpit("import", "signals", source, "--db", book, "--config", config)
    assert code == 0, err
    assert rows(book, "SELECT account_id FROM signals") == [("acc-1",)]


def test_an_account_file_with_the_other_salesforce_form_updates_the_account(
    book: Path, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "sf.csv", "salesforce_id,owner\n001A000001aBcDe,Robin\n001a000002qrstuiav,Sam\n"
    )
    code, _, err = cockpit("import", "accounts", source, "--db", book)
    assert code == 0, err
    assert "0 inserted, 2 updated" in err
    assert rows(book, "SELECT id, owner FROM accounts WHERE owner IN ('Robin', 'Sam') ORDER BY id") == [
        ("acc-1", "Robin"),
        ("acc-2", "Sam"),
    ]


def test_ids_from_other_systems_are_kept_as_aliases(book: Path, tmp_path: Path) -> None:
    """A column named `alias:stripe`, or one mapped to `alias:zendesk`, gives the account's id in that system;
    references then find the account by it, and one that is also another account's id is ambiguous."""
    accounts = write(
        tmp_path / "aliases.csv",
        "id,alias:stripe,Zendesk Organization ID,aliases\nacc-1,cus_Nv1,7001,intercom:i-1\nacc-2,cus_Nv2,901,\n",
    )
    code, _, err = cockpit(
        "import", "accounts", accounts, "--db", book, "--map", "Zendesk Organization ID=alias:zendesk"
    )
    assert code == 0, err
    assert rows(book, "SELECT system, value, account_id FROM account_aliases ORDER BY 1, 2") == [
        ("intercom", "i-1", "acc-1"),
        ("stripe", "cus_Nv1", "acc-1"),
        ("stripe", "cus_Nv2", "acc-2"),
        ("zendesk", "7001", "acc-1"),
        ("zendesk", "901", "acc-2"),
    ]
    tickets = write(
        tmp_path / "tickets.csv", "id,account,opened_at\nt-1,cus_Nv2,2026-11-01\nt-2,7001,2026-11-02\n"
    )
    code, _, err = cockpit("import", "tickets", tickets, "--db", book)
    assert code == 0, err
    assert rows(book, "SELECT id, account_id FROM tickets ORDER BY id") == [
        ("t-1", "acc-2"),
        ("t-2", "acc-1"),
    ]
    # 901 is the id of one account, the HubSpot id of another and the Zendesk id of a third.
    usage = write(tmp_path / "usage.csv", "account,feature,occurred_at\n901,reports,2026-11-01\n")
    code, _, err = cockpit("import", "usage", usage, "--db", book)
    assert code == 1
    assert (
        "names more than one account: 901 (by id) and acc-1 (by HubSpot id) and acc-2 (by zendesk alias)"
        in err
    )
    # An alias names one account: giving it to another is refused, not moved.
    before = fingerprint(book)
    moved = write(tmp_path / "moved.csv", "id,alias:stripe\n901,cus_Nv1\n")
    code, _, err = cockpit("import", "accounts", moved, "--db", book)
    assert code == 1
    assert f"{moved}:2: aliases: stripe id cus_Nv1 already names account acc-1 (cus_Nv1)" in err
    assert fingerprint(book) == before


PEOPLE = [
    ("ann@acme.example", "acc-1", "con-1"),  # a contact, by email
    ("con-2", "acc-2", "con-2"),  # a contact, by id
    ("jane.doe@acme.example", "acc-1", ""),  # a person not in the book: the account of their email's domain
    ("Max@WWW.Globex.example", "acc-2", ""),
]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_an_event_naming_only_a_person_belongs_to_their_account(
    book: Path, tmp_path: Path, suffix: str
) -> None:
    """A Segment or Mixpanel export names the user, not the account."""
    if suffix == "csv":
        body = "email,event,timestamp\n" + "".join(
            f"{person},reports,2026-11-{day:02d}\n" for day, (person, _, _) in enumerate(PEOPLE, 1)
        )
    else:
        body = "".join(
            f'{{"email": "{person}", "event": "reports", "timestamp": "2026-11-{day:02d}"}}\n'
            for day, (person, _, _) in enumerate(PEOPLE, 1)
        )
    code, _, err = cockpit("import", "usage", write(tmp_path / f"usage.{suffix}", body), "--db", book)
    assert code == 0, err
    stored = rows(book, "SELECT account_id, contact_id FROM usage_events ORDER BY occurred_at")
    assert stored == [(account, contact) for _, account, contact in PEOPLE]
    signals = write(
        tmp_path / "signals.csv", "user_email,kind,occurred_at\njane.doe@acme.example,login,2026-11-01\n"
    )
    code, _, err = cockpit("import", "signals", signals, "--db", book)
    assert code == 0, err
    assert rows(book, "SELECT account_id, contact_id FROM signals") == [("acc-1", None)]


def test_a_person_who_names_no_account_is_a_bad_row(book: Path, tmp_path: Path) -> None:
    source = write(
        tmp_path / "usage.csv",
        "user_id,event,timestamp\njoe@gmail.com,reports,2026-11-01\nu-17,reports,2026-11-02\n",
    )
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 1
    assert f"{source}:2: user_id: a free-mail address names no account (joe@gmail.com)" in err
    assert f"{source}:3: user_id: no such contact (u-17)" in err
    neither = write(tmp_path / "neither.csv", "event,timestamp\nreports,2026-11-01\n")
    code, _, err = cockpit("import", "usage", neither, "--db", book)
    assert code == 2
    assert "usage need a column for one of account, contact, to find their account." in err
