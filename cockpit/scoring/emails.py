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
    opened_refs = {
        event.ref
        for kind in ("email_opened", "email_clicked")
        for _, event in timeline.within(kind, window_days)
        if event.ref is not None
    }
    unopened = [send for send in sends if send[1].ref is not None and send[1].ref not in opened_refs]
    anonymous_opens = [
        age for age, event in timeline.within("email_opened", window_days) if event.ref is None
    ]
    unopened.extend(_unpaired([send for send in sends if send[1].ref is None], anonymous_opens))
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
