"""Feature and account adoption, and features stalled in onboarding.

Each entitled feature, from its active days and active users in the adoption window:
- not started: fewer active days than `onboarding_min_active_days`;
- power: at least `power_min_active_days` and `power_min_active_users`;
- adopted: at least `adopted_min_active_days` and `adopted_min_active_users`;
- onboarding: anything else.

The account: its adoption share is the share of entitled features adopted or power (None without entitled
features). It is
- adopted when that share is at least `account_adopted_share`,
- power when it is adopted and more than half of its adopted-or-power features are power,
- onboarding when any feature is at least onboarding,
- not started otherwise.

A feature is *stalled in onboarding* when it was used at some time but is below adopted, and either its last
use is more than `STALLED_AFTER_DAYS` days before as_of (the team tried it and left it), or its first use
is older than the adoption window (a whole window of use did not make it adopted). Stalled features keep the
order of `AccountFacts.features`.
"""

from __future__ import annotations

from datetime import date
from typing import Final, NamedTuple

from cockpit.config import AdoptionSettings, AdoptionStatus
from cockpit.scoring.common import Json, JsonDict, plural
from cockpit.scoring.facts import AccountFacts, FeatureUse

ADOPTION_RANK: Final[dict[AdoptionStatus, int]] = {
    "not started": 0,
    "onboarding": 1,
    "adopted": 2,
    "power": 3,
}
"""Adoption statuses in order, so that "at least adopted" can be asked (power counts as adopted)."""

STALLED_AFTER_DAYS: Final = 14
"""Days since a below-adopted feature's last use after which it counts as stalled (config.toml has no key)."""


def feature_status(use: FeatureUse, settings: AdoptionSettings) -> AdoptionStatus:
    days, users = use.active_days, use.active_users
    if days < settings.onboarding_min_active_days:
        return "not started"
    if days >= settings.power_min_active_days and users >= settings.power_min_active_users:
        return "power"
    if days >= settings.adopted_min_active_days and users >= settings.adopted_min_active_users:
        return "adopted"
    return "onboarding"


def is_stalled(use: FeatureUse, status: AdoptionStatus, as_of: date, window_days: int) -> bool:
    if use.first_used is None or ADOPTION_RANK[status] >= ADOPTION_RANK["adopted"]:
        return False
    last_used = use.last_used or use.first_used
    return (as_of - last_used).days > STALLED_AFTER_DAYS or (as_of - use.first_used).days >= window_days


class Adoption(NamedTuple):
    status: AdoptionStatus
    share: float | None
    adopted: int
    """Entitled features adopted or power."""
    entitled: int
    feature_status: dict[str, AdoptionStatus]
    stalled: tuple[str, ...]
    explanation: JsonDict


def assess_adoption(facts: AccountFacts, settings: AdoptionSettings) -> Adoption:
    statuses: dict[str, AdoptionStatus] = {}
    stalled: list[str] = []
    features: list[Json] = []
    counts = dict.fromkeys(ADOPTION_RANK, 0)
    for use in facts.features:
        used = feature_status(use, settings)
        statuses[use.feature_id] = used
        counts[used] += 1
        stuck = is_stalled(use, used, facts.as_of, settings.window_days)
        if stuck:
            stalled.append(use.feature_id)
        features.append(
            {
                "id": use.feature_id,
                "name": use.feature_name,
                "product": use.product_id,
                "status": used,
                "active_days": use.active_days,
                "active_users": use.active_users,
                "first_used": None if use.first_used is None else use.first_used.isoformat(),
                "last_used": None if use.last_used is None else use.last_used.isoformat(),
                "stalled": stuck,
            }
        )
    entitled = len(facts.features)
    adopted = counts["adopted"] + counts["power"]
    share = adopted / entitled if entitled else None
    status: AdoptionStatus
    if share is not None and share >= settings.account_adopted_share:
        status = "power" if 2 * counts["power"] > adopted else "adopted"
    elif counts["onboarding"] or adopted:
        status = "onboarding"
    else:
        status = "not started"
    explanation: JsonDict = {
        "status": status,
        "share": share,
        "detail": _describe(status, adopted, counts["power"], entitled, settings),
        "window_days": settings.window_days,
        "features": features,
        "stalled": list(stalled),
    }
    return Adoption(status, share, adopted, entitled, statuses, tuple(stalled), explanation)


def _describe(
    status: AdoptionStatus, adopted: int, power: int, entitled: int, settings: AdoptionSettings
) -> str:
    if not entitled:
        return "no entitled features"
    return (
        f"{adopted} of {plural(entitled, 'feature')} adopted, {power} of them in power use "
        f"(adopted from {settings.account_adopted_share:.0%}): {status}"
    )
