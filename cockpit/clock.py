"""The one clock.

Only the shells (the CLI and the TUI) read the time, through `system_clock()`; every layer below takes a
`Clock` (or the moment or day read from it) as an argument, so that a test pins time with `fixed_clock(...)`
and passes on any date. `tests/test_clock.py` fails if any other module reads the wall clock.

`COCKPIT_NOW` (an ISO 8601 moment with its zone) pins the shells' clock too: to replay a past night's run,
or to drive the real program in a terminal on a known day.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from cockpit.errors import ConfigError

PIN_VARIABLE = "COCKPIT_NOW"


@dataclass(frozen=True)
class Clock:
    """Calling it gives the current moment (timezone-aware); `day` and `today` give the calendar day where
    the CSM is (`zone`, or the machine's zone when None)."""

    read: Callable[[], datetime]
    zone: tzinfo | None = None

    def __call__(self) -> datetime:
        return self.read()

    def day(self, moment: datetime) -> date:
        """The CSM's calendar day at `moment`."""
        return moment.astimezone(self.zone).date()

    def today(self) -> date:
        return self.day(self())


def fixed_clock(moment: datetime, zone: tzinfo | None = UTC) -> Clock:
    """A clock stopped at `moment` (which must carry its zone); days count in `zone`."""
    if moment.tzinfo is None:
        raise ValueError("a fixed clock needs an aware moment (with its zone)")
    return Clock(lambda: moment, zone)


def system_clock() -> Clock:
    """The machine's clock and time zone, or the moment `COCKPIT_NOW` pins. For the shells only."""
    pinned = os.environ.get(PIN_VARIABLE, "").strip()
    if not pinned:
        return Clock(_wall_clock)
    try:
        moment: datetime | None = datetime.fromisoformat(pinned)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ConfigError(
            f"{PIN_VARIABLE}: not a moment with its zone (got {pinned!r}).",
            hint=f"Use e.g. {PIN_VARIABLE}=2026-11-25T09:00:00+00:00, or unset it to use the machine's clock.",
        )
    return fixed_clock(moment, zone=None)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """`2026-11-25T09:00:00+00:00`: how stored records note when they were written."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")
