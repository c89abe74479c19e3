"""Three-way merge of a pulled record: the CRM's values, the local row, and what both last agreed on.

Pure: no I/O. A field the CRM changed and cockpit did not takes the CRM's value; a field cockpit changed
and the CRM did not keeps the local value; a field changed on both sides to different values is a
conflict, left as it is locally for the CSM to settle. A record never synced before takes the CRM's
values: the CRM is the team's shared record.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldConflict:
    field: str
    base: Any
    local: Any
    crm: Any


@dataclass
class Merge:
    apply: dict[str, Any] = field(default_factory=dict)
    """Fields to write locally, with the CRM's values."""
    conflicts: list[FieldConflict] = field(default_factory=list)
    agreed: dict[str, Any] = field(default_factory=dict)
    """The new snapshot: what both sides now agree on (a conflicting field keeps its old base)."""
    settled: list[str] = field(default_factory=list)
    """Fields on which both sides now agree (their open conflicts, if any, are over)."""


def merge(theirs: dict[str, Any], local: dict[str, Any] | None, base: dict[str, Any] | None) -> Merge:
    if local is None:
        return Merge(apply=dict(theirs), agreed=dict(theirs))
    result = Merge()
    for name, value in theirs.items():
        mine = local.get(name)
        if value == mine:
            result.agreed[name] = value
            result.settled.append(name)
        elif base is None or name not in base:
            result.apply[name] = value
            result.agreed[name] = value
        elif value == base[name]:
            result.agreed[name] = value  # only cockpit changed it: keep ours
        elif mine == base[name]:
            result.apply[name] = value
            result.agreed[name] = value
        else:
            result.conflicts.append(FieldConflict(name, base[name], mine, value))
            result.agreed[name] = base[name]
    return result


def _folded(text: str) -> str:
    return "".join(character for character in text.casefold() if character.isalnum())


def is_churned_stage(stage: Any, churned_stages: Collection[str]) -> bool:
    """Whether a lifecycle stage is one of `churned_stages` (ignoring case, spaces and punctuation)."""
    return isinstance(stage, str) and _folded(stage) in {_folded(name) for name in churned_stages}


def churn_from_stage(
    theirs: Mapping[str, Any],
    apply: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    *,
    changed_on: str,
    churned_stages: Collection[str],
) -> dict[str, Any]:
    """The churn day a lifecycle stage the CRM changed implies (`{}`: none to write). Only a stage the merge
    applies counts, and only when the CRM gives no churn date of its own (that one rules). Moved to a
    churned stage, an account without a churn day gets `changed_on` (the day of the CRM's change); moved
    from a churned stage to another, it is reopened (no churn day). `before` holds the account's
    `lifecycle_stage` and `churned_on` (None: a new account)."""
    if "lifecycle_stage" not in apply or "churned_on" in theirs:
        return {}
    churned_on = None if before is None else before.get("churned_on")
    if is_churned_stage(apply["lifecycle_stage"], churned_stages):
        return {"churned_on": changed_on} if churned_on is None else {}
    was_churned = before is not None and is_churned_stage(before.get("lifecycle_stage"), churned_stages)
    return {"churned_on": None} if was_churned and churned_on is not None else {}


def merge_task(
    theirs: dict[str, Any], local: dict[str, Any], base: dict[str, Any] | None, *, waiting: bool
) -> Merge:
    """A task as the CRM has it (`theirs`: due_on, done), merged with its item in cockpit (a follow-up, or a
    queued outreach item): a field the CRM changed since cockpit's last push and cockpit did not is applied;
    changed on both sides, a conflict. Without the values last pushed (pushed before they were kept), the
    item as it is stands for them unless it has changed since (`waiting`), and then the CRM's (cockpit's
    change goes out). Two things are not applied, only agreed on: a task re-opened in the CRM (an item done
    here stays done), and a new day for an item done here."""
    result = merge(theirs, local, base if base is not None else theirs if waiting else local)
    if result.apply.get("done") is False:
        del result.apply["done"]
    if local.get("done"):
        result.apply.pop("due_on", None)
    return result
