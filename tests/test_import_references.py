"""References an import cannot take as given: a contact of another account, a catalogue that is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_import import book, cockpit, fingerprint, rows, write

__all__ = ["book"]

EVENTS = {
    "usage.csv": "account,feature,occurred_at,contact\nacc-1,reports,2026-11-01,con-1\n"
    "acc-1,reports,2026-11-02,con-2\n",
    "usage.jsonl": '{"account": "acc-1", "feature": "reports", "occurred_at": "2026-11-01", "contact": "con-1"}\n'
    '{"account": "acc-1", "feature": "reports", "occurred_at": "2026-11-02", "contact": "con-2"}\n',
    "interactions.csv": "account,kind,occurred_at,summary,contact\nacc-1,call,2026-11-01,Kick-off,con-1\n"
    "acc-1,call,2026-11-02,Review,con-2\n",
    "surveys.csv": "account,kind,score,responded_at,contact\nacc-1,nps,9,2026-11-01,con-1\n"
    "acc-1,nps,3,2026-11-02,con-2\n",
    "tickets.csv": "id,account,opened_at,contact\nt-1,acc-1,2026-11-01,con-1\nt-2,acc-1,2026-11-02,con-2\n",
}
"""Per kind (usage on the fast path and, from JSON Lines, the full one), a row naming acc-1's own contact,
then one naming con-2, who belongs to acc-2."""


@pytest.mark.parametrize("name", list(EVENTS))
def test_a_contact_of_another_account_is_refused(book: Path, tmp_path: Path, name: str) -> None:
    source = write(tmp_path / name, EVENTS[name])
    kind = name.split(".")[0]
    before = fingerprint(book)
    code, _, err = cockpit("import", kind, source, "--db", book)
    assert code == 1
    assert ": contact: contact con-2 belongs to account acc-2, not acc-1 (con-2)" in err
    assert err.count("belongs to account") == 1
    assert fingerprint(book) == before
    code, _, err = cockpit("import", kind, source, "--db", book, "--skip-invalid")
    assert "1 inserted" in err and "1 rejected" in err
    table = {"usage": "usage_events"}.get(kind, kind)
    assert rows(book, f"SELECT DISTINCT contact_id FROM {table}") == [("con-1",)]


def test_a_missing_catalogue_is_said_once_with_how_to_fix_it(book: Path, tmp_path: Path) -> None:
    """Usage naming features not imported yet: one line per missing feature with its row count, one summary
    naming them (ten at most) and the import that adds them; the rows are read to the end, not stopped
    after --max-errors identical errors."""
    features = [f"feature-{number:02d}" for number in range(12)]
    body = "".join(f"acc-1,{name},2026-11-{day:02d}\n" for day in range(1, 11) for name in features)
    source = write(tmp_path / "usage.csv", "account,feature,occurred_at\nacc-1,reports,2026-11-01\n" + body)
    before = fingerprint(book)
    code, out, err = cockpit("import", "usage", source, "--db", book, "--max-errors", "20", "--json")
    assert code == 1
    assert err.count("no such feature") == 12
    assert f"{source}:3: feature: no such feature (feature-00), and 9 more row(s) like it" in err
    assert (
        "No such feature for 12 reference(s): " + ", ".join(features[:10]) + " and 2 more. "
        "Import them first (cockpit import features FILE (after their products: cockpit import products FILE)),"
        " then this file again; or add them with this import: --create-missing features[:PRODUCT]." in err
    )
    assert "Stopped after" not in err
    assert "120 row(s) rejected; nothing was written" in err
    assert fingerprint(book) == before
    report = json.loads(out)
    assert report["missing"] == {"feature": features}
    assert report["totals"]["rejected"] == 120


def test_create_missing_features_lands_usage_naming_unknown_features_in_one_command(
    book: Path, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "usage.csv",
        "account,feature,occurred_at\nacc-1,reports,2026-11-01\nacc-1,Report Viewed,2026-11-01\n"
        "acc-2,Export,2026-11-02\nacc-2,Report Viewed,2026-11-03\n",
    )
    before = fingerprint(book)
    code, _, err = cockpit(
        "import", "usage", source, "--db", book, "--create-missing", "features", "--dry-run"
    )
    assert code == 0, err
    assert "Would add 2 feature(s) the rows name: Report Viewed, Export." in err
    assert fingerprint(book) == before
    code, _, err = cockpit("import", "usage", source, "--db", book, "--create-missing", "features")
    assert code == 0, err
    assert "4 rows: 4 inserted" in err
    assert "Added 2 feature(s) the rows name: Report Viewed, Export." in err
    assert rows(
        book,
        "SELECT f.id, f.name, p.id, p.name FROM features f JOIN products p ON p.id = f.product_id "
        "WHERE p.id = 'uncatalogued' ORDER BY 1",
    ) == [
        ("Export", "Export", "uncatalogued", "uncatalogued"),
        ("Report Viewed", "Report Viewed", "uncatalogued", "uncatalogued"),
    ]
    assert rows(book, "SELECT feature_id, count(*) FROM usage_events GROUP BY 1 ORDER BY 1") == [
        ("Export", 1),
        ("Report Viewed", 2),
        ("reports", 1),
    ]
    code, _, err = cockpit("import", "usage", source, "--db", book, "--create-missing", "features")
    assert "4 unchanged" in err and "Added" not in err


@pytest.mark.parametrize(
    ("option", "product"), [("features:Core", "core"), ("features:insights", "insights")]
)
def test_create_missing_features_under_a_product_named(
    book: Path, tmp_path: Path, option: str, product: str
) -> None:
    """An existing product is found as any reference is (Core is the product core); a new one is added."""
    source = write(
        tmp_path / "usage.jsonl", '{"account": "acc-1", "feature": "Forecast", "time": "2026-11-01"}\n'
    )
    code, _, err = cockpit("import", "usage", source, "--db", book, "--create-missing", option)
    assert code == 0, err
    assert rows(book, "SELECT product_id FROM features WHERE id = 'Forecast'") == [(product,)]
    assert rows(book, f"SELECT count(*) FROM products WHERE id = '{product}'") == [(1,)]
