"""Journey patterns (`cockpit/services/journeys.py`): the event sequences that preceded churn (or renewal),
mined in a worker; Enter opens the customers on a path now, and Enter there the account."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.scoring.journeys import Outcome
from cockpit.services.journeys import JourneyPath, JourneyReport, describe, find_journeys, path_accounts
from cockpit.store.db import Store
from cockpit.store.journeys import PathAccount
from cockpit.tui import bindings
from cockpit.tui.data_text import cell, plain
from cockpit.tui.screens.base import CockpitScreen


def summary(report: JourneyReport) -> str:
    what = "churn" if report.outcome == "churn" else "renewal"
    base = report.base_rate
    rate = "" if base is None else f", {what} rate {base:.0%}"
    return (
        f"Paths to {what} as of {report.as_of}: {report.decided:,} accounts churned or renewed in the last "
        f"{report.lookback_days} days ({report.churned:,} churned{rate}); the {report.window_days} days before "
        f"each. {len(report.paths)} of {report.tested:,} patterns stand out."
    )


_PATH_WIDTH_AT_LEAST = 16
"""The narrowest the path column gets, however narrow the terminal (the figures' columns then scroll)."""
_SCROLL_BAR = 2


def path_lines(steps: tuple[str, ...], width: int) -> list[str]:
    """A path's steps (`a > b > c`) as lines of at most `width` characters where it can: a line breaks
    between steps, after the `>` that joins them (a step longer than `width` is a line of its own)."""
    lines = [steps[0]]
    for index, step in enumerate(steps[1:], start=2):
        more = len(" >") if index < len(steps) else 0  # the `>` that would end the line
        if len(lines[-1]) + len(" > ") + len(step) + more <= width:
            lines[-1] += f" > {step}"
        else:
            lines[-1] += " >"
            lines.append(step)
    return lines


_CSS = """
    #journeys-title, #path-title { text-style: bold; padding: 0 1; }
    #journeys-status, #path-status { padding: 0 1 1 1; color: $text-muted; }
    #journeys-table, #path-table { height: 1fr; }
"""


class JourneysScreen(CockpitScreen):
    """The paths, the surest first (`cockpit.scoring.journeys.significant`)."""

    DEFAULT_CSS = _CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id=bindings.JOURNEYS_BACK, tooltip="Back to the book."),
        Binding(
            "o",
            "outcome",
            "Churn/renewal",
            id=bindings.JOURNEYS_OUTCOME,
            tooltip="Show the paths to renewal instead of churn, or back.",
        ),
    ]

    def __init__(self, store: Store, settings: Settings, *, clock: Clock) -> None:
        super().__init__()
        self._store = store
        self._settings = settings
        self._clock = clock
        self._outcome: Outcome = "churn"
        self._report: JourneyReport | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Journeys", id="journeys-title", markup=False)
        yield Static("Mining the book's journeys…", id="journeys-status", markup=False)
        yield DataTable(id="journeys-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self._mine(self._clock.today(), self._outcome)

    def on_resize(self) -> None:
        if self._report is not None:
            self._show(self._report)  # the paths wrapped to the new width

    def action_outcome(self) -> None:
        self._outcome = "renewal" if self._outcome == "churn" else "churn"
        self.query_one("#journeys-status", Static).update(f"Mining the paths to {self._outcome}…")
        self._mine(self._clock.today(), self._outcome)

    @work(thread=True, exclusive=True, group="journeys", exit_on_error=False)
    def _mine(self, today: date, outcome: Outcome) -> None:
        report = find_journeys(self._store, self._settings, today, outcome=outcome)
        self.app.call_from_thread(self._show, report)

    def _show(self, report: JourneyReport) -> None:
        if report.outcome != self._outcome:
            return  # mined for the outcome shown before the last toggle
        self._report = report
        self.query_one("#journeys-title", Static).update(
            f"Journeys that preceded {'churn' if report.outcome == 'churn' else 'renewal'}"
        )
        self.query_one("#journeys-status", Static).update(
            summary(report) + ("" if report.paths else " No path stands out from the base rate.")
        )
        table = self.query_one("#journeys-table", DataTable)
        table.clear(columns=True)
        rate = "Churn" if report.outcome == "churn" else "Renewal"
        labels = ["Lift", rate, "Accts", "Now", "Lead", "Interval", f"Of {rate.lower()}"]
        figures = [
            [
                f"{pattern.lift:.2f}",
                f"{pattern.outcome_rate:.0%}",
                f"{pattern.accounts:,}",
                f"{len(path.on_path):,}",
                f"{pattern.lead_days}d",
                f"{pattern.outcome_low:.0%}-{pattern.outcome_high:.0%}",
                f"{pattern.share_of_outcome:.0%}",
            ]
            for path in report.paths
            for pattern in (path.pattern,)
        ]
        # The path takes the width the figures leave (each column padded by a cell either side, and the
        # scroll bar): a path longer than that wraps between its steps, so every figure stays in sight.
        widths = [
            max([len(label), *(len(row[index]) for row in figures)]) for index, label in enumerate(labels)
        ]
        room = max(_PATH_WIDTH_AT_LEAST, self.size.width - sum(widths) - 2 * (len(widths) + 1) - _SCROLL_BAR)
        wrapped = [path_lines(path.pattern.steps, room) for path in report.paths]
        # A set width: measured from the rows as they come, the column's width depended on the timing.
        table.add_column("Path", width=max((len(line) for lines in wrapped for line in lines), default=4))
        for label in labels:
            table.add_column(label)
        for index, (lines, row) in enumerate(zip(wrapped, figures, strict=True)):
            table.add_row(
                Text("\n".join(lines)),
                *(Text(figure, justify="right") for figure in row),
                key=str(index),
                height=len(lines),
            )
        table.focus()

    @on(DataTable.RowSelected, "#journeys-table")
    def _open_path(self, event: DataTable.RowSelected) -> None:
        if self._report is None or event.row_key.value is None:
            return
        path = self._report.paths[int(event.row_key.value)]
        self.app.push_screen(PathScreen(self._store, self._settings, path, self._report, clock=self._clock))


class PathScreen(CockpitScreen):
    """The customers on one path now; Enter opens one."""

    DEFAULT_CSS = _CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id=bindings.PATH_BACK, tooltip="Back to the journeys."),
    ]

    def __init__(
        self, store: Store, settings: Settings, path: JourneyPath, report: JourneyReport, *, clock: Clock
    ) -> None:
        super().__init__()
        self._store = store
        self._settings = settings
        self._path = path
        self._report = report
        self._clock = clock

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._path.pattern.text, id="path-title", markup=False)
        yield Static(
            describe(self._path, self._report.outcome, self._report.lookback_days) + ".",
            id="path-status",
            markup=False,
        )
        yield DataTable(id="path-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#path-table", DataTable).add_columns("Account", "Owner", "MRR", "Renewal")
        self._load()

    @work(thread=True, exclusive=True, group="journey-path", exit_on_error=False)
    def _load(self) -> None:
        accounts = path_accounts(self._store, self._path)
        self.app.call_from_thread(self._show, accounts)

    def _show(self, accounts: list[PathAccount]) -> None:
        table = self.query_one("#path-table", DataTable)
        for account in accounts:
            table.add_row(
                cell(account.name),
                cell(account.owner or ""),
                Text("" if account.mrr is None else f"{account.mrr:,.0f}", justify="right"),
                plain(account.renewal_date or ""),
                key=account.id,
            )
        table.focus()

    @on(DataTable.RowSelected, "#path-table")
    def _open_account(self, event: DataTable.RowSelected) -> None:
        from cockpit.tui.screens.account import AccountScreen

        if event.row_key.value is not None:
            self.app.push_screen(
                AccountScreen(self._store, event.row_key.value, self._settings, clock=self._clock)
            )
