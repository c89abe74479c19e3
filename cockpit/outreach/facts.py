"""What planning knows about an account and its contacts: plain data, built by the store, read by the planner.

`PlanAccount.facts` holds the trigger facts (`triggers.FACTS`) for the account; the other fields are what
templates show. Facts read from the stored score explanation (stalled features, churn signals) are added by
`with_explanation` for the accounts that need them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from cockpit.scoring.adoption import AdoptionPart, FeaturePart

CUSTOM: Final = "custom."
"""The prefix of the facts of an account's custom fields (`custom.industry`), which hold text."""


class FeatureRef(NamedTuple):
    id: str
    name: str
    product: str
    first_used: date | None
    last_used: date | None


class ChurnSignal(NamedTuple):
    name: str
    on: str
    detail: str


class Offer(NamedTuple):
    """The complementary product recommended, and the owned product it builds on."""

    product_id: str
    product_name: str
    reason: str
    owned_id: str | None
    owned_name: str | None


class LastEmail(NamedTuple):
    """The latest email a person sent to the account (in the email window), when it was not opened; or a
    bulk send of a campaign a playbook follows up."""

    subject: str | None
    sent_on: date
    contact_id: str | None
    campaign: str | None = None
    """The bulk campaign that sent it; None for a person's own email."""


class PlanAccount(NamedTuple):
    """An account as planning sees it (a named tuple: a book has 100,000 of them). The `account` and `scores`
    tokens are made from `facts` and the fields here, for the accounts that get a message."""

    id: str
    facts: dict[str, Any]
    """Trigger facts: name -> value or None."""
    domain: str | None
    start_date: str | None
    renewal_date: date | None
    offer: Offer | None = None
    last_email: LastEmail | None = None
    stalled: FeatureRef | None = None
    """Of the features stalled in onboarding, the one tried most recently."""
    churn: tuple[ChurnSignal, ...] = ()
    explained: bool = False
    """Whether `stalled` and the explained facts were read from the explanation."""
    worded: bool = False
    """Whether `churn` was read too (`with_explanation`; `with_parts` leaves it empty)."""


class PlanContact(NamedTuple):
    """A contact as planning sees it: its contact facts, its tokens, and whether it may be reached."""

    id: str
    account_id: str
    name: str
    email: str | None
    phone: str | None
    role: str | None
    birthday: date | None
    """Only where the contact consented to personalisation; None otherwise, whatever the store holds."""
    email_opt_in: bool
    do_not_contact: bool
    deleted: bool
    facts: dict[str, Any]
    """Contact facts (`birthday_in_days`, `contact_role`)."""


def with_explanation(account: PlanAccount, explanation: Mapping[str, Any] | None, today: date) -> PlanAccount:
    """The account with its stalled features and churn signals from a stored explanation (the shape
    `cockpit.store.scoring.latest_score` returns; None: none of either), their facts added to its facts.

    Of the stalled features, the one the team tried most recently (the latest first use) is the one to help
    with (`stalled_feature`); `stalled_tried_days` / `stalled_idle_days` are the days since its first and its
    last use."""
    first: FeatureRef | None = None
    stalled: tuple[str, ...] = ()
    signals: tuple[ChurnSignal, ...] = ()
    if explanation:
        adoption = explanation.get("adoption") or {}
        stalled = tuple(str(feature_id) for feature_id in adoption.get("stalled") or ())
        if stalled:
            ids = set(stalled)
            tried = [
                (_date(feature.get("first_used")) or date.min, str(feature["id"]), feature)
                for feature in adoption.get("features") or ()
                if feature.get("id") in ids
            ]
            if tried:
                # The latest first use; on a tie, the first id.
                _, _, feature = min(tried, key=lambda one: (-one[0].toordinal(), one[1]))
                first = FeatureRef(
                    str(feature["id"]),
                    str(feature.get("name") or feature["id"]),
                    str(feature.get("product") or ""),
                    _date(feature.get("first_used")),
                    _date(feature.get("last_used")),
                )
        signals = tuple(
            ChurnSignal(str(signal.get("name")), str(signal.get("on")), str(signal.get("detail")))
            for signal in (explanation.get("churn") or {}).get("signals") or ()
        )
    facts = account.facts
    facts["stalled_feature"] = first.id if first else None
    facts["stalled_features"] = stalled
    facts["stalled_tried_days"] = _days_since(first.first_used if first else None, today)
    facts["stalled_idle_days"] = _days_since(first.last_used if first else None, today)
    facts["churn_signals"] = tuple({signal.name: None for signal in signals})
    return account._replace(stalled=first, churn=signals, explained=True, worded=True)


def with_parts(
    account: PlanAccount,
    as_of: date,
    adoption: AdoptionPart,
    churn_signals: tuple[str, ...],
    today: date,
) -> PlanAccount:
    """The account with the facts `with_explanation` adds, read from the explanation's parts unworded
    (`scoring.explain.read_adoption_and_churn`): the same facts and stalled feature, for a fraction of the
    cost of wording them. The churn signals' words (their day and detail, which only the `churn` token
    shows) are not read: `with_explanation` adds them where a template shows them."""
    first: tuple[date, str, FeaturePart] | None = None
    stalled = tuple(str(feature.feature_id) for feature in adoption.features if feature.stalled)
    if stalled:
        ids = set(stalled)
        for feature in adoption.features:
            if feature.feature_id in ids:
                tried = (_before(as_of, feature.first_age) or date.min, str(feature.feature_id), feature)
                # The latest first use; on a tie, the first id (as `with_explanation` chooses).
                if first is None or (-tried[0].toordinal(), tried[1]) < (-first[0].toordinal(), first[1]):
                    first = tried
    chosen = None
    if first is not None:
        feature = first[2]
        chosen = FeatureRef(
            str(feature.feature_id),
            str(feature.feature_name or feature.feature_id),
            str(feature.product_id or ""),
            _before(as_of, feature.first_age),
            _before(as_of, feature.last_age),
        )
    facts = account.facts
    facts["stalled_feature"] = chosen.id if chosen else None
    facts["stalled_features"] = stalled
    facts["stalled_tried_days"] = _days_since(chosen.first_used if chosen else None, today)
    facts["stalled_idle_days"] = _days_since(chosen.last_used if chosen else None, today)
    facts["churn_signals"] = tuple({str(name): None for name in churn_signals})
    return account._replace(stalled=chosen, explained=True)


def _before(as_of: date, age: int | None) -> date | None:
    """The day `age` days before as_of, as the worded explanation dates it (`scoring.common.day_before`)."""
    return None if age is None else as_of - timedelta(days=age)


_DAYS: dict[str, date] = {}


def _date(value: Any) -> date | None:
    """A stored day (or timestamp) as a date; parsed once per distinct day."""
    if not value:
        return None
    text = str(value)[:10]
    found = _DAYS.get(text)
    if found is None:
        try:
            found = _DAYS[text] = date.fromisoformat(text)
        except ValueError:
            return None
    return found


def _days_since(day: date | None, today: date) -> int | None:
    return None if day is None else (today - day).days


def days_to_birthday(birthday: date, today: date) -> int:
    """Days from today to the next birthday (0: today); a 29 February birthday falls on 28 February in
    other years."""
    year = today.year if (birthday.month, birthday.day) >= (today.month, today.day) else today.year + 1
    try:
        next_one = date(year, birthday.month, birthday.day)
    except ValueError:
        next_one = date(year, 2, 28)
        if next_one < today:
            next_one = date(year + 1, 2, 28)
    return (next_one - today).days
