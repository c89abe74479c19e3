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

from collections.abc import Sequence
from datetime import date
from typing import Any, Final, NamedTuple

from cockpit.config import AdoptionSettings, AdoptionStatus
from cockpit.scoring.common import Json, JsonDict, day_before, plural
from cockpit.scoring.facts import AccountFacts, FeatureUse
from cockpit.scoring.order import ADOPTION_RANK

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


def is_stalled(status: AdoptionStatus, first_age: int | None, last_age: int | None, window_days: int) -> bool:
    """Stalled in onboarding, from the days since the feature's first and last use (None: never used)."""
    if first_age is None or ADOPTION_RANK[status] >= ADOPTION_RANK["adopted"]:
        return False
    return (first_age if last_age is None else last_age) > STALLED_AFTER_DAYS or first_age >= window_days


class Adoption(NamedTuple):
    status: AdoptionStatus
    share: float | None
    part: list[Json]
    """What the explanation words (`explain_adoption`): [status, share, adopted, power, features], each
    feature as [id, name, product, active days, active users, status, days since first use, days since last
    use (None: never), stalled]; or, never used and not started, only [id, name, product]."""


def assess_adoption(facts: AccountFacts, settings: AdoptionSettings) -> Adoption:
    as_of, window = facts.as_of, settings.window_days
    features: list[Json] = []
    counts = dict.fromkeys(ADOPTION_RANK, 0)
    for use in facts.features:
        feature_id, name, product, days, users, first_used, last_used = use
        used = feature_status(use, settings)
        counts[used] += 1
        if used == "not started" and first_used is None and last_used is None and not (days or users):
            # Never used, as most entitled features are: the short form (see `Adoption.part`).
            features.append([feature_id, name, product])
            continue
        last_age = None if last_used is None else (as_of - last_used).days
        first_age = None
        stuck = False  # never used: never stalled
        if first_used is not None:
            first_age = (as_of - first_used).days
            stuck = is_stalled(used, first_age, last_age, window)
        features.append([feature_id, name, product, days, users, used, first_age, last_age, stuck])
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
    part: list[Json] = [status, share, adopted, counts["power"], features]
    return Adoption(status, share, part)


_NEVER_USED: Final = (0, 0, "not started", None, None, False)
"""The use of a feature in the short form: 0 days, 0 users, not started, never used, not stalled."""


def feature_statuses(part: Sequence[Any]) -> dict[str, AdoptionStatus]:
    """Feature id -> status, for every entitled feature, from `Adoption.part`."""
    return {feature[0]: feature[5] if len(feature) > 3 else "not started" for feature in part[4]}


def stalled_features(part: Sequence[Any]) -> tuple[str, ...]:
    """The ids of the features stalled in onboarding, in the order of the facts, from `Adoption.part`."""
    return tuple(feature[0] for feature in part[4] if len(feature) > 3 and feature[8])


def explain_adoption(
    part: Sequence[Any], as_of: date, account_adopted_share: float, window_days: int
) -> JsonDict:
    """The adoption section of an explanation, from `Adoption.part` (fresh or read back from JSON)."""
    status, share, adopted, power, features = part
    listed: list[Json] = []
    stalled: list[Json] = []
    for feature in features:
        feature_id, name, product, *use = feature
        days, users, used, first_age, last_age, stuck = use or _NEVER_USED
        if stuck:
            stalled.append(feature_id)
        listed.append(
            {
                "id": feature_id,
                "name": name,
                "product": product,
                "status": used,
                "active_days": days,
                "active_users": users,
                "first_used": day_before(as_of, first_age),
                "last_used": day_before(as_of, last_age),
                "stalled": stuck,
            }
        )
    return {
        "status": status,
        "share": share,
        "detail": _describe(status, adopted, power, len(features), account_adopted_share),
        "window_days": window_days,
        "features": listed,
        "stalled": stalled,
    }


def _describe(status: str, adopted: int, power: int, entitled: int, account_adopted_share: float) -> str:
    if not entitled:
        return "no entitled features"
    return (
        f"{adopted} of {plural(entitled, 'feature')} adopted, {power} of them in power use "
        f"(adopted from {account_adopted_share:.0%}): {status}"
    )
