"""The push states of an outbox item: what one CRM's answer makes of it there, and what its states in every
enabled CRM make of the item itself.

Pure: no I/O. Per CRM:
- pushed: `synced`, at the version sent;
- refused by the CRM (the item itself is at fault): `error`, and the refusal counts; at `max_attempts`
  refusals the item is given up on (`failed`) at the version sent, until it is edited or retried;
- not answered for a passing reason (a timeout, a 5xx after every retry, a lock): `error`, not counted.
The item is `synced` once every CRM has it synced, `failed` once every CRM has it synced or given up on;
until then it waits in the outbox.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

AnswerState = Literal["synced", "error", "failed"]


@dataclass(frozen=True)
class Answered:
    """An item's state in one CRM after its answer."""

    state: AnswerState
    refusals: int
    """The CRM's refusals of the item so far."""

    @property
    def done(self) -> bool:
        """The version sent is done with in this CRM (pushed, or given up on): not sent again until edited."""
        return self.state != "error"


def answered(*, error: str | None, refused: bool, refusals: int, max_attempts: int) -> Answered:
    """The item's state in a CRM after its answer (`error` None: pushed), given its `refusals` before."""
    if error is None:
        return Answered("synced", refusals)
    if not refused:
        return Answered("error", refusals)
    refusals += 1
    return Answered("failed" if refusals >= max_attempts else "error", refusals)


def settled(states: Collection[str], crms: int) -> Literal["synced", "failed"] | None:
    """The item's own state from its states in the `crms` enabled CRMs that have it as it is now (synced or
    failed at its current version); None while it waits."""
    synced = sum(state == "synced" for state in states)
    if synced == crms:
        return "synced"
    if synced + sum(state == "failed" for state in states) == crms:
        return "failed"
    return None
