"""The names of the kinds of signal and interaction and of an interaction's direction, as the store holds
them: Literal types without pydantic, so that the scoring rules, the store and the Today screen read them
without loading the record models (`records.py`, which validates them)."""

from __future__ import annotations

from typing import Literal

SignalKindName = Literal[
    "cancel_page_visit",
    "cancel_click",
    "support_ticket",
    "escalation",
    "email_sent",
    "email_opened",
    "email_clicked",
    "login",
    "nps",
    "csat",
    "referral",
    "review",
]
"""The kinds of signal the store holds (the CHECK on signals.kind in migrations.py)."""
InteractionKindName = Literal["call", "meeting", "email", "note", "qbr"]
DirectionName = Literal["inbound", "outbound", "internal"]
