"""Lenient parsing of the values found in real exports: dates, numbers and booleans as people write them.

Every parser takes the raw value (text from CSV, or any JSON value) and returns the normalised value or
raises ValueError with a message short enough to follow `field: ` in an error line.

Normal forms: a date is `YYYY-MM-DD`; a timestamp is `YYYY-MM-DDTHH:MM:SS+00:00`, in UTC (a time with a
zone is converted; one without is taken as UTC); numbers are int or float; booleans are bool. These are the
forms the store holds, so that text order is time order.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache

_ISO_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:Z|[+-]\d{2}:\d{2})?)?\Z", re.ASCII
)
"""The forms `iso_timestamp` reads: a day, or a day and a time of day whose every field is in range."""
_UTC_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:Z|[+-]00:00)?\Z", re.ASCII
)
"""Those of them in UTC, whose normal form is just their day and time with `+00:00`."""
_SLASHED = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NOT_LETTER = re.compile(r"[^a-z]")
_CURRENCY = str.maketrans("", "", "$€£¥ _\u00a0")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "on", "x"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off"})
_TERM_WORDS = {
    "monthtomonth": 1,
    "monthly": 1,
    "quarterly": 3,
    "annual": 12,
    "annually": 12,
    "yearly": 12,
    "biennial": 24,
}
_COUNT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_TERM = re.compile(r"^(\d+|one|two|three|four|five)\s*-?\s*(months?|mo|years?|yrs?|y)?$")


def _parse_datetime(text: str, *, dayfirst: bool) -> datetime:
    value = text.strip()
    if not value:
        raise ValueError("empty date")
    try:
        # fromisoformat in 3.11 reads every ISO 8601 form we expect, including 'Z' and a space separator.
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    match = _SLASHED.match(value)
    if match is None:
        raise ValueError("not a date (expected YYYY-MM-DD, optionally with a time and zone)")
    first, second, year, hour, minute, second_of_minute = match.groups()
    day, month = (first, second) if dayfirst else (second, first)
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second_of_minute or 0)
        )
    except ValueError:
        order = "day/month/year" if dayfirst else "month/day/year"
        hint = "" if dayfirst else "; pass --dayfirst for day/month/year"
        raise ValueError(f"not a valid {order} date{hint}") from None


def parse_date(raw: object, *, dayfirst: bool = False) -> str:
    """A calendar date (a timestamp is cut to its UTC day)."""
    if isinstance(raw, datetime):
        return _to_utc(raw).date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if not isinstance(raw, str):
        raise ValueError("not a date")
    return _to_utc(_parse_datetime(raw, dayfirst=dayfirst)).date().isoformat()


def parse_timestamp(raw: object, *, dayfirst: bool = False) -> str:
    """A moment; a bare date stays a date (`YYYY-MM-DD`), as daily exports give them."""
    if isinstance(raw, datetime):
        return _to_utc(raw).isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if not isinstance(raw, str):
        raise ValueError("not a date or time")
    text = raw.strip()
    parsed = _parse_datetime(text, dayfirst=dayfirst)
    if len(text) == 10 and parsed.time() == datetime.min.time():
        return parsed.date().isoformat()
    return _to_utc(parsed).isoformat()


def iso_timestamp(text: str) -> str | None:
    """`parse_timestamp(text)` for the forms exports write by the million, without its general parse: a day
    (`2026-11-02`), or a day and a time to the second, `T` or a space between, with no zone, `Z` or an
    offset (`2026-11-02T09:30:00Z`, `2026-11-02 11:30:00+02:00`). None for any other text, valid or not."""
    if _UTC_MOMENT.match(text) is not None:
        return f"{text[:10]}T{text[11:19]}+00:00" if _is_day(text[:10]) else None
    if _ISO_MOMENT.match(text) is None or not _is_day(text[:10]):
        return None
    if len(text) == 10:
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC).isoformat()


@lru_cache(maxsize=4096)
def _is_day(text: str) -> bool:
    """Whether `YYYY-MM-DD` text is a day of the calendar (an export has few distinct days)."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _to_utc(moment: datetime) -> datetime:
    """The same moment in UTC, to the second; a time without a zone is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def parse_number(raw: object) -> float:
    """A number, allowing thousands separators and currency signs (`$1,234.50`)."""
    if isinstance(raw, bool):
        raise ValueError("not a number")
    if isinstance(raw, int | float):
        return float(raw)
    if not isinstance(raw, str):
        raise ValueError("not a number")
    text = raw.strip().translate(_CURRENCY)
    if "," in text:
        if not _GROUPED.match(text):
            raise ValueError("not a number (use '.' for decimals; ',' only between thousands)")
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value


def parse_integer(raw: object) -> int:
    value = parse_number(raw)
    if not value.is_integer():
        raise ValueError("not a whole number")
    return int(value)


def parse_contract_months(raw: object) -> int:
    """A contract term in months, as exports name it: a number of months (`12`, `12 months`), years (`One
    year`, `2 years`), or a word (`Month-to-month` 1, `quarterly` 3, `annual`/`yearly` 12, `biennial` 24)."""
    if isinstance(raw, str):
        text = raw.strip().lower()
        word = _NOT_LETTER.sub("", text)
        if word in _TERM_WORDS:
            return _TERM_WORDS[word]
        found = _TERM.match(text)
        if found is None:
            raise ValueError(
                "not a contract term (a number of months, or e.g. Month-to-month, One year, Two year, annual)"
            )
        count, unit = found.groups()
        months = (_COUNT_WORDS.get(count) or int(count)) * (12 if unit and unit.startswith("y") else 1)
    else:
        months = parse_integer(raw)
    if months <= 0:
        raise ValueError("a contract term is at least one month")
    return months


def parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError("not a yes/no value (expected true/false, yes/no, 1/0)")
