"""What counts as a CSM's touch of an account: the logged interactions that show someone looking after it.

Health scores the days since the last one (`AccountFacts.last_csm_touch`), and outreach triggers read the
same days (`days_since_touch`). The rule is data, a set of (kind, direction) pairs, so that the store can
find the latest touch of every account in one query with the set as a parameter.
"""

from __future__ import annotations

from typing import Final, get_args

from cockpit.domain.names import DirectionName, InteractionKindName

_EVERY_DIRECTION: Final[tuple[InteractionKindName, ...]] = ("call", "meeting", "qbr")

CSM_TOUCHES: Final[frozenset[tuple[InteractionKindName, DirectionName]]] = frozenset(
    [(kind, direction) for kind in _EVERY_DIRECTION for direction in get_args(DirectionName)]
    + [("email", "outbound")]
)
"""The (kind, direction) of the interactions that are a CSM's touch: every call, meeting and QBR, and the
emails sent to the customer; never a note, nor an email received or sent internally."""
