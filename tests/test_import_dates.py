"""Dates as real exports write them: each column's day/month order decided once, from all its values or an
option, never row by row; and every form of a moment read to the same normal form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.cli import app
from cockpit.domain.parsing import parse_date, parse_timestamp
from tests.test_import import book, cockpit, fingerprint, records, rows, runner, write

__all__ = ["book"]

DAY_FIRST = "account,feature,occurred_at\n" + "".join(
    f"acc-1,reports,{day:02d}-10-2023\n" for day in (12, 3, 25, 7, 30, 1)
)
"""The issue's column: its first rows read either way, later ones only day first."""


def usage(db: Path) -> list[object]:
    return [row[0] for row in rows(db, "SELECT occurred_at FROM usage_events ORDER BY import_row")]


@pytest.mark.parametrize("extra", [[], ["--skip-invalid"]])
def test_a_column_is_read_in_the_one_order_all_its_values_allow(
    book: Path, tmp_path: Path, extra: list[str]
) -> None:
    source = write(tmp_path / "usage.csv", DAY_FIRST)
    code, _, err = cockpit("import", "usage", source, "--db", book, *extra)
    assert code == 0, err
    assert usage(book) == [f"2023-10-{day:02d}" for day in (12, 3, 25, 7, 30, 1)]
    before = records(book)
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 0
    assert "6 rows: 0 inserted, 0 updated, 6 unchanged, 0 rejected" in err
    assert records(book) == before


def test_the_order_learnt_late_from_standard_input_asks_for_the_option(book: Path) -> None:
    before = fingerprint(book)
    result = runner.invoke(app, ["import", "usage", "-", "--db", str(book)], input=DAY_FIRST)
    assert result.exit_code != 0
    assert "standard input cannot be read twice" in result.stderr
    assert "--date-order dmy" in result.stderr
    assert fingerprint(book) == before
    result = runner.invoke(app, ["import", "usage", "-", "--db", str(book), "--dayfirst"], input=DAY_FIRST)
    assert result.exit_code == 0, result.stderr
    assert usage(book)[0] == "2023-10-12"


@pytest.mark.parametrize("extra", [[], ["--skip-invalid"]])
def test_a_column_that_mixes_orders_is_refused_whole(book: Path, tmp_path: Path, extra: list[str]) -> None:
    source = write(
        tmp_path / "mixed.csv",
        "account,feature,day\nacc-1,reports,01/02/2026\nacc-1,reports,13/02/2026\nacc-2,reports,02/14/2026\n",
    )
    before = fingerprint(book)
    code, _, err = cockpit("import", "usage", source, "--db", book, *extra)
    assert code != 0
    assert f"{source}: column 'day' mixes date orders" in err
    assert "row 3 (13/02/2026)" in err
    assert "row 4 (02/14/2026)" in err
    assert "nothing was written" in err
    assert fingerprint(book) == before


def test_a_value_against_the_order_given_is_refused_for_the_column(book: Path, tmp_path: Path) -> None:
    source = write(
        tmp_path / "us.csv", "account,feature,day\nacc-1,reports,01/02/2026\nacc-1,reports,02/14/2026\n"
    )
    code, _, err = cockpit("import", "usage", source, "--db", book, "--dayfirst", "--skip-invalid")
    assert code != 0
    assert "column 'day': row 3 (02/14/2026) can only be month/day/year" in err
    assert usage(book) == []


def test_an_undecidable_column_is_read_month_first_and_said_once(book: Path, tmp_path: Path) -> None:
    source = write(
        tmp_path / "ambiguous.csv",
        "account,feature,day\nacc-1,reports,01/02/2026\nacc-1,reports,03/04/2026\nacc-2,reports,05/06/2026\n",
    )
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 0
    assert err.count("every date reads either way") == 1
    assert "column 'day'" in err and "--date-order dmy" in err
    assert usage(book) == ["2026-01-02", "2026-03-04", "2026-05-06"]


def test_each_column_has_its_own_order(book: Path, tmp_path: Path) -> None:
    source = write(
        tmp_path / "accounts.csv",
        "id,name,start_date,renewal_date\nacc-1,Acme,02/03/2026,04/05/2027\nacc-2,Globex,25/03/2026,06/07/2027\n",
    )
    code, _, err = cockpit("import", "accounts", source, "--db", book)
    assert code == 0, err
    assert rows(book, "SELECT start_date, renewal_date FROM accounts ORDER BY id") == [
        ("2026-03-02", "2027-04-05"),
        ("2026-03-25", "2027-06-07"),
    ]
    assert "column 'renewal_date': every date reads either way" in err
    assert "start_date" not in err


def test_two_digit_years_need_the_order(book: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "short.csv", "account,feature,day\nacc-1,reports,01/02/26\n")
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 1
    assert "a two-digit year needs the date order" in err
    code, _, err = cockpit("import", "usage", source, "--db", book, "--date-order", "dmy")
    assert code == 0, err
    assert usage(book) == ["2026-02-01"]


def test_a_two_digit_year_is_read_once_a_later_row_tells_the_order(book: Path, tmp_path: Path) -> None:
    source = write(
        tmp_path / "short.csv", "account,feature,day\nacc-1,reports,01/02/26\nacc-1,reports,01/13/26\n"
    )
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 0, err
    assert usage(book) == ["2026-01-02", "2026-01-13"]


# Every form an export writes reads to the same normal form.
moments = st.datetimes(
    min_value=datetime(1990, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda minutes: timedelta(minutes=minutes))


def _twelve_hour(moment: datetime) -> str:
    return f"{(moment.hour - 1) % 12 + 1}:{moment.minute:02d}:{moment.second:02d} {'PM' if moment.hour >= 12 else 'AM'}"


@given(moment=moments, offset=offsets)
def test_every_form_of_a_moment_reads_to_its_normal_form(moment: datetime, offset: timedelta) -> None:
    normal = moment.isoformat()
    local = moment.astimezone(timezone(offset)).replace(tzinfo=None)
    sign, span = ("-" if offset < timedelta(0) else "+"), abs(offset)
    zone = f"{sign}{span.seconds // 3600:02d}{span.seconds // 60 % 60:02d}"
    day, clock = moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")
    forms = [
        f"{day} {clock} UTC",  # BigQuery
        f"{local:%Y-%m-%d %H:%M:%S}.000 {zone}",  # Snowflake
        f"{day}T{clock}Z",
        f"{moment:%Y/%m/%d} {clock}",
        f"{local:%Y/%m/%d %H:%M:%S} {zone[:3]}:{zone[3:]}",
        f"{local.month}/{local.day}/{local.year} {local:%H:%M:%S} {zone}",
        f"{moment:%b} {moment.day}, {moment.year} {clock}",
        f"{moment.day} {moment:%b} {moment.year} {clock}",
        str(int(moment.timestamp())),  # epoch seconds
        str(int(moment.timestamp()) * 1000),  # and milliseconds
    ]
    for form in forms:
        assert parse_timestamp(form) == normal, form
    assert parse_timestamp(int(moment.timestamp())) == normal  # a JSON number
    assert parse_timestamp(f"{moment.month}/{moment.day}/{moment.year} {_twelve_hour(moment)}") == normal
    if 2000 <= moment.year < 2070:  # two-digit years are read 2000-2069, then 1970-1999
        assert parse_timestamp(f"{moment.day}/{moment.month}/{moment:%y} {clock}", order="dmy") == normal


@given(day=st.dates(min_value=date(1970, 1, 1), max_value=date(2069, 12, 31)))  # two-digit years: 1970-2069
def test_every_form_of_a_day_reads_to_its_normal_form(day: date) -> None:
    normal = day.isoformat()
    forms = [
        normal,
        day.strftime("%Y%m%d"),
        day.strftime("%Y/%m/%d"),
        f"{day:%b} {day.day}, {day.year}",
        f"{day:%B} {day.day} {day.year}",
        f"{day.day} {day:%b} {day.year}",
        f"{day.day:02d}-{day:%b}-{day.year}",
    ]
    for form in forms:
        assert parse_date(form) == normal, form
        assert parse_timestamp(form) == normal, form
    assert parse_date(f"{day.month}/{day.day}/{day:%y}", order="mdy") == normal
    assert parse_date(f"{day.day}.{day.month}.{day:%y}", order="dmy") == normal


@pytest.mark.parametrize(
    "text", ["99999999", "123456789012", "2026-11-20 14:03:00 IST", "1/12/2026 3:45 XST"]
)
def test_what_is_not_a_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_timestamp(text)


def test_epoch_times_in_json_lines_and_compact_days(book: Path, tmp_path: Path) -> None:
    events = write(
        tmp_path / "mixpanel.jsonl",
        '{"account": "acc-1", "feature": "reports", "time": 1763647380}\n'
        '{"account": "acc-1", "feature": "reports", "time": 1763647381000}\n'
        '{"account": "acc-2", "feature": "reports", "time": "20261120"}\n',
    )
    code, _, err = cockpit("import", "usage", events, "--db", book)
    assert code == 0, err
    assert usage(book) == ["2025-11-20T14:03:00+00:00", "2025-11-20T14:03:01+00:00", "2026-11-20"]


@pytest.mark.parametrize(
    ("dates", "read"),
    [
        (
            ["1/12/2026 3:45 PM PST", "2026/11/20 14:03 +01:00", "11/20/2026 11:59 PM EST"],
            ["2026-01-12T23:45:00+00:00", "2026-11-20T13:03:00+00:00", "2026-11-21T04:59:00+00:00"],
        ),
        (
            ["02/03/2026 09:00 +01:00", "20/11/2026 14:03 +01:00"],
            ["2026-03-02T08:00:00+00:00", "2026-11-20T13:03:00+00:00"],
        ),
    ],
)
def test_slashed_dates_with_a_zone_are_read_in_their_column_s_order(
    book: Path, tmp_path: Path, dates: list[str], read: list[str]
) -> None:
    """A Salesforce report's `1/12/2026 3:45 PM PST` (its zone named), and a day-first column with an offset
    whose order a later row decides."""
    source = write(
        tmp_path / "zoned.csv",
        "account,feature,occurred_at\n" + "".join(f"acc-1,reports,{day}\n" for day in dates),
    )
    code, _, err = cockpit("import", "usage", source, "--db", book)
    assert code == 0, err
    assert usage(book) == read
