"""The review queue's search: which outreach items a typed text picks, e.g. `acme playbook:save channel:email`.

Each word narrows the list (all words: AND), case-insensitively: `playbook:`, `account:` or `channel:` looks
in that field only; a plain word in any of them."""

from __future__ import annotations

from cockpit.outreach.items import OutreachItem

SEARCH_FIELDS = ("playbook", "account", "channel")


def matches(item: OutreachItem, text: str) -> bool:
    """Whether every word of `text` is found in the item (a `field:` word in that field)."""
    fields = {"playbook": item.playbook, "account": item.account_name.lower(), "channel": item.channel}
    for word in text.lower().split():
        name, colon, wanted = word.partition(":")
        if colon and name in SEARCH_FIELDS:
            if wanted not in fields[name]:
                return False
        elif not any(word in value for value in fields.values()):
            return False
    return True
