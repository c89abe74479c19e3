"""Saved views of the book (`[[ui.views]]` in the config) as book queries."""

from __future__ import annotations

from datetime import date, timedelta

from cockpit.config import Settings, View
from cockpit.store.book import SORT_KEYS, BookFilter, BookQuery


def view_query(view: View, settings: Settings, today: date) -> BookQuery:
    """The query a view stands for. Views show the customers of `today` (churned accounts drop out);
    `owner = "me"` is the CSM named by `general.me` (everyone while unset); a sort of `-key` is descending;
    an unknown sort key falls back to the name."""
    owner = view.owner
    if owner == "me":
        owner = settings.general.me or None
    renewal = None
    if view.renewal_within_days is not None:
        renewal = (today.isoformat(), (today + timedelta(days=view.renewal_within_days)).isoformat())
    key = view.sort.removeprefix("-")
    return BookQuery(
        sort=key if key in SORT_KEYS else "name",
        descending=view.sort.startswith("-") and key in SORT_KEYS,
        filter=BookFilter(
            owner=owner,
            segments=tuple(view.segment or ()),
            churn_tiers=tuple(view.churn_tier or ()),
            value_tiers=tuple(view.value_tier or ()),
            health_bands=tuple(view.health_band or ()),
            advocacy=tuple(view.advocacy or ()),
            cross_sell_ready=view.cross_sell_ready,
            renewal_between=renewal,
            customers_on=today.isoformat(),
        ),
    )
