"""The book table's layout, without an app."""

from __future__ import annotations

from itertools import pairwise

import pytest

from cockpit.store.book import SORT_KEYS, BookQuery
from cockpit.tui.widgets.book_table import COLUMNS, column_layout, sort_label


@pytest.mark.parametrize("width", [79, 80, 95, 96, 111, 112, 127, 128, 131, 132, 145, 146, 160])
def test_columns_fill_the_width_with_a_margin_on_each_side(width: int) -> None:
    spans = column_layout(width)
    assert [span.column for span in spans] == [column for column in COLUMNS if column.min_width <= width]
    assert spans[0].x == 1
    assert spans[-1].x + spans[-1].width == width - 1
    assert all(left.x + left.width + 2 == right.x for left, right in pairwise(spans))


def test_narrow_terminals_keep_the_columns_a_csm_acts_on() -> None:
    narrow = [span.column.key for span in column_layout(80)]
    assert narrow == ["name", "health", "churn", "priority", "mrr", "renewal_date"]
    assert len(column_layout(160)) == len(COLUMNS)


def test_every_sort_key_has_a_column() -> None:
    assert sorted(column.key for column in COLUMNS) == sorted(SORT_KEYS)
    assert sort_label(BookQuery(sort="mrr", descending=True)) == "MRR ▼"
    assert sort_label(BookQuery(sort="renewal_date")) == "Renewal ▲"
