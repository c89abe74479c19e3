"""Cross-sell readiness: only a successful account is offered more.

Ready when the account's adoption is at least `required_adoption` (power counts as adopted), its health band
is `required_band` (a health with not enough data is never it), its churn tier is `required_churn_tier`, and it has a complementary product it does not
own. The product offered is the first complement (the facts list them best first); the reason names it, the
owned product it builds on and why. When not ready, the reason lists every condition not met.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple, TypeAlias

from cockpit.config import AdoptionStatus, ChurnTier, CrossSellSettings, HealthBand, band_words
from cockpit.scoring.common import JsonDict, read_record
from cockpit.scoring.facts import Complement
from cockpit.scoring.order import ADOPTION_RANK

ADOPTION_UNMET: Final = 1
BAND_UNMET: Final = 2
CHURN_UNMET: Final = 4
NOTHING_TO_OFFER: Final = 8
"""The conditions not met, as bits of `CrossSell.unmet`."""


class CrossSellOffer(NamedTuple):
    """What the explanation words of a ready account (`explain_cross_sell`): the product offered."""

    unmet: int
    """Always 0: no condition unmet (it comes first, as in `CrossSellUnmet`)."""
    product_id: str
    product_name: str
    builds_on: str
    """The owned product it builds on (its id)."""
    why: str


class CrossSellUnmet(NamedTuple):
    """What the explanation words of an account not ready (`explain_cross_sell`)."""

    unmet: int
    """The conditions not met (bits above), never 0."""


CrossSellPart: TypeAlias = CrossSellOffer | CrossSellUnmet
"""Stored as a JSON array of its fields: of one number, the conditions unmet, when not ready."""


def read_cross_sell(row: Sequence[Any]) -> CrossSellPart:
    """The part from its stored JSON array: the first number, the conditions unmet, tells the two apart."""
    return read_record(CrossSellUnmet, row) if row[0] else read_record(CrossSellOffer, row)


class CrossSell(NamedTuple):
    ready: bool
    product: str | None
    unmet: int
    """The conditions not met (bits above); 0 when ready."""
    offer: Complement | None
    """The product offered, when ready."""
    adoption: AdoptionStatus
    band: HealthBand | None
    churn_tier: ChurnTier
    settings: CrossSellSettings

    @property
    def part(self) -> CrossSellPart:
        """What the explanation words (`explain_cross_sell`)."""
        offer = self.offer
        if offer is None:
            return CrossSellUnmet(self.unmet)
        return CrossSellOffer(0, offer.product_id, offer.product_name, offer.complements, offer.reason)

    @property
    def reason(self) -> str:
        """When ready, the product, what it builds on and why; otherwise every condition not met."""
        required = self.settings
        return _reason(
            self.part,
            self.adoption,
            self.band,
            self.churn_tier,
            (required.required_adoption, required.required_band, required.required_churn_tier),
        )

    @property
    def explanation(self) -> JsonDict:
        return {"ready": self.ready, "product": self.product, "reason": self.reason}


def assess_cross_sell(
    adoption: AdoptionStatus,
    band: HealthBand | None,
    churn_tier: ChurnTier,
    complements: tuple[Complement, ...],
    settings: CrossSellSettings,
) -> CrossSell:
    unmet = 0
    if ADOPTION_RANK[adoption] < ADOPTION_RANK[settings.required_adoption]:
        unmet |= ADOPTION_UNMET
    if band != settings.required_band:
        unmet |= BAND_UNMET
    if churn_tier != settings.required_churn_tier:
        unmet |= CHURN_UNMET
    if not complements:
        unmet |= NOTHING_TO_OFFER
    if unmet:
        return CrossSell(False, None, unmet, None, adoption, band, churn_tier, settings)
    offer = complements[0]
    return CrossSell(True, offer.product_id, 0, offer, adoption, band, churn_tier, settings)


def explain_cross_sell(
    part: CrossSellPart,
    adoption: AdoptionStatus,
    band: HealthBand | None,
    churn_tier: ChurnTier,
    required: Sequence[str],
) -> JsonDict:
    """The cross-sell section of an explanation, from `CrossSell.part` (fresh or read back from JSON), the
    account's adoption, band and churn tier, and the required ones (in that order)."""
    offer = part if isinstance(part, CrossSellOffer) else None
    return {
        "ready": offer is not None,
        "product": None if offer is None else offer.product_id,
        "reason": _reason(part, adoption, band, churn_tier, required),
    }


def _reason(
    part: CrossSellPart,
    adoption: AdoptionStatus,
    band: HealthBand | None,
    churn_tier: ChurnTier,
    required: Sequence[str],
) -> str:
    if isinstance(part, CrossSellOffer):
        return f"{part.product_name} builds on {part.builds_on}: {part.why}"
    unmet = part.unmet
    needs_adoption, needs_band, needs_tier = required
    words = []
    if unmet & ADOPTION_UNMET:
        words.append(f"adoption is {adoption} (needs {needs_adoption})")
    if unmet & BAND_UNMET:
        words.append(f"health is {band_words(band)} (needs {needs_band})")
    if unmet & CHURN_UNMET:
        words.append(f"churn risk is {churn_tier} (needs {needs_tier})")
    if unmet & NOTHING_TO_OFFER:
        words.append("no complementary product left to offer")
    return "; ".join(words)
