"""The suggested next action on an account: the one thing a CSM should do first, from its stored scores
and its last touch. Pure: the explanation of the latest score run and a few dates in, a sentence out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from cockpit.config import band_words

RENEWAL_PREP_DAYS = 90
"""A renewal this close wants preparing (the default "Renewals in 90 days" view)."""
QUIET_DAYS = 60
"""No touch for this long is worth a check-in."""


@dataclass(frozen=True)
class NextAction:
    action: str
    because: str


def next_action(
    score: dict[str, Any] | None, *, renewal_date: str | None, last_touch: str | None, today: date
) -> NextAction:
    """The most urgent of: save a high-risk account, prepare a near renewal, unblock a stalled feature,
    offer a ready cross-sell, ask an advocate for a referral, check in after a long silence."""
    if score is None:
        return NextAction("Score the book", "this account has no score yet: run `cockpit score`")
    if score.get("churn", {}).get("tier") == "high":
        top = strongest_churn_signal(score) or "the churn signals"
        return NextAction(
            "Call the account this week: it is at high risk of churning", f"strongest signal: {top}"
        )
    if renewal_date is not None:
        days = (date.fromisoformat(renewal_date) - today).days
        if 0 <= days <= RENEWAL_PREP_DAYS:
            return NextAction(
                f"Prepare the renewal of {renewal_date}",
                f"it renews in {days} day{'' if days == 1 else 's'}; health is {band_words(score.get('health', {}).get('band'))}",
            )
    stalled = [feature for feature in score.get("adoption", {}).get("features", []) if feature.get("stalled")]
    if stalled:
        names = ", ".join(str(feature.get("name") or feature.get("id")) for feature in stalled[:3])
        return NextAction(
            f"Help them adopt {names}", "stalled in onboarding: used a little, then not taken up"
        )
    cross_sell = score.get("cross_sell", {})
    if cross_sell.get("ready"):
        return NextAction(f"Offer {cross_sell.get('product')}", str(cross_sell.get("reason", "")))
    if score.get("advocacy", {}).get("segment") == "lover":
        return NextAction("Ask for a referral or a review", "a promoter who engages: an advocate")
    if last_touch is None or (today - date.fromisoformat(last_touch[:10])).days > QUIET_DAYS:
        silence = "never touched" if last_touch is None else f"last touch {last_touch[:10]}"
        return NextAction("Check in", f"{silence}: more than {QUIET_DAYS} days without a word")
    return NextAction("Nothing urgent", "no risk, renewal or opportunity calls for action today")


def strongest_churn_signal(score: dict[str, Any]) -> str | None:
    """The churn signal of a stored explanation that weighs most, e.g. `3 escalated tickets on 2026-11-02`;
    None if it has none."""
    signals = sorted(
        score.get("churn", {}).get("signals", []), key=lambda signal: -float(signal.get("effect") or 0)
    )
    return f"{signals[0].get('detail')} on {signals[0].get('on')}" if signals else None
