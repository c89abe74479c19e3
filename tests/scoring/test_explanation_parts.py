"""Each part of an explanation is a named type, stored as the JSON array of its fields: every type reads
back as itself, and explanations stored before the parts had names read back as the same words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.scoring import explain
from cockpit.scoring.adoption import AdoptionPart, FeatureAdoption, UnusedFeature
from cockpit.scoring.advocacy import AdvocacyAct, AdvocacyPart
from cockpit.scoring.churn import (
    SIGNAL_TYPES,
    SIGNALS,
    ChurnPart,
    DatedEvent,
    EarlyLife,
    FallingUsage,
    Inactivity,
    LowHealth,
    MonthToMonth,
    RenewalNear,
    SupportBurst,
    SupportLoad,
    UnopenedEmail,
)
from cockpit.scoring.cross_sell import ADOPTION_UNMET, CHURN_UNMET, CrossSellOffer, CrossSellUnmet
from cockpit.scoring.explain import Body
from cockpit.scoring.health import HealthPart, SurveyAnswer
from cockpit.scoring.learned import Contribution, LearnedChurnPart
from cockpit.scoring.value import ValuePart

from .builders import AS_OF, defaults

PART_TYPES = {
    Body,
    HealthPart,
    SurveyAnswer,
    ChurnPart,
    *SIGNAL_TYPES.values(),
    LearnedChurnPart,
    Contribution,
    AdoptionPart,
    FeatureAdoption,
    UnusedFeature,
    ValuePart,
    CrossSellOffer,
    CrossSellUnmet,
    AdvocacyPart,
    AdvocacyAct,
}


def every_part() -> list[Body]:
    """Three explanations holding every part type between them (a cross-sell part is of one type or the
    other, and so is the churn part), with a None wherever a field may have one."""
    health = HealthPart(
        61.5,
        "yellow",
        [50.0, None, 100.0, 80.0, 75.0, None, 40.0],
        120,
        100,
        None,
        1,
        1,
        [SurveyAnswer("nps", 9.0, 10), SurveyAnswer("csat", 4.0, 12)],
        2,
        1,
        None,
        3,
    )
    churn = ChurnPart(
        0.83,
        "high",
        [
            DatedEvent("cancel_click", 2, "Clicked cancel"),
            DatedEvent("cancel_page_visit", 3, None),
            DatedEvent("escalation", 3, "Export fails"),
            SupportBurst("support_burst", 4, 5, 12, 1.25),
            Inactivity("inactivity", 0, 15, "start", 15 / 14),
            UnopenedEmail("unopened_email", 20, 3, 4),
            FallingUsage("falling_usage", 0, 40, 100, 2.0),
            LowHealth("low_health", 0, 35.5),
            RenewalNear("renewal_near", 0, 30, 6, 0.5),
            RenewalNear("renewal_near", 0, 45, None, 1.0),
            MonthToMonth("month_to_month", 0, 400, 12, False),
            MonthToMonth("month_to_month", 0, None, None, True),
            SupportLoad("support_load", 0, 9, 90, 1.5),
            EarlyLife("early_life", 0, 40, None),
            EarlyLife("early_life", 0, 300, 65),
        ],
    )
    adoption = AdoptionPart(
        "onboarding",
        0.5,
        1,
        0,
        [
            FeatureAdoption("core.reports", "Reports", "core", 25, 12, "adopted", 200, 0, False),
            FeatureAdoption("core.alerts", "Alerts", "core", 3, 1, "onboarding", 40, 20, True),
            FeatureAdoption("core.sso", "Sso", "core", 1, 1, "not started", None, 3, False),
            UnusedFeature("core.api", "Api", "core"),
        ],
    )
    value = ValuePart(12_000.0, "arr", "high", 1, 2, 0.6)
    advocacy = AdvocacyPart(
        "lover", 9.0, 10, [AdvocacyAct("referral", 50, "Referred Acme"), AdvocacyAct("review", 5, None)]
    )
    offer = CrossSellOffer(0, "analytics", "Analytics", "core", "slice reports by cohort")
    unmet = CrossSellUnmet(ADOPTION_UNMET | CHURN_UNMET)
    learned = LearnedChurnPart(
        "learned",
        0.42,
        "high",
        7,
        90,
        None,
        0.3,
        0.1,
        [Contribution("days_since_use", None, 0.9), Contribution("plan", "Starter", 0.4)],
        churn,
    )
    return [
        Body(AS_OF.isoformat(), health, churn_part, adoption, value, "save", cross_sell, advocacy)
        for churn_part, cross_sell in ((churn, offer), (churn, unmet), (learned, offer))
    ]


def records(value: Any) -> Iterator[tuple[Any, ...]]:
    """Every named tuple in `value`, outermost first, in order."""
    if hasattr(value, "_fields"):
        yield value
    if isinstance(value, tuple | list):
        for item in value:
            yield from records(item)


@pytest.mark.parametrize("body", every_part(), ids=["ready", "not-ready", "learned"])
def test_every_part_reads_back_as_its_own_type(body: Body) -> None:
    terms = explain.terms(defaults())
    text = explain.encode(explain.encode_terms(terms), body)
    read_terms, read_back = explain.read_parts(json.loads(text))
    assert read_back == body
    assert [type(record) for record in records(read_back)] == [type(record) for record in records(body)]
    assert explain.decode(text) == explain.explain(terms, body)
    assert explain.encode(explain.encode_terms(read_terms), read_back) == text  # the same bytes again


def test_the_parts_above_hold_every_part_type() -> None:
    assert {type(record) for body in every_part() for record in records(body)} == PART_TYPES
    assert set(SIGNAL_TYPES) == set(SIGNALS)


STORED_V2 = {
    "acc-00136": '[2,[[0.25,0.15,0.15,0.15,0.15,0.05,0.1],70.0,40.0,180,60,[0.35,0.6,0.3,0.3,0.4,0.15,0.25,0.3,0.1],0.6,0.3,21,40.0,0.6,30,0.5,0.8,["adopted","green","low"],9,1,365],"2026-11-22",[36.900938159541205,"red",[0.0,0.0,64.28571428571429,100.0,69.42022739138,null,0.0],6,17,12,0,0,[["nps",6.0,108],["csat",4.0,40]],0,0,127],[0.6003332158748684,"high",[["low_health",0,36.900938159541205],["falling_usage",0,6,17],["cancel_click",40,null],["cancel_page_visit",40,null]]],["onboarding",0.0,0,0,[["auto-api","API access","automation",0,0,"not started",41,41,true],["auto-rules","Rules","automation"],["auto-schedules","Schedules","automation"],["auto-webhooks","Webhooks","automation",1,1,"onboarding",34,12,true],["core-alerts","Alerts","core"],["core-dash","Dashboards","core",0,0,"not started",72,72,true],["core-reports","Reports","core"],["core-workflows","Workflows","core"]]],[29400.0,"arr","other",64,180,0.8790561224489796],"rescue",[7],["lurker",6.0,108,[]]]',
    "acc-00007": '[2,[[0.25,0.15,0.15,0.15,0.15,0.05,0.1],70.0,40.0,180,60,[0.35,0.6,0.3,0.3,0.4,0.15,0.25,0.3,0.1],0.6,0.3,21,40.0,0.6,30,0.5,0.8,["adopted","green","low"],9,1,365],"2026-09-23",[95.68545065084858,"green",[100.0,85.55088702147525,100.0,100.0,90.0,null,null],1447,1428,0,0,0,[["nps",9.0,140]],0,0,null],[0.0,"low",[]],["adopted",1.0,7,0,[["ana-cohorts","Cohorts","analytics",11,5,"adopted",122,1,false],["ana-explore","Explorer","analytics",12,5,"adopted",121,0,false],["ana-funnels","Funnels","analytics",10,2,"adopted",121,0,false],["core-alerts","Alerts","core",10,3,"adopted",120,0,false],["core-dash","Dashboards","core",12,2,"adopted",120,1,false],["core-reports","Reports","core",12,3,"adopted",121,1,false],["core-workflows","Workflows","core",10,3,"adopted",121,6,false]]],[33600.0,"arr","other",60,176,0.8712976746573584],"nurture",[0,"connect","Integrations Hub","analytics","it takes your analyses to the warehouse and the CRM where the company works"],["lover",9.0,140,[["review",0,null]]]]',
    "acc-00182": '[2,[[0.25,0.15,0.15,0.15,0.15,0.05,0.1],70.0,40.0,180,60,[0.35,0.6,0.3,0.3,0.4,0.15,0.25,0.3,0.1],0.6,0.3,21,40.0,0.6,30,0.5,0.8,["adopted","green","low"],9,1,365],"2026-11-22",[47.005218461703265,"yellow",[0.0,null,null,87.5,76.59452825987836,0.0,82.89473684210526],0,0,null,1,0,[["nps",6.0,10],["csat",4.0,13],["csat",5.0,43]],3,0,27],[0.16868943393156877,"low",[["inactivity",34,48,"start"],["unopened_email",37,3,3]]],["not started",0.0,0,0,[["core-alerts","Alerts","core"],["core-dash","Dashboards","core"],["core-reports","Reports","core"],["core-workflows","Workflows","core"]]],[12120.0,"arr","other",103,180,0.9564285714285714],"nurture",[3],["lurker",6.0,10,[]]]',
    "acc-00113": '[2,[[0.25,0.15,0.15,0.15,0.15,0.05,0.1],70.0,40.0,180,60,[0.35,0.6,0.3,0.3,0.4,0.15,0.25,0.3,0.1],0.6,0.3,21,40.0,0.6,30,0.5,0.8,["adopted","green","low"],9,1,365],"2026-11-22",[46.34564352056612,"yellow",[0.0,29.60526315789474,82.14285714285714,100.0,null,0.0,76.3157894736842],103,152,7,0,0,[],1,0,32],[0.32499999999999996,"medium",[["falling_usage",0,103,152],["renewal_near",0,74]]],["onboarding",0.0,0,0,[["core-alerts","Alerts","core",0,0,"not started",171,31,true],["core-dash","Dashboards","core",4,4,"onboarding",167,7,true],["core-reports","Reports","core",1,2,"onboarding",171,11,true],["core-workflows","Workflows","core"]]],[9000.0,"arr","other",115,180,0.9696045918367346],"watch",[7],["liker",10.0,249,[]]]',
    "acc-00002": '[2,[[0.25,0.15,0.15,0.15,0.15,0.05,0.1],70.0,40.0,180,60,[0.35,0.6,0.3,0.3,0.4,0.15,0.25,0.3,0.1],0.6,0.3,21,40.0,0.6,30,0.5,0.8,["adopted","green","low"],9,1,365],"2026-11-22",[56.35212418300654,"yellow",[37.5,79.8474945533769,100.0,0.0,100.0,0.0,50.0],749,765,2,6,1,[["csat",5.0,5]],2,0,52],[0.46376147296077297,"medium",[["support_burst",2,6,10],["escalation",5,null]]],["onboarding",0.375,3,0,[["auto-api","API access","automation",3,2,"onboarding",176,6,true],["auto-rules","Rules","automation",4,2,"onboarding",181,3,true],["auto-schedules","Schedules","automation",7,2,"onboarding",181,2,true],["auto-webhooks","Webhooks","automation",7,2,"onboarding",181,2,true],["core-alerts","Alerts","core",6,2,"onboarding",178,3,true],["core-dash","Dashboards","core",8,2,"adopted",178,4,false],["core-reports","Reports","core",11,2,"adopted",174,4,false],["core-workflows","Workflows","core",8,2,"adopted",179,3,false]]],[50400.0,"arr","medium",45,180,0.7991836734693878],"watch",[7],["lurker",null,null,[]]]',
}
"""Explanations of version 2 as `cockpit demo` stored them before the parts had names (one of each cross-sell
part, feature form and churn signal between them)."""

WORDED_V2 = Path(__file__).parent.parent / "fixtures" / "explanations-v2.json"
"""How `decode` worded them then."""


@pytest.mark.parametrize("account_id", list(STORED_V2))
def test_an_explanation_stored_before_the_parts_had_names_reads_back_as_it_was(account_id: str) -> None:
    """The same words as then, and the evidence its health rested on (there was no minimum then)."""
    stored = STORED_V2[account_id]
    decoded = explain.decode(stored)
    health = decoded["health"]
    assert isinstance(health, dict)
    evidence = health.pop("evidence")
    churn = decoded["churn"]
    assert isinstance(churn, dict) and churn.pop("model") == "rules"  # version 2 knew no other model
    assert decoded == json.loads(WORDED_V2.read_text(encoding="utf-8"))[account_id]
    present = sum(score is not None for score in json.loads(stored)[3][2])
    assert evidence == {
        "present": present,
        "total": 7,
        "needed": 0,
        "detail": f"{present} of 7 components known",
    }
    terms, body = explain.read_parts(json.loads(stored))
    assert body.health.min_evidence == 0
    again = explain.encode(explain.encode_terms(terms), body)  # in today's layout, stable from there on
    assert json.loads(again)[0] == explain.VERSION
    assert explain.decode(again) == explain.decode(stored)
    assert explain.encode(*_terms_and_body(again)) == again


def _terms_and_body(stored: str) -> tuple[str, Body]:
    terms, body = explain.read_parts(json.loads(stored))
    return explain.encode_terms(terms), body


STORED_V4 = {
    "rules": '[4,[[0.25,0.15,0.15,0.15,0.15,0.05,0.1],70.0,40.0,180,60,[0.35,0.6,0.45,0.45,0.35,0.15,0.25,0.3,0.15,0.1],0.6,0.3,21,40.0,0.6,30,0.5,0.8,["adopted","green","low"],9,1,365],"2026-11-20",[28.571428571428577,"red",[null,0.0,35.714285714285715,50.0,null,null,null],10,100,20,4,0,[],0,0,null,3],[0.83108125,"high",[["support_burst",0,4,3,1.0],["inactivity",0,20,"last use"],["low_health",0,28.571428571428577],["falling_usage",0,10,100],["month_to_month",0,143,10]]],["not started",null,0,0,[]],[12000.0,"arr","high",1,1,1.0],"save now",[15],["lurker",null,null,[]]]',
    "learned": '[4,[[0.25,0.15,0.15,0.15,0.15,0.05,0.1],70.0,40.0,180,60,[0.35,0.6,0.45,0.45,0.35,0.15,0.25,0.3,0.15,0.1],0.6,0.3,21,40.0,0.6,30,0.5,0.8,["adopted","green","low"],9,1,365],"2026-11-20",[28.571428571428577,"red",[null,0.0,35.714285714285715,50.0,null,null,null],10,100,20,4,0,[],0,0,null,3],["learned",0.42,"high",7,90,0.81,0.3,0.1,[["days_since_use",20.0,0.9],["plan","Starter",0.4]],[0.83108125,"high",[["support_burst",0,4,3,1.0],["inactivity",0,20,"last use"],["low_health",0,28.571428571428577],["falling_usage",0,10,100],["month_to_month",0,143,10]]]],["not started",null,0,0,[]],[12000.0,"arr","high",1,1,1.0],"save now",[15],["lurker",null,null,[]]]',
}
"""Explanations of version 4 as cockpit stored them before a fall in use and a silence weighed by their size
(each with a support burst, a silence, a fall in use and a month-to-month contract read from the dates), by
the rules and by the learned model."""

WORDED_V4 = Path(__file__).parent.parent / "fixtures" / "explanations-v4-churn.json"
"""How `decode` words their churn sections (the weights and values they had; a month-to-month contract
read from the dates is worded as today)."""


@pytest.mark.parametrize("model", list(STORED_V4))
def test_an_explanation_of_version_4_reads_back_with_the_churn_words_and_weights_it_had(model: str) -> None:
    stored = STORED_V4[model]
    assert json.loads(stored)[0] == 4
    assert explain.decode(stored)["churn"] == json.loads(WORDED_V4.read_text(encoding="utf-8"))[model]
    terms, body = explain.read_parts(json.loads(stored))
    weights = dict(zip(SIGNALS, terms.churn_weights, strict=True))
    assert (weights["support_load"], weights["early_life"]) == (0.0, 0.0)  # they did not exist
    again = explain.encode(explain.encode_terms(terms), body)
    assert json.loads(again)[0] == explain.VERSION
    assert explain.decode(again) == explain.decode(stored)
