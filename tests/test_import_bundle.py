"""`cockpit import bundle DIR`: a whole export folder in one command and one transaction (issue 16, point 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_import import cockpit, fingerprint, rows, write
from tests.test_import_kept import SAAS_ACCOUNTS, SAAS_CHURN_EVENTS, SAAS_SUBSCRIPTIONS, db

__all__ = ["db"]

SAAS_FEATURE_USAGE = (
    "usage_id,subscription_id,usage_date,feature_name,usage_count,usage_duration_secs,error_count,is_beta_feature\n"
    "U-1,S-2,2026-11-20,reports,12,340,0,False\n"
    "U-2,S-4,2026-11-21,reports,3,60,1,False\n"
)
HUBSPOT_COMPANIES = (
    "Record ID,Company name,Company Domain Name,Company owner,Lifecycle Stage,Industry,Country/Region\n"
    "901,Initech,initech.example,Kim,customer,Software,US\n"
)


def export_folder(folder: Path) -> Path:
    """A SaaS data set's tables as exported, a HubSpot companies export, the catalogue, and a README."""
    folder.mkdir()
    write(folder / "ravenstack_accounts.csv", SAAS_ACCOUNTS)
    write(folder / "ravenstack_subscriptions.csv", SAAS_SUBSCRIPTIONS)
    write(folder / "ravenstack_churn_events.csv", SAAS_CHURN_EVENTS)
    write(folder / "ravenstack_feature_usage.csv", SAAS_FEATURE_USAGE)
    write(folder / "hubspot-companies.csv", HUBSPOT_COMPANIES)
    write(folder / "products.csv", "id,name\ncore,Core\n")
    write(folder / "features.csv", "id,product,name\nreports,core,Reports\n")
    write(folder / "README.md", "Exported 2026-11-25.\n")
    return folder


def bundle(db: Path, folder: Path, *options: str) -> tuple[int, str, str]:
    return cockpit("import", "bundle", folder, "--db", db, *options)


def test_a_folder_lands_kind_after_kind_and_says_what_each_file_was(db: Path, tmp_path: Path) -> None:
    folder = export_folder(tmp_path / "export")
    for per_file in (
        ["--map", "usage_id=source_id"],
        ["--values", "plan:basic=Basic"],
        ["--set", "plan=Pro"],
        ["--create-missing", "features"],
    ):
        code, out, err = bundle(db, folder, "--json", *per_file)
        said = " ".join(err.replace("│", " ").split())
        assert code == 2 and "no --map, --profile, --values, --set or --create-missing" in said, per_file
    code, out, err = bundle(db, folder, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["committed"] is True
    landed = [
        (result["kind"], Path(f["source"]).name, f["inserted"])
        for result in report["imports"]
        for f in result["files"]
    ]
    assert landed == [
        ("products", "products.csv", 1),
        ("features", "features.csv", 1),
        ("accounts", "hubspot-companies.csv", 1),
        ("accounts", "ravenstack_accounts.csv", 2),
        ("subscriptions", "ravenstack_subscriptions.csv", 4),
        ("churn_events", "ravenstack_churn_events.csv", 2),
        ("usage", "ravenstack_feature_usage.csv", 2),
    ]
    assert report["unrecognised"] == [str(folder / "README.md")]
    assert f"{folder / 'README.md'}: not imported: no kind recognised by its name" in err
    assert rows(
        db, "SELECT id, plan, mrr, churned_on, json_extract(custom, '$.industry') FROM accounts ORDER BY id"
    ) == [
        ("A-1", "Pro", 1200.0, None, "FinTech"),
        ("A-2", "Basic", 400.0, "2026-10-31", "EdTech"),
        ("hubspot-901", None, 0.0, None, "Software"),
    ]
    assert rows(db, "SELECT account_id, feature_id, count FROM usage_events ORDER BY 1") == [
        ("A-1", "reports", 12),
        ("A-2", "reports", 3),
    ]
    code, out, err = bundle(db, folder, "--json")
    assert code == 0, err
    assert all(f["inserted"] == f["updated"] == 0 for r in json.loads(out)["imports"] for f in r["files"])


def test_one_bad_row_in_the_last_kind_writes_nothing_at_all(db: Path, tmp_path: Path) -> None:
    folder = export_folder(tmp_path / "export")
    write(
        folder / "ravenstack_feature_usage.csv",
        SAAS_FEATURE_USAGE + "U-3,S-9,2026-11-22,reports,1,5,0,False\n",
    )
    before = fingerprint(db)
    code, _, err = bundle(db, folder)
    assert code == 1
    assert "ravenstack_feature_usage.csv:4: subscription_id: no such account" in err
    assert "nothing of the bundle was written" in err
    assert fingerprint(db) == before
    code, _, err = bundle(db, folder, "--dry-run")
    assert code == 1 and fingerprint(db) == before


def test_a_manifest_names_the_files_their_names_do_not(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    write(folder / "export-2026-11-25-companies-crm.csv", HUBSPOT_COMPANIES)
    write(
        folder / "stripe_invoices.csv",
        "id,customer,currency,amount_paid,status,created\nin_1,hubspot-901,usd,4900,paid,1732111380\n",
    )
    write(
        folder / "cockpit-bundle.toml",
        '[files."export-2026-11-25-companies-crm.csv"]\nkind = "accounts"\nprofile = "hubspot-companies"\n'
        'map = { "Country/Region" = "" }\n',
    )
    code, _, err = bundle(db, folder)
    assert code == 0, err
    assert rows(db, "SELECT id, name, custom FROM accounts") == [
        ("hubspot-901", "Initech", '{"industry": "Software"}')
    ]
    assert rows(db, "SELECT account_id, amount FROM transactions") == [("hubspot-901", 49.0)]


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        ('[files."nope.csv"]\nkind = "accounts"\n', "names no file 'nope.csv'"),
        ('[files."a.csv"]\nkind = "acounts"\n', "'acounts' is not a kind"),
        (
            '[files."a.csv"]\nkind = "accounts"\nprofile = "stripe-invoices"\n',
            "no profile 'stripe-invoices' for accounts",
        ),
        ('kind = "accounts"\n', "only [files] tables are read"),
        ("[files\n", "cannot be read"),
    ],
)
def test_a_wrong_manifest_or_folder_is_a_clear_error(
    db: Path, tmp_path: Path, manifest: str, problem: str
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    write(folder / "a.csv", SAAS_ACCOUNTS)
    write(folder / "cockpit-bundle.toml", manifest)
    code, _, err = bundle(db, folder)
    assert code == 2 and problem in err, err
    code, _, err = bundle(db, folder / "a.csv")
    assert code == 2 and "not a folder" in err
    (folder / "a.csv").rename(folder / "notes.md")
    (folder / "cockpit-bundle.toml").unlink()
    code, _, err = bundle(db, folder)
    assert code == 1 and "no file whose kind is recognised" in err
