"""An account's lifecycle stage: the CRM's, when it gives one of the stages, else read from the scores.

The stages follow one another: a new customer is onboarding (its first `ONBOARDING_DAYS`); after that it is
in adoption until it has adopted what it pays for; then in retention; in expansion once ready to buy more
(cross-sell ready); in advocacy when it is a lover (promotes, refers, reviews). An account the run did not
score keeps whatever the CRM said, or none. A score run stores each account's stage by this rule, which the
book sorts and filters by; `store/book.py` also writes it out in SQL (`STAGE_SQL`) for when the stored ones
are not right, and `tests/test_lifecycle.py` holds the two together.
"""

from __future__ import annotations

from datetime import date
from typing import Final

STAGES: Final = ("onboarding", "adoption", "retention", "expansion", "advocacy")
"""The stages in the order an account goes through them (the order the book sorts them in)."""
ONBOARDING_DAYS: Final = 90
"""A customer's first days, which are onboarding whatever its scores."""
ADOPTED: Final = ("adopted", "power")
"""The adoption statuses past adoption."""


def lifecycle_stage(
    given: str | None,
    *,
    start_date: date | None,
    as_of: date,
    adoption_status: str | None,
    cross_sell_ready: bool,
    advocacy: str | None,
) -> str:
    """The stage of a scored account (see the module docstring); `given` is the CRM's, used when it is one
    of `STAGES` (in any case)."""
    if given is not None and given.strip().lower() in STAGES:
        return given.strip().lower()
    if start_date is not None and (as_of - start_date).days < ONBOARDING_DAYS:
        return "onboarding"
    if advocacy == "lover":
        return "advocacy"
    if cross_sell_ready:
        return "expansion"
    if adoption_status in ADOPTED:
        return "retention"
    return "adoption"
