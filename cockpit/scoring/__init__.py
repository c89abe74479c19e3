"""The scoring engine: account facts in, explained scores out without any I/O."""

from __future__ import annotations

from cockpit.scoring.rules import AccountScore, event_windows, score_account, score_accounts, score_book

__all__ = ["AccountScore", "event_windows", "score_account", "score_accounts", "score_book"]
