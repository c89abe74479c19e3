"""Logging an interaction by hand (the TUI's form): checked field by field, written in one transaction, and
queued for the CRM (sync_state 'pending', with a stable sync key from birth)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from cockpit.domain.records import InteractionRecord, interaction_sync_key
from cockpit.errors import CockpitError
from cockpit.store.db import Store
from cockpit.store.journey import insert_interaction

# The form's fields, in the order it shows them; the record's names where they differ.
FORM_FIELDS = ("kind", "contact", "occurred_at", "summary", "sentiment", "follow_up_on")


class InteractionInvalid(CockpitError):
    """The form has mistakes: `problems` maps each wrong field to what is wrong with it."""

    title = "Interaction not saved"
    exit_code = 2

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))
        self.problems = problems


@dataclass(frozen=True)
class LoggedInteraction:
    id: str
    sync_key: str
    occurred_at: str


def _moment(text: str, now: datetime) -> datetime | str:
    """What the CSM typed for "when": now, today, yesterday, a date, or a date and time in local time."""
    word = text.strip().lower()
    if word in ("", "now"):
        return now
    if word in ("today", "yesterday"):
        day = now.date() - timedelta(days=word == "yesterday")
        return now.replace(year=day.year, month=day.month, day=day.day)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text  # the record's own lenient parsing says what is wrong, or accepts it
    return moment if moment.tzinfo else moment.astimezone()


def check_interaction(
    account_id: str, form: dict[str, str], *, contact_ids: set[str], now: datetime
) -> InteractionRecord:
    """The form as a record, or `InteractionInvalid` naming every wrong field. `now` is timezone-aware;
    an interaction is logged once it happened, so it cannot be later than `now`."""
    values: dict[str, Any] = {
        "account": account_id,
        "kind": form.get("kind", ""),
        "contact": form.get("contact") or None,
        "occurred_at": _moment(form.get("occurred_at", ""), now),
        "summary": form.get("summary", ""),
        "sentiment": form.get("sentiment") or None,
        "follow_up_on": form.get("follow_up_on") or None,
    }
    problems: dict[str, str] = {}
    try:
        record = InteractionRecord.model_validate(values)
    except ValidationError as error:
        for detail in error.errors():
            field = str(detail["loc"][0]) if detail["loc"] else "form"
            problems.setdefault(field, _plain(detail))
        raise InteractionInvalid(problems) from None
    if record.contact is not None and record.contact not in contact_ids:
        problems["contact"] = "not a contact of this account"
    if _later_than(record.occurred_at, now):
        problems["occurred_at"] = "is in the future: log an interaction once it happened"
    if record.follow_up_on is not None and record.follow_up_on < record.occurred_at[:10]:
        problems["follow_up_on"] = "is before the interaction"
    if problems:
        raise InteractionInvalid(problems)
    return record


def _later_than(occurred_at: str, now: datetime) -> bool:
    """Whether a stored moment (UTC timestamp, or a bare local date) is after `now`, give or take a minute."""
    if len(occurred_at) == 10:
        return occurred_at > now.date().isoformat()
    return datetime.fromisoformat(occurred_at) > now + timedelta(minutes=1)


def _plain(detail: Any) -> str:
    """pydantic's message, in the form's words."""
    if detail["type"] in ("too_short", "string_too_short"):
        return "is required"
    if detail["type"] == "literal_error":
        return "must be " + str(detail["ctx"]["expected"]).replace("'", "")
    return str(detail["msg"]).removeprefix("Value error, ")


def log_interaction(
    store: Store, record: InteractionRecord, *, author: str | None, now: datetime
) -> LoggedInteraction:
    """Write the interaction in one transaction (waiting for another writer, such as an import, up to the
    busy timeout); from then on it shows in the journey and waits in the CRM outbox."""
    interaction_id = f"int-{uuid.uuid4().hex[:16]}"
    stamp = now.astimezone().isoformat(timespec="seconds")
    with store.write() as db:
        insert_interaction(
            db,
            {
                "id": interaction_id,
                "account_id": record.account,
                "contact_id": record.contact,
                "kind": record.kind,
                "direction": record.direction,
                "occurred_at": record.occurred_at,
                "summary": record.summary,
                "sentiment": record.sentiment,
                "author": author,
                "follow_up_on": record.follow_up_on,
                "sync_key": interaction_sync_key(interaction_id),
                "created_at": stamp,
                "updated_at": stamp,
            },
        )
    return LoggedInteraction(interaction_id, interaction_sync_key(interaction_id), record.occurred_at)
