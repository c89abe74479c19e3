"""The pydantic-free path for usage events must agree with full validation on every row it accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cockpit.domain.parsing import DateColumn
from cockpit.importer.kinds import KINDS, Unresolved
from cockpit.store import Store, open_store
from cockpit.store.imports import References

pytestmark = pytest.mark.slow

NOW = "2026-11-22T00:00:00"
USAGE = KINDS["usage"]
FIELDS = ["account", "feature", "occurred_at", "contact", "count", "source_id"]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store: Store = open_store(tmp_path_factory.mktemp("fast") / "fast.db", create=True)
    with store.write() as db:
        db.execute(
            "INSERT INTO accounts (id, name, domain, created_at, updated_at) VALUES ('a1', 'A', 'a.example', ?, ?)",
            [NOW, NOW],
        )
        db.execute("INSERT INTO products (id, name) VALUES ('p', 'P')")
        db.execute("INSERT INTO features (id, product_id, name) VALUES ('f1', 'p', 'Reports')")
        db.execute("INSERT INTO contacts (id, account_id, name, email, created_at, updated_at) VALUES ('c1', 'a1', 'C', 'c@a.example', ?, ?)", [NOW, NOW])  # fmt: skip
    yield store
    store.close()


@pytest.fixture(scope="module")
def refs(book: Store) -> References:
    references = References(book.db)
    for kind, ref in (("account", "a1"), ("account", "a.example"), ("feature", "f1"), ("contact", "c1")):
        references.find(kind, ref)  # warm the caches, as earlier rows of a file do
    return references


def fast_path(refs: References) -> Callable[[list[str]], tuple[object, ...] | None]:
    """The fast path for rows in `FIELDS` order, its times read month first where that matters."""
    assert USAGE.fast_event is not None
    fast = USAGE.fast_event(refs, {field: position for position, field in enumerate(FIELDS)}, MONTH_FIRST)
    return lambda cells: fast(cells, 2)


MONTH_FIRST = {"occurred_at": DateColumn("occurred_at", "mdy")}


def slow(refs: References, cells: list[str]) -> tuple[object, ...] | None:
    """What full validation makes of the row (None where it rejects it)."""
    data = {field: value for field, value in zip(FIELDS, cells, strict=True) if value.strip()}
    try:
        record = USAGE.record.model_validate(data, context={"dates": MONTH_FIRST, "row": 2})
        assert USAGE.to_event is not None
        return USAGE.to_event(record, refs)
    except (ValidationError, Unresolved):
        return None


def field(good: list[str], odd: list[str], *, text: int = 6) -> st.SearchStrategy[str]:
    """Mostly values the fast path can take, so that rows reach it with one field off."""
    return st.one_of(st.sampled_from(good), st.sampled_from(odd), st.text(max_size=text))


odd_refs = [" a1", "A1", "", "zz", "f1 ", "x" * 201]
accounts = field(["a1", "a.example"], odd_refs)
features = field(["f1"], odd_refs)
contacts = field(["", "c1", "c@a.example"], odd_refs)
EXPORTED_TIMES = [
    "2026-11-01",
    "2026-11-01T10:00:00",
    "2026-11-01T10:00:00Z",
    "2026-11-01 10:00:00",
    "2026-11-01 10:00:00Z",
    "2026-11-01T10:00:00+00:00",
    "2026-11-01T10:00:00-00:00",
    "2026-11-01T01:30:00+02:00",
    "2026-11-01T23:30:00-05:30",
    "2026-11-01 00:15:00+14:00",
    "11/20/2026 10:00:00",
    "11/01/2026",
    "2026-11-20 14:03:00 UTC",
    "2026-11-20 14:03:00.000 -0800",
]
"""The forms real exports write, each of which the fast path takes."""
odd_times = [
    "2026-02-30",
    "2026-02-30T10:00:00Z",
    "2026-11-01T25:00:00Z",
    "2026-11-01T10:00:00+24:00",
    "2026-11-01T10:00",
    "2026-11-01T10:00:00.5Z",
    "2026-11-01t10:00:00z",
    " 2026-11-01",
    "2026-11-01T10:00:00Z ",
    "2026-11-01T24:00:00Z",
    "2026-11-01T23:59:60Z",
    "2026-11-01T10:60:00",
    "2026-11-01T1\u0660:00:00Z",
    "2026-11-0\u0661T10:00:00Z",
    "2026-11-01T10:00:00+0\u0660:00",
]
times = st.one_of(
    field(EXPORTED_TIMES, odd_times, text=12),
    st.datetimes().map(lambda moment: moment.isoformat(sep=" ", timespec="seconds") + "Z"),
    st.dates().map(lambda day: day.isoformat()),
)
counts = field(["", "7", "007"], ["0", "-1", "1.0", "1,000", "٣", "²", " 5"], text=4)
sources = field(["", "e1"], [" e1", "y" * 201])


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(account=accounts, feature=features, when=times, contact=contacts, count=counts, source=sources)
def test_fast_path_agrees_with_validation(
    refs: References, account: str, feature: str, when: str, contact: str, count: str, source: str
) -> None:
    fast = fast_path(refs)
    cells = [account, feature, when, contact, count, source]
    quick = fast(cells)
    if quick is not None:
        assert quick == slow(refs, cells)


def test_fast_path_takes_the_common_row(refs: References, tmp_path: Path) -> None:
    fast = fast_path(refs)
    assert fast(["a1", "f1", "2026-11-01", "c1", "3", "e1"]) == ("a1", "f1", "2026-11-01", "c1", "e1", 3)
    assert fast(["a1", "f1", "2026-11-01", "", "", ""]) == ("a1", "f1", "2026-11-01", "", "", 1)
    assert fast(["a1", "f1", "2026-11-01", "", "1,000", ""]) is None  # left to full validation


@pytest.mark.parametrize("when", EXPORTED_TIMES)
def test_fast_path_takes_every_exported_time_form(refs: References, when: str) -> None:
    fast = fast_path(refs)
    cells = ["a1", "f1", when, "c1", "3", ""]
    quick = fast(cells)
    assert quick is not None, f"{when!r} left to full validation"
    assert quick == slow(refs, cells)


def test_fast_path_resolves_references_it_meets_first(book: Store) -> None:
    """The first row of each account, feature and contact takes the fast path too (full validation for a
    tenth of the rows of a 200k-row file, one per new account and contact, was a third of the import)."""
    fast = fast_path(References(book.db))
    assert fast(["a.example", "Reports", "2026-11-01T10:00:00Z", "c@a.example", "", ""]) == (
        "a1",
        "f1",
        "2026-11-01T10:00:00+00:00",
        "c1",
        "",
        1,
    )
    assert fast(["zz", "f1", "2026-11-01", "", "", ""]) is None  # full validation says what is wrong
    assert fast([" a1", "f1", "2026-11-01", "", "", ""]) is None  # not in the form validation keeps
