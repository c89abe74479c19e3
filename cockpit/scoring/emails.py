"""Which emails sent in the email window were opened: for email engagement and the unopened-email signal.

A send with a `ref` is opened when an open or a click with the same ref follows it (a click proves the open
that a blocked tracking pixel may have hidden); coming after the send, it is in the window too. Sends and
opens without a ref can only be counted: they are paired in date order, each open with the latest unpaired
send on or before it, and the sends left unpaired are the unopened ones.
"""

from __future__ import annotations

from typing import NamedTuple

from cockpit.scoring.common import Aged, Timeline


class Mail(NamedTuple):
    sent: int
    unopened: tuple[Aged, ...]
    """The sends in the window with no open, oldest first."""

    @property
    def opened(self) -> int:
        return self.sent - len(self.unopened)


def tally_mail(timeline: Timeline, window_days: int) -> Mail:
    sends = timeline.within("email_sent", window_days)
    if not sends:
        return Mail(0, ())
    opens = timeline.within("email_opened", window_days)
    opened_refs = {event.ref for _, event in opens if event.ref is not None}
    opened_refs.update(
        event.ref for _, event in timeline.within("email_clicked", window_days) if event.ref is not None
    )
    unopened: list[Aged] = []
    anonymous: list[Aged] = []
    for send in sends:
        ref = send[1].ref
        if ref is None:
            anonymous.append(send)
        elif ref not in opened_refs:
            unopened.append(send)
    if anonymous:
        unopened.extend(_unpaired(anonymous, [age for age, event in opens if event.ref is None]))
    unopened.sort(key=lambda send: -send[0])
    return Mail(len(sends), tuple(unopened))


def _unpaired(sends: list[Aged], open_ages: list[int]) -> list[Aged]:
    # Oldest first; on a shared day the send comes first (0 before 1), so a same-day open can pair with it.
    timeline = sorted(
        [(-age, 0, index) for index, (age, _) in enumerate(sends)] + [(-age, 1, -1) for age in open_ages]
    )
    waiting: list[Aged] = []
    for _, is_open, index in timeline:
        if not is_open:
            waiting.append(sends[index])
        elif waiting:
            waiting.pop()
    return waiting
