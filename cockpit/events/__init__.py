"""Events sources: the engine that holds the usage events and signals, which computes the scoring's
aggregates where the events live and hands back only those (`source.EventsSource`).

`local` is the store's own tables, read by `cockpit.store` as always; the others are opened here
(`open_source`). Each engine's library is an optional extra, imported only when its source is opened, so
the command line starts as light as before.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from cockpit.errors import ConfigError

if TYPE_CHECKING:
    from cockpit.config import EventsSettings
    from cockpit.events.source import EventsSource

ADAPTERS = {"duckdb": "cockpit.events.duckdb", "postgresql": "cockpit.events.postgresql"}
"""The source -> the module of its adapter, whose `connect(settings) -> EventsSource` opens it."""
EXTRAS = {"duckdb": "duckdb", "postgresql": "postgresql"}
"""The source -> the pip extra that installs its engine's library."""


class SourceUnavailable(ConfigError):
    """The configured events source cannot be opened: its library is missing, or its engine refuses."""

    title = "Events source unavailable"


def open_source(settings: EventsSettings) -> EventsSource | None:
    """The configured events source, opened (close it when done); None for `local`, whose tables the store
    reads itself."""
    if settings.source == "local":
        return None
    adapter = ADAPTERS.get(settings.source)
    if adapter is None:
        raise SourceUnavailable(f"events.source {settings.source!r} is not available in this cockpit.")
    try:
        module = import_module(adapter)
    except ImportError as missing:
        raise SourceUnavailable(
            f"events.source is {settings.source!r}, but its library is not installed ({missing.name}).",
            hint=f'pip install "cockpit[{EXTRAS.get(settings.source, settings.source)}]"',
        ) from None
    opened: EventsSource = module.connect(settings)
    return opened
