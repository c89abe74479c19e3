"""An outreach item as the CSM reviews it: exactly as it will be sent, then why it was queued. Shared by the
review queue and the account's outreach tab, without the planner's code (Jinja2) on the TUI's start-up path.
What came from data (names, the message, the values that fired) is shown, never acted on (`visible`)."""

from __future__ import annotations

from rich.text import Text

from cockpit.domain.display import visible
from cockpit.outreach.items import OutreachItem


def message_text(item: OutreachItem) -> Text:
    """The item as it will be sent, then why it was queued."""
    to = item.contact_name or "the account team (a to-do)"
    if item.contact_email:
        to += f" <{item.contact_email}>"
    text = Text()
    text.append(
        visible(f"{item.channel.replace('_', ' ')} to {to} · {item.account_name} · due {item.due_on}"),
        style="bold",
    )
    if item.snoozed_until:
        text.append(f" · snoozed until {item.snoozed_until}")
    text.append(f"\nSubject: {visible(item.subject)}\n\n", style="bold")
    text.append(visible(item.body, lines=True))
    reason = item.reason
    fired = ", ".join(f"{key} {value}" for key, value in (reason.get("values") or {}).items())
    text.append(f"\n\nWhy: playbook {item.playbook}", style="dim")
    if reason.get("trigger"):
        text.append(f" · when {visible(reason['trigger'])}", style="dim")
    if fired:
        text.append(f" · {visible(fired)}", style="dim")
    if item.edited_at:
        text.append(f" · edited {item.edited_at[:16]}", style="dim")
    return text
