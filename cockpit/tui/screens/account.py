"""One account: its scores and why (each health component, each churn signal with its date), its health over
time, and the adoption of every feature it pays for. Read from the latest stored score run by a worker."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Sparkline, Static

from cockpit.store.db import Store
from cockpit.store.scoring import AccountView, account_view
from cockpit.tui import bindings
from cockpit.tui.screens.base import CockpitScreen

_BAND_COLOUR = {"green": "$success", "yellow": "$warning", "red": "$error"}
_TIER_COLOUR = {"low": "$success", "medium": "$warning", "high": "$error"}


class AccountScreen(CockpitScreen):
    """The account opened from the book. Escape goes back to the book."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id=bindings.ACCOUNT_BACK, tooltip="Back to the book."),
    ]

    def __init__(self, store: Store, account_id: str) -> None:
        super().__init__()
        self._store = store
        self.account_id = account_id

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="account-body"):
            yield Static("Loading…", id="account-title", markup=False)
            yield Static(id="account-scores")
            yield Sparkline([], id="account-trend")
            yield Static(id="account-trend-note", markup=False)
            yield Static(id="account-why")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="account", exit_on_error=False)
    def _load(self) -> None:
        view = account_view(self._store.db, self.account_id)
        self.app.call_from_thread(self._show, view)

    def _show(self, view: AccountView | None) -> None:
        title = self.query_one("#account-title", Static)
        if view is None:
            title.update(f"No account {self.account_id} (it may have been deleted).")
            return
        self.sub_title = view.name
        facts = [view.owner, view.segment, view.plan, f"MRR {view.mrr:,.0f}", view.domain]
        renews = f"renews {view.renewal_date}" if view.renewal_date else None
        title.update(f"{view.name}  ·  " + "  ·  ".join(part for part in [*facts, renews] if part))
        score = view.score
        if score is None:
            self.query_one("#account-scores", Static).update("Not scored yet: run `cockpit score`.")
            return
        self.query_one("#account-scores", Static).update(_headline(score, self.app.get_css_variables()))
        history = [health for _as_of, health in view.health_history if health is not None]
        self.query_one("#account-trend", Sparkline).data = history
        self.query_one("#account-trend-note", Static).update(_trend_note(view.health_history))
        self.query_one("#account-why", Static).update(_why(score))


def _colour(value: str | None, palette: dict[str, str], variables: dict[str, str]) -> str:
    return variables.get(palette.get(value or "", "").removeprefix("$"), "")


def _headline(score: dict[str, Any], variables: dict[str, str]) -> Text:
    health, churn = score.get("health", {}), score.get("churn", {})
    adoption, cross_sell = score.get("adoption", {}), score.get("cross_sell", {})
    parts: list[tuple[str, str]] = [
        (
            f"Health {_number(health.get('score'))} {health.get('band') or ''}",
            _colour(health.get("band"), _BAND_COLOUR, variables),
        ),
        (
            f"Churn {churn.get('tier')} ({_number(churn.get('risk'), 2)})",
            _colour(churn.get("tier"), _TIER_COLOUR, variables),
        ),
        (f"Value {score.get('value', {}).get('tier')}", ""),
        (f"Priority {score.get('priority', {}).get('label')}", ""),
        (f"Adoption {adoption.get('status')}", ""),
        ("Cross-sell ready" if cross_sell.get("ready") else "Cross-sell not yet", ""),
        (f"Advocacy {score.get('advocacy', {}).get('segment', '')}".rstrip(), ""),
    ]
    text = Text()
    for index, (label, colour) in enumerate(parts):
        if index:
            text.append("   ")
        text.append(label, style=f"bold {colour}".strip())
    text.append(f"\nScored as of {score.get('as_of')} (run {score.get('run_id')})", style="dim")
    return text


def _trend_note(history: list[tuple[str, float | None]]) -> str:
    """Health now against a month and a year before, from the runs kept: the account's own benchmark."""
    if not history:
        return ""
    now_as_of, now = history[-1]

    def before(days: int) -> str:
        limit = (date.fromisoformat(now_as_of) - timedelta(days=days)).isoformat()
        earlier = [health for as_of, health in history if as_of <= limit and health is not None]
        return _number(earlier[-1]) if earlier else "no score"

    return f"Health over time: now {_number(now)}  ·  a month ago {before(30)}  ·  a year ago {before(365)}"


def _why(score: dict[str, Any]) -> RenderableType:
    health, churn = score.get("health", {}), score.get("churn", {})
    components = Table(title="Why this health", title_justify="left", expand=True, box=None)
    for column in ("Component", "Score", "Weight", "Points", "Because"):
        components.add_column(column, justify="right" if column in ("Score", "Weight", "Points") else "left")
    for part in health.get("components", []):
        components.add_row(
            part.get("name", ""),
            _number(part.get("score")),
            _number(part.get("effective_weight", part.get("weight")), 2),
            _number(part.get("points"), 1),
            part.get("detail", ""),
        )
    for part in health.get("missing", []):
        components.add_row(
            part.get("name", ""), "—", "", "", f"not scored: {part.get('why', '')}", style="dim"
        )
    signals = Table(title="Churn signals that fired", title_justify="left", expand=True, box=None)
    for column in ("On", "Signal", "Effect", "What"):
        signals.add_column(column, justify="right" if column == "Effect" else "left")
    for signal in churn.get("signals", []):
        signals.add_row(
            signal.get("on", ""),
            signal.get("name", ""),
            _number(signal.get("effect"), 2),
            signal.get("detail", ""),
        )
    if not churn.get("signals"):
        signals.add_row("", "none", "", "")
    features = Table(title="Feature adoption", title_justify="left", expand=True, box=None)
    for column in ("Feature", "Product", "Status", "Active days", "Users", "Last used"):
        features.add_column(column, justify="right" if column in ("Active days", "Users") else "left")
    for feature in score.get("adoption", {}).get("features", []):
        status = feature.get("status", "") + (" (stalled)" if feature.get("stalled") else "")
        features.add_row(
            feature.get("name") or feature.get("id", ""),
            feature.get("product", ""),
            status,
            str(feature.get("active_days", "")),
            str(feature.get("active_users", "")),
            feature.get("last_used") or "never",
        )
    cross_sell = score.get("cross_sell", {})
    offer = Text(f"Cross-sell: {cross_sell.get('reason', '')}")
    return Group(components, Text(""), signals, Text(""), features, Text(""), offer)


def _number(value: Any, places: int = 0) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{value:.{places}f}"
