"""Health 0-100: a weighted sum of seven components, each 0-100 and linear between its config.toml thresholds.

- adoption: the adoption share x 100; missing without entitled features.
- usage_trend: the relative change of usage in the last 30 days against the 30 before, 0 at
  `usage_trend_worst` or worse and 100 at `usage_trend_best` or better. Use that starts from nothing (prior 0,
  last > 0: a new account) is growth and scores 100; missing when both periods are 0, as there is no trend to
  measure (recency and the inactivity signal speak for an account that stopped).
- recency: days since the last use, 100 at `recency_best_days` or fewer, 0 at `recency_worst_days` or more;
  missing when never used.
- support: tickets opened in the last 30 days, 100 at none and 0 at `support_worst_tickets`, less
  `support_escalation_penalty` for each escalation in those days, floored at 0. Never missing.
- sentiment: NPS (0-10, x 10) and CSAT (1-5, 1 -> 0 and 5 -> 100) answers in the last
  `sentiment_window_days`, averaged with weights that halve every half window of age, so that an answer from
  today counts four times one from the window's far end; missing without answers.
- email_engagement: the share of the emails sent in the last `email_window_days` that were opened (see
  `emails`), 0 at none and 100 at `email_open_rate_best` or more; missing when none was sent.
- csm_touch: days since the last CSM touch, 100 at `csm_touch_best_days` or fewer, 0 at
  `csm_touch_worst_days` or more; missing when never touched.

A missing component's weight is spread over the present ones in proportion to their weights (each present
weight is divided by the sum of the present weights), so the present components keep their relative weights.
Health is None when no component is present or the present ones all weigh 0. Band: green at `green_min` or
more, yellow at `yellow_min` or more, red below.
"""

from __future__ import annotations

from datetime import date
from math import fsum
from typing import NamedTuple

from cockpit.config import HealthBand, HealthSettings, HealthThresholds
from cockpit.scoring.adoption import Adoption
from cockpit.scoring.common import RECENT_DAYS, Json, JsonDict, Timeline, plural, scale
from cockpit.scoring.emails import Mail
from cockpit.scoring.facts import AccountFacts


class Reading(NamedTuple):
    """One component: its score, or None with the reason it is missing."""

    score: float | None
    detail: str
    """What the score rests on, inputs included, in words; or why it is missing."""


class Health(NamedTuple):
    score: float | None
    band: HealthBand | None
    explanation: JsonDict


def band(score: float | None, settings: HealthSettings) -> HealthBand | None:
    if score is None:
        return None
    if score >= settings.green_min:
        return "green"
    return "yellow" if score >= settings.yellow_min else "red"


def assess_health(
    facts: AccountFacts, timeline: Timeline, settings: HealthSettings, adoption: Adoption, mail: Mail
) -> Health:
    limits, weights, as_of = settings.thresholds, settings.weights, facts.as_of
    recency = _days_since("use", as_of, facts.last_usage, limits.recency_best_days, limits.recency_worst_days)
    touch = _days_since(
        "CSM touch", as_of, facts.last_csm_touch, limits.csm_touch_best_days, limits.csm_touch_worst_days
    )
    readings = (
        ("adoption", weights.adoption, *_adoption(adoption)),
        ("usage_trend", weights.usage_trend, *_usage_trend(facts, limits)),
        ("recency", weights.recency, *recency),
        ("support", weights.support, *_support(timeline, limits)),
        ("sentiment", weights.sentiment, *_sentiment(timeline, limits)),
        ("email_engagement", weights.email_engagement, *_email_engagement(mail, limits)),
        ("csm_touch", weights.csm_touch, *touch),
    )
    # Exact sums (fsum), so that weights like 0.15 add up to 1 and a perfect account scores 100, not 99.99...
    present_weight = fsum(weight for _, weight, score, _ in readings if score is not None)
    total = fsum(weight * score for _, weight, score, _ in readings if score is not None)
    components: list[Json] = []
    missing: list[Json] = []
    for name, weight, score, detail in readings:
        if score is None:
            missing.append({"name": name, "why": detail, "weight_spread": weight})
            continue
        effective = weight / present_weight if present_weight > 0 else 0.0
        components.append(
            {
                "name": name,
                "score": score,
                "weight": weight,
                "effective_weight": effective,
                "points": score * effective,
                "detail": detail,
            }
        )
    health = min(100.0, total / present_weight) if present_weight > 0 else None  # min: the last rounding bit
    health_band = band(health, settings)
    explanation: JsonDict = {
        "score": health,
        "band": health_band,
        "green_min": settings.green_min,
        "yellow_min": settings.yellow_min,
        "components": components,
        "missing": missing,
    }
    return Health(health, health_band, explanation)


def _adoption(adoption: Adoption) -> Reading:
    if adoption.share is None:
        return Reading(None, "no entitled features")
    return Reading(adoption.share * 100.0, f"{adoption.adopted} of {adoption.entitled} features adopted")


def _usage_trend(facts: AccountFacts, limits: HealthThresholds) -> Reading:
    last, prior = facts.usage_last_30, facts.usage_prior_30
    if prior <= 0:
        if last > 0:
            return Reading(100.0, f"usage started: {last} in the last 30 days, none in the 30 before")
        return Reading(None, "no usage in the last 60 days" if facts.last_usage is not None else "never used")
    change = (last - prior) / prior
    score = scale(change, limits.usage_trend_worst, limits.usage_trend_best, higher_is_better=True)
    return Reading(score, f"usage {change:+.0%}: {last} in the last 30 days against {prior} in the 30 before")


def _days_since(what: str, as_of: date, last: date | None, best: int, worst: int) -> Reading:
    if last is None:
        return Reading(None, f"no {what} yet")
    days = max(0, (as_of - last).days)
    return Reading(
        scale(days, worst, best, higher_is_better=False), f"last {what} on {last}, {plural(days, 'day')} ago"
    )


def _support(timeline: Timeline, limits: HealthThresholds) -> Reading:
    tickets = len(timeline.within("support_ticket", RECENT_DAYS))
    escalations = len(timeline.within("escalation", RECENT_DAYS))
    burden = scale(tickets, limits.support_worst_tickets, 0, higher_is_better=False)
    score = max(0.0, burden - limits.support_escalation_penalty * escalations)
    return Reading(
        score, f"{plural(tickets, 'ticket')} and {plural(escalations, 'escalation')} in the last 30 days"
    )


def _sentiment(timeline: Timeline, limits: HealthThresholds) -> Reading:
    window = limits.sentiment_window_days
    half_life = window / 2
    answers: list[str] = []
    weighted = weights = 0.0
    for kind in ("nps", "csat"):
        for age, answer in timeline.within(kind, window):
            if answer.value is None:
                continue
            points = answer.value * 10.0 if kind == "nps" else (answer.value - 1.0) * 25.0
            weight = 0.5 ** (age / half_life)
            weighted += min(100.0, max(0.0, points)) * weight
            weights += weight
            answers.append(f"{kind.upper()} {answer.value:g} on {answer.on}")
    if not answers:
        return Reading(None, f"no NPS or CSAT answer in {window} days")
    return Reading(weighted / weights, f"{', '.join(answers)} (newer answers weigh more)")


def _email_engagement(mail: Mail, limits: HealthThresholds) -> Reading:
    window = limits.email_window_days
    if not mail.sent:
        return Reading(None, f"no email sent in {window} days")
    score = scale(mail.opened / mail.sent, 0.0, limits.email_open_rate_best, higher_is_better=True)
    return Reading(score, f"{mail.opened} of {plural(mail.sent, 'email')} opened in {window} days")
