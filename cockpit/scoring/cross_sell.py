"""Cross-sell readiness: only a successful account is offered more.

Ready when the account's adoption is at least `required_adoption` (power counts as adopted), its health band
is `required_band`, its churn tier is `required_churn_tier`, and it has a complementary product it does not
own. The product offered is the first complement (the facts list them best first); the reason names it, the
owned product it builds on and why. When not ready, the reason lists every condition not met.
"""

from __future__ import annotations

from typing import NamedTuple

from cockpit.config import AdoptionStatus, ChurnTier, CrossSellSettings, HealthBand
from cockpit.scoring.adoption import ADOPTION_RANK
from cockpit.scoring.common import JsonDict
from cockpit.scoring.facts import Complement


class CrossSell(NamedTuple):
    ready: bool
    product: str | None
    reason: str
    explanation: JsonDict


def assess_cross_sell(
    adoption: AdoptionStatus,
    band: HealthBand | None,
    churn_tier: ChurnTier,
    complements: tuple[Complement, ...],
    settings: CrossSellSettings,
) -> CrossSell:
    unmet = [
        f"{name} is {actual} (needs {needed})"
        for name, actual, needed, met in (
            (
                "adoption",
                adoption,
                settings.required_adoption,
                ADOPTION_RANK[adoption] >= ADOPTION_RANK[settings.required_adoption],
            ),
            ("health", band or "unknown", settings.required_band, band == settings.required_band),
            (
                "churn risk",
                churn_tier,
                settings.required_churn_tier,
                churn_tier == settings.required_churn_tier,
            ),
        )
        if not met
    ]
    if not complements:
        unmet.append("no complementary product left to offer")
    if unmet:
        reason = "; ".join(unmet)
        return CrossSell(False, None, reason, {"ready": False, "product": None, "reason": reason})
    offer = complements[0]
    reason = f"{offer.product_name} builds on {offer.complements}: {offer.reason}"
    return CrossSell(
        True, offer.product_id, reason, {"ready": True, "product": offer.product_id, "reason": reason}
    )
