"""How to read the purchase model's numbers where they read as more than they are."""

from __future__ import annotations


def p_alive_note(model: str, p_alive: float | None, repeats: int | None) -> str | None:
    """The note beside P(alive) for a buyer without a repeat purchase (`repeats` 0), valued by the purchase
    model: BG/NBD lets a customer drop out only after a repeat purchase, so with one purchase P(alive) is 1
    by construction, whatever she does next; the chance of buying again weighs how often she bought."""
    if p_alive is None or model == "churned" or repeats != 0:
        return None
    return (
        "one purchase so far: BG/NBD sees a dropout only after a repeat purchase, so P(alive) is 1 by "
        "construction and is no evidence; P(buy again) is the chance to go by"
    )
