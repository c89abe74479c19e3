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
from typing import Any, Final, NamedTuple, TypeAlias

from cockpit.config import AdoptionSettings, AdoptionStatus
from cockpit.scoring.common import Json, JsonDict, day_before, plural, read_nested, read_record
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


class FeatureAdoption(NamedTuple):
    """An entitled feature's use, as the explanation words it."""

    feature_id: str
    feature_name: str
    product_id: str
    active_days: int
    active_users: int
    status: AdoptionStatus
    first_age: int | None
    """Days since the first use (None: never used)."""
    last_age: int | None
    """Days since the last use (None: never used)."""
    stalled: bool


class UnusedFeature(NamedTuple):
    """An entitled feature never used and not started, as most are: stored short, only what names it. It
    reads as the `FeatureAdoption` of no use."""

    feature_id: str
    feature_name: str
    product_id: str

    @property
    def active_days(self) -> int:
        return 0

    @property
    def active_users(self) -> int:
        return 0

    @property
    def status(self) -> AdoptionStatus:
        return "not started"

    @property
    def first_age(self) -> int | None:
        return None

    @property
    def last_age(self) -> int | None:
        return None

    @property
    def stalled(self) -> bool:
        return False


FeaturePart: TypeAlias = FeatureAdoption | UnusedFeature
"""An entitled feature in the explanation: stored as a JSON array of its fields, the short one of three
for an unused feature."""


class AdoptionPart(NamedTuple):
    """What the explanation words (`explain_adoption`), stored as a JSON array of these fields in this
    order."""

    status: AdoptionStatus
    share: float | None
    adopted: int
    """Entitled features adopted or power."""
    power: int
    """Entitled features in power use."""
    features: list[FeaturePart]
    """Every entitled feature, in the order of the facts."""

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> AdoptionPart:
        """The part from its stored JSON array."""
        short = len(UnusedFeature._fields)
        features = [
            read_record(UnusedFeature, feature)
            if len(feature) == short
            else read_record(FeatureAdoption, feature)
            for feature in row[_FEATURES]
        ]
        return read_nested(cls, row, _FEATURES, features)


_FEATURES: Final = AdoptionPart._fields.index("features")


class Adoption(NamedTuple):
    status: AdoptionStatus
    share: float | None
    part: AdoptionPart


def assess_adoption(facts: AccountFacts, settings: AdoptionSettings) -> Adoption:
    as_of, window = facts.as_of, settings.window_days
    features: list[FeaturePart] = []
    counts = dict.fromkeys(ADOPTION_RANK, 0)
    for use in facts.features:
        feature_id, name, product, days, users, first_used, last_used = use
        used = feature_status(use, settings)
        counts[used] += 1
        if used == "not started" and first_used is None and last_used is None and not (days or users):
            features.append(UnusedFeature(feature_id, name, product))
            continue
        last_age = None if last_used is None else (as_of - last_used).days
        first_age = None
        stuck = False  # never used: never stalled
        if first_used is not None:
            first_age = (as_of - first_used).days
            stuck = is_stalled(used, first_age, last_age, window)
        features.append(
            FeatureAdoption(feature_id, name, product, days, users, used, first_age, last_age, stuck)
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
    return Adoption(status, share, AdoptionPart(status, share, adopted, counts["power"], features))


def feature_statuses(part: AdoptionPart) -> dict[str, AdoptionStatus]:
    """Feature id -> status, for every entitled feature."""
    return {feature.feature_id: feature.status for feature in part.features}


def stalled_features(part: AdoptionPart) -> tuple[str, ...]:
    """The ids of the features stalled in onboarding, in the order of the facts."""
    return tuple(feature.feature_id for feature in part.features if feature.stalled)


_UNUSED_WORDS: Final[JsonDict] = {
    "status": "not started",
    "active_days": 0,
    "active_users": 0,
    "first_used": None,
    "last_used": None,
    "stalled": False,
}
"""How an `UnusedFeature` words, after its names."""


def explain_adoption(
    part: AdoptionPart, as_of: date, account_adopted_share: float, window_days: int
) -> JsonDict:
    """The adoption section of an explanation, from `Adoption.part` (fresh or read back from JSON)."""
    features = part.features
    listed: list[Json] = []
    stalled: list[Json] = []
    for feature in features:
        if isinstance(feature, UnusedFeature):  # most features: worded at once
            listed.append(
                {
                    "id": feature.feature_id,
                    "name": feature.feature_name,
                    "product": feature.product_id,
                    **_UNUSED_WORDS,
                }
            )
            continue
        feature_id, stuck = feature.feature_id, feature.stalled
        if stuck:
            stalled.append(feature_id)
        listed.append(
            {
                "id": feature_id,
                "name": feature.feature_name,
                "product": feature.product_id,
                "status": feature.status,
                "active_days": feature.active_days,
                "active_users": feature.active_users,
                "first_used": day_before(as_of, feature.first_age),
                "last_used": day_before(as_of, feature.last_age),
                "stalled": stuck,
            }
        )
    status = part.status
    return {
        "status": status,
        "share": part.share,
        "detail": _describe(status, part.adopted, part.power, len(features), account_adopted_share),
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
