"""A usage CSV staged as its cells and made events in SQL (`store/staging.CellStage`) must store what the row
by row path stores, for every time form exports write, and report the rows SQL leaves by row and field."""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.config import load_settings
from cockpit.domain.parsing import DateColumn, DateOrder, iso_timestamp
from cockpit.importer.sources import LINES_READ, SourceError
from cockpit.services.importing import ImportOptions, ImportResult, run_import
from cockpit.store import open_store
from cockpit.store.staging import CellStage, EventStage, UsageCells, normal_time_sql, staging_for
from tests.clocks import at

DAY = at(datetime(2026, 11, 22).date())
SQL = sqlite3.connect(":memory:")


def sql_time(text: str, order: DateOrder | None = None) -> str | None:
    """What the SQL makes of a time (None: it leaves the row to Python)."""
    found: str | None = SQL.execute(f"SELECT {normal_time_sql('?1', order)}", [text]).fetchone()[0]
    return found


def python_time(text: str, order: DateOrder | None = None) -> str | None:
    """What the row-by-row path makes of it (None: a value it refuses)."""
    try:
        return iso_timestamp(text) or DateColumn("occurred_at", order).timestamp(text, 2)
    except ValueError:
        return None


EXPORTED = [
    "2026-11-01",
    "2026-11-01T10:00:00",
    "2026-11-01 10:00:00",
    "2026-11-01T10:00:00Z",
    "2026-11-01 10:00:00Z",
    "2026-11-01T10:00:00+00:00",
    "2026-11-01T10:00:00-00:00",
    "2026-11-01T01:30:00+02:00",
    "2026-11-01 23:30:00-05:30",
    "2026-11-01T00:15:00+14:00",
    "2024-02-29T23:59:59Z",
    "2026-01-01T00:30:00+01:00",
]
ODD = [
    "2026-02-30",
    "2025-02-29T10:00:00Z",
    "2026-04-31 10:00:00",
    "2026-13-01T10:00:00Z",
    "2026-11-00T10:00:00Z",
    "2026-11-01T24:00:00Z",
    "2026-11-01T23:59:60Z",
    "2026-11-01T10:60:00",
    "2026-11-01T10:00:00+24:00",
    "2026-11-01T10:00:00+02:60",
    "2026-11-01T10:00",
    "2026-11-01T10:00:00.5Z",
    "2026-11-01t10:00:00z",
    " 2026-11-01",
    "2026-11-01T10:00:00Z ",
    "2026-11-01T1\u0660:00:00Z",
    "0000-01-01T00:00:00Z",
    "0000-01-01 00:00:00",
    "0000-12-31 23:00:00+00:00",
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:30:00-01:00",
    "20/11/2026 10:00:00",
    "13/02/2026",
    "02/13/2026 10:00:00",
    "31/04/2026",
    "1/2/2026",
]
offsets = st.builds(
    lambda hours, minutes, sign: timezone(sign * timedelta(hours=hours, minutes=minutes)),
    st.integers(0, 14),
    st.sampled_from([0, 30, 45]),
    st.sampled_from([1, -1]),
)
moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.one_of(st.none(), offsets)
).map(lambda moment: moment.replace(microsecond=0))
times = st.one_of(
    st.sampled_from(EXPORTED + ODD),
    st.builds(lambda moment, sep: moment.isoformat(sep=sep), moments, st.sampled_from(["T", " "])),
    moments.map(lambda moment: moment.replace(tzinfo=None).isoformat() + "Z"),
    st.dates().map(lambda day: day.isoformat()),
    st.builds(lambda moment: moment.strftime("%d/%m/%Y %H:%M:%S"), moments),
    st.text("0123456789-:T Z+/", max_size=26),
)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(text=times, order=st.sampled_from([None, "dmy", "mdy"]))
def test_sql_reads_a_time_as_python_does_or_leaves_it(text: str, order: DateOrder | None) -> None:
    taken = sql_time(text, order)
    if taken is not None:
        assert taken == python_time(text, order)


@pytest.mark.parametrize("text", EXPORTED)
def test_sql_takes_every_iso_form_exports_write(text: str) -> None:
    assert sql_time(text) == python_time(text) is not None


@pytest.mark.parametrize("year", ["1900", "2000", "2024", "2026"])
def test_sql_knows_the_calendar_as_python_does(year: str) -> None:
    """Every month and day text, in the forms the SQL reads: the days it takes are Python's, and it takes
    every day Python takes (the 28th and before are told without the month's last day)."""
    for month in range(14):
        for day in range(40):
            iso = f"{year}-{month:02d}-{day:02d}"
            slashed = f"{day:02d}/{month:02d}/{year}"
            forms: list[tuple[str, DateOrder | None]] = [
                (iso, None),
                (f"{iso}T10:00:00Z", None),
                (f"{iso} 23:59:59", None),
                (f"{iso}T10:00:00+02:00", None),
            ]
            if 1 <= month <= 12:  # else read month first, whatever the order given
                forms.append((f"{slashed} 10:00:00", "dmy"))
            for text, order in forms:
                assert sql_time(text, order) == python_time(text, order), text


@pytest.mark.parametrize(("text", "order"), [("20/11/2026 10:00:00", "dmy"), ("11/20/2026", "mdy")])
def test_sql_takes_days_year_last_in_the_order_given(text: str, order: DateOrder) -> None:
    assert sql_time(text, order) == python_time(text, order) is not None
    assert sql_time(text) is None  # an order not given is learnt row by row, in Python


@pytest.fixture(scope="module")
def empty_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Accounts, features and contacts, no usage."""
    folder = tmp_path_factory.mktemp("cells")
    db = folder / "book.db"
    store = open_store(db, create=True)
    files = {
        "accounts": "id,name,domain\nacc-1,Acme,acme.example\nacc-2,Globex,globex.example\n",
        "products": "id,name\ncore,Core\n",
        "features": "id,product,name\nreports,core,Reports\nexports,core,Exports\n",
        "contacts": "id,account,name,email\ncon-1,acc-1,Ann,ann@acme.example\ncon-2,acc-2,Bo,bo@globex.example\n",
    }
    try:
        for kind, text in files.items():
            path = folder / f"{kind}.csv"
            path.write_text(text, encoding="utf-8")
            result = run_import(store, load_settings(), [str(path)], ImportOptions(kind=kind), clock=DAY)
            assert result.committed, result.errors
    finally:
        store.close()
    return db


def imported(
    db: Path, path: Path, *, skip_invalid: bool = False
) -> tuple[ImportResult, list[tuple[object, ...]]]:
    store = open_store(db)
    try:
        options = ImportOptions(kind="usage", skip_invalid=skip_invalid)
        result = run_import(store, load_settings(), [str(path)], options, clock=DAY)
        stored = store.db.execute(
            "SELECT account_id, feature_id, occurred_at, contact_id, source_id, count, import_row & 4294967295 "
            "FROM usage_events ORDER BY import_row"
        ).fetchall()
        return result, [tuple(row) for row in stored]
    finally:
        store.close()


def fresh(empty_book: Path, folder: Path, name: str = "copy.db") -> Path:
    db = folder / name
    db.write_bytes(empty_book.read_bytes())
    return db


USAGE_IDENTITY = ("account_id", "feature_id", "occurred_at", "contact_id", "source_id")
COLUMNS = ["account", "feature", "occurred_at", "contact", "count", "source_id"]
usage_rows = st.lists(
    st.tuples(
        st.sampled_from(["acc-1", "acc-2", "acme.example"]),
        st.sampled_from(["reports", "exports", "Reports"]),
        st.one_of(
            st.sampled_from([*EXPORTED, "11/20/2026 10:00:00", "2026-11-20 14:03:00 UTC"]),
            st.builds(lambda moment, sep: moment.isoformat(sep=sep), moments, st.sampled_from(["T", " "])),
            moments.map(lambda moment: moment.replace(tzinfo=None).isoformat() + "Z"),
        ),
        st.sampled_from(["", "con-1", "ann@acme.example"]),
        st.sampled_from(["", "1", "7", "007"]),
        st.integers(0, 10**6).map(str),
    ).map(lambda row: (*row[:3], row[3] if row[0] != "acc-2" else "", *row[4:])),
    min_size=1,
    max_size=30,
    unique_by=lambda row: row[5],
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=usage_rows)
def test_a_csv_stores_what_full_validation_stores(
    empty_book: Path, tmp_path_factory: pytest.TempPathFactory, generated: list[tuple[str, ...]]
) -> None:
    """The same rows as CSV (cells, SQL) and as JSON Lines (validated one by one) land the same."""
    folder = tmp_path_factory.mktemp("same")
    csv_file = folder / "usage.csv"
    csv_file.write_text(
        ",".join(COLUMNS) + "\n" + "".join(",".join(row) + "\n" for row in generated), encoding="utf-8"
    )
    jsonl_file = folder / "usage.jsonl"
    jsonl_file.write_text(
        "".join(
            json.dumps({c: v for c, v in zip(COLUMNS, row, strict=True) if v}) + "\n" for row in generated
        ),
        encoding="utf-8",
    )
    by_cells, from_csv = imported(fresh(empty_book, folder), csv_file)
    by_rows, from_jsonl = imported(fresh(empty_book, folder, "rows.db"), jsonl_file)
    assert by_cells.committed and by_rows.committed, by_cells.errors + by_rows.errors
    # The same events, each from the same row: a CSV's first row is its second line, after the header.
    assert from_csv == [(*row[:6], int(str(row[6])) + 1) for row in from_jsonl]


def test_offsets_a_space_and_z_are_stored_in_utc(empty_book: Path, tmp_path: Path) -> None:
    source = tmp_path / "usage.csv"
    source.write_text(
        "account,feature,occurred_at,source_id\n"
        "acc-1,reports,2026-11-01T01:30:00+02:00,a\n"
        "acc-1,reports,2026-11-01 23:30:00-05:30,b\n"
        "acc-1,reports,2026-11-01 10:00:00,c\n"
        "acc-1,reports,2026-11-01T10:00:00Z,d\n",
        encoding="utf-8",
    )
    result, stored = imported(fresh(empty_book, tmp_path), source)
    assert result.committed, result.errors
    assert [(row[2], row[4], row[6]) for row in stored] == [
        ("2026-10-31T23:30:00+00:00", "a", 2),
        ("2026-11-02T05:00:00+00:00", "b", 3),
        ("2026-11-01T10:00:00+00:00", "c", 4),
        ("2026-11-01T10:00:00+00:00", "d", 5),
    ]


def test_bad_cells_are_reported_by_row_and_field(empty_book: Path, tmp_path: Path) -> None:
    source = tmp_path / "usage.csv"
    source.write_text(
        "account,feature,occurred_at,contact,count\n"
        "acc-1,reports,2026-11-01T10:00:00Z,con-1,1\n"
        "acc-1,reports,2026-02-30T10:00:00Z,,1\n"
        "acc-9,reports,2026-11-01T10:00:00Z,,1\n"
        "acc-1,reports,2026-11-01T11:00:00+02:00,,-3\n"
        "acc-1,reports,2026-11-01T12:00:00Z,con-2,1\n"
        "acc-2,nosuch,2026-11-01T12:00:00Z,,1\n"
        "acc-2,reports,2026-11-01T13:00:00Z,,1\n",
        encoding="utf-8",
    )
    db = fresh(empty_book, tmp_path)
    result, stored = imported(db, source)
    assert not result.committed
    assert stored == []
    assert [(error.row, error.field) for error in result.errors] == [
        (3, "occurred_at"),
        (4, "account"),
        (5, "count"),
        (6, "contact"),
        (7, "feature"),
    ]
    assert str(result.errors[1]) == f"{source}:4: account: no such account (by id, CRM id or domain) (acc-9)"
    assert result.totals == {
        "rows": 7,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 5,
        "merged": 0,
    }


def test_a_cell_of_more_than_one_line_keeps_the_row_numbers(empty_book: Path, tmp_path: Path) -> None:
    """Rows are numbered as a person sees the file: a quoted line break moves the rows after it."""
    source = tmp_path / "usage.csv"
    source.write_text(
        'account,feature,occurred_at,note\nacc-1,reports,2026-11-01,"two\nlines"\nacc-9,reports,2026-11-01,x\n',
        encoding="utf-8",
    )
    result, _stored = imported(fresh(empty_book, tmp_path), source)
    assert [(error.row, error.field) for error in result.errors] == [(4, "account")]


@pytest.mark.parametrize("straddling", [False, True])
def test_quotes_past_the_first_read_are_read_as_csv(
    empty_book: Path, tmp_path: Path, straddling: bool
) -> None:
    """Lines are split in Python a read at a time, and a read with a quote goes to the CSV reader: a quoted
    cell in a later read is unquoted, and a quoted line break across two reads keeps the row numbers."""
    header = "account,feature,occurred_at,source_id,note\r\n"
    lines = [f"acc-1,reports,2026-11-01T10:00:00Z,s-{row},x\r\n" for row in range(LINES_READ // 40 + 2_000)]
    ends = list(itertools.accumulate(map(len, [header, *lines])))
    last_read = next(at for at, end in enumerate(ends) if end >= LINES_READ) - 1  # the first read's last line
    expected = {f"s-{row}" for row in range(len(lines) - 1)}
    if straddling:
        lines[last_read] = lines[last_read].replace(",x", ',"x')
        lines[last_read + 1] = 'y"\r\n'
        expected.remove(f"s-{last_read + 1}")
    else:
        lines[-2] = lines[-2].replace(",s-", ',"s-').replace(",x", '",x')
    lines[-1] = lines[-1].replace("acc-1", "acc-9")
    source = tmp_path / "usage.csv"
    source.write_bytes((header + "".join(lines)).encode())
    result, stored = imported(fresh(empty_book, tmp_path), source, skip_invalid=True)
    assert [(error.row, error.field) for error in result.errors] == [(len(lines) + 1, "account")]
    assert {row[4] for row in stored} == expected


@pytest.mark.parametrize("odd", ["widths", "carriage return"])
def test_lines_past_the_first_read_that_a_split_would_misread_are_not_split(
    empty_book: Path, tmp_path: Path, odd: str
) -> None:
    """A read's lines are split at once only when each holds as many delimiters as the header and nothing
    ends a line but its line break: a short line followed by a long one (as many delimiters in all) and a
    lone carriage return (which ends a line) go as the CSV reader takes them."""
    header = "account,feature,occurred_at,source_id,note\r\n"
    lines = [f"acc-1,reports,2026-11-01T10:00:00Z,s-{row},x\r\n" for row in range(LINES_READ // 40 + 2_000)]
    at = len(lines) - 10  # in the last read
    expected = {f"s-{row}" for row in range(len(lines))}
    if odd == "widths":
        lines[at] = lines[at].replace(",x", "")
        lines[at + 1] = lines[at + 1].replace(",x", ",x,y")
    else:
        lines[at] = lines[at].replace(",x\r\n", ",x\r")
    source = tmp_path / "usage.csv"
    source.write_bytes((header + "".join(lines)).encode())
    if odd == "widths":
        with pytest.raises(SourceError, match=f"usage.csv:{at + 3}: 6 fields where the header has 5"):
            imported(fresh(empty_book, tmp_path), source)
    else:
        result, stored = imported(fresh(empty_book, tmp_path), source)
        assert result.committed, result.errors
        assert {row[4] for row in stored} == expected
        assert [row[6] for row in stored] == list(range(2, len(lines) + 2))


def test_rows_of_one_event_merge_add_up_or_are_refused_in_file_order(
    empty_book: Path, tmp_path: Path
) -> None:
    source = tmp_path / "usage.csv"
    source.write_text(
        "account,feature,occurred_at,count,source_id\n"
        "acc-1,reports,2026-11-01T10:00:00Z,2,\n"
        "acc-1,reports,2026-11-01 12:00:00+02:00,2,\n"
        "acc-1,reports,2026-11-01T10:00:00Z,3,\n"
        "acc-1,reports,2026-11-02T10:00:00Z,1,e1\n"
        "acc-1,reports,2026-11-02T10:00:00Z,4,e1\n",
        encoding="utf-8",
    )
    result, stored = imported(fresh(empty_book, tmp_path), source)
    assert [str(error) for error in result.errors] == [
        f"{source}:6: duplicate: the same usage event is given earlier in this import with other values"
    ]
    assert result.totals["merged"] == 2
    result, stored = imported(fresh(empty_book, tmp_path), source, skip_invalid=True)
    assert [(row[2], row[5], row[6]) for row in stored] == [
        ("2026-11-01T10:00:00+00:00", 5, 2),
        ("2026-11-02T10:00:00+00:00", 1, 5),
    ]


def test_a_reimport_changes_nothing(empty_book: Path, tmp_path: Path) -> None:
    source = tmp_path / "usage.csv"
    source.write_text(
        "account,feature,occurred_at\nacc-1,reports,2026-11-01T10:00:00+01:00\nacc-2,exports,2026-11-01\n",
        encoding="utf-8",
    )
    db = fresh(empty_book, tmp_path)
    first, stored = imported(db, source)
    again, stored_again = imported(db, source)
    assert first.totals["inserted"] == 2
    assert (again.totals["inserted"], again.totals["unchanged"]) == (0, 2)
    assert stored_again == stored


def test_the_cells_of_exported_rows_are_all_taken_by_sql(empty_book: Path) -> None:
    """Nothing of a file in the forms exports write is left to Python: no row flagged, none repeated."""
    store = open_store(empty_book)
    try:
        with staging_for(empty_book) as staging:
            EventStage(staging, store.db, "usage_events", USAGE_IDENTITY, ("count",), summed="count")
            layout = UsageCells(width=6, account=0, feature=1, occurred_at=2, contact=3, count=4, source_id=5)
            cells = CellStage(staging, layout, place=0)
            cells.references("account", [("acc-1", "acc-1", None), ("acme.example", "acc-1", None)])
            cells.references("feature", [("reports", "reports", None)])
            cells.references("contact", [("con-1", "con-1", "acc-1")])
            rows = [
                [
                    "acme.example" if n % 2 else "acc-1",
                    "reports",
                    text,
                    "con-1" if n % 3 else "",
                    str(n),
                    f"e{n}",
                ]
                for n, text in enumerate(EXPORTED)
            ]
            cells.load(2, iter(rows), progress=lambda _staged: None)
            assert cells.insert() == len(EXPORTED)
            assert list(cells.flagged()) == [] and list(cells.repeated()) == []
            staged = staging.conn.execute(
                "SELECT occurred_at, count, import_row FROM events ORDER BY import_row"
            )
            assert staged.fetchall() == [(python_time(text), n, n + 2) for n, text in enumerate(EXPORTED)]
    finally:
        store.close()


def test_of_two_rows_of_one_event_by_different_references_the_first_is_staged(empty_book: Path) -> None:
    """Rows go in by their records' ids, then in file order, so an event named by an alias that sorts first,
    or a feature's other spelling, is still staged from the row the file gives first."""
    store = open_store(empty_book)
    try:
        with staging_for(empty_book) as staging:
            EventStage(staging, store.db, "usage_events", USAGE_IDENTITY, ("count",), summed="count")
            cells = CellStage(staging, UsageCells(width=3, account=0, feature=1, occurred_at=2), place=0)
            cells.references("account", [("zz.example", "acc-1", None), ("acc-1", "acc-1", None)])
            cells.references("feature", [("Reports", "reports", None), ("reports", "reports", None)])
            time = "2026-11-01T10:00:00Z"
            rows = [["zz.example", "reports", time], ["acc-1", "Reports", time], ["acc-1", "reports", time]]
            cells.load(2, iter(rows), progress=lambda _staged: None)
            assert cells.insert() == 1
            staged = staging.conn.execute("SELECT account_id, feature_id, import_row FROM events")
            assert staged.fetchall() == [("acc-1", "reports", 2)]
            assert [row for _event, row, _cells in cells.repeated()] == [3, 4]
    finally:
        store.close()


def test_references_by_domain_name_and_email_are_looked_up(empty_book: Path, tmp_path: Path) -> None:
    """References that are not ids (not preloaded) are looked up once each, and their rows staged in SQL."""
    source = tmp_path / "usage.csv"
    source.write_text(
        "account,feature,occurred_at,contact\n"
        "acme.example,Reports,2026-11-01T10:00:00Z,ann@acme.example\n"
        "acc-2,exports,2026-11-01T11:00:00+01:00,\n"
        "ACME.example,reports,2026-11-01 12:00:00,con-1\n",
        encoding="utf-8",
    )
    result, stored = imported(fresh(empty_book, tmp_path), source)
    assert result.committed, result.errors
    assert [row[:4] for row in stored] == [
        ("acc-1", "reports", "2026-11-01T10:00:00+00:00", "con-1"),
        ("acc-2", "exports", "2026-11-01T10:00:00+00:00", ""),
        ("acc-1", "reports", "2026-11-01T12:00:00+00:00", "con-1"),
    ]


def test_a_short_first_row_is_reported(empty_book: Path, tmp_path: Path) -> None:
    source = tmp_path / "usage.csv"
    source.write_text(
        "account,feature,occurred_at\nacc-1,reports\nacc-1,reports,2026-11-01T10:00:00Z\n", encoding="utf-8"
    )
    result, _stored = imported(fresh(empty_book, tmp_path), source)
    assert [str(error) for error in result.errors] == [
        f"{source}:2: occurred_at: required, but missing or empty"
    ]
