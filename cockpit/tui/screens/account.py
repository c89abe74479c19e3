"""One account: its scores and why (each health component, each churn signal with its date), the next action,
its health over time, the adoption of every feature it pays for; its journey, filterable by kind; its
contacts with their consent. Read by workers; `l` logs an interaction, which shows in the journey at once."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import (
    DataTable,
    Header,
    SelectionList,
    Sparkline,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import get_current_worker

from cockpit.clock import Clock
from cockpit.clv.reading import p_alive_note
from cockpit.config import INSUFFICIENT, Settings, band_words
from cockpit.domain.display import visible
from cockpit.domain.next_action import next_action
from cockpit.outreach.items import OutreachItem
from cockpit.services.interactions import LoggedInteraction
from cockpit.store.clv import ClvValue, account_clv, latest_clv_run, repeat_purchases
from cockpit.store.db import Store
from cockpit.store.journey import JOURNEY_KINDS, ContactRow, JourneyEvent, JourneyKind, contacts
from cockpit.store.provenance import FieldSource, field_sources
from cockpit.store.scoring import AccountView, account_view
from cockpit.tui import bindings
from cockpit.tui.data_text import TEXT_CHARS, cell, plain
from cockpit.tui.outreach_text import message_text
from cockpit.tui.screens.log_interaction import LogInteractionScreen
from cockpit.tui.screens.review import SNOOZE_DAYS, ReviewingScreen
from cockpit.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from cockpit.services.events import KeptSource

_BAND_COLOUR = {"green": "$success", "yellow": "$warning", "red": "$error"}
_TIER_COLOUR = {"low": "$success", "medium": "$warning", "high": "$error"}
_TAB_FOCUS = {
    "overview": "account-body",
    "journey": "journey-table",
    "contacts": "contacts-table",
    "outreach": "outreach-items",
}
"""What takes the focus when a tab shows."""
_KIND_LABELS: dict[JourneyKind, str] = {
    "interaction": "Interactions",
    "signal": "Signals",
    "ticket": "Tickets",
    "outreach": "Outreach",
    "contract": "Contract",
}


@dataclass(frozen=True)
class _Loaded:
    view: AccountView | None
    contacts: list[ContactRow]
    clv: ClvValue | None
    interval: float | None
    """The coverage of the CLV interval, from the CLV run's settings."""
    outreach: list[OutreachItem]
    repeats: int | None
    """Purchase days after the first up to the CLV run's day (None: no orders, or no run)."""
    sources: list[FieldSource]
    """Where the account's fields came from (imports and CRM pulls)."""


class AccountScreen(ReviewingScreen):
    """The account opened from the book. Escape goes back to the book; on the Outreach tab, the item under
    the cursor is approved, snoozed or cancelled as in the review queue."""

    FOOTER_KEYS: ClassVar[tuple[str, ...]] = (
        bindings.ACCOUNT_BACK,
        bindings.ACCOUNT_OUTREACH_APPROVE,
        bindings.ACCOUNT_OUTREACH_SNOOZE,
        bindings.ACCOUNT_OUTREACH_CANCEL,
        bindings.LOG_INTERACTION,
        bindings.ACCOUNT_OVERVIEW,
        bindings.ACCOUNT_JOURNEY,
        bindings.ACCOUNT_CONTACTS,
        bindings.HELP,
        bindings.ACCOUNT_OUTREACH,
        bindings.QUIT,
    )
    """The keys the footer keeps first on a narrow terminal (`widgets/footer.py`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id=bindings.ACCOUNT_BACK, tooltip="Back to the book."),
        Binding(
            "l", "log", "Log", id=bindings.LOG_INTERACTION, tooltip="Log an interaction with this account."
        ),
        # The tab keys are priority bindings: no widget of a tab (the journey's checklist) takes them.
        Binding(
            "1",
            "tab('overview')",
            "Overview",
            id=bindings.ACCOUNT_OVERVIEW,
            tooltip="Scores and why.",
            priority=True,
        ),
        Binding(
            "2",
            "tab('journey')",
            "Journey",
            id=bindings.ACCOUNT_JOURNEY,
            tooltip="What happened, newest first.",
            priority=True,
        ),
        Binding(
            "3",
            "tab('contacts')",
            "Contacts",
            id=bindings.ACCOUNT_CONTACTS,
            tooltip="Contacts and consent.",
            priority=True,
        ),
        Binding(
            "4",
            "tab('outreach')",
            "Outreach",
            id=bindings.ACCOUNT_OUTREACH,
            tooltip="The account's outreach.",
            priority=True,
        ),
        Binding(
            "a",
            "approve",
            "Approve",
            id=bindings.ACCOUNT_OUTREACH_APPROVE,
            tooltip="On the Outreach tab: approve this item for the CRM outbox.",
        ),
        Binding(
            "z",
            "snooze",
            "Snooze",
            id=bindings.ACCOUNT_OUTREACH_SNOOZE,
            tooltip=f"On the Outreach tab: hold this item for {SNOOZE_DAYS} days.",
        ),
        Binding(
            "x",
            "cancel_items",
            "Cancel",
            id=bindings.ACCOUNT_OUTREACH_CANCEL,
            tooltip="On the Outreach tab: cancel this item.",
        ),
    ]

    def __init__(self, store: Store, account_id: str, settings: Settings, *, clock: Clock) -> None:
        super().__init__()
        self._store = store
        self._settings = settings
        self._clock = clock
        self.account_id = account_id
        self._account_name = account_id
        self._outreach: list[OutreachItem] = []
        self._journey: list[JourneyEvent] = []
        self._events: KeptSource | None = None
        """The events source the journey's signals are read from, opened by the first journey that asks
        and closed with the screen (`on_unmount`)."""
        self._events_made = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="account-main"):
            yield Static("Loading…", id="account-title", markup=False)
            with TabbedContent(id="account-tabs"):
                with TabPane("Overview", id="overview"), VerticalScroll(id="account-body"):
                    yield Static(id="account-scores")
                    yield Static(id="account-next")
                    yield Static(id="account-custom")
                    yield Sparkline([], id="account-trend")
                    yield Static(id="account-trend-note", markup=False)
                    yield Static(id="account-why")
                    yield Static(id="account-sources")
                with TabPane("Journey", id="journey"):
                    yield SelectionList[str](
                        *((label, kind, True) for kind, label in _KIND_LABELS.items()), id="journey-kinds"
                    )
                    yield DataTable(id="journey-table", cursor_type="row", zebra_stripes=True)
                    yield Static(id="journey-detail", markup=False)
                with TabPane("Contacts", id="contacts"):
                    yield DataTable(id="contacts-table", cursor_type="row")
                with TabPane("Outreach", id="outreach"):
                    yield DataTable(id="outreach-items", cursor_type="row")
                    with VerticalScroll(id="account-outreach-preview-box"):
                        yield Static(id="account-outreach-preview")
        yield KeyFooter()

    def on_mount(self) -> None:
        journey_table = self.query_one("#journey-table", DataTable)
        journey_table.add_columns("On", "Kind", "What", "Detail")
        # The consent columns before the email address, which is long: at 80 columns they stay in sight.
        self.query_one("#contacts-table", DataTable).add_columns(
            "Name", "Role", "Opt-in", "Contact", "Personal", "Last touch", "Email"
        )
        self.query_one("#outreach-items", DataTable).add_columns("Status", "Due", "To", "Playbook", "Subject")
        self._load()
        self._load_journey(JOURNEY_KINDS)

    def on_unmount(self) -> None:
        with self._events_made:
            if self._events is not None:
                self._events.close()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The review keys are the Outreach tab's only."""
        if action in ("approve", "snooze", "cancel_items"):
            return self.query_one(TabbedContent).active == "outreach"
        return True

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        """The tab's content takes the focus, so that its keys (scrolling, the rows) work without Tab."""
        self.set_focus(self.query_one(f"#{_TAB_FOCUS[event.pane.id or 'overview']}"))
        self.refresh_bindings()

    def chosen_items(self) -> list[str]:
        row = self.query_one("#outreach-items", DataTable).cursor_row
        return [self._outreach[row].id] if 0 <= row < len(self._outreach) else []

    def reviewed(self) -> None:
        self._load()

    def action_log(self) -> None:
        screen = LogInteractionScreen.by_the_csm(
            self._store, self._settings, self.account_id, self._account_name, clock=self._clock
        )
        self.app.push_screen(screen, self._logged)

    def _logged(self, logged: LoggedInteraction | None) -> None:
        if logged is None:
            return
        self.notify(
            f"Logged; it waits in the CRM outbox ({logged.sync_key[:8]}…).", title="Interaction saved"
        )
        self._load()
        self._load_journey(self._chosen_kinds())

    def _chosen_kinds(self) -> tuple[JourneyKind, ...]:
        chosen = set(self.query_one("#journey-kinds", SelectionList).selected)
        return tuple(kind for kind in JOURNEY_KINDS if kind in chosen)

    @on(SelectionList.SelectedChanged, "#journey-kinds")
    def _kinds_changed(self) -> None:
        self._load_journey(self._chosen_kinds())

    @work(thread=True, exclusive=True, group="account", exit_on_error=False)
    def _load(self) -> None:
        from cockpit.services.outreach import (
            items_for_account,  # the planner's code: only once an account opens
        )

        db = self._store.db
        run = latest_clv_run(db)
        loaded = _Loaded(
            account_view(db, self.account_id),
            contacts(db, self.account_id),
            None if run is None else account_clv(db, run.id, self.account_id),
            None if run is None else run.settings.get("interval"),
            items_for_account(self._store, self.account_id),
            None if run is None else repeat_purchases(db, self.account_id, date.fromisoformat(run.as_of)),
            field_sources(db, self.account_id),
        )
        self.app.call_from_thread(self._show, loaded)

    @work(thread=True, exclusive=True, group="journey", exit_on_error=False)
    def _load_journey(self, kinds: tuple[JourneyKind, ...]) -> None:
        """The journey, its signals from the events source where they live (a query that may take a while:
        hence in a worker)."""
        from cockpit.services.events import KeptSource  # the events sources' code: once an account opens
        from cockpit.services.journey import account_journey

        with self._events_made:
            if self._events is None:
                self._events = KeptSource(self._settings.events)
        found = account_journey(
            self._store,
            self._settings,
            self.account_id,
            kinds,
            first=lambda own: self.app.call_from_thread(self._show_journey, own),
            source=self._events,
        )
        if get_current_worker().is_cancelled:  # the screen was closed, or the kinds changed again
            return
        self.app.call_from_thread(self._show_journey, found.events)
        if found.unavailable is not None:
            self.app.call_from_thread(
                self.notify,
                f"{visible(str(found.unavailable))}\nThe journey shows this database's events only.",
                title=found.unavailable.title,
                severity="warning",
                markup=False,
            )

    def _show_journey(self, events: list[JourneyEvent]) -> None:
        self._journey = events
        table = self.query_one("#journey-table", DataTable)
        table.clear()
        for event in events:
            table.add_row(
                local_time(event.on),
                _KIND_LABELS[event.kind].rstrip("s"),
                cell(event.what, TEXT_CHARS),
                cell(event.detail, TEXT_CHARS),
            )
        self._show_journey_detail()

    @on(DataTable.RowHighlighted, "#journey-table")
    def _show_journey_detail(self) -> None:
        """The event under the cursor in full, wrapped: a narrow table shows only the start of its detail."""
        row = self.query_one("#journey-table", DataTable).cursor_row
        detail = self.query_one("#journey-detail", Static)
        if not 0 <= row < len(self._journey):
            detail.update("")
            return
        event = self._journey[row]
        head = f"{local_time(event.on)} · {visible(event.what)}"
        detail.update(f"{head}\n{visible(event.detail, lines=True)}" if event.detail else head)

    def _show(self, loaded: _Loaded) -> None:
        view = loaded.view
        title = self.query_one("#account-title", Static)
        if view is None:
            title.update(f"No account {visible(self.account_id)} (it may have been deleted).")
            return
        self._account_name = view.name
        self.sub_title = visible(view.name)
        # What a CSM looks for first comes first: a narrow terminal cuts the end of the line.
        renews = f"renews {view.renewal_date}" if view.renewal_date else None
        churned = f"CHURNED on {view.churned_on}" if view.churned_on else None
        term = contract_term(view.contract_months)
        stage = f"stage {view.lifecycle_stage}" if view.lifecycle_stage else None
        gone = view.merged.text if view.merged else None
        if gone is None and view.deleted_on:
            gone = f"deleted in its CRM on {view.deleted_on}"
        parts = [
            gone,
            churned or renews,
            term,
            f"MRR {view.mrr:,.0f}",
            stage,
            view.owner,
            view.segment,
            view.plan,
            view.domain,
        ]
        title.update(visible(f"{view.name} · " + " · ".join(part for part in parts if part)))
        self._show_contacts(loaded.contacts)
        self._show_outreach(loaded.outreach)
        sources = self.query_one("#account-sources", Static)
        sources.display = bool(loaded.sources)
        sources.update(_sources(loaded.sources))
        score = view.score
        last_touch = max(
            (contact.last_touch for contact in loaded.contacts if contact.last_touch), default=None
        )
        suggestion = next_action(
            score, renewal_date=view.renewal_date, last_touch=last_touch, today=self._clock.today()
        )
        self.query_one("#account-next", Static).update(
            Text.assemble(
                _lifetime_value(loaded.clv, loaded.interval, loaded.repeats),
                ("Next: ", "bold"),
                (visible(suggestion.action), "bold"),
                f"  ({visible(suggestion.because)})",
            )
        )
        self.query_one("#account-custom", Static).update(_custom_fields(view.custom))
        if score is None:
            self.query_one("#account-scores", Static).update("Not scored yet: run `cockpit score`.")
            return
        self.query_one("#account-scores", Static).update(_headline(score, self.app.get_css_variables()))
        history = [health for _as_of, health in view.health_history if health is not None]
        self.query_one("#account-trend", Sparkline).data = history
        self.query_one("#account-trend-note", Static).update(_trend_note(view.health_history))
        self.query_one("#account-why", Static).update(_why(score))

    def _show_outreach(self, items: list[OutreachItem]) -> None:
        self._outreach = items
        table = self.query_one("#outreach-items", DataTable)
        table.clear()
        for item in items:
            table.add_row(
                item.status,
                str(item.due_on),
                cell(item.contact_name or "(to-do)"),
                item.playbook,
                cell(item.subject, TEXT_CHARS),
            )
        self._preview_outreach()

    @on(DataTable.RowHighlighted, "#outreach-items")
    def _preview_outreach(self) -> None:
        row = self.query_one("#outreach-items", DataTable).cursor_row
        preview = self.query_one("#account-outreach-preview", Static)
        if 0 <= row < len(self._outreach):
            preview.update(message_text(self._outreach[row]))
        else:
            preview.update("No outreach for this account; review every draft from the book with d.")

    def _show_contacts(self, found: list[ContactRow]) -> None:
        table = self.query_one("#contacts-table", DataTable)
        table.clear()
        for contact in found:
            table.add_row(
                cell(contact.name, 24),
                cell(contact.role or "", 17),
                "yes" if contact.email_opt_in else "no",
                "DO NOT" if contact.do_not_contact else "ok",
                "consented" if contact.personalization_consent else "no",
                (contact.last_touch or "never")[:10],
                cell(contact.email or ""),
            )


def _custom_fields(custom: dict[str, str]) -> RenderableType:
    """The account's custom fields (what its imports carried beyond cockpit's fields), as plain text."""
    if not custom:
        return ""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key, value in sorted(custom.items()):
        table.add_row(cell(key), cell(value, TEXT_CHARS))
    return Group(Text("Custom fields", style="bold underline"), table)


def contract_term(months: int | None) -> str | None:
    """`month-to-month`, `1-year contract`, `18-month contract`."""
    if months is None:
        return None
    if months == 1:
        return "month-to-month"
    return f"{months // 12}-year contract" if months % 12 == 0 else f"{months}-month contract"


def local_time(moment: str) -> str:
    """A stored moment (UTC) in the CSM's time zone, to the minute; a bare date as it is."""
    if len(moment) <= 10:
        return moment
    return datetime.fromisoformat(moment).astimezone().strftime("%Y-%m-%d %H:%M")


def _lifetime_value(clv: ClvValue | None, interval: float | None, repeats: int | None) -> Text:
    """`CLV 240,536 (90%: 204,011-283,601) · LTV:CAC 3.0 · P(buy again) 0.42 · P(alive) 0.91 · sbg+bgnbd`,
    or how to get it; a P(alive) of one purchase says it is no evidence (`p_alive_note`)."""
    if clv is None or clv.clv is None:
        return Text("Lifetime value: not estimated (run `cockpit clv fit`)\n", style="dim")
    text = Text(f"CLV {clv.clv:,.0f}")
    if clv.clv_low is not None and clv.clv_high is not None:
        coverage = f"{interval:.0%}: " if interval else ""
        text.append(f" ({coverage}{clv.clv_low:,.0f}-{clv.clv_high:,.0f})")
    if clv.ltv_cac is not None:
        text.append(f"  ·  LTV:CAC {clv.ltv_cac:.1f}")
    if clv.p_buy_again is not None:
        text.append(f"  ·  P(buy again) {clv.p_buy_again:.2f}")
    if clv.p_alive is not None:
        text.append(f"  ·  P(alive) {clv.p_alive:.2f}")
        if p_alive_note(clv.model, clv.p_alive, repeats) is not None:
            text.append(" (one purchase: no evidence)", style="dim")
    text.append(f"  ·  model {clv.model}\n", style="dim")
    return text


def _colour(value: str | None, palette: dict[str, str], variables: dict[str, str]) -> str:
    return variables.get(palette.get(value or "", "").removeprefix("$"), "")


def _headline(score: dict[str, Any], variables: dict[str, str]) -> Text:
    health, churn = score.get("health", {}), score.get("churn", {})
    adoption, cross_sell = score.get("adoption", {}), score.get("cross_sell", {})
    band, evidence = health.get("band"), health.get("evidence") or {}
    parts: list[tuple[str, str]] = [
        (
            f"Health — {band_words(band)} ({evidence.get('present')} of {evidence.get('total')} known)"
            if band == INSUFFICIENT
            else f"Health {_number(health.get('score'))} {band or ''}",
            _colour(band, _BAND_COLOUR, variables),
        ),
        (
            f"Churn {churn.get('tier')} ({_number(churn.get('risk'), 2)}"
            + (", learned)" if churn.get("model") == "learned" else ")"),
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
    """The explanation's tables; its texts (details, names) may quote data, so they go in as `plain` text."""
    health, churn = score.get("health", {}), score.get("churn", {})
    known = (health.get("evidence") or {}).get("detail")
    components = Table(
        title=plain(f"Why this health: {known}" if known else "Why this health", style="table.title"),
        title_justify="left",
        expand=True,
        box=None,
    )
    for column in ("Component", "Score", "Weight", "Points", "Because"):
        components.add_column(column, justify="right" if column in ("Score", "Weight", "Points") else "left")
    for part in health.get("components", []):
        components.add_row(
            plain(part.get("name", "")),
            _number(part.get("score")),
            _number(part.get("effective_weight", part.get("weight")), 2),
            _number(part.get("points"), 1),
            plain(part.get("detail", "")),
        )
    for part in health.get("missing", []):
        components.add_row(
            plain(part.get("name", "")), "—", "", "", plain(f"not scored: {part.get('why', '')}"), style="dim"
        )
    learned = churn.get("model") == "learned"
    contributions = Table(
        title=plain(f"Why this churn risk: {churn.get('detail', '')}", style="table.title"),
        title_justify="left",
        expand=True,
        box=None,
    )
    for column in ("Input", "Value", "Odds", "Because"):
        contributions.add_column(column, justify="right" if column in ("Value", "Odds") else "left")
    for item in churn.get("contributions", []):
        contributions.add_row(
            plain(item.get("label", "")),
            plain(_input_value(item.get("value"))),
            f"x{math.exp(float(item.get('log_odds') or 0)):.2f}",
            plain(item.get("detail", "")),
        )
    title = (
        "Churn signals the rules saw (the learned model scored)" if learned else "Churn signals that fired"
    )
    signals = Table(title=title, title_justify="left", expand=True, box=None)
    for column in ("On", "Signal", "Effect", "What"):
        signals.add_column(column, justify="right" if column == "Effect" else "left")
    for signal in churn.get("signals", []):
        signals.add_row(
            plain(signal.get("on", "")),
            plain(signal.get("name", "")),
            _number(signal.get("effect"), 2),
            plain(signal.get("detail", "")),
        )
    if not churn.get("signals"):
        signals.add_row("", "none", "", "")
    features = Table(title="Feature adoption", title_justify="left", expand=True, box=None)
    for column in ("Feature", "Product", "Status", "Active days", "Users", "Last used"):
        features.add_column(column, justify="right" if column in ("Active days", "Users") else "left")
    for feature in score.get("adoption", {}).get("features", []):
        status = feature.get("status", "") + (" (stalled)" if feature.get("stalled") else "")
        features.add_row(
            plain(feature.get("name") or feature.get("id", "")),
            plain(feature.get("product", "")),
            status,
            str(feature.get("active_days", "")),
            str(feature.get("active_users", "")),
            feature.get("last_used") or "never",
        )
    cross_sell = score.get("cross_sell", {})
    offer = plain(f"Cross-sell: {cross_sell.get('reason', '')}")
    churn_parts: list[RenderableType] = [contributions, Text("")] if learned else []
    return Group(components, Text(""), *churn_parts, signals, Text(""), features, Text(""), offer)


def _sources(sources: list[FieldSource]) -> RenderableType:
    """Where each field's value came from; its texts (values, file names) quote data, so they are `plain`."""
    table = Table(title="Where the values came from", title_justify="left", expand=True, box=None)
    for column in ("Field", "Value", "From"):
        table.add_column(column)
    for source in sources:
        value = "—" if source.value is None else source.value
        table.add_row(source.field.replace("_", " "), plain(value), plain(source.described(local_time)))
    return Group(Text(""), table)


def _input_value(value: Any) -> str:
    """An input of the learned churn model as its contribution shows it: a level, a count, a share; or none."""
    if isinstance(value, str):
        return value
    if not isinstance(value, int | float):
        return "none"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _number(value: Any, places: int = 0) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{value:.{places}f}"
