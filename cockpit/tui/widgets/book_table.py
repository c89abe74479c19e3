"""The book as a Line API table: a window of rows paged from SQL, never the whole table.

`BookTable` holds no store. It asks for rows with `FetchRows`, a request that bubbles to its screen, which
serves it from a thread worker and answers with `RowsFetched` or `RowsFailed`. Only a few pages are kept,
in an LRU cache, so memory and paint time do not grow with the book. Every request carries the generation
of the query it was made for; answers for an older generation are dropped, so rows from a previous sort
can never be shown.

A jump far from every page in memory reads from the nearest mark before it: after a sort or a search whose
offsets probe a row for each row skipped (`deep_offsets_probe`: a score's order), the screen walks the book
once in a worker (`MarkBook`, `book_marks`) when the table has asked for no page for a moment, giving way to
the page reads, and sends a cursor every `marks_every` rows as it goes (`MarksFound`); until they come, a
jump reads by offset from the start. Marks belong to their query's generation, so a new query or a reload
(the data changed) forgets them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import ClassVar, Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from cockpit.config import INSUFFICIENT
from cockpit.domain.book_text import short_money
from cockpit.domain.display import visible
from cockpit.scoring.health import COMPONENTS
from cockpit.store.book import (
    RANKED_FROM_THE_TOP,
    BookCursor,
    BookQuery,
    BookRow,
    SortKey,
    deep_offsets_probe,
)
from cockpit.tui import bindings

EMPTY_MESSAGE = "No accounts yet — import some with `cockpit import accounts FILE` or try `cockpit demo`."
FAILED_MESSAGE = "The book could not be read."
LOADING_CELL = "loading…"
MISSING = "—"


def _or_missing(value: str | None) -> str:
    return value or MISSING


def _health(row: BookRow) -> str:
    """The score, and its change since a month before: `72 ▲5`, `40 ▼12`, `65 =`; for a health with not
    enough data, the components it had: `— (2/7)`."""
    if row.health_band == INSUFFICIENT:
        return f"{MISSING} ({row.health_evidence or 0}/{len(COMPONENTS)})"
    if row.health is None:
        return MISSING
    if row.health_month_before is None:
        return f"{row.health:.0f}"
    change = round(row.health) - round(row.health_month_before)
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    return f"{row.health:.0f} {arrow}{abs(change) or ''}"


def _clv(row: BookRow) -> str:
    """The lifetime value with its interval (`clv.interval`), never a bare number: `84k (70k-99k)`."""
    if row.clv is None:
        return MISSING
    if row.clv_low is None or row.clv_high is None:
        return short_money(row.clv)
    return f"{short_money(row.clv)} ({short_money(row.clv_low)}-{short_money(row.clv_high)})"


_GOOD, _FAIR, _POOR = "book-table--good", "book-table--fair", "book-table--poor"
_BAND_STYLE = {"green": _GOOD, "yellow": _FAIR, "red": _POOR}
_RISK_STYLE = {"low": _GOOD, "medium": _FAIR, "high": _POOR}


@dataclass(frozen=True)
class Column:
    """A column of the book: the sort key it stands for, its title, and how a row shows in it."""

    key: SortKey
    title: str
    value: Callable[[BookRow], str]
    width: int = 0
    """Fixed width in cells, or 0 for a share (`weight`) of what the fixed columns leave."""
    weight: int = 0
    justify: Literal["left", "right"] = "left"
    min_width: int = 0
    """The narrowest table that shows this column: less important columns give way on small terminals."""
    style: Callable[[BookRow], str | None] = lambda row: None
    """The component class that colours a row's cell (good, fair, poor), if any."""
    first_descending: bool = False
    """Whether the first press of its sort reads the store's order descending: the book sorts first the way a
    CSM looks, the worst risk and the most money first (`sort_by`)."""


COLUMNS: tuple[Column, ...] = (
    Column("name", "Name", lambda row: row.name, weight=3),
    Column("owner", "Owner", lambda row: _or_missing(row.owner), weight=2, min_width=96),
    Column("health", "Health", _health, width=7, style=lambda row: _BAND_STYLE.get(row.health_band or "")),
    Column(
        "churn",
        "Churn",
        lambda row: _or_missing(row.churn_tier),
        width=6,
        style=lambda row: _RISK_STYLE.get(row.churn_tier or ""),
        first_descending=True,
    ),
    Column("value", "Value", lambda row: _or_missing(row.value_tier), width=6, min_width=96),
    Column(
        "priority",
        "Priority",
        lambda row: _or_missing(row.priority),
        width=10,
        style=lambda row: _POOR if row.churn_tier == "high" and row.value_tier == "high" else None,
    ),
    Column("stage", "Stage", lambda row: _or_missing(row.lifecycle_stage), width=10, min_width=112),
    Column(
        "adoption",
        "Adoption",
        lambda row: _or_missing(row.adoption_status),
        width=11,
        min_width=128,
        first_descending=True,
    ),
    Column(
        "cross_sell",
        "X-sell",
        lambda row: MISSING if row.cross_sell_ready is None else "ready" if row.cross_sell_ready else "",
        width=6,
        min_width=132,
        style=lambda row: _GOOD if row.cross_sell_ready else None,
        first_descending=True,
    ),
    Column("clv", "CLV", _clv, width=16, justify="right", min_width=110, first_descending=True),
    Column("plan", "Plan", lambda row: _or_missing(row.plan), width=10, min_width=146),
    Column("mrr", "MRR", lambda row: f"{row.mrr:,.0f}", width=9, justify="right", first_descending=True),
    Column("renewal_date", "Renewal", lambda row: _or_missing(row.renewal_date), width=10),
)
_COLUMN_BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}
_GAP = 2
"""Cells between two columns."""
_MARGIN = 1
"""Cells before the first column and after the last."""
_MIN_FLEXIBLE_WIDTH = 6
_SORT_GROUP = Binding.Group("Sort")
# Key, sort key, footer title, binding id, and what the tooltip calls it. Plan sorts by clicking its title.
_SORT_BINDINGS: tuple[tuple[str, SortKey, str, str, str], ...] = (
    ("n", "name", "Name", bindings.BOOK_SORT_NAME, "name"),
    ("o", "owner", "Owner", bindings.BOOK_SORT_OWNER, "owner"),
    ("h", "health", "Health", bindings.BOOK_SORT_HEALTH, "health score"),
    ("c", "churn", "Churn", bindings.BOOK_SORT_CHURN, "churn risk"),
    ("v", "value", "Value", bindings.BOOK_SORT_VALUE, "value tier"),
    ("p", "priority", "Priority", bindings.BOOK_SORT_PRIORITY, "priority (save now first)"),
    ("a", "adoption", "Adoption", bindings.BOOK_SORT_ADOPTION, "adoption"),
    ("x", "cross_sell", "X-sell", bindings.BOOK_SORT_CROSS_SELL, "cross-sell readiness"),
    ("e", "stage", "Stage", bindings.BOOK_SORT_STAGE, "lifecycle stage (onboarding first)"),
    ("t", "clv", "CLV", bindings.BOOK_SORT_CLV, "lifetime value (CLV)"),
    ("m", "mrr", "MRR", bindings.BOOK_SORT_MRR, "MRR"),
    ("r", "renewal_date", "Renewal", bindings.BOOK_SORT_RENEWAL, "renewal date"),
)


@dataclass(frozen=True)
class ColumnSpan:
    """A column placed at `x`, `width` cells wide."""

    column: Column
    x: int
    width: int


@lru_cache(maxsize=8)
def column_layout(width: int) -> tuple[ColumnSpan, ...]:
    """Where each column that fits sits in a table `width` cells wide: fixed widths first, the rest by
    weight."""
    shown = [column for column in COLUMNS if column.min_width <= width]
    fixed = sum(column.width for column in shown) + _GAP * (len(shown) - 1) + 2 * _MARGIN
    spare = max(width - fixed, 0)
    total_weight = sum(column.weight for column in shown if not column.width)
    widths = [column.width or spare * column.weight // total_weight for column in shown]
    # Integer division leaves a few cells over: they go to the first flexible column (the name).
    leftover = spare - sum(w for w, column in zip(widths, shown, strict=True) if not column.width)
    first_flexible = next(index for index, column in enumerate(shown) if not column.width)
    widths[first_flexible] += leftover
    spans = []
    x = _MARGIN
    for column, column_width in zip(shown, widths, strict=True):
        column_width = column_width if column.width else max(column_width, _MIN_FLEXIBLE_WIDTH)
        spans.append(ColumnSpan(column, x, column_width))
        x += column_width + _GAP
    return tuple(spans)


def sort_label(query: BookQuery) -> str:
    """The sort column's title and direction as the rows read: `▼` from the top down (the biggest, the highest
    risk or tier first, e.g. `MRR ▼`), `▲` from the bottom up (the lowest health, the soonest renewal, A first)."""
    from_the_top = query.descending != (query.sort in RANKED_FROM_THE_TOP)
    return f"{_COLUMN_BY_KEY[query.sort].title} {'▼' if from_the_top else '▲'}"


def _fitted(label: str, width: int) -> str:
    """A sort label in a column `width` cells wide: the title gives way before the arrow (`Churn▼`)."""
    if len(label) <= width:
        return label
    title, arrow = label.rsplit(" ", 1)
    return title[: max(width - 1, 0)] + arrow


def _clipped(text: str, width: int, justify: Literal["left", "right"]) -> str:
    """`text` in a cell `width` cells wide, padded on the side `justify` leaves, or cut short with an ellipsis
    (as Rich's `Text.truncate` with `overflow="ellipsis"` and `Text.align` would: a row's strip is made of
    segments directly, several times faster than rendering a `Text` of its cells)."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    padding = " " * (width - length)
    return padding + text if justify == "right" else text + padding


@dataclass(frozen=True)
class PageSeek:
    """How to read a page: `offset` rows after the cursor (where the page before it ends, or a mark before a
    deep jump) or the start, or (with `backward`) before the cursor where the page after it starts, the book's
    last rows without one."""

    offset: int = 0
    cursor: BookCursor | None = None
    backward: bool = False


@dataclass(frozen=True)
class _Page:
    rows: list[BookRow]
    previous: BookCursor | None
    """Where the page before it ends (its first row's cursor), if known."""
    next: BookCursor | None
    """Where the page after it starts (its last row's cursor), if known."""


class _PageCache:
    """The most recently used pages of rows, at most `capacity` of them.

    Not Textual's LRUCache: once full, that one never grows again, and the capacity follows the viewport.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._pages: OrderedDict[int, _Page] = OrderedDict()

    def __contains__(self, page: int) -> bool:
        return page in self._pages

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, page: int) -> list[BookRow] | None:
        cached = self._pages.get(page)
        if cached is None:
            return None
        self._pages.move_to_end(page)
        return cached.rows

    def peek(self, page: int) -> _Page | None:
        """The page, without making it the most recently used."""
        return self._pages.get(page)

    def put(self, page: int, cached: _Page) -> None:
        self._pages[page] = cached
        self._pages.move_to_end(page)
        while len(self._pages) > self.capacity:
            self._pages.popitem(last=False)

    def clear(self) -> None:
        self._pages.clear()


class BookTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Every account in the book, one row each, read a page at a time. Row 0 of the widget is the header."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "book-table--header",
        "book-table--sorted",
        "book-table--cursor",
        "book-table--loading",
        "book-table--message",
        "book-table--good",
        "book-table--fair",
        "book-table--poor",
    }
    BINDING_GROUP_TITLE = "Book"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False, id=bindings.BOOK_CURSOR_UP, tooltip="Previous account."),
        Binding(
            "down", "cursor_down", "Down", show=False, id=bindings.BOOK_CURSOR_DOWN, tooltip="Next account."
        ),
        Binding(
            "pageup",
            "cursor_page_up",
            "Page up",
            show=False,
            id=bindings.BOOK_PAGE_UP,
            tooltip="One screen up.",
        ),
        Binding(
            "pagedown",
            "cursor_page_down",
            "Page down",
            show=False,
            id=bindings.BOOK_PAGE_DOWN,
            tooltip="One screen down.",
        ),
        Binding(
            "home", "cursor_first", "First", show=False, id=bindings.BOOK_FIRST, tooltip="First account."
        ),
        Binding("end", "cursor_last", "Last", show=False, id=bindings.BOOK_LAST, tooltip="Last account."),
        Binding(
            "enter", "select", "Select", id=bindings.BOOK_SELECT, tooltip="Select the highlighted account."
        ),
        *(
            Binding(
                key,
                f"sort('{sort}')",
                title,
                id=binding_id,
                group=_SORT_GROUP,
                tooltip=f"Sort by {what}; again to reverse.",
            )
            for key, sort, title, binding_id, what in _SORT_BINDINGS
        ),
    ]

    @dataclass
    class FetchRows(Message):
        """Request: read one page of `query` as `seek` says (and, with `with_count`, count the rows) for
        `table`."""

        table: BookTable
        generation: int
        query: BookQuery
        page: int
        seek: PageSeek
        limit: int
        with_count: bool

        @property
        def control(self) -> BookTable:
            return self.table

    @dataclass
    class RowsFetched(Message, bubble=False):
        """Answer to `FetchRows`: the page's rows (sent before the count, so that they show at once), and the
        cursors where the pages either side of it end and start, when the read knows them."""

        generation: int
        page: int
        rows: list[BookRow]
        previous: BookCursor | None = None
        next: BookCursor | None = None

    @dataclass
    class RowsCounted(Message, bubble=False):
        """Answer to a `FetchRows` that asked for the count: how many rows the query has."""

        generation: int
        count: int

    @dataclass
    class RowsFailed(Message, bubble=False):
        """Answer to `FetchRows` when the read failed; the error itself is reported by the worker."""

        generation: int
        page: int

    @dataclass
    class MarkBook(Message):
        """Request: walk `query` once for its marks (`book_marks`), one every `every` rows, for `table`."""

        table: BookTable
        generation: int
        query: BookQuery
        every: int

        @property
        def control(self) -> BookTable:
            return self.table

    @dataclass
    class MarksFound(Message, bubble=False):
        """Answer to `MarkBook`, one for each mark as the walk finds it, in the book's order."""

        generation: int
        mark: BookCursor

    @dataclass
    class BookChanged(Message):
        """The query or the row count changed (`row_count` is None until counted, or if counting failed)."""

        table: BookTable
        query: BookQuery
        row_count: int | None
        failed: bool = False

        @property
        def control(self) -> BookTable:
            return self.table

    @dataclass
    class AccountSelected(Message):
        """The user chose the account under the cursor."""

        table: BookTable
        account_id: str
        name: str

        @property
        def control(self) -> BookTable:
            return self.table

    cursor_row: reactive[int] = reactive(0, init=False)
    """Index of the highlighted row in the current order."""
    marks_every = 1000
    """Rows from one mark to the next: a jump walks fewer than these from its mark (2 ms in a score's order)."""
    marks_after = 0.3
    """Seconds without a page asked for before the table asks for the marks."""

    def __init__(
        self,
        page_size: int,
        *,
        query: BookQuery | None = None,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 (Textual's own parameter name)
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.page_size = page_size
        self._query = query or BookQuery()
        self._generation = 0
        self._row_count: int | None = None
        """Rows the query has: counted, or (until the count comes) at least those of the pages read."""
        self._counted = False
        self._failed = False
        self._pages = _PageCache(capacity=4)
        self._pending: set[int] = set()
        self._reloading = False
        """The pages in memory are from before a reload: shown until the first fresh page replaces them."""
        self._strips: LRUCache[tuple[BookRow | None, bool, int], Strip] = LRUCache(1024)
        self._marks: list[BookCursor] = []
        """The query's marks found so far: the n-th (from 1) ends row `n * marks_every - 1`."""
        self._marked = -1
        """The generation whose marks were asked for."""
        self._mark_timer: Timer | None = None
        """The wait before asking for the marks (`_mark`)."""

    @property
    def book_query(self) -> BookQuery:
        """The query shown (`query` is taken: it is Textual's DOM query)."""
        return self._query

    @property
    def generation(self) -> int:
        """The query's generation: a request or answer of an older one is of a query no longer shown."""
        return self._generation

    @property
    def row_count(self) -> int | None:
        """How many rows the query has, or None until they are counted."""
        return self._row_count if self._counted else None

    @property
    def reading(self) -> bool:
        """Whether a page it asked for has not come yet (the walk for marks gives way meanwhile)."""
        return bool(self._pending)

    @property
    def marks_found(self) -> int:
        """How many of the query's marks have come (`MarksFound`)."""
        return len(self._marks)

    @property
    def cached_pages(self) -> int:
        """How many pages of rows are held in memory."""
        return len(self._pages)

    def set_query(self, query: BookQuery) -> None:
        """Show `query`: forget every row read so far and read again from the top. A new order of the same
        rows (only the sort changed) keeps their count, so neither the count nor the scroll view's size (a
        layout of the whole screen) is done again."""
        same_rows = self._counted and replace(query, sort=self._query.sort, descending=False) == replace(
            self._query, descending=False
        )
        self._query = query
        self._generation += 1
        self._pages.clear()
        self._pending.clear()
        self._marks.clear()
        self._failed = False
        if not same_rows:
            self._row_count = None
            self._counted = False
            self.virtual_size = Size(0, 1)
        self.cursor_row = 0
        self.scroll_to(y=0, animate=False)
        self._request(0, with_count=not same_rows)
        self.post_message(self.BookChanged(self, query, self.row_count))
        self.refresh()

    def reload(self) -> None:
        """Read the query again because the data changed, keeping the cursor and the scroll position."""
        self._generation += 1
        self._pending.clear()
        self._marks.clear()
        self._reloading = True
        self._request(round(self.scroll_y) // self.page_size, with_count=True)

    def sort_by(self, key: SortKey) -> None:
        """Sort by `key` the way a CSM looks first (its column's `first_descending`); if the book is already
        sorted by `key`, reverse the order."""
        first = _COLUMN_BY_KEY[key].first_descending
        descending = not self._query.descending if key == self._query.sort else first
        self.set_query(replace(self._query, sort=key, descending=descending))

    def row_at(self, index: int) -> BookRow | None:
        """The row at `index` in the current order, or None if its page is not in memory."""
        page, slot = divmod(index, self.page_size)
        rows = self._pages.get(page)
        if rows is None or slot >= len(rows):
            return None
        return rows[slot]

    @property
    def _visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def _request(self, page: int, *, with_count: bool) -> None:
        self._pending.add(page)
        seek, limit = self._seek(page)
        self.post_message(self.FetchRows(self, self._generation, self._query, page, seek, limit, with_count))

    def _seek(self, page: int) -> tuple[PageSeek, int]:
        """How to read `page`, and how many rows: by the cursor of a neighbour in memory, the last page
        backwards from the end of the book, and only a page far from both ends and from every page in memory
        by offset, from the nearest mark before it if any (cursors of pages from before a reload may have
        moved, so a reload reads by offset from the start)."""
        if page == 0:
            return PageSeek(), self.page_size
        start = page * self.page_size
        if not self._reloading:
            before, after = self._pages.peek(page - 1), self._pages.peek(page + 1)
            if before is not None and before.next is not None:
                return PageSeek(cursor=before.next), self.page_size
            if after is not None and after.previous is not None:
                return PageSeek(cursor=after.previous, backward=True), self.page_size
            if self._counted and self._row_count and page == (self._row_count - 1) // self.page_size:
                return PageSeek(backward=True), self._row_count - page * self.page_size
            if marked := min(start // self.marks_every, len(self._marks)):
                mark = self._marks[marked - 1]
                return PageSeek(offset=start - marked * self.marks_every, cursor=mark), self.page_size
        return PageSeek(offset=start), self.page_size

    def _markable(self) -> bool:
        """Whether to ask for the marks of the query on screen: not yet asked, its first rows shown and its
        count known, a jump into it would probe a row for each row it skips, and it is longer than from one
        mark to the next."""
        return not (
            self._marked == self._generation
            or self._reloading
            or not self._counted
            or 0 not in self._pages
            or (self._row_count or 0) <= self.marks_every
            or not deep_offsets_probe(self._query)
        )

    def _mark(self) -> None:
        """Ask for the marks once no page has been asked for in `marks_after` seconds (a page that lands
        starts the wait again): the walk runs while the user looks at the book, not while it answers keys."""
        if self._mark_timer is not None:
            self._mark_timer.stop()
            self._mark_timer = None
        if self._markable():
            self._mark_timer = self.set_timer(self.marks_after, self._ask_for_marks)

    def _ask_for_marks(self) -> None:
        self._mark_timer = None
        if self._markable() and not self._pending:
            self._marked = self._generation
            self.post_message(self.MarkBook(self, self._generation, self._query, self.marks_every))

    def _near(self, seek: PageSeek) -> bool:
        """Whether the read walks few rows: from a cursor (a neighbour's or a mark), or no offset."""
        return seek.cursor is not None or seek.offset == 0

    def _fetch_missing_pages(self) -> None:
        """Ask for the pages under the viewport that are neither in memory nor on their way: those a cursor
        or a mark reaches (`_seek`) at once, else one far page by offset, whose neighbours follow by its
        cursors when it lands (an offset read walks every row it skips: two side by side would walk them
        twice)."""
        if not self._row_count:
            return
        first = round(self.scroll_y)
        last = min(first + self._visible_rows, self._row_count) - 1
        missing = [
            page
            for page in range(first // self.page_size, last // self.page_size + 1)
            if page not in self._pages and page not in self._pending
        ]
        by_cursor = [page for page in missing if self._reloading or self._near(self._seek(page)[0])]
        far = [page for page in missing if page - 1 not in self._pending and page + 1 not in self._pending]
        for page in by_cursor or far[:1]:
            self._request(page, with_count=False)

    def _scroll_to_cursor(self) -> None:
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + self._visible_rows:
            self.scroll_to(y=self.cursor_row - self._visible_rows + 1, animate=False)

    def on_mount(self) -> None:
        self.set_query(self._query)

    def on_resize(self) -> None:
        # Enough pages for a full viewport straddling page boundaries, plus one on either side.
        self._pages.capacity = self._visible_rows // self.page_size + 4
        self._scroll_to_cursor()
        self._fetch_missing_pages()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._fetch_missing_pages()

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, (self._row_count or 0) - 1))

    def watch_cursor_row(self) -> None:
        self._scroll_to_cursor()

    def on_book_table_rows_fetched(self, message: RowsFetched) -> None:
        if message.generation != self._generation:
            return
        self._pending.discard(message.page)
        if self._reloading:
            self._pages.clear()
            self._strips.clear()
            self._reloading = False
        self._pages.put(message.page, _Page(message.rows, message.previous, message.next))
        if not self._counted:
            # Show the rows now; the count follows. A short page ends the book, a full one is a lower bound.
            seen = message.page * self.page_size + len(message.rows)
            full = len(message.rows) == self.page_size
            count = max(seen, self._row_count or 0) if full else seen
            if count != self._row_count:
                self._set_row_count(count)
        self.refresh()
        self._fetch_missing_pages()
        self._mark()

    def on_book_table_rows_counted(self, message: RowsCounted) -> None:
        if message.generation != self._generation:
            return
        self._counted = True
        self._set_row_count(message.count)
        self.post_message(self.BookChanged(self, self._query, message.count))
        self.refresh()
        self._fetch_missing_pages()
        self._mark()

    def on_book_table_marks_found(self, message: MarksFound) -> None:
        if message.generation == self._generation:
            self._marks.append(message.mark)

    def _set_row_count(self, count: int) -> None:
        self._row_count = count
        self.virtual_size = Size(0, count + 1)
        self.cursor_row = self.cursor_row  # keep it within a book that may have shrunk

    def on_book_table_rows_failed(self, message: RowsFailed) -> None:
        if message.generation != self._generation:
            return
        # Forget the request, so that the page is asked for again when it next comes into view.
        self._pending.discard(message.page)
        if not self._counted:
            self._failed = True
            self.post_message(self.BookChanged(self, self._query, None, failed=True))
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            for span in column_layout(self.scrollable_content_region.width):
                if span.x <= offset.x < span.x + span.width:
                    self.sort_by(span.column.key)
        elif self._row_count and (index := round(self.scroll_y) + offset.y - 1) < self._row_count:
            self.cursor_row = index
            if event.chain == 2:
                self.action_select()

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_cursor_page_up(self) -> None:
        self.cursor_row -= self._visible_rows

    def action_cursor_page_down(self) -> None:
        self.cursor_row += self._visible_rows

    def action_cursor_first(self) -> None:
        self.cursor_row = 0

    def action_cursor_last(self) -> None:
        self.cursor_row = (self._row_count or 0) - 1

    def action_select(self) -> None:
        row = self.row_at(self.cursor_row) if self._row_count else None
        if row is not None:
            self.post_message(self.AccountSelected(self, row.id, row.name))

    def action_sort(self, key: str) -> None:
        self.sort_by(_COLUMN_BY_KEY[key].key)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width  # without the scrollbar
        if y == 0:
            return self._render_header(width)
        if self._failed or self._row_count == 0:
            return self._render_message(FAILED_MESSAGE if self._failed else EMPTY_MESSAGE, y - 2, width)
        index = round(self.scroll_y) + y - 1
        if self._row_count is None or index >= self._row_count:
            return Strip.blank(width, self.rich_style)
        # Keyed by the row itself, so a page read again with changed data cannot show a stale line.
        key = (self.row_at(index), index == self.cursor_row, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._render_row(*key)
        return strip

    def _render_row(self, row: BookRow | None, is_cursor: bool, width: int) -> Strip:
        style = self.get_component_rich_style("book-table--cursor") if is_cursor else self.rich_style
        if row is None:
            return self._render_cells([(LOADING_CELL, self._foreground("book-table--loading"))], width, style)
        cells = []
        for span in column_layout(width):
            colour = span.column.style(row)
            cells.append((span.column.value(row), self._foreground(colour) if colour else None))
        return self._render_cells(cells, width, style)

    def _render_header(self, width: int) -> Strip:
        sorted_style = self._foreground("book-table--sorted")
        cells = [
            (_fitted(sort_label(self._query), span.width), sorted_style)
            if span.column.key == self._query.sort
            else (span.column.title, None)
            for span in column_layout(width)
        ]
        return self._render_cells(cells, width, self.get_component_rich_style("book-table--header"))

    def _foreground(self, component: str) -> Style:
        """Just the component's text colour, to lay over whatever background the line has."""
        return Style.from_color(self.get_component_rich_style(component).color)

    def _render_cells(self, cells: Iterable[tuple[str, Style | None]], width: int, style: Style) -> Strip:
        """One line of `style` with the cells laid out in the columns; a cell's own style goes over it. A
        value from data shows as it is written (`visible`), never acted on, and a long one ends in an ellipsis."""
        segments = []
        x = 0
        for span, (value, cell_style) in zip(column_layout(width), cells, strict=False):
            segments.append(Segment(" " * (span.x - x)))
            segments.append(Segment(_clipped(visible(value), span.width, span.column.justify), cell_style))
            x = span.x + span.width
        return Strip(segments).apply_style(style).crop_extend(0, width, style)

    def _render_message(self, message: str, line: int, width: int) -> Strip:
        """Line `line` of `message` wrapped to the table, below a blank line under the header."""
        style = self.get_component_rich_style("book-table--message")
        lines = Text(visible(message, lines=True), end="").wrap(self.app.console, max(width - 2 * _MARGIN, 1))
        if not 0 <= line < len(lines):
            return Strip.blank(width, self.rich_style)
        text = Text(" " * _MARGIN, end="") + lines[line]
        return Strip(text.render(self.app.console)).apply_style(style).crop_extend(0, width, style)


__all__ = ["COLUMNS", "BookTable", "Column", "PageSeek", "column_layout", "sort_label"]
