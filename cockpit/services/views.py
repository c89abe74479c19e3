"""Saved views of the book (`[[ui.views]]` in the config) as book queries, and the filter a CSM types.

A typed filter is words of the form `key:value[,value...]`, e.g. `churn:high value:high,medium band:red
owner:me renewal:90 custom.industry:fintech`, typed in the book's search box beside the search words or given
as options of `cockpit accounts list`. `custom.KEY` filters on a custom field (what an import kept beyond
cockpit's fields), ignoring case. Its keys lay over the view's: a key the filter names replaces the view's
setting for it, the others stay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, get_args

from cockpit.config import Advocacy, ChurnTier, HealthBand, Settings, ValueTier, View
from cockpit.errors import CockpitError
from cockpit.scoring.lifecycle import STAGES
from cockpit.store.book import SORT_KEYS, BookFilter, BookQuery


class FilterError(CockpitError):
    title = "Filter not understood"
    exit_code = 2


def view_query(view: View, settings: Settings, today: date) -> BookQuery:
    """The query a view stands for. Views show the customers of `today` (churned accounts drop out);
    `owner = "me"` is the CSM named by `general.me` (everyone while unset); a sort of `-key` is descending;
    an unknown sort key falls back to the name."""
    key = view.sort.removeprefix("-")
    return BookQuery(
        sort=key if key in SORT_KEYS else "name",
        descending=view.sort.startswith("-") and key in SORT_KEYS,
        filter=BookFilter(
            owner=_owner(view.owner, settings),
            segments=tuple(view.segment or ()),
            churn_tiers=tuple(view.churn_tier or ()),
            value_tiers=tuple(view.value_tier or ()),
            health_bands=tuple(view.health_band or ()),
            advocacy=tuple(view.advocacy or ()),
            stages=tuple(view.stage or ()),
            cross_sell_ready=view.cross_sell_ready,
            renewal_between=None
            if view.renewal_within_days is None
            else _renewal(view.renewal_within_days, today),
            customers_on=today.isoformat(),
            custom=tuple(
                (_custom_key(key), tuple(values)) for key, values in (view.custom or {}).items() if values
            ),
        ),
    )


CUSTOM = "custom."
"""The prefix of a typed filter key on a custom field: `custom.industry:fintech`."""


def _custom_key(key: str) -> str:
    """A custom field's key as a filter names it, checked to be one an import keeps (`custom_key`)."""
    from cockpit.domain.records import custom_key  # pydantic's records load when a view names custom fields

    if not key or custom_key(key) != key:
        raise FilterError(
            f"{key!r} is not a custom field key",
            hint="custom field keys are lower case letters, digits and _, e.g. custom.annual_revenue:…",
        )
    return key


def _owner(owner: str | None, settings: Settings) -> str | None:
    return (settings.general.me or None) if owner == "me" else owner


def _renewal(days: int, today: date) -> tuple[str, str]:
    return today.isoformat(), (today + timedelta(days=days)).isoformat()


@dataclass(frozen=True)
class _Key:
    """One key of the typed filter: how its values become a `BookFilter` field."""

    names: tuple[str, ...]
    field: str
    help: str
    choices: tuple[str, ...] = ()
    convert: Callable[[list[str], Settings, date], Any] = lambda values, settings, today: tuple(values)


def _one_owner(values: list[str], settings: Settings, today: date) -> str | None:
    return _owner(_single("owner", values), settings)


def _yes_no(values: list[str], settings: Settings, today: date) -> bool:
    return _single("xsell", values) == "yes"


def _within_days(values: list[str], settings: Settings, today: date) -> tuple[str, str]:
    text = _single("renewal", values).removeprefix("<").removesuffix("d")
    if not text.isdigit():
        raise FilterError(
            f"renewal: {text!r} is not a number of days", hint="e.g. renewal:90 (renewals in 90 days)"
        )
    return _renewal(int(text), today)


def _single(key: str, values: list[str]) -> str:
    if len(values) != 1:
        raise FilterError(f"{key}: takes one value, got {','.join(values)!r}")
    return values[0]


FILTER_KEYS: tuple[_Key, ...] = (
    _Key(("churn",), "churn_tiers", "churn tier", get_args(ChurnTier)),
    _Key(("value",), "value_tiers", "value tier", get_args(ValueTier)),
    _Key(("band", "health"), "health_bands", "health band", get_args(HealthBand)),
    _Key(("advocacy", "adv"), "advocacy", "advocacy segment", get_args(Advocacy)),
    _Key(("stage",), "stages", "lifecycle stage", STAGES),
    _Key(("xsell", "cross-sell"), "cross_sell_ready", "cross-sell ready", ("yes", "no"), _yes_no),
    _Key(("owner",), "owner", "the account owner; me is general.me", (), _one_owner),
    _Key(("segment",), "segments", "segment"),
    _Key(("renewal",), "renewal_between", "renewal within N days", (), _within_days),
)
_BY_NAME = {name: key for key in FILTER_KEYS for name in key.names}
FILTER_HELP = "  ".join(
    [f"{key.names[0]}:{'|'.join(key.choices) if key.choices else '…'}" for key in FILTER_KEYS]
    + [f"{CUSTOM}KEY:…"]
)


def parse_filter(text: str, settings: Settings, today: date) -> dict[str, Any]:
    """The `BookFilter` fields a typed filter sets (see the module's docstring)."""
    given: dict[str, list[str]] = {}
    for word in text.split():
        name, colon, raw = word.partition(":")
        if (name.lower() not in _BY_NAME and not name.lower().startswith(CUSTOM)) or not colon:
            raise FilterError(f"{word!r} is not a filter", hint=f"filters: {FILTER_HELP}")
        given[name.lower()] = raw.split(",")
    return filter_fields(given, settings, today)


def split_search(text: str, settings: Settings, today: date) -> tuple[str, dict[str, Any]]:
    """The search box's text as a name-or-domain search and filter fields: words with a colon are filters
    (`acme churn:high` searches for "acme" among the high-risk accounts)."""
    words = text.split()
    filters = " ".join(word for word in words if ":" in word)
    search = " ".join(word for word in words if ":" not in word)
    return search, parse_filter(filters, settings, today)


def filter_fields(given: dict[str, list[str]], settings: Settings, today: date) -> dict[str, Any]:
    """The `BookFilter` fields for filter keys and their values (the typed filter's, or the command line's
    options), checked: an unknown value is a `FilterError` that names the key and lists what is allowed."""
    fields: dict[str, Any] = {}
    custom: dict[str, tuple[str, ...]] = {}
    for name, raw in given.items():
        key = None if name.startswith(CUSTOM) else _BY_NAME[name]
        values = [value.lower() if key and key.choices else value for value in raw if value]
        if not values:
            raise FilterError(f"{name}: needs a value", hint=f"filters: {FILTER_HELP}")
        if key is None:
            custom[_custom_key(name.removeprefix(CUSTOM))] = tuple(values)
            continue
        for value in values:
            if key.choices and value not in key.choices:
                raise FilterError(f"{name}: {value!r} is not one of {', '.join(key.choices)}")
        fields[key.field] = key.convert(values, settings, today)
    if custom:
        fields["custom"] = tuple(custom.items())
    return fields


def refine(query: BookQuery, fields: dict[str, Any]) -> BookQuery:
    """The query with the filter fields laid over its own (custom fields key by key)."""
    if not fields:
        return query
    if "custom" in fields:
        fields = {**fields, "custom": tuple({**dict(query.filter.custom), **dict(fields["custom"])}.items())}
    return replace(query, filter=replace(query.filter, **fields))
