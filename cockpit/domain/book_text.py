"""The view of the book as text a person would rather look at than read: bars for the spreads and the
renewals, the retention figures side by side with a year before (`cockpit book`, the book screen `b`).
Names in it come from data: the shells show them through `display.visible`."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

from cockpit.domain.book_figures import (
    DIMENSIONS,
    BookView,
    LtvGroup,
    Move,
    RenewalMonth,
    Retention,
    RetentionPair,
)

TITLES = {
    "health_band": "Health band",
    "churn_tier": "Churn tier",
    "value_tier": "Value tier",
    "adoption_status": "Adoption",
    "advocacy": "Advocacy",
    "lifecycle_stage": "Lifecycle stage",
}
BAR_WIDTH = 12
SPARKS = "▁▂▃▄▅▆▇█"
WIDTH = 76
"""The widest line: the view fits an 80-column terminal, on the screen within its panel's padding and beside
its scrollbar."""


def bar(part: float, whole: float, width: int = BAR_WIDTH) -> str:
    """A bar of `width` cells, the share `part / whole` filled in eighths."""
    eighths = round(8 * width * part / whole) if whole > 0 else 0
    full, rest = divmod(max(0, min(eighths, 8 * width)), 8)
    return ("█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")).ljust(width)


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, its height its place between 0 and the largest ("·" for unknown)."""
    known = [value for value in values if value is not None]
    top = max(known, default=0.0)
    return "".join(
        "·"
        if value is None
        else SPARKS[min(len(SPARKS) - 1, int(value / top * (len(SPARKS) - 1)))]
        if top
        else SPARKS[0]
        for value in values
    )


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def short_money(value: float | None) -> str:
    """A sum in few cells: 950, 12k, 3.4M."""
    if value is None:
        return "—"
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            scaled = value / limit
            return f"{scaled:.1f}{suffix}" if abs(scaled) < 10 else f"{scaled:.0f}{suffix}"
    return f"{value:.0f}"


def prose(text: str, indent: str = "") -> list[str]:
    """A sentence of the view as lines of at most `WIDTH`, the lines after the first indented further."""
    return textwrap.wrap(
        text, WIDTH, initial_indent=indent, subsequent_indent=indent + "    ", break_on_hyphens=False
    )


def spread_lines(view: BookView) -> list[str]:
    """Each dimension's values, a count and a bar per day shown."""
    snapshots = view.snapshots
    lines = [
        f"{'':<17}"
        + "".join(
            f"{snap.label + ' ' + snap.day.isoformat():<{BAR_WIDTH + 8}}" for snap in snapshots
        ).rstrip()
    ]
    for dimension in (*DIMENSIONS, "lifecycle_stage"):
        values = sorted({value for snap in snapshots for value in snap.distributions.get(dimension, {})})
        if not values:
            continue
        lines.append(TITLES[dimension])
        for value in values:
            cells = []
            for snap in snapshots:
                counts = snap.distributions.get(dimension)
                if counts is None or not counts:
                    cells.append(f"{'':<{BAR_WIDTH + 8}}")
                    continue
                count = counts.get(value, 0)
                cells.append(f"{count:>6,} {bar(count, sum(counts.values()))} ")
            lines.append(f"  {value:<15}" + "".join(cells).rstrip())
    return lines


def mover_lines(view: BookView, limit: int) -> list[str]:
    moved = ", ".join(
        f"{TITLES[dimension].lower()} {counts['worse']} worse, {counts['better']} better"
        for dimension, counts in view.movers_by_dimension.items()
        if counts["worse"] or counts["better"]
    )
    lines = prose(
        f"Moved between {view.compare_day} and {view.as_of}: {view.movers_total:,} moves ({moved or 'none'})"
    )
    return lines + [f"  {mover_line(move)}" for move in view.movers[:limit]]


def mover_line(move: Move) -> str:
    """One account's move, in `WIDTH` less an indent: `▼ Falcon Ledge Industries  adoption  adopted → onboarding`."""
    arrow = "▼" if move.worse else "▲"
    return (
        f"{arrow} {move.name[:22]:<22}  {TITLES[move.dimension].lower():<12} {move.before} → {move.after}"
        f"  MRR {short_money(move.mrr)}"
    )


def _retention_row(name: str, pairs: Sequence[RetentionPair], field: str) -> str:
    def value(figures: Retention) -> str:
        return percent(getattr(figures, field))

    cells = "".join(f"{value(pair.now):>10}{value(pair.year_before):>12}" for pair in pairs)
    return f"  {name:<18}{cells}"


def retention_lines(view: BookView) -> list[str]:
    month, year = view.retention["month"], view.retention["year"]
    pairs = (month, year)
    lines = [
        f"{'Retention':<20}{'month':>10}{'year before':>12}{'12 months':>10}{'year before':>12}",
        _retention_row("logo churn", pairs, "logo_churn"),
        _retention_row("GRR", pairs, "grr"),
        _retention_row("NRR", pairs, "nrr"),
        _retention_row("expansion", pairs, "expansion_rate"),
    ]
    renewals = "".join(
        f"{percent(totals['now'].rate):>10}{percent(totals['year_before'].rate):>12}"
        for totals in (view.renewal_totals["month"], view.renewal_totals["year"])
    )
    lines.append(f"  {'renewed (count)':<18}{renewals}")
    mrr = "".join(
        f"{percent(totals['now'].mrr_rate):>10}{percent(totals['year_before'].mrr_rate):>12}"
        for totals in (view.renewal_totals["month"], view.renewal_totals["year"])
    )
    lines.append(f"  {'renewed (MRR)':<18}{mrr}")
    lines += prose(
        f"customers at start {month.now.customers:,} / {month.year_before.customers:,} (month), "
        f"{year.now.customers:,} / {year.year_before.customers:,} (12 months); "
        f"expansion {money(year.now.expansion_mrr)} MRR over 12 months",
        indent="  ",
    )
    return lines


def renewal_lines(months: Sequence[RenewalMonth], shown: int = 12) -> list[str]:
    """The renewal rate per month as a sparkline over every month, and the last `shown` months as bars."""
    rates = [month.renewed / month.due if month.due else None for month in months]
    spark = WIDTH - 2
    lines = [
        f"Renewals per month, renewed share {months[-spark:][0].month} to {months[-1].month}:",
        f"  {sparkline(rates[-spark:])}",
    ]
    top = max((month.due for month in months[-shown:]), default=0)
    for month in months[-shown:]:
        lines.append(
            f"  {month.month}  due {month.due:>5,}  renewed {month.renewed:>5,}  lost {month.lost:>4,}  "
            f"{bar(month.renewed, top)}{'░' * (round(BAR_WIDTH * month.lost / top) if top else 0)}"
        )
    return lines


def _interval(low: float | None, high: float | None, shown: Callable[[float | None], str]) -> str:
    """`[low-high]`, or nothing when the interval is not known."""
    return "" if low is None or high is None else f"[{shown(low)}-{shown(high)}]"


def _ltv_line(group: LtvGroup) -> str:
    mark = {True: "✓", False: "✗", None: ""}[group.meets_target]
    return (
        f"  {group.group[:18]:<18} {group.valued:>6,}/{group.accounts:<6,} {short_money(group.ltv):>6} "
        f"{_interval(group.ltv_low, group.ltv_high, short_money):<13} {ratio(group.ltv_cac):>5} "
        f"{_interval(group.ltv_cac_low, group.ltv_cac_high, ratio)} {mark}"
    ).rstrip()


def ltv_lines(view: BookView) -> list[str]:
    lines = prose(
        f"Lifetime value and LTV:CAC (target {view.ltv_cac_target:g}:1): mean per valued account [interval]"
    )
    for title, groups in (("segment", view.ltv_by_segment), ("owner", view.ltv_by_owner)):
        lines.append(f"  {'by ' + title:<18} {'valued':>6}/{'all':<6} {'LTV':>6} {'':<13} LTV:CAC")
        lines += [_ltv_line(group) for group in groups]
    from_config = sum(group.cac_from_config for group in view.ltv_by_segment)
    if from_config:
        lines.append(f"  {from_config:,} account(s) take their CAC from book.default_cac (none in the data)")
    return lines


def forecast_lines(view: BookView, limit: int) -> list[str]:
    ahead = view.forecast
    share = ahead.expected_renewed_mrr / ahead.mrr_up if ahead.mrr_up else None
    sources = ", ".join(f"{source} {count:,}" for source, count in view.forecast_sources.items())
    lines = prose(
        f"Renewals {ahead.start} to {ahead.end}: {ahead.accounts:,} account(s), MRR up {money(ahead.mrr_up)}, "
        f"expected to renew {money(ahead.expected_renewed_mrr)} ({percent(share)}), "
        f"expected loss {money(ahead.expected_loss_mrr)}"
    )
    if sources:
        lines.append(f"  chances of loss from: {sources}")
    for account in ahead.top[:limit]:
        lines.append(
            f"  {account.name[:26]:<26}  {account.renewal_date}  MRR {short_money(account.mrr):>6}  "
            f"loss {percent(account.churn_chance):>6} → {short_money(account.expected_loss):>6}"
        )
    return lines


def header(view: BookView) -> str:
    filters = ", ".join(
        f"{name} {','.join(map(str, value)) if isinstance(value, list) else value}"
        for name, value in view.filters.items()
    )
    accounts = f"{view.accounts:,} account{'' if view.accounts == 1 else 's'}"
    shown = f"The book as of {view.as_of}, compared with {view.compare_day} · {accounts}"
    return shown + (f" · {filters}" if filters else "")


def book_text(view: BookView, *, movers: int = 10) -> list[str]:
    """The whole view as lines: the headline figures (retention, the renewals ahead) first, then the
    spreads and who moved, renewals per month, lifetime value."""
    lines = [header(view), "", *retention_lines(view), "", *forecast_lines(view, movers), ""]
    lines += [*spread_lines(view), "", *mover_lines(view, movers), "", *renewal_lines(view.renewals)]
    lines += ["", *ltv_lines(view)]
    if view.notes:
        lines += ["", *(line for note in view.notes for line in prose(f"note: {note}"))]
    return lines
