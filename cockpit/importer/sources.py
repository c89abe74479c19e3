"""Reading export files: a path or stdin, plain or gzip, CSV or JSON Lines, streamed row by row.

A `Source` yields `(row_number, fields)` where `fields` maps the file's own column names to values; empty
CSV cells are left out, so they read as "not given". A JSON Lines record's nested values are read by a dotted
path (`context.groupId`) where a mapping names one. Row numbers are what a person sees when opening the
file: in a CSV the header is row 1, in JSON Lines each line is a row. Anything that makes the file
unreadable raises `SourceError` naming the file and, where known, the row.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, Literal, cast

from cockpit.errors import CockpitError

Format = Literal["csv", "jsonl"]
Row = list[str] | dict[str, Any]
"""One row as read: CSV cells in header order, or a JSON Lines object."""
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 8192
# Bigger than any text field cockpit accepts (100,000 characters), so that a long field is reported by
# validation as too long; anything past this is not a field but a broken file.
FIELD_SIZE_LIMIT = 1_000_000
LINES_READ = 1 << 20
"""Characters of whole lines `Source.csv_cells` reads at a time."""


class SourceError(CockpitError):
    title = "Cannot read the file"


class OtherWidth(Exception):
    """A row not as wide as the header, met by `Source.csv_cells` (its caller reads the file row by row)."""


class Source:
    """One input file; its columns are known once it is opened (JSON Lines: those of the first record)."""

    def __init__(self, name: str, fmt: Format, stream: IO[bytes], *, encoding: str, delimiter: str) -> None:
        self.name = name
        """How the file is named in messages: its path, or `-` for stdin."""
        self.format = fmt
        self.encoding = encoding
        self.columns: list[str] = []
        self.found_paths: set[str] = set()
        """The dotted paths (`properties.time`) that `project` was given and found in a record so far."""
        self._stream = stream
        # A gzip reader does not close the file it reads from: keep that file to close it too.
        self._file: IO[bytes] = getattr(stream, "fileobj", None) or stream
        self._text = io.TextIOWrapper(stream, encoding=encoding, newline="", errors="strict")
        self._delimiter = delimiter
        self._csv = csv.reader(self._text, delimiter=delimiter, strict=True)
        self._lines_read = 0
        """Lines read by `csv_cells` past those the CSV reader read."""
        self._first: tuple[int, Row] | None = None
        self._rows = self._csv_rows() if fmt == "csv" else self._jsonl_rows()
        try:
            with self._translated_errors():
                self._first = next(self._rows, None)
        except BaseException:
            self.close()
            raise
        if self._first is None:
            self.close()
            raise SourceError(
                f"{name}: has a header but no rows."
                if self.columns
                else f"{name}: the file is empty (no header row)."
            )

    def rows(self) -> Iterator[tuple[int, Row]]:
        """Every row once, as `(row number, cells)`; closes the file at the end.

        Cells are a list in the header's order for CSV (read them with `as_dict` or `project`), the parsed
        object for JSON Lines.
        """
        try:
            if self._first is not None:
                first, self._first = self._first, None
                yield first
            with self._translated_errors():
                yield from self._rows
        finally:
            self.close()

    @property
    def first_cells(self) -> list[str]:
        """CSV only: the cells of the first row, not yet read by `rows` or `csv_cells`."""
        assert self._first is not None and isinstance(self._first[1], list)
        return self._first[1]

    def csv_cells(self) -> tuple[int, Iterator[list[str]]]:
        """CSV only: the first row's number, and the cells of every row as the CSV reader reads them, those
        of a read's rows in one list, row after row, without the checks `rows` makes (for a bulk load that
        checks them itself: a row not as wide as the header raises `OtherWidth`, an undecodable byte
        `UnicodeError`); after them, `line` is the file's number of the last line read."""
        assert self._first is not None and self.format == "csv"
        (line, first), self._first = self._first, None
        assert isinstance(first, list)
        return line, self._cells(first)

    def _cells(self, first: list[str]) -> Iterator[list[str]]:
        """The first row's cells, then those of the rows after it, read `LINES_READ` characters of lines at a
        time. Lines with neither a quote nor a lone carriage return (a line break of its own) are
        split at the delimiter, which is all the CSV reader would make of them: a read's line breaks made
        delimiters, then one split, once each line is known to hold as many delimiters as the header (no
        list per row, for a third less CPU than splitting line by line). Any other read goes to a CSV
        reader (a quoted line break makes fewer rows than lines, as `line` then shows, and one across two
        reads is an error)."""
        delimiter, width = self._delimiter, len(self.columns)
        if len(first) != width:
            raise OtherWidth
        yield first
        while lines := self._text.readlines(LINES_READ):
            self._lines_read += len(lines)
            text = "".join(lines)
            if (
                '"' in text
                or text.count("\r") != text.count("\r\n")
                or max(map(len, lines)) > FIELD_SIZE_LIMIT
            ):
                rows = list(csv.reader(lines, delimiter=delimiter, strict=True))
                if any(len(row) != width for row in rows):
                    raise OtherWidth
                yield list(itertools.chain.from_iterable(rows))
                continue
            if set(map(str.count, lines, itertools.repeat(delimiter))) != {width - 1}:
                raise OtherWidth  # a blank line too
            text = text.replace("\r\n", "\n")
            yield text.removesuffix("\n").replace("\n", delimiter).split(delimiter)

    @property
    def line(self) -> int:
        """The number of the last line read."""
        return self._csv.line_num + self._lines_read

    def as_dict(self, cells: Row) -> dict[str, Any]:
        """A row as `{column: value}`, as the file has it (for messages and the rejects file)."""
        if isinstance(cells, dict):
            return cells
        return dict(zip(self.columns, cells, strict=False))

    def positions(self, fields: dict[str, str]) -> dict[str, int]:
        """Each field's column position in a CSV row."""
        return {field: self.columns.index(column) for column, field in fields.items()}

    def project(self, fields: dict[str, str]) -> Callable[[Row], dict[str, Any]]:
        """A function that reads the given columns of a row as `{field: value}`, leaving out empty values.

        It runs once per row, so for CSV it reads cells by position instead of building a dict per row.
        """
        if self.format == "jsonl":
            paths = [
                (name, name.split("."), field)
                for name, field in fields.items()
                if "." in name and name not in self.columns
            ]
            found = self.found_paths

            def from_object(cells: Row) -> dict[str, Any]:
                assert isinstance(cells, dict)
                data = {
                    fields[key]: value
                    for key, value in cells.items()
                    if key in fields and value is not None and value != ""
                }
                for name, steps, field in paths:
                    value = _nested(cells, steps)
                    if value is not _ABSENT:
                        found.add(name)
                        if value is not None and value != "":
                            data[field] = value
                return data

            return from_object
        positions = [(index, fields[name]) for index, name in enumerate(self.columns) if name in fields]

        def from_cells(cells: Row) -> dict[str, Any]:
            assert isinstance(cells, list)
            width = len(cells)
            return {field: cells[index] for index, field in positions if index < width and cells[index]}

        return from_cells

    def close(self) -> None:
        if not self._stream.closed:
            self._text.detach()
            self._stream.close()
        self._file.close()

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        """Turn decoding and decompression failures into messages that name the file."""
        try:
            yield
        except UnicodeDecodeError as error:
            raise SourceError(
                f"{self.name}: not {self.encoding.replace('-sig', '').upper()} text "
                f"(byte 0x{error.object[error.start]:02x} cannot be decoded).",
                hint="Re-save the file as UTF-8, or name its encoding with --encoding (e.g. latin-1).",
            ) from None
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise SourceError(f"{self.name}: the gzip data is damaged or cut short ({error}).") from None

    def _csv_rows(self) -> Iterator[tuple[int, Row]]:
        reader = self._csv
        try:
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                return
            self.columns = [cell.strip() for cell in header]
            blank = [number for number, name in enumerate(self.columns, 1) if not name]
            if blank:
                raise SourceError(f"{self.name}:1: column {blank[0]} of the header has no name.")
            width = len(self.columns)
            for cells in reader:
                size = len(cells)
                if size <= 1 and (not cells or not cells[0].strip()):
                    continue
                if size > width:
                    extra = [cell for cell in cells[width:] if cell.strip()]
                    if extra:
                        raise SourceError(
                            f"{self.name}:{reader.line_num}: {len(cells)} fields where the header has {width} "
                            f"(first extra value {extra[0][:40]!r}); check the delimiter and quoting."
                        )
                yield reader.line_num, cells
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise SourceError(
                    f"{self.name}:{reader.line_num}: a field is longer than {FIELD_SIZE_LIMIT:,} characters; "
                    "is a quote left open?"
                ) from None
            raise SourceError(f"{self.name}:{reader.line_num}: not valid CSV ({error}).") from None

    def _jsonl_rows(self) -> Iterator[tuple[int, Row]]:
        seen = set(self.columns)
        for number, line in enumerate(self._text, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise SourceError(f"{self.name}:{number}: not valid JSON ({error.msg}).") from None
            if not isinstance(value, dict):
                raise SourceError(
                    f"{self.name}:{number}: each line must be a JSON object, not {type(value).__name__}."
                )
            for key in value.keys() - seen:
                seen.add(key)
                self.columns.append(key)
            yield number, value


_ABSENT = object()


def _nested(value: Any, steps: list[str]) -> Any:
    """The value at a dotted path of a JSON object (`context.groupId`), each key matched as written or else
    ignoring case; `_ABSENT` where the path leads nowhere."""
    for step in steps:
        if not isinstance(value, dict):
            return _ABSENT
        if step not in value:
            step = next((key for key in value if key.lower() == step.lower()), "")
            if not step:
                return _ABSENT
        value = value[step]
    return value


def _detect_format(name: str, head: bytes) -> Format:
    stem = name[:-3] if name.endswith(".gz") else name
    lowered = stem.lower()
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lowered.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    first = head.lstrip(codecs.BOM_UTF8).lstrip()[:1]
    if first == b"[":
        raise SourceError(
            f"{name}: a JSON array; cockpit reads JSON Lines (one object per line).",
            hint="Convert it, e.g. with: jq -c '.[]' FILE > FILE.jsonl",
        )
    return "jsonl" if first == b"{" else "csv"


def _peek(stream: IO[bytes], size: int) -> bytes:
    """The first bytes of a buffered stream (a file, stdin or a gzip reader), without consuming them."""
    peek = getattr(stream, "peek", None)
    if peek is None:
        raise TypeError("stream must be buffered")
    head: bytes = peek(size)[:size]
    return head


def open_source(
    path: str,
    *,
    format: Format | None = None,  # noqa: A002 - the user-facing option is --format
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
) -> Source:
    """Open `path` (or `-` for stdin), detecting gzip and, unless forced, CSV or JSON Lines."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise SourceError(
            f"unknown encoding {encoding!r}.", hint="Use e.g. utf-8, latin-1 or cp1252."
        ) from None
    if path == "-":
        stdin = sys.stdin.buffer
        raw: IO[bytes] = stdin if hasattr(stdin, "peek") else io.BufferedReader(cast(io.RawIOBase, stdin))
    else:
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed by Source.rows()
        except FileNotFoundError:
            raise SourceError(f"{path}: no such file.") from None
        except IsADirectoryError:
            raise SourceError(f"{path}: is a folder, not a file.") from None
        except PermissionError:
            raise SourceError(f"{path}: permission denied.") from None
    try:
        return _open_stream(path, raw, fmt=format, encoding=encoding, delimiter=delimiter)
    except BaseException:
        raw.close()
        raise


def _open_stream(path: str, raw: IO[bytes], *, fmt: Format | None, encoding: str, delimiter: str) -> Source:
    head = _peek(raw, _SNIFF_BYTES)
    stream: IO[bytes] = raw
    if head.startswith(_GZIP_MAGIC):
        stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
        try:
            head = _peek(stream, _SNIFF_BYTES)
        except (EOFError, OSError, zlib.error) as error:
            raise SourceError(f"{path}: the gzip data is damaged or cut short ({error}).") from None
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceError(f"{path}: a binary file, not CSV or JSON Lines text.")
    if encoding == "utf-8-sig" and head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    chosen = fmt or _detect_format(path, head)
    if path.lower().removesuffix(".gz").endswith(".tsv") and fmt is None and delimiter == ",":
        delimiter = "\t"
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    return Source(path, chosen, stream, encoding=encoding, delimiter=delimiter)
