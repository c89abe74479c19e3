"""Health 0-100: a weighted sum of seven components, each 0-100 and linear between its config.toml thresholds.

- adoption: the adoption share x 100; missing without entitled features, or when the book holds no usage
  at all (then nobody's adoption is known: no data is not "not started").
- usage_trend: the relative change of usage in the last 30 days against the 30 before, 0 at
  `usage_trend_worst` or worse and 100 at `usage_trend_best` or better. Use that starts from nothing (prior 0,
  last > 0: a new account) is growth and scores 100; missing when both periods are 0, as there is no trend to
  measure (recency and the inactivity signal speak for an account that stopped).
- recency: days since the last use, 100 at `recency_best_days` or fewer, 0 at `recency_worst_days` or more;
  missing when never used.
- support: tickets opened in the last 30 days, 100 at none and 0 at `support_worst_tickets`, less
  `support_escalation_penalty` for each escalation in those days, floored at 0; missing when the book holds
  no tickets at all (an account without tickets in a book without tickets says nothing about support).
- sentiment: NPS (0-10, x 10) and CSAT (1-5, 1 -> 0 and 5 -> 100) answers in the last
  `sentiment_window_days`, averaged with weights that halve every half window of age, so that an answer from
  today counts four times one from the window's far end; missing without answers.
- email_engagement: the share of the emails sent in the last `email_window_days` that were opened (see
  `emails`), 0 at none and 100 at `email_open_rate_best` or more; missing when none was sent.
- csm_touch: days since the last CSM touch, 100 at `csm_touch_best_days` or fewer, 0 at
  `csm_touch_worst_days` or more; missing when never touched.

Evidence: the components present. A health needs `min_evidence` of them (at least two, so that no single
component, such as "no tickets", makes a health); with fewer it has no score and its band is "insufficient",
shown as "not enough data": never green, and no evidence of risk either (the low-health signal needs a
score). A missing component's weight is spread over the present ones in proportion to their weights (each
present weight is divided by the sum of the present weights), so the present components keep their relative
weights; the score is None too when the present ones all weigh 0. Band: green at `green_min` or more, yellow
at `yellow_min` or more, red below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from math import fsum
from typing import Any, Final, NamedTuple

from cockpit.config import INSUFFICIENT, HealthBand, HealthSettings, HealthThresholds
from cockpit.scoring.adoption import Adoption
from cockpit.scoring.common import (
    RECENT_DAYS,
    Json,
    JsonDict,
    Timeline,
    day_before,
    plural,
    read_nested,
    read_record,
    scale,
)
from cockpit.scoring.emails import Mail
from cockpit.scoring.facts import AccountFacts, BookCoverage

COMPONENTS: Final = (
    "adoption",
    "usage_trend",
    "recency",
    "support",
    "sentiment",
    "email_engagement",
    "csm_touch",
)
"""The components in the order the explanation lists them (and `HealthWeights` declares them)."""
_ADOPTION, _SUPPORT = COMPONENTS.index("adoption"), COMPONENTS.index("support")


class SurveyAnswer(NamedTuple):
    """An NPS or CSAT answer the sentiment component counted."""

    kind: str
    """"nps" or "csat"."""
    value: float
    age: int
    """Days before as_of."""


class HealthPart(NamedTuple):
    """What the explanation words (`explain_health`), stored as a JSON array of these fields in this order."""

    score: float | None
    band: HealthBand | None
    scores: list[float | None]
    """Each component's score in COMPONENTS order (None: missing)."""
    usage_last_30: int
    usage_prior_30: int
    use_age: int | None
    """Days since the last use (None: never used)."""
    tickets: int
    """Tickets opened in the last 30 days."""
    escalations: int
    """Escalations in the last 30 days."""
    answers: list[SurveyAnswer]
    emails_sent: int
    emails_opened: int
    touch_age: int | None
    """Days since the last CSM touch (None: never touched)."""
    min_evidence: int
    """The components a health needed when it was scored (`health.min_evidence`; 0 before there was one)."""

    @property
    def evidence(self) -> int:
        """The components present."""
        return sum(score is not None for score in self.scores)

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> HealthPart:
        """The part from its stored JSON array."""
        answers = [read_record(SurveyAnswer, answer) for answer in row[_ANSWERS]]
        return read_nested(cls, row, _ANSWERS, answers)


_ANSWERS: Final = HealthPart._fields.index("answers")


class Health(NamedTuple):
    score: float | None
    band: HealthBand
    part: HealthPart


def band(score: float | None, settings: HealthSettings) -> HealthBand:
    """The band of a score; "insufficient" without one."""
    if score is None:
        return INSUFFICIENT
    if score >= settings.green_min:
        return "green"
    return "yellow" if score >= settings.yellow_min else "red"


def weights(settings: HealthSettings) -> tuple[float, ...]:
    """The component weights in COMPONENTS order."""
    given = settings.weights
    return (
        given.adoption,
        given.usage_trend,
        given.recency,
        given.support,
        given.sentiment,
        given.email_engagement,
        given.csm_touch,
    )


def assess_health(
    facts: AccountFacts,
    timeline: Timeline,
    settings: HealthSettings,
    adoption: Adoption,
    mail: Mail,
    coverage: BookCoverage,
) -> Health:
    limits, as_of = settings.thresholds, facts.as_of
    last, prior = facts.usage_last_30, facts.usage_prior_30
    use_age = None if facts.last_usage is None else (as_of - facts.last_usage).days
    touch_age = None if facts.last_csm_touch is None else (as_of - facts.last_csm_touch).days
    tickets = len(timeline.within("support_ticket", RECENT_DAYS))
    escalations = len(timeline.within("escalation", RECENT_DAYS))
    sentiment, answers = _sentiment(timeline, limits)
    scores: list[float | None] = [
        None if adoption.share is None or not coverage.usage else adoption.share * 100.0,
        _usage_trend(last, prior, limits),
        _days_since(use_age, limits.recency_best_days, limits.recency_worst_days),
        _support(tickets, escalations, limits) if coverage.tickets else None,
        sentiment,
        _email_engagement(mail, limits),
        _days_since(touch_age, limits.csm_touch_best_days, limits.csm_touch_worst_days),
    ]
    # Exact sums (fsum), so that weights like 0.15 add up to 1 and a perfect account scores 100, not 99.99...
    present = [
        (weight, score) for weight, score in zip(weights(settings), scores, strict=True) if score is not None
    ]
    present_weight = fsum(weight for weight, _ in present)
    total = fsum(weight * score for weight, score in present)
    enough = present_weight > 0 and len(present) >= settings.min_evidence
    health = min(100.0, total / present_weight) if enough else None  # min: the last rounding bit
    health_band = band(health, settings)
    part = HealthPart(
        health,
        health_band,
        scores,
        last,
        prior,
        use_age,
        tickets,
        escalations,
        answers,
        mail.sent,
        mail.opened,
        touch_age,
        settings.min_evidence,
    )
    return Health(health, health_band, part)


def _usage_trend(last: int, prior: int, limits: HealthThresholds) -> float | None:
    if prior <= 0:
        return 100.0 if last > 0 else None
    return scale(
        (last - prior) / prior, limits.usage_trend_worst, limits.usage_trend_best, higher_is_better=True
    )


def _days_since(age: int | None, best: int, worst: int) -> float | None:
    return None if age is None else scale(max(0, age), worst, best, higher_is_better=False)


def _support(tickets: int, escalations: int, limits: HealthThresholds) -> float:
    burden = scale(tickets, limits.support_worst_tickets, 0, higher_is_better=False)
    return max(0.0, burden - limits.support_escalation_penalty * escalations)


def _sentiment(timeline: Timeline, limits: HealthThresholds) -> tuple[float | None, list[SurveyAnswer]]:
    half_life = limits.sentiment_window_days / 2
    answers: list[SurveyAnswer] = []
    weighted = total = 0.0
    for kind in ("nps", "csat"):
        for age, answer in timeline.within(kind, limits.sentiment_window_days):
            if answer.value is None:
                continue
            points = answer.value * 10.0 if kind == "nps" else (answer.value - 1.0) * 25.0
            weight = 0.5 ** (age / half_life)
            weighted += min(100.0, max(0.0, points)) * weight
            total += weight
            answers.append(SurveyAnswer(kind, answer.value, age))
    # min: a weighted mean of answers at 100 can come out a rounding bit above it.
    return (min(100.0, weighted / total) if answers else None), answers


def _email_engagement(mail: Mail, limits: HealthThresholds) -> float | None:
    if not mail.sent:
        return None
    return scale(mail.opened / mail.sent, 0.0, limits.email_open_rate_best, higher_is_better=True)


def explain_health(
    part: HealthPart,
    as_of: date,
    weights: Sequence[float],
    green_min: float,
    yellow_min: float,
    adopted: int,
    entitled: int,
    sentiment_window_days: int,
    email_window_days: int,
) -> JsonDict:
    """The health section of an explanation, from `Health.part` (fresh or read back from JSON) and the
    adoption counts its adoption component quotes."""
    answers, sent, opened, use_age = part.answers, part.emails_sent, part.emails_opened, part.use_age
    scores = part.scores
    details = (
        (
            "no entitled features"
            if not entitled
            else "no usage in the book"
            if scores[_ADOPTION] is None
            else f"{adopted} of {entitled} features adopted"
        ),
        _trend_words(part.usage_last_30, part.usage_prior_30, use_age),
        _since_words("use", as_of, use_age),
        (
            f"{plural(part.tickets, 'ticket')} and {plural(part.escalations, 'escalation')} in the last 30 days"
            if scores[_SUPPORT] is not None
            else "no tickets in the book"
        ),
        (
            ", ".join(
                f"{answer.kind.upper()} {answer.value:g} on {day_before(as_of, answer.age)}"
                for answer in answers
            )
            + " (newer answers weigh more)"
            if answers
            else f"no NPS or CSAT answer in {sentiment_window_days} days"
        ),
        (
            f"{opened} of {plural(sent, 'email')} opened in {email_window_days} days"
            if sent
            else f"no email sent in {email_window_days} days"
        ),
        _since_words("CSM touch", as_of, part.touch_age),
    )
    present_weight = fsum(weight for weight, score in zip(weights, scores, strict=True) if score is not None)
    components: list[Json] = []
    missing: list[Json] = []
    for name, weight, score, detail in zip(COMPONENTS, weights, scores, details, strict=True):
        if score is None:
            missing.append({"name": name, "why": detail, "weight_spread": weight})
            continue
        # Without a health score (not enough data) the components add up to nothing: no points.
        effective = None if part.score is None else weight / present_weight if present_weight > 0 else 0.0
        components.append(
            {
                "name": name,
                "score": score,
                "weight": weight,
                "effective_weight": effective,
                "points": None if effective is None else score * effective,
                "detail": detail,
            }
        )
    evidence, needed = part.evidence, part.min_evidence
    known = f"{evidence} of {plural(len(COMPONENTS), 'component')} known"
    return {
        "score": part.score,
        "band": part.band,
        "green_min": green_min,
        "yellow_min": yellow_min,
        "evidence": {
            "present": evidence,
            "total": len(COMPONENTS),
            "needed": needed,
            "detail": (f"not enough data: {known}, {needed} needed" if part.band == INSUFFICIENT else known),
        },
        "components": components,
        "missing": missing,
    }


def _trend_words(last: int, prior: int, use_age: int | None) -> str:
    if prior <= 0:
        if last > 0:
            return f"usage started: {last} in the last 30 days, none in the 30 before"
        return "no usage in the last 60 days" if use_age is not None else "never used"
    return f"usage {(last - prior) / prior:+.0%}: {last} in the last 30 days against {prior} in the 30 before"


def _since_words(what: str, as_of: date, age: int | None) -> str:
    if age is None:
        return f"no {what} yet"
    return f"last {what} on {day_before(as_of, age)}, {plural(max(0, age), 'day')} ago"
