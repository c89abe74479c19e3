"""Value maps and constants: a source's own words read as the field's (`--values`, a profile's `values`), and
a field the file lacks given for every row (`--set`, a profile's `constants`)."""

from __future__ import annotations

from pathlib import Path

from tests.test_import import book, cockpit, fingerprint, rows, write

__all__ = ["book"]

HELPDESK = (
    "id,account,created,state\n"
    "T-1,acc-1,2026-11-18,Waiting\n"
    "T-2,acc-2,2026-11-19,Done\n"
    "T-3,acc-2,2026-11-20,open\n"
)


def test_a_value_the_field_cannot_take_names_its_row_and_hints_at_a_value_map(
    book: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "helpdesk.csv", HELPDESK)
    before = fingerprint(book)
    code, _, err = cockpit("import", "tickets", source, "--db", book, "--map", "state=status")
    assert code == 1
    assert f"{source}:2: state: input should be 'open', 'pending', 'solved' or 'closed'" in err
    assert "--values 'status:waiting=VALUE' (waiting)" in err
    assert fingerprint(book) == before
    code, _, err = cockpit(
        "import", "tickets", source, "--db", book, "--map", "state=status",
        "--values", "status:waiting=pending", "--values", "status:DONE=solved",
    )  # fmt: skip
    assert code == 0, err
    assert rows(book, "SELECT id, status FROM tickets ORDER BY id") == [
        ("T-1", "pending"),
        ("T-2", "solved"),
        ("T-3", "open"),
    ]


def test_a_constant_gives_a_field_the_file_lacks(book: Path, tmp_path: Path) -> None:
    source = write(
        tmp_path / "nps.csv", "account,score,responded_at\nacc-1,9,2026-11-20\nacc-2,3,2026-11-21\n"
    )
    code, _, err = cockpit("import", "surveys", source, "--db", book)
    assert code == 2
    assert "no column for required field 'kind'" in err
    code, _, err = cockpit("import", "surveys", source, "--db", book, "--set", "kind=nps")
    assert code == 0, err
    assert rows(book, "SELECT account_id, kind, score FROM surveys ORDER BY 1") == [
        ("acc-1", "nps", 9),
        ("acc-2", "nps", 3),
    ]


def test_constants_and_value_maps_the_field_cannot_take_are_refused_before_any_row(
    book: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "nps.csv", "account,kind,score,responded_at\nacc-1,nps,9,2026-11-20\n")
    cases = {
        ("--set", "kind=promoter"): "--set kind: 'promoter' is not a value of surveys field 'kind'",
        ("--set", "kind=csat"): "--set kind gives surveys field 'kind', which column 'kind' gives too",
        ("--set", "mood=good"): "--set mood: 'mood' is not a field of surveys",
        ("--values", "kind:n=promoter"): "--values kind: 'promoter' is not a value of surveys field 'kind'",
        ("--values", "kind=nps"): "--values 'kind=nps': expected FIELD:VALUE=NEW",
    }
    for option, message in cases.items():
        code, _, err = cockpit("import", "surveys", source, "--db", book, *option)
        assert code == 2, option
        assert message in err, err
    assert rows(book, "SELECT count(*) FROM surveys") == [(0,)]


def test_a_profile_s_value_maps_and_constants_and_the_options_over_them(book: Path, tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml",
        '[import.profiles.pulse]\nkind = "surveys"\ncolumns = { "Rating" = "score" }\n'
        'values = { score = { "top" = "10", "low" = "1" } }\nconstants = { kind = "nps" }\n',
    )
    source = write(
        tmp_path / "pulse.csv", "account,Rating,responded_at\nacc-1,top,2026-11-20\nacc-2,low,2026-11-21\n"
    )
    code, _, err = cockpit(
        "import", "surveys", source, "--db", book, "--config", config, "--profile", "pulse",
        "--values", "score:low=2",
    )  # fmt: skip
    assert code == 0, err
    assert rows(book, "SELECT account_id, kind, score FROM surveys ORDER BY 1") == [
        ("acc-1", "nps", 10),
        ("acc-2", "nps", 2),
    ]
