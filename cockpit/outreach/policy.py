"""The contact policy, across all playbooks: who may be contacted, by which channel, on which day.

- Reachability always wins: a deleted contact or one marked do-not-contact is never contacted; an email also
  needs the contact's email opt-in and an address. Nothing can override this, not even a CSM's approval.
- Touches: logged interactions with the contact (every kind but internal notes, inbound ones too) and outreach
  items that are planned or gone (draft, approved, snoozed, sent, synced, failed; not cancelled), each on its
  day. Todos touch nobody.
- A new touch on day D needs at least `min_gap_days` days to every other touch of the contact (before or
  after D), and every window of `window_days` days that contains D must hold fewer than `max_touches`
  touches before it is added, so no window ever holds more than `max_touches` because of cockpit.
- Quiet days (weekdays and dates) have nothing due, for any channel.

A message that cannot go on its day moves to the nearest day that allows it, at most `max_shift_days` away:
later for messages due as soon as possible, earlier (never before today) then later for messages due on a
date (a birthday); past that it is not queued, and the reason says what stood in the way.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from cockpit.config import Channel, ContactPolicy
from cockpit.outreach.facts import PlanContact

WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def unreachable(contact: PlanContact, channel: Channel) -> str | None:
    """Why the contact may not be reached by this channel, or None when it may."""
    if contact.deleted:
        return "deleted"
    if contact.do_not_contact:
        return "do not contact"
    if channel == "email":
        if not contact.email_opt_in:
            return "opted out of email"
        if not contact.email:
            return "no email address"
    return None


@dataclass(frozen=True)
class Touch:
    contact_id: str
    day: date
    item_id: str | None = None
    """The outreach item this touch is, so that re-planning the item can lift it first; None for interactions."""


@dataclass
class Calendar:
    """Every contact's touches by day, as the planner and the review see them."""

    policy: ContactPolicy
    _days: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _items: dict[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, policy: ContactPolicy, touches: Iterable[Touch]) -> Calendar:
        calendar = cls(policy)
        for touch in touches:
            calendar.add(touch.contact_id, touch.day, touch.item_id)
        return calendar

    def add(self, contact_id: str, day: date, item_id: str | None = None) -> None:
        ordinal = day.toordinal()
        insort(self._days[contact_id], ordinal)
        if item_id is not None:
            self._items[item_id] = (contact_id, ordinal)

    def lift(self, item_id: str) -> None:
        """Take an item's touch off the calendar (it is being re-planned, or it was cancelled)."""
        found = self._items.pop(item_id, None)
        if found is not None:
            contact_id, ordinal = found
            days = self._days[contact_id]
            days.pop(bisect_left(days, ordinal))

    def touches(self, contact_id: str) -> list[date]:
        return [date.fromordinal(ordinal) for ordinal in self._days.get(contact_id, [])]

    def refusal(self, contact_id: str, day: date) -> str | None:
        """Why one more touch of the contact on `day` would break the policy, or None if it would not."""
        days = self._days.get(contact_id)
        if not days:
            return None
        policy, ordinal = self.policy, day.toordinal()
        gap = policy.min_gap_days
        if gap > 0:
            low, high = bisect_left(days, ordinal - gap + 1), bisect_right(days, ordinal + gap - 1)
            if low < high:
                near = date.fromordinal(days[low])
                return f"touched on {near} (at least {gap} days between touches)"
        width = policy.window_days
        for start in range(ordinal - width + 1, ordinal + 1):
            count = bisect_right(days, start + width - 1) - bisect_left(days, start)
            if count >= policy.max_touches:
                first, last = date.fromordinal(start), date.fromordinal(start + width - 1)
                return (
                    f"{count} touches from {first} to {last} (at most {policy.max_touches} in {width} days)"
                )
        return None


def quiet(day: date, policy: ContactPolicy) -> bool:
    return WEEKDAYS[day.weekday()] in policy.quiet_weekdays or day.isoformat() in policy.quiet_dates


def candidate_days(due: date, today: date, shift: int, *, fixed: bool) -> Iterator[date]:
    """The days a message may go on, best first: from `due` onwards when it is due as soon as possible; for a
    fixed date, nearest first, the earlier day first on a tie, never before today."""
    yield due
    for step in range(1, shift + 1):
        if fixed:
            earlier = due - timedelta(days=step)
            if earlier >= today:
                yield earlier
        yield due + timedelta(days=step)


def place(
    calendar: Calendar,
    contact_id: str | None,
    due: date,
    today: date,
    shift: int,
    *,
    fixed: bool,
) -> tuple[date | None, str]:
    """The best day for one more touch of the contact (None: a todo, no contact) and, when it is not `due`,
    why it moved; or (None, the reason no day in reach allows it)."""
    policy = calendar.policy
    first_refusal = ""
    for day in candidate_days(due, today, shift, fixed=fixed):
        if quiet(day, policy):
            refusal: str | None = f"{day} is a quiet day"
        else:
            refusal = None if contact_id is None else calendar.refusal(contact_id, day)
        if refusal is None:
            return day, "" if day == due else f"moved from {due}: {first_refusal}"
        first_refusal = first_refusal or refusal
    return None, f"no day within {shift} days of {due} allowed: {first_refusal}"
