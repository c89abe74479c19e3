"""Cross-sell readiness: every condition, the product and reason when ready, what is missing when not."""

from __future__ import annotations

import pytest

from cockpit.config import AdoptionStatus, ChurnTier, HealthBand
from cockpit.scoring.cross_sell import assess_cross_sell
from cockpit.scoring.facts import Complement

from .builders import ANALYTICS, defaults, event, feature, healthy, score, section, tune

X = defaults().cross_sell
AUTOMATION = Complement("automation", "Automation", "core", "run reports on a schedule")


def test_a_successful_account_is_offered_its_first_complement() -> None:
    scored = score(healthy(complements=(ANALYTICS, AUTOMATION)))
    assert (scored.adoption_status, scored.health_band, scored.churn_tier) == ("adopted", "green", "low")
    assert scored.cross_sell_ready
    assert scored.cross_sell_product == "analytics"
    assert scored.cross_sell_reason == "Analytics builds on core: slice reports by cohort"
    assert section(scored, "cross_sell") == {
        "ready": True,
        "product": "analytics",
        "reason": scored.cross_sell_reason,
    }


def test_adopted_is_enough_and_power_counts_as_adopted() -> None:
    assert X.required_adoption == "adopted"
    for adoption in ("adopted", "power"):
        ready = assess_cross_sell(adoption, "green", "low", (ANALYTICS,), X)
        assert ready.ready and ready.product == "analytics"


@pytest.mark.parametrize(
    ("adoption", "band", "churn", "complements", "reason"),
    [
        ("onboarding", "green", "low", (ANALYTICS,), "adoption is onboarding (needs adopted)"),
        (
            "adopted",
            "yellow",
            "medium",
            (ANALYTICS,),
            "health is yellow (needs green); churn risk is medium (needs low)",
        ),
        ("adopted", None, "low", (ANALYTICS,), "health is unknown (needs green)"),
        ("power", "green", "high", (ANALYTICS,), "churn risk is high (needs low)"),
        ("adopted", "green", "low", (), "no complementary product left to offer"),
        (
            "not started",
            "red",
            "high",
            (),
            "adoption is not started (needs adopted); health is red (needs green); "
            "churn risk is high (needs low); no complementary product left to offer",
        ),
    ],
)
def test_not_ready_says_each_condition_not_met(
    adoption: AdoptionStatus,
    band: HealthBand | None,
    churn: ChurnTier,
    complements: tuple[Complement, ...],
    reason: str,
) -> None:
    result = assess_cross_sell(adoption, band, churn, complements, X)
    assert not result.ready
    assert result.product is None
    assert result.reason == reason
    assert result.explanation == {"ready": False, "product": None, "reason": reason}


def test_requirements_come_from_the_settings() -> None:
    lenient = tune("cross_sell", required_adoption="onboarding", required_band="yellow").cross_sell
    assert assess_cross_sell("onboarding", "yellow", "low", (ANALYTICS,), lenient).ready
    assert assess_cross_sell("power", "yellow", "low", (ANALYTICS,), lenient).ready
    assert not assess_cross_sell("not started", "yellow", "low", (ANALYTICS,), lenient).ready
    # The band must be the one required, not a better one.
    assert not assess_cross_sell("adopted", "green", "low", (ANALYTICS,), lenient).ready


def test_a_scored_account_not_ready_says_why() -> None:
    facts = healthy(
        features=(feature("core.reports", days=25, users=12), feature("core.alerts", days=2, users=1)),
        events=[event("cancel_page_visit", 1), event("nps", 10, 10.0)],
    )
    scored = score(facts)
    assert not scored.cross_sell_ready
    assert scored.cross_sell_product is None
    assert scored.cross_sell_reason == (
        f"adoption is onboarding (needs adopted); churn risk is {scored.churn_tier} (needs low)"
    )
