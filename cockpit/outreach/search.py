"""The review queue's search: which outreach items a typed text picks, e.g. `acme playbook:save due:today`.

Each word narrows the list (all words: AND), case-insensitively: `playbook:`, `account:` or `channel:` looks
in that field only; a plain word in any of them. `due:` picks by the due day: `due:today` (due today or
overdue), `due:overdue` (before today), `due:7` (within seven days, overdue too) or `due:2026-12-24` (on or
before that day)."""

from __future__ import annotations

from datetime import date, timedelta

from cockpit.outreach.items import OutreachItem

SEARCH_FIELDS = ("playbook", "account", "channel")


def due_by(word: str, today: date) -> tuple[date, bool] | None:
    """The last due day a `due:` word lets through and whether that day itself is excluded; None when the
    word is none of the forms above."""
    if word == "today":
        return today, False
    if word == "overdue":
        return today, True
    if word.isdigit():
        return today + timedelta(days=int(word)), False
    try:
        return date.fromisoformat(word), False
    except ValueError:
        return None


def matches(item: OutreachItem, text: str, today: date) -> bool:
    """Whether every word of `text` is found in the item (a `field:` word in that field; a `due:` word
    not understood matches nothing, an empty one, still being typed, everything)."""
    fields = {"playbook": item.playbook, "account": item.account_name.lower(), "channel": item.channel}
    for word in text.lower().split():
        name, colon, wanted = word.partition(":")
        if colon and name == "due":
            bound = due_by(wanted, today) if wanted else (date.max, False)
            if bound is None or item.due_on > bound[0] or (bound[1] and item.due_on == bound[0]):
                return False
        elif colon and name in SEARCH_FIELDS:
            if wanted not in fields[name]:
                return False
        elif not any(word in value for value in fields.values()):
            return False
    return True
