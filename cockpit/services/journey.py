"""An account's journey (`cockpit.store.journey`): its interactions, tickets, outreach and contract dates from
the store, and its signals from wherever they are (`[events]`): a CSM's own writes stay in the store, the
product's signals may live in an events source."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from cockpit.config import Settings
from cockpit.events import SourceUnavailable
from cockpit.services import events
from cockpit.store import Store
from cockpit.store.journey import (
    JOURNEY_KINDS,
    JOURNEY_LIMIT,
    SKIPPED_SIGNALS,
    JourneyEvent,
    JourneyKind,
    journey,
    newest_first,
    signal_event,
)


class AccountJourney(NamedTuple):
    events: list[JourneyEvent]
    """Newest first."""
    unavailable: SourceUnavailable | None = None
    """Why the events source could not be read: then `events` are the store's alone."""


def account_journey(
    store: Store,
    settings: Settings,
    account_id: str,
    kinds: tuple[JourneyKind, ...] = JOURNEY_KINDS,
    *,
    first: Callable[[list[JourneyEvent]], None] | None = None,
    source: events.KeptSource | None = None,
) -> AccountJourney:
    """The newest events of the chosen kinds of the account's journey. When its signals are read from an
    events source (a query, or a connection that times out, that may take seconds), `first` is given the
    store's own events before the source is asked: `source`, kept open by a reader that asks again (an
    account screen), or else one opened for this question."""
    if "signal" not in kinds or settings.events.source == "local":
        return AccountJourney(journey(store.db, account_id, kinds))
    own = journey(store.db, account_id, tuple(kind for kind in kinds if kind != "signal"))
    if first is not None:
        first(own)
    kept = source if source is not None else events.KeptSource(settings.events)
    try:
        with kept.use() as opened:
            keys = events.account_keys(store.db, settings.events, account_id)
            found = opened.account_signals(keys, limit=JOURNEY_LIMIT, skip=SKIPPED_SIGNALS)
    except SourceUnavailable as error:
        return AccountJourney(own, error)
    finally:
        if source is None:
            kept.close()
    return AccountJourney(newest_first([*own, *(signal_event(*signal) for signal in found)]))
