"""A playbook triggered by a journey pattern: it queues a draft for exactly the accounts on that path now."""

from __future__ import annotations

from cockpit.config import Playbook
from cockpit.outreach.playbooks import compile_playbooks
from cockpit.services.journeys import find_journeys
from cockpit.services.outreach import plan
from cockpit.store import Store
from tests.clocks import at
from tests.tuning import tune

from .builders import TODAY

PATH = "negative_interaction > emails_unopened"


def test_a_trigger_on_a_journey_pattern_queues_for_the_accounts_on_that_path(demo: Store) -> None:
    on_path = next(
        path.on_path
        for path in find_journeys(demo, tune("journeys"), TODAY).paths
        if path.pattern.text == PATH
    )
    assert on_path
    playbook = Playbook(
        id="journey-save",
        title="Call the accounts on the path that preceded churn",
        trigger=f"'{PATH}' in journey_patterns",
        channel="call_task",
        template="save-now",
        cooldown_days=30,
        priority=1,
    )
    settings = tune("outreach", playbooks=[playbook])
    assert compile_playbooks(settings).journeys
    report = plan(demo, settings, as_of=TODAY, clock=at(TODAY))
    queued = {draft.account_id for draft in report.queued}
    skipped = {skip.account_id for skip in report.skipped}
    assert queued and queued | skipped == set(on_path)
    # Planned again the same day, nothing changed: the journeys are part of what the plan fingerprints.
    again = plan(demo, settings, as_of=TODAY, clock=at(TODAY))
    assert not again.queued and again.unchanged > 0
