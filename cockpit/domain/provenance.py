"""Which of two sources' values of an account field stands: the newer by the sources' own modified times.

Pure. A value whose source gave its time of change replaces a stored value unless the stored one is known
to be newer; a value without a time is written as given (whoever imports it says it is current).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

SOURCED_FIELDS: Final = (
    "name",
    "domain",
    "owner",
    "segment",
    "plan",
    "mrr",
    "seats",
    "start_date",
    "renewal_date",
    "churned_on",
    "contract_months",
    "cac",
    "lifecycle_stage",
)
"""The account fields an import or a pull writes and whose source is kept (its ids are what match it, not
values that disagree)."""


def moment(value: str) -> datetime:
    """A stored modified time (an ISO date or time; without a zone, UTC) as a moment to compare."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def older_fields(modified_at: str | None, stored: Mapping[str, str | None]) -> frozenset[str]:
    """The fields (of `stored`: field -> the stored value's modified time) for which a value modified at
    `modified_at` is older than the value stored, and so must not replace it."""
    if modified_at is None:
        return frozenset()
    incoming = moment(modified_at)
    return frozenset(field for field, when in stored.items() if when is not None and moment(when) > incoming)
