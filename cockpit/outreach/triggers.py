"""Playbook triggers: a small expression language over an account's facts, checked when it is compiled.

A trigger is one expression in Jinja's expression syntax, restricted to what a filter needs: fact names,
constants (`'high'`, `90`, `true`, `none`, lists `['a', 'b']`), comparisons (`==`, `!=`, `<`, `<=`, `>`,
`>=`, `in`, `not in`), `is none` / `is not none`, `and`, `or`, `not` and parentheses. Jinja only parses it;
the tree is compiled here into plain Python closures (never `eval`), so no attribute, call, filter or
arithmetic can run, and a typo fails when the config is read rather than on some account at night:

- every name must be a fact of `FACTS`, or `custom.KEY`, the account's custom field KEY (text: what an import
  kept beyond cockpit's fields), and a contact fact needs a playbook that is about a contact;
- comparisons must compare like with like (a number with a number, text with text), and text compared with a
  fact that has fixed values must be one of them (`churn_tier == 'hihg'` is an error that lists the tiers).

A trigger nests at most `MAX_DEPTH` levels (each and, or, not, comparison and list is one): far beyond any
real trigger, and no config can exhaust Python's stack when the trigger is read or run.

Missing facts are None. An ordering comparison (`<`, `<=`, `>`, `>=`) with None is false, as is `in` with
None on either side; `==` and `!=` compare None like any value. So `renewal_in_days <= 90` is false for an
account without a renewal date, and `is not none` is only needed where None itself is the question.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple, Protocol, get_args

from jinja2 import Environment, nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.parser import Parser

from cockpit.config import HealthBand
from cockpit.domain.records import custom_key
from cockpit.outreach.facts import CUSTOM
from cockpit.scoring.churn import SIGNALS as CHURN_SIGNALS

FactType = Literal["number", "text", "flag", "list"]


class Facts(Protocol):
    """Fact name -> value (None when unknown) for one account, or one contact of it: a dict, or anything that
    looks names up the same way."""

    def get(self, key: str, /) -> Any: ...


@dataclass(frozen=True)
class Fact:
    name: str
    type: FactType
    help: str
    choices: tuple[str, ...] = ()
    """The values a text fact (or each element of a list fact) can take; empty when open."""
    contact: bool = False
    """A fact of one contact: only playbooks about a contact may use it."""
    explained: bool = False
    """Read from the stored score explanation, which is costly: loaded for the whole book only when a trigger
    names such a fact."""
    journeys: bool = False
    """Mined from the whole book's journeys (`cockpit journeys`): only when a trigger names it."""
    emails: bool = False
    """Read from the email signals: in an events source other than `local`, opened only when a playbook
    needs them (`Playbooks.emails`)."""


_TIERS: Final = ("high", "medium", "low")
FACTS: Final[dict[str, Fact]] = {
    fact.name: fact
    for fact in (
        Fact("account_id", "text", "the account's id"),
        Fact("name", "text", "the account's name"),
        Fact("owner", "text", "the account's owner (its CSM)"),
        Fact("segment", "text", "the account's segment"),
        Fact("plan", "text", "the account's plan"),
        Fact(
            "lifecycle_stage",
            "text",
            "the account's lifecycle stage: onboarding, adoption, retention, expansion or advocacy (the CRM's, "
            "else read from the scores)",
        ),
        Fact("mrr", "number", "monthly recurring revenue"),
        Fact("arr", "number", "annual recurring revenue (mrr x 12)"),
        Fact("seats", "number", "seats bought"),
        Fact("health", "number", "health 0-100 (none with not enough data)"),
        Fact("health_band", "text", "health band (insufficient: not enough data)", get_args(HealthBand)),
        Fact("churn_risk", "number", "churn risk 0-1"),
        Fact("churn_tier", "text", "churn tier", _TIERS),
        Fact("value_tier", "text", "value tier", ("high", "medium", "other")),
        Fact("priority", "text", "the priority label of churn tier x value tier ([priority])"),
        Fact("adoption", "text", "account adoption", ("not started", "onboarding", "adopted", "power")),
        Fact("adoption_share", "number", "share of entitled features adopted, 0-1"),
        Fact("cross_sell_ready", "flag", "ready for a complementary product"),
        Fact("cross_sell_product", "text", "the complementary product's id, when ready"),
        Fact("advocacy", "text", "advocacy segment", ("lover", "liker", "lurker")),
        Fact("renewal_in_days", "number", "days from today to the renewal date (negative: past)"),
        Fact("days_since_touch", "number", "days since the last logged call, meeting, QBR or outbound email"),
        Fact(
            "unopened_email_days",
            "number",
            "age in days of the latest email a person sent (not a newsletter), if it was not opened",
            emails=True,
        ),
        Fact(
            "stalled_feature",
            "text",
            "the feature stalled in onboarding that was tried most recently (its id)",
            explained=True,
        ),
        Fact("stalled_tried_days", "number", "days since that feature was first used", explained=True),
        Fact("stalled_idle_days", "number", "days since that feature was last used", explained=True),
        Fact("stalled_features", "list", "every feature stalled in onboarding (ids)", explained=True),
        Fact(
            "churn_signals",
            "list",
            "the churn signals that fired",
            CHURN_SIGNALS,
            explained=True,
        ),
        Fact(
            "birthday_in_days",
            "number",
            "days to the contact's next birthday (0: today); none without consent",
            contact=True,
        ),
        Fact("contact_role", "text", "the contact's role", contact=True),
        Fact(
            "journey_patterns",
            "list",
            "the journey patterns the account is on now: each path to churn or renewal that stands out "
            "(`cockpit journeys`), its steps joined by ' > ', e.g. 'usage_drop > emails_unopened'",
            journeys=True,
        ),
    )
}
"""Every name a trigger can use (docs/outreach.md lists them), besides the custom fields (`fact_named`)."""


def fact_named(name: str) -> Fact:
    """The fact a trigger reads under `name`: one of `FACTS`, or a custom field of the account (text)."""
    fact = FACTS.get(name)
    if fact is not None:
        return fact
    if name.startswith(CUSTOM):
        return Fact(name, "text", "a custom field of the account")
    raise KeyError(name)


class TriggerError(ValueError):
    """A trigger that cannot be compiled; the message says what to fix."""


Evaluate = Callable[[Facts], Any]


@dataclass(frozen=True)
class Trigger:
    source: str
    names: tuple[str, ...]
    """The facts it reads, in order of first use: recorded with each item as the values that fired it."""
    evaluate: Evaluate

    def fires(self, facts: Facts) -> bool:
        return bool(self.evaluate(facts))

    @property
    def explained(self) -> bool:
        return any(fact_named(name).explained for name in self.names)

    @property
    def journeys(self) -> bool:
        return any(fact_named(name).journeys for name in self.names)

    @property
    def emails(self) -> bool:
        return any(fact_named(name).emails for name in self.names)

    @property
    def per_contact(self) -> bool:
        return any(fact_named(name).contact for name in self.names)


MAX_DEPTH: Final = 50
_PARSER_ENV: Final = Environment()
_ORDERING: Final = {"lt": operator.lt, "lteq": operator.le, "gt": operator.gt, "gteq": operator.ge}
_SYMBOL: Final = {"lt": "<", "lteq": "<=", "gt": ">", "gteq": ">=", "eq": "==", "ne": "!=", "in": "in"}


class _Node(NamedTuple):
    """A compiled node: its closure, its static type (None: unknown), its constant value, and its fact if it
    is a bare fact name."""

    evaluate: Evaluate
    type: FactType | None
    constant: Any = None
    is_constant: bool = False
    fact: Fact | None = None


def compile_trigger(source: str) -> Trigger:
    """Compile a trigger, or raise `TriggerError` naming the problem."""
    if not source.strip():
        raise TriggerError("the trigger is empty")
    too_deep = f"nested more than {MAX_DEPTH} levels deep (each and, or, not, comparison and list is a level)"
    try:
        parser = Parser(_PARSER_ENV, source, state="variable")
        tree = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("unexpected text after the expression", parser.stream.current.lineno)
    except TemplateSyntaxError as error:
        raise TriggerError(f"not a valid expression: {error.message}") from None
    except RecursionError:  # Jinja's parser recurses for each bracket and `not`
        raise TriggerError(too_deep) from None
    if _depth(tree) > MAX_DEPTH:
        raise TriggerError(too_deep)
    names: list[str] = []
    compiled = _compile(tree, names)
    return Trigger(source, tuple(dict.fromkeys(names)), compiled.evaluate)


def _depth(tree: nodes.Node) -> int:
    """How many levels deep the expression nests, counted without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack += [(child, depth + 1) for child in node.iter_child_nodes()]
    return deepest


def _constant(value: Any, kind: FactType | None) -> _Node:
    return _Node(lambda facts: value, kind, value, is_constant=True)


def _compile(node: nodes.Node, names: list[str]) -> _Node:
    if isinstance(node, nodes.Name):
        fact = FACTS.get(node.name)
        if fact is None:
            raise TriggerError(f"{node.name!r} is not a fact; facts: {', '.join(FACTS)}")
        names.append(fact.name)
        key = fact.name
        return _Node(lambda facts: facts.get(key), fact.type, fact=fact)
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name == "custom":
        if custom_key(node.attr) != node.attr:
            raise TriggerError(f"{node.attr!r} is not a custom field key (lower case letters, digits and _)")
        name = CUSTOM + node.attr
        names.append(name)
        return _Node(lambda facts: facts.get(name), "text", fact=fact_named(name))
    if isinstance(node, nodes.Const):
        value = node.value
        if value is None:
            return _constant(None, None)
        if isinstance(value, bool):
            return _constant(value, "flag")
        if isinstance(value, int | float):
            return _constant(value, "number")
        if isinstance(value, str):
            return _constant(value, "text")
        raise TriggerError(f"{value!r} is not a constant a trigger can use")
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const):
        number = node.node.value
        if isinstance(number, int | float) and not isinstance(number, bool):
            return _constant(-number, "number")
    if isinstance(node, nodes.List | nodes.Tuple):
        items = [_compile(item, names) for item in node.items]
        if not all(item.is_constant for item in items):
            raise TriggerError("a list in a trigger holds constants only, e.g. ['high', 'medium']")
        return _constant(tuple(item.constant for item in items), "list")
    if isinstance(node, nodes.And | nodes.Or):
        left = _compile(node.left, names).evaluate
        right = _compile(node.right, names).evaluate
        if isinstance(node, nodes.And):
            return _Node(lambda facts: left(facts) and right(facts), "flag")
        return _Node(lambda facts: left(facts) or right(facts), "flag")
    if isinstance(node, nodes.Not):
        inner = _compile(node.node, names).evaluate
        return _Node(lambda facts: not inner(facts), "flag")
    if isinstance(node, nodes.Test):
        if node.name != "none" or node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise TriggerError(
                f"'is {node.name}' is not a test a trigger can use; use 'is none' or 'is not none'"
            )
        tested = _compile(node.node, names).evaluate
        return _Node(lambda facts: tested(facts) is None, "flag")
    if isinstance(node, nodes.Compare):
        return _compare(node, names)
    raise TriggerError(f"{_describe(node)} is not allowed in a trigger")


def _compare(node: nodes.Compare, names: list[str]) -> _Node:
    left = _compile(node.expr, names)
    checks: list[Evaluate] = []
    for operand in node.ops:
        right = _compile(operand.expr, names)
        checks.append(_comparison(operand.op, left, right))
        left = right
    if len(checks) == 1:
        return _Node(checks[0], "flag")
    return _Node(lambda facts: all(check(facts) for check in checks), "flag")


def _comparison(op: str, left: _Node, right: _Node) -> Evaluate:
    get_left, get_right = left.evaluate, right.evaluate
    if op in ("in", "notin"):
        if right.type != "list":
            raise TriggerError("'in' needs a list on its right, e.g. churn_tier in ['high', 'medium']")
        _check_choices(left, right)
        _check_choices(right, left)
        negate = op == "notin"

        def contains(facts: Facts) -> bool:
            item, container = get_left(facts), get_right(facts)
            if item is None or container is None:
                return False
            return (item in container) != negate

        return contains
    if op not in _SYMBOL:
        raise TriggerError(f"the comparison {op!r} is not allowed in a trigger")
    if left.type and right.type and left.type != right.type:
        raise TriggerError(f"{_SYMBOL[op]} compares {left.type} with {right.type}: compare like with like")
    _check_choices(left, right)
    _check_choices(right, left)
    if op == "eq":
        return lambda facts: get_left(facts) == get_right(facts)
    if op == "ne":
        return lambda facts: get_left(facts) != get_right(facts)
    if {left.type, right.type} & {"list", "flag"}:
        raise TriggerError(f"{_SYMBOL[op]} orders numbers or text, not lists or flags")
    order = _ORDERING[op]

    def ordered(facts: Facts) -> bool:
        a, b = get_left(facts), get_right(facts)
        return a is not None and b is not None and bool(order(a, b))

    return ordered


def _check_choices(side: _Node, other: _Node) -> None:
    """Text compared with a fact of fixed values must be one of them (a typo would never match)."""
    fact = side.fact
    if fact is None or not fact.choices or not other.is_constant:
        return
    values = other.constant if isinstance(other.constant, tuple) else (other.constant,)
    for value in values:
        if isinstance(value, str) and value not in fact.choices:
            raise TriggerError(
                f"{fact.name} is never {value!r}; it is one of {', '.join(repr(c) for c in fact.choices)}"
            )


def _describe(node: nodes.Node) -> str:
    kinds: tuple[tuple[type[nodes.Node], str], ...] = (
        (nodes.Getattr, "attribute access (a.b)"),
        (nodes.Getitem, "indexing (a[b])"),
        (nodes.Call, "a call"),
        (nodes.Filter, "a filter (|)"),
        (nodes.CondExpr, "an if-else expression"),
        (nodes.BinExpr, "arithmetic"),
        (nodes.UnaryExpr, "arithmetic"),
        (nodes.Dict, "a dict"),
        (nodes.Concat, "concatenation (~)"),
    )
    for kind, label in kinds:
        if isinstance(node, kind):
            return label
    return type(node).__name__
