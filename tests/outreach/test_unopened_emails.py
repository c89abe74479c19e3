"""The unopened email of each account, found from its email signals of the window as the store reads them
once for both the plan's facts and its fingerprints (`store.outreach.unopened_emails`)."""

from __future__ import annotations

from typing import Any

from cockpit.outreach.facts import LastEmail
from cockpit.store.outreach import EmailSignal, unopened_emails

from .builders import days


def sent(
    signal_id: int, at: str, ref: Any = None, *, campaign: Any = None, bulk: Any = None, subject: str = "Hi"
) -> EmailSignal:
    return (signal_id, "c1", "email_sent", at, ref, subject, campaign, bulk)


def opened(signal_id: int, at: str, ref: Any = None, kind: str = "email_opened") -> EmailSignal:
    return (signal_id, "c1", kind, at, ref, None, None, None)


def found(*signals: EmailSignal, campaigns: tuple[str, ...] = ()) -> LastEmail | None:
    return unopened_emails({"acc-1": list(signals)}, campaigns).get("acc-1")


DAY = days(-5).isoformat()
LATER = days(-3).isoformat()
EARLIER = days(-8).isoformat()


def test_the_latest_send_unopened_is_found_with_its_subject_contact_and_day() -> None:
    email = found(
        sent(1, EARLIER, "m1", subject="Old"), sent(2, DAY, "m2", subject="New"), opened(3, LATER, "m1")
    )
    assert email == LastEmail("New", days(-5), "c1", None)


def test_an_open_or_a_click_of_the_same_message_after_it_opens_it() -> None:
    assert found(sent(1, DAY, "m1"), opened(2, LATER, "m1")) is None
    assert found(sent(1, DAY, "m1"), opened(2, LATER, "m1", kind="email_clicked")) is None
    assert found(sent(1, DAY, "m1"), opened(2, DAY, "m1")) is None  # (the same moment counts)


def test_an_open_before_it_or_of_another_message_does_not() -> None:
    assert found(sent(1, DAY, "m1"), opened(2, EARLIER, "m1")) is not None
    assert found(sent(1, DAY, "m1"), opened(2, LATER, "m2"), opened(3, LATER)) is not None


def test_a_send_with_no_reference_is_opened_by_any_open_after_it() -> None:
    assert found(sent(1, DAY), opened(2, LATER, "m9")) is None
    assert found(sent(1, DAY), opened(2, EARLIER)) is not None


def test_references_compare_as_sqlite_compares_them() -> None:
    assert found(sent(1, DAY, 7), opened(2, LATER, "7")) is not None  # a number never equals a text
    assert found(sent(1, DAY, 7), opened(2, LATER, 7.0)) is None


def test_bulk_sends_count_only_for_the_campaigns_followed() -> None:
    newsletter = sent(1, DAY, "m1", campaign="News")
    assert found(newsletter) is None
    assert found(newsletter, campaigns=("News",)) == LastEmail("Hi", days(-5), "c1", "News")
    assert found(sent(1, DAY, "m1", bulk=1)) is None  # `"bulk": true`, as SQLite reads it
    assert found(sent(1, DAY, "m1", bulk=0)) is not None
    assert found(sent(1, DAY, "m1", bulk="1")) is not None  # a text is not the flag
    # A bulk send is passed over for the person's own latest email before it.
    assert found(sent(1, EARLIER, "m1"), sent(2, DAY, "m2", bulk=1)) == LastEmail("Hi", days(-8), "c1", None)
