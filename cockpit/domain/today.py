"""The CSM's day: what is due (follow-ups, call tasks and to-dos), what renews this month, and which accounts
the latest score run moved (into "save now", or to another churn tier), each with its account. Pure: rows
read by the store in, the records `cockpit today` and the Today screen show out."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final, Literal

TodayKind = Literal["follow_up", "task", "renewal", "score_change"]
SECTIONS: Final[tuple[tuple[TodayKind, str], ...]] = (
    ("follow_up", "Follow-ups due"),
    ("task", "Call tasks and to-dos this week"),
    ("renewal", "Renewals this month"),
    ("score_change", "Score changes"),
)
"""Each kind of item, in the order the day lists them, with its heading."""

TASK_CHANNELS: Final = ("call_task", "todo")
"""The outreach channels that are a task for the CSM, not a message to send."""
OPEN_TASK_STATUSES: Final = ("draft", "approved", "synced", "snoozed")
"""A task in one of these is still to do: planned, approved, or in the CRM and not done (a snoozed one once
its day has come)."""
DONE_STATUS: Final = "sent"
"""A task the CSM did: it went out (the next push files it in the CRM as completed)."""

FOLLOW_UP_CHANNELS: Final = {"call": "call_task", "email": "email"}
"""The task a follow-up is in the CRM, by the kind of interaction that asked for it: a call is followed up
by a call, an email by an email, anything else by a to-do."""

TASK_DAYS_AHEAD: Final = 7
"""Tasks due this many days ahead are on the day's list too (the plan queues them a day or more ahead)."""
CHURN_TIERS: Final = ("low", "medium", "high")
"""The churn tiers from the least risk to the most."""

SECTION_LIMIT: Final = 200
"""The most items of a kind the Today screen lists (it says how many more there are)."""


@dataclass(frozen=True)
class TodayItem:
    """One thing on the CSM's day. `ref` is what it is about: the interaction that asked for the follow-up,
    the outreach item of the task, or the account (a renewal, a score change)."""

    kind: TodayKind
    ref: str
    account_id: str
    account_name: str
    day: date
    """When it is due: the follow-up's or task's day, the renewal, the day of the score run."""
    title: str
    detail: str

    @property
    def actionable(self) -> bool:
        """Whether it can be done, snoozed or moved (a follow-up or a task); a renewal or a score change is
        acted on in the account."""
        return self.kind in ("follow_up", "task")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.ref,
            "account": {"id": self.account_id, "name": self.account_name},
            "day": self.day.isoformat(),
            "title": self.title,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class TodaySection:
    kind: TodayKind
    heading: str
    items: tuple[TodayItem, ...]
    total: int | None
    """How many there are in all (more than `items` when the list was cut at a limit); None while not
    counted."""


@dataclass(frozen=True)
class TodayList:
    day: date
    sections: tuple[TodaySection, ...]
    compared_runs: tuple[date, date] | None
    """The days of the two score runs the score changes compare (None without two runs)."""

    def items(self) -> list[TodayItem]:
        return [item for section in self.sections for item in section.items]

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "compared_runs": None
            if self.compared_runs is None
            else {"before": self.compared_runs[0].isoformat(), "after": self.compared_runs[1].isoformat()},
            "sections": [
                {
                    "kind": section.kind,
                    "heading": section.heading,
                    "total": section.total,
                    "items": [item.to_json() for item in section.items],
                }
                for section in self.sections
            ],
        }


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of `day`'s month."""
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def when(day: date, today: date) -> str:
    """`today`, `tomorrow`, `3 days late`, or the day."""
    days = (day - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days < 0:
        return f"{-days} day{'' if days == -1 else 's'} late"
    return day.isoformat()


@dataclass(frozen=True)
class LongOverdue:
    """The follow-ups more than `days` late (`[today] fold_overdue_after_days`), as one line of the day: an
    account left untouched for months is another job than this week's calls, but not to be lost."""

    items: tuple[TodayItem, ...]
    days: int

    @property
    def title(self) -> str:
        return f"{len(self.items):,} follow-ups overdue by more than {self.days} days"

    @property
    def oldest(self) -> TodayItem:
        """The follow-up due the longest ago (the first of them on the day's list, at a tie)."""
        return min(self.items, key=lambda item: item.day)


def fold_long_overdue(
    items: Sequence[TodayItem], today: date, *, days: int, opened: bool = False
) -> list[TodayItem | LongOverdue]:
    """The day's items with its follow-ups more than `days` late as one `LongOverdue` where the first of them
    stood (a single one stays as it is); `opened`: the `LongOverdue` is followed by them."""
    old = tuple(item for item in items if item.kind == "follow_up" and (today - item.day).days > days)
    if len(old) < 2:
        return list(items)
    folded = set(old)
    rows: list[TodayItem | LongOverdue] = []
    for item in items:
        if item is old[0]:
            rows.append(LongOverdue(old, days))
            if opened:
                rows.extend(old)
        elif item not in folded:
            rows.append(item)
    return rows


def follow_up_channel(kind: str) -> str:
    """The task channel of the follow-up an interaction of `kind` asked for (`FOLLOW_UP_CHANNELS`)."""
    return FOLLOW_UP_CHANNELS.get(kind, "todo")


def follow_up_title(summary: str) -> str:
    """What a follow-up is called, on the day's list and in the CRM."""
    return f"Follow up: {summary}"


def follow_up(
    interaction_id: str,
    account_id: str,
    account_name: str,
    kind: str,
    occurred_at: str,
    summary: str,
    follow_up_on: str,
) -> TodayItem:
    """The follow-up an interaction asked for."""
    return TodayItem(
        "follow_up",
        interaction_id,
        account_id,
        account_name,
        date.fromisoformat(follow_up_on[:10]),
        follow_up_title(summary),
        f"asked for by the {kind} of {occurred_at[:10]}",
    )


def task(
    item_id: str,
    account_id: str,
    account_name: str,
    channel: str,
    subject: str,
    due_on: str,
    contact_name: str | None,
    playbook: str,
) -> TodayItem:
    """A call task or to-do an outreach playbook queued."""
    label = "call task" if channel == "call_task" else "to-do"
    with_whom = f", with {contact_name}" if contact_name else ""
    return TodayItem(
        "task", item_id, account_id, account_name, date.fromisoformat(due_on[:10]), subject,
        f"{label} of the {playbook} playbook{with_whom}",
    )  # fmt: skip


def renewal(account_id: str, account_name: str, renewal_date: str, mrr: float, currency: str) -> TodayItem:
    return TodayItem(
        "renewal", account_id, account_id, account_name, date.fromisoformat(renewal_date[:10]),
        f"Renews {renewal_date[:10]}", f"MRR {mrr:,.0f} {currency}",
    )  # fmt: skip


@dataclass(frozen=True)
class Standing:
    """An account's churn tier and priority in one score run."""

    churn_tier: str | None
    priority: str | None


def score_change(before: Standing, after: Standing, *, save_now: str) -> tuple[str, str, int] | None:
    """What changed between two runs worth the CSM's attention: the account entered "save now" (`save_now`,
    the priority label of a high churn risk on a high value), or its churn tier changed. The title, what
    changed, and how urgent (0: entered save now, 1: more risk, 2: less); None if nothing did."""
    entered = after.priority == save_now and before.priority != save_now
    moved = after.churn_tier != before.churn_tier and before.churn_tier is not None
    if not entered and not moved:
        return None
    title = f"Entered {save_now}" if entered else f"Churn risk {before.churn_tier} → {after.churn_tier}"
    changes = []
    if moved:
        changes.append(f"churn tier {before.churn_tier} → {after.churn_tier}")
    if after.priority != before.priority:
        changes.append(f"priority {before.priority or 'none'} → {after.priority or 'none'}")
    return title, "; ".join(changes), 0 if entered else 1 if _risk(after) > _risk(before) else 2


def _risk(standing: Standing) -> int:
    tier = standing.churn_tier
    return CHURN_TIERS.index(tier) if tier in CHURN_TIERS else -1


def with_reason(item: TodayItem, reason: str | None) -> TodayItem:
    """A score change with why the run saw more risk (its strongest churn signal)."""
    if reason is None:
        return item
    return TodayItem(
        item.kind, item.ref, item.account_id, item.account_name, item.day, item.title,
        f"{item.detail}; strongest signal: {reason}",
    )  # fmt: skip


def moved_task_status(status: str) -> str:
    """A task's status once the CSM moves it to another day: a snoozed one is a draft again (on its new day),
    the others stay as they are (one in the CRM goes there again with its new day: it changed since)."""
    return "draft" if status == "snoozed" else status


def parse_day(text: str, today: date) -> date | None:
    """The day a CSM typed to move something to: `YYYY-MM-DD`, `tomorrow`, or `+N` days; None if it is none
    of these."""
    word = text.strip().lower()
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word.startswith("+") and word[1:].isdigit():
        return today + timedelta(days=int(word[1:]))
    try:
        return date.fromisoformat(word)
    except ValueError:
        return None
