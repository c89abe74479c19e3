"""How good are these scores: past score runs judged against the churn that followed them
(`cockpit/services/evaluate.py`), pooled and a line per run. Read in a worker; Esc goes back."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from cockpit.clock import Clock
from cockpit.config import Settings
from cockpit.services.evaluate import Evaluation, auc_text, evaluate_scores, headline, lift_text, percent
from cockpit.store.db import Store
from cockpit.tui import bindings
from cockpit.tui.screens.base import CockpitScreen, KeysModal
from cockpit.tui.widgets.footer import KeyFooter


def quality_view(evaluation: Evaluation) -> RenderableType:
    """The pooled figures and churn rates per tier and band, a line per run judged, the runs too recent."""
    parts: list[RenderableType] = []
    runs, pooled = evaluation.runs, evaluation.pooled
    if pooled is not None:
        parts.append(
            Text(
                f"Churn within {evaluation.horizon_days} days of {len(runs)} run(s) as of "
                f"{runs[0].as_of} to {runs[-1].as_of}, pooled",
                style="bold",
            )
        )
        parts += [Text(line) for line in headline(pooled)]
        groups = {**pooled.tiers, **pooled.bands}
        rates = Table(box=None, padding=(0, 1), expand=False)
        rates.add_column("")
        for name in groups:
            rates.add_column(name, justify="right")
        rates.add_row("churn rate", *(percent(group.rate) for group in groups.values()))
        rates.add_row("churned", *(f"{group.churned:,}" for group in groups.values()))
        rates.add_row("of scores", *(f"{group.accounts:,}" for group in groups.values()))
        per_run = Table(box=None, padding=(0, 1), expand=False)
        for column in ("As of", "Scores", "Churned", "AUC risk", "AUC health", "Lift"):
            per_run.add_column(column, justify="left" if column == "As of" else "right")
        for run in runs:
            quality = run.quality
            per_run.add_row(
                run.as_of.isoformat(),
                f"{quality.accounts:,}",
                f"{quality.churned:,} ({percent(quality.churn_rate)})",
                auc_text(quality.auc_churn_risk),
                auc_text(quality.auc_health),
                lift_text(quality.lift_tiers),
            )
        parts += [Text(""), rates, Text(""), per_run]
    if runs and evaluation.unobserved:
        days = ", ".join(run.as_of.isoformat() for run in evaluation.unobserved)
        parts.append(
            Text(f"Not judged yet, their {evaluation.horizon_days} days not over: {days}", style="dim")
        )
    if evaluation.message:
        parts.append(Text(evaluation.message, style="italic"))
    return Group(*parts)


class ScoreQualityScreen(CockpitScreen, KeysModal[None]):
    """A panel over the book."""

    FOOTER_KEYS: ClassVar[tuple[str, ...]] = (bindings.SCORE_QUALITY_BACK, bindings.HELP, bindings.QUIT)
    """The keys the footer keeps first on a narrow terminal (`widgets/footer.py`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "app.pop_screen", "Back", id=bindings.SCORE_QUALITY_BACK, tooltip="Back to the book."
        ),
    ]

    def __init__(self, store: Store, settings: Settings, *, clock: Clock) -> None:
        super().__init__()
        self._store = store
        self._settings = settings
        self._clock = clock

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="quality-panel"):
            yield Static("How good are these scores", id="quality-title", markup=False)
            yield Static("Loading…", id="quality-body")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._load(self._clock.today())

    @work(thread=True, exclusive=True, group="score-quality", exit_on_error=False)
    def _load(self, today: date) -> None:
        evaluation = evaluate_scores(self._store, self._settings, today=today)
        self.app.call_from_thread(self._show, evaluation)

    def _show(self, evaluation: Evaluation) -> None:
        self.query_one("#quality-body", Static).update(quality_view(evaluation))
