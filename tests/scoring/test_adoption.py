"""Feature adoption at each threshold, the account's adoption, and features stalled in onboarding."""

from __future__ import annotations

import pytest

from cockpit.config import AdoptionStatus
from cockpit.scoring.adoption import STALLED_AFTER_DAYS, feature_status
from cockpit.scoring.facts import FeatureUse

from .builders import account, component, defaults, feature, score, section, tune

A = defaults().adoption


@pytest.mark.parametrize(
    ("days", "users", "status"),
    [
        (A.onboarding_min_active_days - 1, A.power_min_active_users, "not started"),
        (A.onboarding_min_active_days, 0, "onboarding"),
        (A.adopted_min_active_days - 1, A.power_min_active_users, "onboarding"),
        (A.adopted_min_active_days, A.adopted_min_active_users - 1, "onboarding"),
        (A.adopted_min_active_days, A.adopted_min_active_users, "adopted"),
        (A.power_min_active_days - 1, A.power_min_active_users, "adopted"),
        (A.power_min_active_days, A.power_min_active_users - 1, "adopted"),
        (A.power_min_active_days, A.power_min_active_users, "power"),
        (A.window_days, 100, "power"),
    ],
)
def test_feature_status_at_each_threshold(days: int, users: int, status: AdoptionStatus) -> None:
    assert feature_status(feature(days=days, users=users), A) == status


def test_feature_status_follows_the_settings() -> None:
    stricter = tune("adoption", onboarding_min_active_days=3).adoption
    assert feature_status(feature(days=2, users=1), stricter) == "not started"
    assert feature_status(feature(days=3, users=1), stricter) == "onboarding"


def adopted(feature_id: str) -> FeatureUse:
    return feature(feature_id, days=A.adopted_min_active_days, users=A.adopted_min_active_users)


def power(feature_id: str) -> FeatureUse:
    return feature(feature_id, days=A.power_min_active_days, users=A.power_min_active_users)


def onboarding(feature_id: str) -> FeatureUse:
    return feature(feature_id, days=A.onboarding_min_active_days, users=1)


def test_account_adoption_share_and_status_at_the_threshold() -> None:
    # The default threshold is 0.6: three of five features adopted is just enough, two is not.
    assert A.account_adopted_share == 0.6
    three = score(account(features=(adopted("a"), adopted("b"), power("c"), onboarding("d"), feature("e"))))
    assert three.adoption_share == pytest.approx(0.6)
    assert three.adoption_status == "adopted"
    assert three.feature_status == {
        "a": "adopted",
        "b": "adopted",
        "c": "power",
        "d": "onboarding",
        "e": "not started",
    }
    two = score(account(features=(adopted("a"), power("c"), onboarding("d"), feature("e"), feature("f"))))
    assert two.adoption_share == pytest.approx(0.4)
    assert two.adoption_status == "onboarding"


def test_power_needs_power_use_in_most_adopted_features() -> None:
    most = score(account(features=(power("a"), power("b"), adopted("c"))))
    assert most.adoption_status == "power"
    half = score(account(features=(power("a"), power("b"), adopted("c"), adopted("d"))))
    assert half.adoption_status == "adopted"


def test_onboarding_and_not_started_accounts() -> None:
    assert score(account(features=(onboarding("a"), feature("b")))).adoption_status == "onboarding"
    never = score(account(features=(feature("a"), feature("b"))))
    assert never.adoption_status == "not started"
    assert never.adoption_share == 0.0


def test_no_entitled_features_leaves_adoption_unknown() -> None:
    scored = score(account())
    assert scored.adoption_share is None
    assert scored.adoption_status == "not started"
    assert scored.feature_status == {}
    assert component(scored, "adoption") is None


@pytest.mark.parametrize(
    ("days", "users", "first", "last", "stalled"),
    [
        # Used lately, within the window since its start: still onboarding, not stalled.
        (3, 1, 20, STALLED_AFTER_DAYS, False),
        # Left alone for more than STALLED_AFTER_DAYS days.
        (3, 1, 20, STALLED_AFTER_DAYS + 1, True),
        # Used the whole window and still not adopted.
        (12, 1, A.window_days, 0, True),
        (12, 1, A.window_days - 1, 0, False),
        # Tried before the window, not touched in it.
        (0, 0, 200, 100, True),
        # Never used: not started, not stalled.
        (0, 0, None, None, False),
        # Adopted features never stall, however long ago their last use.
        (A.adopted_min_active_days, A.adopted_min_active_users, 100, 20, False),
    ],
)
def test_stalled_in_onboarding(
    days: int, users: int, first: int | None, last: int | None, stalled: bool
) -> None:
    alerts = feature("core.alerts", days=days, users=users, first=first, last=last)
    scored = score(account(features=(alerts, adopted("core.reports"))))
    assert scored.stalled_features == (("core.alerts",) if stalled else ())
    assert section(scored, "adoption")["stalled"] == list(scored.stalled_features)


def test_adoption_explanation_lists_each_feature_with_its_use() -> None:
    scored = score(account(features=(adopted("core.reports"), onboarding("core.alerts"))))
    adoption = section(scored, "adoption")
    assert adoption["status"] == "onboarding"
    assert "1 of 2 features adopted" in str(adoption["detail"])
    assert adoption["features"] == [
        {
            "id": "core.reports",
            "name": "Reports",
            "product": "core",
            "status": "adopted",
            "active_days": A.adopted_min_active_days,
            "active_users": A.adopted_min_active_users,
            "first_used": scored.as_of.isoformat(),
            "last_used": scored.as_of.isoformat(),
            "stalled": False,
        },
        {
            "id": "core.alerts",
            "name": "Alerts",
            "product": "core",
            "status": "onboarding",
            "active_days": A.onboarding_min_active_days,
            "active_users": 1,
            "first_used": scored.as_of.isoformat(),
            "last_used": scored.as_of.isoformat(),
            "stalled": False,
        },
    ]
