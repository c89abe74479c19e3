"""Score runs kept in two forms: full rows, and a compact form for the runs that only history reads.

A run's full rows (`scores`: every score with its explanation, about 1 KB an account) are what the book,
the account screen and outreach read of the latest run. An older run is read only by the history: the
trend, "a month / a year ago", `score evaluate`, `cockpit export scores`; these read the scores of
`HISTORY_COLUMNS` and nothing else. So an older run keeps just those, in one row of `compact_scores`
(migration 0023): its accounts as one packed array of small numbers (`score_keys` numbers each account
once, for every run), and each column as one packed array in the accounts' order, compressed: the reals as
8-byte floats, exactly as stored (NaN for NULL), the labels (bands, tiers, statuses) as one byte each, a
code into the run's list of the labels it used (0 for NULL); the account keys and the healths uncompressed,
so that one account's can be read alone. About 14 bytes an account instead of
about 800.

`run_scores` reads a run in either form, so its readers need not know which; `compact_score_runs` turns
runs into the compact form (which runs: `cockpit.scoring.retention.runs_to_compact`).
"""

from __future__ import annotations

import json
import sys
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import ExitStack
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Final

from cockpit.errors import DatabaseError

if TYPE_CHECKING:  # for the annotations only: the book's module, which imports this one, loads without it
    from sqlite_utils import Database

REAL_COLUMNS: Final = ("health", "churn_risk")
"""The compact form's reals, each a BLOB column of `compact_scores` of 8-byte floats."""
LABEL_COLUMNS: Final = (
    "health_band",
    "churn_tier",
    "adoption_status",
    "value_tier",
    "priority",
    "advocacy",
    "cross_sell_ready",
)
"""The compact form's labels, coded together in `compact_scores.codes`."""
HISTORY_COLUMNS: Final = REAL_COLUMNS + LABEL_COLUMNS
"""The columns of `scores` a compact run keeps: what the readers of older runs read."""
_LEVEL = 6
"""zlib's level: at 70,000 accounts the keys and codes shrink to a few KB a run, the churn risks to a
quarter; the healths, nearly all distinct, hardly at all, at any level."""


def _little_endian(values: array[Any]) -> bytes:
    if sys.byteorder == "big":
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _from_little_endian(typecode: str, data: bytes) -> array[Any]:
    values = array(typecode)
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values


_RAW: Final = {"keys": "I", "health": "d"}
"""The arrays kept uncompressed, with their item's type: one account's place in a run and its health read
without the rest (`_Items`), for the trend, which reads one account of every run kept."""


def _pack(column: str, values: array[Any]) -> bytes:
    data = _little_endian(values)
    return data if column in _RAW else zlib.compress(data, _LEVEL)


_CODE_TYPES: Final = ("B", "H", "I")


def _code_type(largest: int) -> str:
    """The narrowest type of the codes up to `largest`: a byte, unless a label column of the run has more
    than 255 distinct values (its length tells the reader which)."""
    return next(code for code in _CODE_TYPES if largest < 256 ** array(code).itemsize)


def _whole(db: Database, run_id: int, column: str, count: int = 0) -> array[Any]:
    """A compact run's array (`column` of compact_scores), read whole; `count`: its accounts, for the codes."""
    (data,) = db.execute(f"SELECT [{column}] FROM compact_scores WHERE run_id = ?", [run_id]).fetchone()
    if column in _RAW:
        return _from_little_endian(_RAW[column], data)
    data = zlib.decompress(data)
    if column in REAL_COLUMNS:
        return _from_little_endian("d", data)
    size = len(data) // (count * len(LABEL_COLUMNS)) if count else 1
    return _from_little_endian(next(code for code in _CODE_TYPES if array(code).itemsize == size), data)


class _Items:
    """An uncompressed array of a compact run (_RAW) read an item at a time from its BLOB."""

    def __init__(self, db: Database, run_id: int, column: str, stack: ExitStack) -> None:
        self._blob = stack.enter_context(db.conn.blobopen("compact_scores", column, run_id))
        self._typecode = _RAW[column]
        self._size = array(self._typecode).itemsize

    def __len__(self) -> int:
        return len(self._blob) // self._size

    def __getitem__(self, index: int) -> Any:
        self._blob.seek(index * self._size)
        return _from_little_endian(self._typecode, self._blob.read(self._size))[0]


def compact_run_ids(db: Database) -> set[int]:
    return {run_id for (run_id,) in db.execute("SELECT run_id FROM compact_scores")}


def compact_score_runs(db: Database, run_ids: Iterable[int]) -> int:
    """Store these runs in the compact form in place of their full rows (inside a write transaction); runs
    compact already are left as they are. Returns the score rows compacted."""
    compacted = 0
    compact = compact_run_ids(db)
    names = ", ".join(f"s.{column}" for column in HISTORY_COLUMNS)
    for run_id in run_ids:
        if run_id in compact:
            continue
        # Keys are only ever added, each the next number: they run 1, 2, 3, ...
        db.execute(
            "INSERT OR IGNORE INTO score_keys (account_id) "
            "SELECT account_id FROM scores WHERE run_id = ? ORDER BY account_id",
            [run_id],
        )
        rows = db.execute(
            f"SELECT k.key, {names} FROM scores s JOIN score_keys k ON k.account_id = s.account_id "
            "WHERE s.run_id = ? ORDER BY k.key",
            [run_id],
        ).fetchall()
        columns = list(zip(*rows, strict=True)) or [() for _ in range(1 + len(HISTORY_COLUMNS))]
        keys, reals, coded = columns[0], columns[1 : 1 + len(REAL_COLUMNS)], columns[1 + len(REAL_COLUMNS) :]
        labels: dict[str, list[Any]] = {}
        codes: list[int] = []
        for name, values in zip(LABEL_COLUMNS, coded, strict=True):
            found = labels[name] = sorted({value for value in values if value is not None}, key=str)
            code = {value: index for index, value in enumerate(found, start=1)}
            codes += [0 if value is None else code[value] for value in values]
        db.execute(
            "INSERT INTO compact_scores (run_id, accounts, keys, labels, codes, health, churn_risk) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                len(keys),
                _pack("keys", array("I", keys)),
                json.dumps(labels),
                _pack("codes", array(_code_type(max(codes, default=0)), codes)),
                *(
                    _pack(name, _reals(run_id, name, values))
                    for name, values in zip(REAL_COLUMNS, reals, strict=True)
                ),
            ],
        )
        db.execute("DELETE FROM scores WHERE run_id = ?", [run_id])
        compacted += len(keys)
    return compacted


def _reals(run_id: int, column: str, values: Sequence[Any]) -> array[Any]:
    """A real column of a run as doubles (NULL as NaN); a value that is no number (a file edited by hand)
    stops the compaction, whose transaction then leaves the file as it was."""
    try:
        return array("d", [float("nan") if value is None else value for value in values])
    except TypeError:
        wrong = next(value for value in values if value is not None and not isinstance(value, int | float))
        raise DatabaseError(
            f"score run {run_id} holds a {column} that is not a number ({wrong!r}); nothing was compacted.",
            hint="Drop that run's scores or correct the value, then run `cockpit db compact` again.",
        ) from None


def _ids_by_key(db: Database, account_ids: Collection[str] | None) -> dict[int, str]:
    """Key -> account id, of these accounts (of all without them: read as one JSON text, which costs far
    less than a row each)."""
    if account_ids is None:
        (packed,) = db.execute(
            "SELECT json_group_array(account_id) FROM (SELECT account_id FROM score_keys ORDER BY key)"
        ).fetchone()
        return dict(enumerate(json.loads(packed), start=1))  # keys run 1, 2, 3, ... (`compact_score_runs`)
    return dict(
        db.execute(
            "SELECT key, account_id FROM score_keys WHERE account_id IN (SELECT value FROM json_each(?))",
            [json.dumps(list(account_ids))],
        )
    )


def _compact_rows(
    db: Database, run_id: int, as_of: str, columns: Sequence[str], account_ids: Collection[str] | None
) -> list[tuple[Any, ...]]:
    """The rows `run_scores` gives of a compact run: of a few accounts, their items read one by one from the
    uncompressed arrays; of all, every array read whole."""
    ids = _ids_by_key(db, account_ids)
    (labels_json,) = db.execute("SELECT labels FROM compact_scores WHERE run_id = ?", [run_id]).fetchone()
    labels = json.loads(labels_json)
    with ExitStack() as stack:

        def read(column: str) -> array[Any] | _Items:
            if account_ids is not None and column in _RAW:
                return _Items(db, run_id, column, stack)
            return _whole(db, run_id, column)

        keys = read("keys")
        count = len(keys)
        if account_ids is None:
            places: Sequence[int] = range(count)
        else:  # the accounts' places among the run's, for those it scored
            places = [
                place
                for key in sorted(ids)
                if (place := bisect_left(keys, key)) < count and keys[place] == key
            ]
        scored = [ids[keys[place]] for place in places]
        codes: array[Any] | _Items | None = None
        values: list[list[Any]] = [scored]
        for column in columns:
            if column in REAL_COLUMNS:
                reals = read(column)
                values.append([None if (real := reals[place]) != real else real for place in places])
            elif column in LABEL_COLUMNS:
                codes = codes or _whole(db, run_id, "codes", count)
                start, coded = LABEL_COLUMNS.index(column) * count, [None, *labels[column]]
                values.append([coded[codes[start + place]] for place in places])
            elif column == "account_id":
                values.append(scored)
            else:
                values.append([{"run_id": run_id, "as_of": as_of}.get(column)] * len(places))
    rows = list(zip(*values, strict=True))
    if any(before > after for before, after in pairwise(scored)):  # keys given after the first compaction
        rows.sort()
    return rows


def run_scores(
    db: Database, run_id: int, columns: Sequence[str], account_ids: Collection[str] | None = None
) -> Iterator[tuple[Any, ...]]:
    """(account id, *`columns`) of every account the run scored (of those of `account_ids`, if given), by
    account id, whichever form the run is kept in. `columns` are columns of `scores`; of a compact run,
    those it does not keep (not in HISTORY_COLUMNS, nor run_id, account_id, as_of) come as None."""
    compact = db.execute(
        "SELECT as_of FROM score_runs WHERE id = ? AND id IN (SELECT run_id FROM compact_scores)", [run_id]
    ).fetchone()
    if compact is not None:
        return iter(_compact_rows(db, run_id, compact[0], columns, account_ids))
    names = "".join(f", [{column}]" for column in columns)
    if account_ids is None:
        return iter(
            db.execute(f"SELECT account_id{names} FROM scores WHERE run_id = ? ORDER BY account_id", [run_id])
        )
    return iter(
        db.execute(
            f"SELECT account_id{names} FROM scores "
            "WHERE run_id = ? AND account_id IN (SELECT value FROM json_each(?)) ORDER BY account_id",
            [run_id, json.dumps(list(account_ids))],
        )
    )


def compact_bytes(db: Database, run_ids: Collection[int] | None = None) -> int:
    """The bytes of the compact runs' arrays (of `run_ids`, or all)."""
    among = "" if run_ids is None else "WHERE run_id IN (SELECT value FROM json_each(?))"
    (total,) = db.execute(
        "SELECT coalesce(sum(length(keys) + length(labels) + length(codes) + length(health) "
        f"+ length(churn_risk)), 0) FROM compact_scores {among}",
        [] if run_ids is None else [json.dumps(list(run_ids))],
    ).fetchone()
    return int(total)
