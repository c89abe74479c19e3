"""Lenient parsing of the values found in real exports: dates, numbers and booleans as people write them.

Every parser takes the raw value (text from CSV, or any JSON value) and returns the normalised value or
raises ValueError with a message short enough to follow `field: ` in an error line.

Normal forms: a date is `YYYY-MM-DD`; a timestamp is `YYYY-MM-DDTHH:MM:SS+00:00`, in UTC (a time with a
zone is converted; one without is taken as UTC); numbers are int or float; booleans are bool. These are the
forms the store holds, so that text order is time order.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Literal

_ISO_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:Z|[+-]\d{2}:\d{2})?)?\Z", re.ASCII
)
"""The forms `iso_timestamp` reads: a day, or a day and a time of day whose every field is in range."""
_UTC_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:Z|[+-]00:00)?\Z", re.ASCII
)
"""Those of them in UTC, whose normal form is just their day and time with `+00:00`."""
utc_moment = _UTC_MOMENT.match
"""Whether text is a day and a time in UTC (`_UTC_MOMENT`); its normal form, where the day is one of the
calendar (`calendar_day`), is `f"{text[:10]}T{text[11:19]}+00:00"`, as `iso_timestamp` makes it."""
_ZONE = r"(Z|[+-]\d{2}:?\d{2}|[A-Za-z]{2,5})"
"""A time's zone: `Z`, an offset, or a name (`UTC`, `PST`; see `_ZONE_HOURS`)."""
_SLASHED = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"(?:\s*([AaPp])\.?[Mm]\.?)?(?:\s*" + _ZONE + r")?)?\Z",
    re.ASCII,
)
"""A day with the year last (`20/11/2026`, `11-20-26 3:45 PM`, `1/12/2026 3:45 PM PST`): its first two
numbers are read in a column's order."""
_YEAR_FIRST = re.compile(r"(\d{4})([/.-])(\d{1,2})\2(\d{1,2})(?:[ T]+(.+))?\Z", re.ASCII)
_NAMED_MONTH = re.compile(
    r"(?:([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?|(\d{1,2})(?:st|nd|rd|th)?[\s-]+([A-Za-z]{3,9})\.?,?)"
    r"[\s-]+(\d{4})(?:,?\s+(.+))?\Z",
    re.ASCII,
)
"""`Nov 20, 2026`, `November 20 2026`, `20 Nov 2026`, `20-Nov-2026`, each optionally followed by a time."""
_TIME_OF_DAY = re.compile(
    r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(?:([AaPp])\.?[Mm]\.?)?\s*" + _ZONE + r"?\Z",
    re.ASCII,
)
_ZONE_HOURS = {
    **dict.fromkeys(("Z", "UTC", "GMT"), 0),
    **{"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7},
    **{"AKST": -9, "AKDT": -8, "HST": -10, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2},
    **{"EET": 2, "EEST": 3},
}
"""The zone names exports write after a time (a Salesforce report writes the user's zone: `3:45 PM PST`),
as hours from UTC; an ambiguous one (IST, for three zones) is not read."""
_ZONE_NAME = re.compile(r"\s*(?:UTC|GMT)\Z", re.IGNORECASE)
_SPACED_OFFSET = re.compile(r"(\d)\s+([+-]\d{2}:?\d{2})\Z", re.ASCII)
_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?\Z", re.ASCII)
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
EPOCH_RANGE = (datetime(1990, 1, 1, tzinfo=UTC).timestamp(), datetime(2100, 1, 1, tzinfo=UTC).timestamp())
"""The moments an epoch number may name (from 1990 to 2100): anything else is not taken for a time."""
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


DateOrder = Literal["mdy", "dmy"]
"""How a date with the year last is written: month first (`11/20/2026`) or day first (`20/11/2026`)."""
_ORDER_NAMES: dict[DateOrder, str] = {"mdy": "month/day/year", "dmy": "day/month/year"}


def _read_moment(text: str, *, order: DateOrder, order_known: bool, epoch: bool) -> tuple[datetime, bool]:
    """The moment `text` names, and whether it names only a day. `order` reads a day with the year last;
    two-digit years only where the order is known; epoch seconds or milliseconds only where `epoch`."""
    value = text.strip()
    if not value:
        raise ValueError("empty date")
    if _EPOCH.match(value):
        if not epoch:
            raise ValueError("not a date (a number, not YYYYMMDD)")
        return _epoch(float(value)), False
    iso = _SPACED_OFFSET.sub(r"\1\2", _ZONE_NAME.sub("+00:00", value))
    try:
        # fromisoformat in 3.11 reads every ISO 8601 form we expect, including 'Z', a space separator,
        # fractions of a second, offsets without a colon and the compact day `20261120`.
        return datetime.fromisoformat(iso), len(iso) <= 10
    except ValueError:
        pass
    slashed = _SLASHED.match(value)
    if slashed is not None:
        return _slashed_moment(slashed, order, order_known=order_known), slashed.group(4) is None
    year_first = _YEAR_FIRST.match(value)
    if year_first is not None:
        year, _separator, month, day, clock = year_first.groups()
        return _with_clock(int(year), int(month), int(day), clock), clock is None
    named = _NAMED_MONTH.match(value)
    if named is not None:
        month_name, day_after, day_before, month_after, year, clock = named.groups()
        month = _MONTHS.get((month_name or month_after).lower())
        if month is not None:
            return _with_clock(int(year), month, int(day_after or day_before), clock), clock is None
    raise ValueError("not a date (expected YYYY-MM-DD, optionally with a time and zone)")


def _slashed_moment(match: re.Match[str], order: DateOrder, *, order_known: bool) -> datetime:
    first, second, year, hour, minute, second_of_minute, half, zone = match.groups()
    day, month = (first, second) if order == "dmy" else (second, first)
    if len(year) == 2:
        if not order_known:
            raise ValueError("a two-digit year needs the date order: pass --date-order mdy or dmy")
        year = ("20" if int(year) < 70 else "19") + year
    try:
        moment = datetime(
            int(year), int(month), int(day), _hour(hour, half), int(minute or 0), int(second_of_minute or 0)
        )
    except ValueError:
        hint = "" if order == "dmy" or order_known else "; pass --date-order dmy for day/month/year"
        raise ValueError(f"not a valid {_ORDER_NAMES[order]} date{hint}") from None
    return _zoned(moment, zone)


def _hour(hour: str | None, half: str | None) -> int:
    """An hour of the clock, of a 12-hour clock when `half` is `a` or `p` (AM, PM)."""
    if hour is None:
        return 0
    if half is None:
        return int(hour)
    if not 1 <= int(hour) <= 12:
        raise ValueError("not an hour of a 12-hour clock")
    return int(hour) % 12 + (12 if half in "pP" else 0)


def _with_clock(year: int, month: int, day: int, clock: str | None) -> datetime:
    """A day and, when given, its time of day (`14:03`, `3:45 PM`, `14:03:00 UTC`, `14:03:00+02:00`)."""
    try:
        if clock is None:
            return datetime(year, month, day)
        found = _TIME_OF_DAY.match(clock.strip())
        if found is None:
            raise ValueError
        hour, minute, second, half, zone = found.groups()
        moment = datetime(year, month, day, _hour(hour, half), int(minute), int(second or 0))
    except ValueError:
        raise ValueError("not a valid date or time of day") from None
    return _zoned(moment, zone)


def _zoned(moment: datetime, zone: str | None) -> datetime:
    """A time of day in its zone (none: as written, taken as UTC later)."""
    if zone is None:
        return moment
    if zone[0] in "+-":
        return datetime.fromisoformat(f"{moment.isoformat()}{zone[:3]}:{zone[-2:]}")
    hours = _ZONE_HOURS.get(zone.upper())
    if hours is None:
        raise ValueError(f"not a time zone this reads ({zone}); write it as an offset, e.g. -08:00")
    return moment.replace(tzinfo=timezone(timedelta(hours=hours)))


def _epoch(number: float) -> datetime:
    """Epoch seconds, or milliseconds (13 digits), within `EPOCH_RANGE`."""
    seconds = number / 1000 if number >= 1e11 else number
    if not EPOCH_RANGE[0] <= seconds < EPOCH_RANGE[1]:
        raise ValueError("not a time (an epoch number outside 1990-2100)")
    return datetime.fromtimestamp(int(seconds), UTC)


def _from_number(raw: object) -> datetime | None:
    """A JSON number as an epoch time; None if `raw` is not a number."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return _epoch(float(raw))


def parse_date(raw: object, *, dayfirst: bool = False, order: DateOrder | None = None) -> str:
    """A calendar date (a timestamp is cut to its UTC day). `order` (or `dayfirst`) reads `01/02/2026`; a
    known order also reads two-digit years. `20261120` is a day."""
    if isinstance(raw, datetime):
        return _to_utc(raw).date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ValueError("not a date")
    known = order is not None or dayfirst
    moment, _ = _read_moment(
        raw, order=order or ("dmy" if dayfirst else "mdy"), order_known=known, epoch=False
    )
    return _to_utc(moment).date().isoformat()


def parse_timestamp(raw: object, *, dayfirst: bool = False, order: DateOrder | None = None) -> str:
    """A moment; a bare date stays a date (`YYYY-MM-DD`), as daily exports give them. Epoch seconds and
    milliseconds (as text or JSON numbers) are read within `EPOCH_RANGE`."""
    if isinstance(raw, datetime):
        return _to_utc(raw).isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    from_number = _from_number(raw)
    if from_number is not None:
        return from_number.isoformat()
    if not isinstance(raw, str):
        raise ValueError("not a date or time")
    known = order is not None or dayfirst
    moment, day_only = _read_moment(
        raw, order=order or ("dmy" if dayfirst else "mdy"), order_known=known, epoch=True
    )
    if day_only:
        return moment.date().isoformat()
    return _to_utc(moment).isoformat()


class DateOrderConflict(Exception):
    """A column whose dates cannot all be read in one day/month order: the column's problem, not a row's
    (deliberately not a ValueError, which would make it one row's)."""


class ReadAgain(Exception):
    """A column's order was learnt after some of its dates were read in the default order (month first):
    the file must be read again with the order now known."""


_PLAIN_CLOCK = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\Z", re.ASCII)
_KNOWN_DAYS = 4096


class DateColumn:
    """The dates of one column of one file, whose day/month order is decided once for the column: given (an
    option), or learnt from its values (`13/02/2026` can only be day first, `02/13/2026` only month first).
    Until one is learnt, a value that reads either way (`02/03/2026`) is read month first and the column
    remembers it was `guessed`: learning day first afterwards raises `ReadAgain`. A value only one order can
    read, against the order given or learnt, raises `DateOrderConflict`."""

    def __init__(self, column: str, given: DateOrder | None = None) -> None:
        self.column = column
        self.given = given
        self.learnt: tuple[DateOrder, int, str] | None = None
        """The order learnt, with the first row (and its value) that can be read only that way."""
        self.guessed: tuple[int, str] | None = None
        """The first row read month first without knowing the order (every value so far reads either way)."""
        self._waiting = False
        """A two-digit year was refused while the order was unknown: once it is known, read the file again."""
        self._days: dict[str, str] = {}
        """The days met, as written -> normal form (an export has few distinct days)."""

    @property
    def order(self) -> DateOrder:
        return self.given or (self.learnt[0] if self.learnt else "mdy")

    def again(self) -> None:
        """Before the file is read again: what was read in the default order is forgotten."""
        self.guessed = None
        self._waiting = False
        self._days.clear()

    def timestamp(self, raw: object, row: int) -> str:
        """`parse_timestamp` in the column's order."""
        if type(raw) is str:
            day_text, space, clock = raw.partition(" ")
            day = self._days.get(day_text)
            if day is not None:
                if not space:
                    return day
                if _PLAIN_CLOCK.match(clock):
                    return f"{day}T{clock}+00:00"
            slashed = _SLASHED.match(raw.strip())
            if slashed is not None:
                moment = self._slashed(slashed, row, raw.strip())
                if slashed.group(4) is None:
                    return moment.date().isoformat()
                return _to_utc(moment).isoformat()
        return parse_timestamp(raw, order=self.order)

    def date(self, raw: object, row: int) -> str:
        """`parse_date` in the column's order."""
        if type(raw) is str:
            day = self._days.get(raw)
            if day is not None:
                return day
            slashed = _SLASHED.match(raw.strip())
            if slashed is not None:
                return _to_utc(self._slashed(slashed, row, raw.strip())).date().isoformat()
        return parse_date(raw, order=self.order)

    def _slashed(self, match: re.Match[str], row: int, text: str) -> datetime:
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 >= second:
            self._learn("dmy", row, text)
        elif second > 12 >= first:
            self._learn("mdy", row, text)
        elif first != second and first <= 12 and self.given is None and self.learnt is None:
            self.guessed = self.guessed or (row, text)
            self._waiting = self._waiting or len(match.group(3)) == 2
        known = self.given is not None or self.learnt is not None
        moment = _slashed_moment(match, self.order, order_known=known)
        day_text = text.partition(" ")[0]
        if len(self._days) >= _KNOWN_DAYS:
            self._days.clear()
        self._days[day_text] = moment.date().isoformat()
        return moment

    def _learn(self, order: DateOrder, row: int, text: str) -> None:
        if self.given is not None:
            if order != self.given:
                raise DateOrderConflict(
                    f"column {self.column!r}: row {row} ({text}) can only be {_ORDER_NAMES[order]}, but the "
                    f"import was told {_ORDER_NAMES[self.given]}"
                )
            return
        if self.learnt is None:
            self.learnt = (order, row, text)
            if (self.guessed is not None and order != "mdy") or self._waiting:
                raise ReadAgain
        elif self.learnt[0] != order:
            other, first_row, first_text = self.learnt
            raise DateOrderConflict(
                f"column {self.column!r} mixes date orders: row {first_row} ({first_text}) can only be "
                f"{_ORDER_NAMES[other]}, row {row} ({text}) only {_ORDER_NAMES[order]}"
            )

    @property
    def note(self) -> str | None:
        """What the summary says of a column read month first for want of a value that decides."""
        if self.guessed is None or self.given is not None or self.learnt is not None:
            return None
        row, text = self.guessed
        return (
            f"column {self.column!r}: every date reads either way (day and month both 12 or less, e.g. row "
            f"{row}: {text}); read month first. Pass --date-order dmy if the file writes the day first."
        )


def iso_timestamp(text: str) -> str | None:
    """`parse_timestamp(text)` for the forms exports write by the million, without its general parse: a day
    (`2026-11-02`), or a day and a time to the second, `T` or a space between, with no zone, `Z` or an
    offset (`2026-11-02T09:30:00Z`, `2026-11-02 11:30:00+02:00`). None for any other text, valid or not."""
    if _UTC_MOMENT.match(text) is not None:
        return f"{text[:10]}T{text[11:19]}+00:00" if calendar_day(text[:10]) else None
    if _ISO_MOMENT.match(text) is None or not calendar_day(text[:10]):
        return None
    if len(text) == 10:
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC).isoformat()


@lru_cache(maxsize=4096)
def calendar_day(text: str) -> bool:
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
