"""The book table's layout, without an app."""

from __future__ import annotations

from itertools import pairwise

import pytest

from cockpit.store.book import SORT_KEYS, BookQuery
from cockpit.tui.widgets.book_table import COLUMNS, column_layout, sort_label


@pytest.mark.parametrize("width", [79, 80, 99, 100, 160])
def test_columns_fill_the_width_with_a_margin_on_each_side(width: int) -> None:
    spans = column_layout(width)
    assert [span.column for span in spans] == list(COLUMNS)
    assert spans[0].x == 1
    assert spans[-1].x + spans[-1].width == width - 1
    assert all(left.x + left.width + 2 == right.x for left, right in pairwise(spans))


def test_every_sort_key_has_a_column() -> None:
    assert [column.key for column in COLUMNS] == list(SORT_KEYS)
    assert sort_label(BookQuery(sort="mrr", descending=True)) == "MRR ▼"
    assert sort_label(BookQuery(sort="renewal_date")) == "Renewal ▲"
