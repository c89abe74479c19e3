"""The contact policy: gaps, caps over every window, quiet days, where a message moves, who may be reached."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.config import ContactPolicy
from cockpit.outreach.policy import Calendar, Touch, candidate_days, place, quiet, unreachable

from .builders import TODAY, contact, days


def policy(**changes: object) -> ContactPolicy:
    base = {
        "max_touches": 2,
        "window_days": 7,
        "min_gap_days": 2,
        "quiet_weekdays": ["Sat", "Sun"],
        "quiet_dates": [],
    }
    return ContactPolicy.model_validate({**base, **changes})


def test_the_gap_holds_on_both_sides() -> None:
    calendar = Calendar.of(policy(), [Touch("c", days(0))])
    assert calendar.refusal("c", days(1)) == f"touched on {days(0)} (at least 2 days between touches)"
    assert calendar.refusal("c", days(-1)) is not None
    assert calendar.refusal("c", days(2)) is None
    assert calendar.refusal("c", days(-2)) is None
    assert calendar.refusal("someone else", days(0)) is None


def test_the_cap_holds_over_every_window_that_contains_the_day() -> None:
    calendar = Calendar.of(policy(min_gap_days=0), [Touch("c", days(0)), Touch("c", days(6))])
    # Day 3 lies in the window days 0..6, which already holds two touches.
    refusal = calendar.refusal("c", days(3))
    assert refusal == f"2 touches from {days(0)} to {days(6)} (at most 2 in 7 days)"
    assert calendar.refusal("c", days(5)) is not None
    assert (
        calendar.refusal("c", days(7)) is None
    )  # the windows with day 7 start on day 1 or later: day 6 only
    assert calendar.refusal("c", days(-1)) is None  # the windows with day -1 end by day 5: day 0 only


def test_lifting_an_item_frees_its_day() -> None:
    calendar = Calendar.of(policy(), [Touch("c", days(0), "out-1")])
    assert calendar.refusal("c", days(1)) is not None
    calendar.lift("out-1")
    assert calendar.refusal("c", days(1)) is None
    assert calendar.touches("c") == []


def test_quiet_days_and_dates() -> None:
    rules = policy(quiet_dates=[days(1).isoformat()])
    assert TODAY.weekday() == 2  # a Wednesday
    assert not quiet(TODAY, rules)
    assert quiet(days(1), rules)
    assert quiet(days(3), rules) and quiet(days(4), rules)  # Saturday, Sunday


def test_a_message_due_as_soon_as_possible_moves_later_and_one_on_a_date_moves_earlier_first() -> None:
    assert list(candidate_days(days(2), TODAY, 2, fixed=False)) == [days(2), days(3), days(4)]
    assert list(candidate_days(days(2), TODAY, 2, fixed=True)) == [
        days(2),
        days(1),
        days(3),
        days(0),
        days(4),
    ]
    assert list(candidate_days(TODAY, TODAY, 1, fixed=True)) == [TODAY, days(1)]
    calendar = Calendar.of(policy(), [Touch("c", days(2))])  # Friday; Saturday and Sunday are quiet
    assert place(calendar, "c", days(1), TODAY, 7, fixed=True) == (
        TODAY,
        f"moved from {days(1)}: touched on {days(2)} (at least 2 days between touches)",
    )
    assert place(calendar, "c", days(1), TODAY, 7, fixed=False) == (
        days(5),
        f"moved from {days(1)}: touched on {days(2)} (at least 2 days between touches)",
    )
    assert place(calendar, "c", days(2), TODAY, 0, fixed=False) == (
        None,
        f"no day within 0 days of {days(2)} allowed: touched on {days(2)} (at least 2 days between touches)",
    )
    assert place(calendar, None, days(3), TODAY, 7, fixed=False) == (
        days(5),
        f"moved from {days(3)}: {days(3)} is a quiet day",
    )


def test_who_may_be_reached_by_which_channel() -> None:
    assert unreachable(contact("a", "x"), "email") is None
    assert unreachable(contact("a", "x", opt_in=False), "email") == "opted out of email"
    assert unreachable(contact("a", "x", opt_in=False), "call_task") is None
    assert unreachable(contact("a", "x", dnc=True), "call_task") == "do not contact"
    assert unreachable(contact("a", "x", dnc=True, opt_in=True), "email") == "do not contact"
    assert unreachable(contact("a", "x", email=None), "email") == "no email address"
    assert unreachable(contact("a", "x", deleted=True), "todo") == "deleted"


policies = st.builds(
    policy,
    max_touches=st.integers(1, 4),
    window_days=st.integers(1, 21),
    min_gap_days=st.integers(0, 5),
    quiet_weekdays=st.lists(
        st.sampled_from(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]), max_size=5, unique=True
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    rules=policies,
    existing=st.lists(st.tuples(st.sampled_from("abc"), st.integers(-30, 30)), max_size=12),
    wanted=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 20), st.booleans()), max_size=15),
    shift=st.integers(0, 7),
)
def test_placed_touches_never_break_the_policy(
    rules: ContactPolicy,
    existing: list[tuple[str, int]],
    wanted: list[tuple[str, int, bool]],
    shift: int,
) -> None:
    """However crowded the calendar already is, every touch `place` adds keeps every window that contains it
    at or under the cap, keeps the gap to every other touch, and avoids quiet days."""
    calendar = Calendar.of(rules, [Touch(who, days(offset)) for who, offset in existing])
    placed: list[tuple[str, date]] = []
    for who, offset, fixed in wanted:
        day, _why = place(calendar, who, days(offset), TODAY, shift, fixed=fixed)
        if day is not None:
            assert day >= TODAY and not quiet(day, rules)
            assert abs((day - days(offset)).days) <= shift
            calendar.add(who, day)
            placed.append((who, day))
    for who, day in placed:
        others = list(calendar.touches(who))
        others.remove(day)
        assert all(abs((day - other).days) >= rules.min_gap_days for other in others)
        for start in range(rules.window_days):
            first = day - timedelta(days=start)
            last = first + timedelta(days=rules.window_days - 1)
            assert sum(first <= touch <= last for touch in calendar.touches(who)) <= rules.max_touches
