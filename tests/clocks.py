"""Pinned clocks for tests: every test runs on a day it names, whatever the machine's date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from cockpit.clock import Clock, fixed_clock

PINNED_NOW = "2026-11-25T09:00:00+00:00"
"""The moment every command run by a test believes it is (the outreach tests' TODAY)."""


def at(day: date, hour: int = 9) -> Clock:
    """A clock stopped at `hour` UTC on `day`."""
    return fixed_clock(datetime.combine(day, time(hour), tzinfo=UTC))
