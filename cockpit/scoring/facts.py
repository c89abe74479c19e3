"""What scoring knows about one account on one day: the store's aggregates, in plain data.

The store builds these with SQL aggregation (`cockpit.store.scoring`); the scoring rules turn them into
scores without any I/O. The records are named tuples: a book of 100,000 accounts has millions of them, and
a tuple is made several times faster than a dataclass. Everything is as of `as_of`: only data up to
the end of that day is in it, so a past day can be scored again exactly as it stood.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from cockpit.domain.names import SignalKindName


class FeatureUse(NamedTuple):
    """Use of one entitled feature in the adoption window (the `adoption.window_days` before as_of)."""

    feature_id: str
    feature_name: str
    product_id: str
    active_days: int
    """Distinct days with any use in the window."""
    active_users: int
    """Distinct known contacts with any use in the window."""
    first_used: date | None
    """First use ever (up to as_of), or None if never used."""
    last_used: date | None


class Event(NamedTuple):
    """A dated thing that happened to the account: a signal, a ticket, a survey answer, an email."""

    kind: SignalKindName
    on: date
    value: float | None = None
    """NPS 0-10 or CSAT 1-5 for surveys; None otherwise."""
    detail: str | None = None
    """What a person would want to see: a ticket's or an email's subject, a survey comment."""
    ref: str | None = None
    """For emails: the message it belongs to, so that an open can be matched to its send."""


class Complement(NamedTuple):
    """A product the account does not own that complements one it owns."""

    product_id: str
    product_name: str
    complements: str
    """The owned product it builds on (its id)."""
    reason: str


class AccountFacts(NamedTuple):
    account_id: str
    name: str
    as_of: date
    mrr: float
    owner: str | None = None
    segment: str | None = None
    start_date: date | None = None
    renewal_date: date | None = None
    churned_on: date | None = None
    features: tuple[FeatureUse, ...] = ()
    """One per feature of every product the account is entitled to (not ended by as_of)."""
    owned_products: frozenset[str] = frozenset()
    usage_last_30: int = 0
    """Sum of usage counts in the 30 days up to as_of."""
    usage_prior_30: int = 0
    """Sum of usage counts in the 30 days before those."""
    last_usage: date | None = None
    events: tuple[Event, ...] = ()
    """The events the rules read, newest first: of each kind, those within the longest window of the rules
    that read it (`cockpit.scoring.event_windows`); others would change nothing."""
    last_csm_touch: date | None = None
    """The latest logged call, meeting, QBR or outbound email."""
    complements: tuple[Complement, ...] = ()
    """Complementary products not owned, best first."""
    contract_months: int | None = None
    """The contract term the account states; None: not stated (the rules read it from its dates)."""


class Contract(NamedTuple):
    """An account's contract as the book holds it: what the churn rules weigh the book's norms by."""

    start_date: date | None
    renewal_date: date | None
    contract_months: int | None


class BookCoverage(NamedTuple):
    """Which kinds of data the book holds at all, as of the day: what an account's lack of them means.

    An account without usage in a book that records usage did not use the product; in a book without any
    usage nothing is known of its use. Likewise for tickets. The scoring run asks the store once per run.
    """

    usage: bool
    """Some account has usage up to the day."""
    tickets: bool
    """Some account has a support ticket up to the day."""


FULL_COVERAGE = BookCoverage(usage=True, tickets=True)
"""A book that records usage and tickets: what a book of accounts given by hand is taken to be."""
