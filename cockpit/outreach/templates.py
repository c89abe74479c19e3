"""Message templates: Jinja2 in its immutable sandbox, where an empty or undefined token stops the message.

A template sees only plain data (dicts, lists, text, numbers), the tokens of `TOKENS`. On top of Jinja's
sandbox (no attribute that starts with `_`, no internals, nothing that changes data), this environment
- renders undefined names and attributes as errors (StrictUndefined) and refuses a `{{ }}` whose value is
  None or blank, so that no message goes out with a hole in it; the reason names the token; a list that
  holds an undefined value (`map(attribute=...)` on a missing attribute) is refused too, never shown;
- allows only a short list of methods and filters;
- bounds every render (`RenderLimits`, from `[outreach]` in the settings): it counts steps (each turn of a
  loop, each call, filter, operator, attribute or item looked up, each element of a value it measures)
  and stops at `template_max_steps`; no text or list it builds (an operator's, a filter's, a method's, a
  `~`, a block's output) and no message may exceed `template_max_chars`; `range` is short and powers small.
  It counts rather than reads a clock (only the shells read the time) and checks each value before it is
  built where it can (`*`, `+`, `~`, `join`), so a template can neither hang a plan nor fill the memory.

Any failure is a `RenderError` with the reason in words: the planner records it and does not queue the message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, Final

from jinja2 import StrictUndefined, Template, TemplateError, meta, nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.runtime import Context, LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

TOKENS: Final[dict[str, str]] = {
    "account": "id, name, domain, owner, segment, plan, mrr, arr, seats, start_date, renewal_date",
    "contact": "id, name, first_name, email, phone, role; birthday only where the contact consented",
    "csm": "name: the account's owner (general.me when the account has none)",
    "scores": "health, health_band, churn_risk, churn_tier, value_tier, priority, adoption, "
    "adoption_share, cross_sell_ready, advocacy",
    "churn": "reasons (the churn signals that fired, in words), signals (each with name, on, detail)",
    "feature": "id, name, product: the feature stalled in onboarding",
    "product": "id, name, reason: the complementary product recommended",
    "owned_product": "id, name: the owned product it builds on",
    "last_email": "subject, sent_on, days: the latest email sent, when it was not opened",
    "renewal": "date, in_days",
    "playbook": "id, title",
    "today": "the planning day (YYYY-MM-DD)",
    "due_on": "the day the message is due (YYYY-MM-DD)",
}
"""Every name a template can use, and what it holds (docs/outreach.md lists them too)."""


@dataclass(frozen=True)
class RenderLimits:
    """How far one render may go (`[outreach]` template_max_steps, template_max_chars)."""

    steps: int
    """Steps a message may take: loop turns, calls, filters, operators, lookups, elements measured."""
    chars: int
    """The longest subject or body, and the largest text or list (in characters shown) a template builds."""


_MAX_BITS: Final = 10_000
"""The largest number (in bits) a power or a product may build."""
_MAX_RANGE: Final = 1_000

_SAFE_METHODS: Final[dict[type, frozenset[str]]] = {
    str: frozenset(
        {
            "upper",
            "lower",
            "title",
            "capitalize",
            "strip",
            "lstrip",
            "rstrip",
            "split",
            "startswith",
            "endswith",
        }
    ),
    dict: frozenset({"keys", "values", "items", "get"}),
    list: frozenset({"index", "count"}),
    tuple: frozenset({"index", "count"}),
}
_SAFE_FILTERS: Final = frozenset(
    {
        "abs", "capitalize", "default", "d", "first", "float", "int", "join", "last", "length", "count",
        "list", "lower", "max", "min", "round", "sort", "string", "sum", "title", "trim", "truncate",
        "unique", "upper", "wordcount", "map", "select", "reject", "selectattr", "rejectattr",
    }
)  # fmt: skip
_SAFE_TESTS: Final = ("defined", "undefined", "none", "number", "string")
_NAMED_BY_ARGUMENT: Final = {"map": "filters", "select": "tests", "reject": "tests"}
"""Filters whose first argument names a filter or a test (`map('upper')`), and which."""
_NAMED_BY_SECOND: Final = {"selectattr": "tests", "rejectattr": "tests"}


class RenderError(Exception):
    """A message that cannot be written; the message says why, naming the token."""


class _Empty(TemplateError):
    """Raised by `finalize` for a `{{ }}` whose value is None or blank."""


class _OverLimit(Exception):
    """A render that went past its `RenderLimits`; the message says which, naming the setting."""


class _Budget:
    """The steps left to one render."""

    def __init__(self, limits: RenderLimits) -> None:
        self.left = limits.steps
        self.limits = limits

    def charge(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            raise _OverLimit(
                f"takes more than {self.limits.steps:,} steps to render (outreach.template_max_steps)"
            )


_BUDGET: Final[ContextVar[_Budget | None]] = ContextVar("template_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:  # Jinja folding a constant when it compiles: it evaluates the node when it renders
        raise _OverLimit("no render is running")
    return budget


def _too_long(limits: RenderLimits, what: str = "") -> _OverLimit:
    return _OverLimit(
        f"{what} longer than {limits.chars:,} characters (outreach.template_max_chars)".lstrip()
    )


@contextmanager
def _steps(limits: RenderLimits) -> Iterator[None]:
    """A fresh budget of steps for the renders inside."""
    token = _BUDGET.set(_Budget(limits))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _scalar_weight(value: str | int | float) -> int:
    """What `_weight` counts for text, an int or a float (never a bool: `_fill` takes none), at once."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    return 1


def _weight(value: Any, limit: int) -> tuple[int, int]:
    """(about the characters `value` shows as text, the elements looked at), counted until past `limit`; a
    list or dict that holds an undefined value raises its UndefinedError, as showing it would."""
    total = visited = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        visited += 1
        kind = type(item)
        if kind is str:
            total += len(item)
        elif kind is int:
            total += item.bit_length() // 3 + 1
        elif kind in _SCALARS:
            total += 1
        elif kind is list or kind is tuple:
            total += 2 + 2 * len(item)
            stack += item
        elif isinstance(item, Undefined):
            if item is not value:
                item._fail_with_undefined_error()
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, Collection) and not isinstance(item, range):
            total += 2 + 2 * len(item)
            stack += list(item)
        else:
            total += len(item) if isinstance(item, str) else 1
    return total, visited


_SCALARS: Final = frozenset({float, bool, type(None)})


class _Generator(CodeGenerator):
    """Jinja's code generator with the render's bounds written in: each `{% for %}` counts its turns, each `~`
    is measured before it is joined, and each block of output (`{% set %}...{% endset %}`, a macro, a filter
    block) goes into a buffer that refuses to grow past the limit."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.bounded_buffer()")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        counted = isinstance(node.iter, nodes.Call) and isinstance(node.iter.node, nodes.EnvironmentAttribute)
        if not counted:
            iterate = nodes.EnvironmentAttribute("iterate", lineno=node.iter.lineno)
            node.iter = nodes.Call(iterate, [node.iter], [], None, None, lineno=node.iter.lineno)
        super().visit_For(node, frame)

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_parts((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")


class _Buffer(list[str]):
    """A block's output, refused once it is longer than `limits.chars`."""

    def __init__(self, limits: RenderLimits) -> None:
        super().__init__()
        self.limits = limits
        self.chars = 0

    def append(self, text: str) -> None:
        self.extend((text,))

    def extend(self, texts: Iterable[str]) -> None:
        texts = list(texts)
        _budget().charge(len(texts))
        self.chars += sum(map(len, texts))
        if self.chars > self.limits.chars:
            raise _too_long(self.limits, "a block of output would be")
        super().extend(texts)


class _Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, limits: RenderLimits, **options: Any) -> None:
        super().__init__(**options)
        self.limits = limits

    def measured(self, value: Any, what: str) -> Any:
        """`value`, once it is known to be no larger than the limit (each element looked at is a step)."""
        weight, visited = _weight(value, self.limits.chars)
        _budget().charge(visited)
        if weight > self.limits.chars:
            raise _too_long(self.limits, what)
        return value

    def listed(self, items: Iterable[Any], what: str) -> list[Any]:
        """The items of a lazy sequence (a `map`, a `select`), each a step, refused once they grow too large."""
        found: list[Any] = []
        weight = 0
        for item in self.iterate(items):
            found.append(item)
            weight += 2 + _weight(item, self.limits.chars)[0]
            if weight > self.limits.chars:
                raise _too_long(self.limits, what)
        return found

    def iterate(self, items: Iterable[Any]) -> Iterator[Any]:
        budget = _budget()
        for item in items:
            budget.charge()
            yield item

    def bounded_buffer(self) -> _Buffer:
        return _Buffer(self.limits)

    def concat(self, chunks: Iterable[str]) -> str:
        """What Jinja joins a block's output with (`self.b()`), refused once longer than the limit."""
        parts: list[str] = []
        size = 0
        for chunk in self.iterate(chunks):
            size += len(chunk)
            if size > self.limits.chars:
                raise _too_long(self.limits, "a block of output would be")
            parts.append(chunk)
        return "".join(parts)

    def concat_parts(self, parts: tuple[Any, ...]) -> str:
        """`a ~ b`: measured before it is joined."""
        self.measured(list(parts), "a ~ concatenation would be")
        return "".join(map(str, parts))

    def output(self, value: Any) -> Any:
        """A `{{ }}`'s value: refused when None or blank (a hole in the message) or too large to show."""
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _Empty("empty")
        return self.measured(value, "a value shown would be")

    def wrap_str_format(self, value: Any) -> None:
        """No str.format: its field widths could build huge text. `is_safe_attribute` then refuses it."""
        return None

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if callable(value):
            return any(isinstance(obj, kind) and attr in names for kind, names in _SAFE_METHODS.items())
        return True

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().charge()
        return super().getitem(obj, argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _budget().charge()
        if isinstance(__obj, LoopContext):  # a recursive loop's next level: its turns count too
            args = tuple(__self.iterate(arg) for arg in args)
        return __self.measured(super().call(__context, __obj, *args, **kwargs), "a call's result would be")

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        _budget().charge()
        if operator_ == "%" and isinstance(left, str):
            raise SecurityError("% formatting is not allowed in a template")
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        sequence, count = (left, right) if isinstance(left, str | list | tuple) else (right, left)
        if operator_ == "*" and isinstance(sequence, str | list | tuple) and isinstance(count, int):
            weight, visited = _weight(sequence, self.limits.chars)
            _budget().charge(visited)
            if weight * count > self.limits.chars:
                raise _too_long(self.limits, "the product would be")
        if (
            operator_ == "*"
            and isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > _MAX_BITS
        ):
            raise SecurityError("the product is too large")
        if operator_ == "**" and numbers and abs(left) > 1 and abs(right) * math.log2(abs(left)) > _MAX_BITS:
            raise SecurityError("the power is too large")
        if operator_ == "+" and not numbers:
            self.measured([left, right], "the sum would be")
        return super().call_binop(context, operator_, left, right)

    def bounded_filter(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function` counted as a step, its value (a lazy one listed first) and its result measured."""
        first = 0 if _PassArg.from_obj(function) is None else 1

        @wraps(function)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            _budget().charge()
            if len(args) > first:
                value = args[first]
                if isinstance(value, Iterator):
                    value = self.listed(value, f"the value of {name} would be")
                args = (*args[:first], self.measured(value, f"the value of {name} is"), *args[first + 1 :])
                if name == "join" and isinstance(value, Collection):  # measured before it is joined
                    separator = args[first + 1] if len(args) > first + 1 else kwargs.get("d", "")
                    joints = len(str(separator)) * max(len(value) - 1, 0)
                    if _weight(value, self.limits.chars)[0] + joints > self.limits.chars:
                        raise _too_long(self.limits, "the join would be")
            return self.measured(function(*args, **kwargs), f"the result of {name} would be")

        return bounded


def _bounded_range(*args: int) -> range:
    found = range(*args)
    if len(found) > _MAX_RANGE:
        raise SecurityError(f"range of {len(found)} items is too long (at most {_MAX_RANGE})")
    return found


def _money(value: Any, currency: str = "") -> str:
    if not isinstance(value, int | float):
        raise _Empty("empty")
    text = f"{value:,.0f}"
    return f"{text} {currency}".strip()


@dataclass(frozen=True)
class MessageTemplate:
    """A compiled template pair; `render` fills it for one item."""

    name: str
    subject: Template
    body: Template
    subject_source: str
    body_source: str
    both: Template
    """Subject and body as one template, split at `_SEPARATOR`: one render per message instead of two (a
    plan renders tens of thousands); the parts alone name the part that failed."""
    plain: tuple[_Plain, _Plain] | None = None
    """Subject and body as text and tokens shown, when that is all they are (`_plain`): filled without
    Jinja when every token shown is there and plain; else (and for every error) rendered as above."""
    names: frozenset[str] = frozenset()
    """The tokens subject or body name: a token neither names need not be made for it."""


_Shown = tuple[str, tuple[str, ...], bool]
"""A `{{ token.field... }}` of a plain template: the token, the fields looked up, whether `| money`."""
_Plain = tuple[str | _Shown, ...]
"""A plain template: its text and the tokens it shows, in order."""


def _plain(tree: nodes.Template) -> _Plain | None:
    """The template as text and shown tokens, when it is only that: text and `{{ token.field... }}`, each
    perhaps with `| money` (what most messages are); None for anything else."""
    found: list[str | _Shown] = []
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            return None
        for part in node.nodes:
            if isinstance(part, nodes.TemplateData):
                found.append(part.data)
                continue
            money = False
            if isinstance(part, nodes.Filter) and part.name == "money" and part.node is not None:
                if part.args or part.kwargs or part.dyn_args or part.dyn_kwargs:
                    return None
                money, part = True, part.node
            fields: list[str] = []
            while isinstance(part, nodes.Getattr):
                fields.append(part.attr)
                part = part.node
            if (
                not isinstance(part, nodes.Name)
                or part.ctx != "load"
                or any(hasattr(dict, f) for f in fields)
            ):
                return None  # (Jinja looks an attribute of dict up before the key: `{{ account.items }}`)
            found.append((part.name, tuple(reversed(fields)), money))
    return tuple(found)


_SEPARATOR: Final = "\x1e"
"""ASCII record separator, between subject and body in `MessageTemplate.both`; refused in templates."""


class Templates:
    """The sandboxed environment and the compiled templates of the settings."""

    def __init__(self, currency: str, limits: RenderLimits) -> None:
        env = _Sandbox(limits, undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        env.finalize = env.output
        filters: dict[str, Callable[..., Any]] = {name: env.filters[name] for name in _SAFE_FILTERS}
        filters["money"] = lambda value: _money(value, currency)
        env.filters = {name: env.bounded_filter(name, function) for name, function in filters.items()}
        env.tests = {name: env.tests[name] for name in _SAFE_TESTS}
        env.globals = {"range": _bounded_range}
        self.env = env
        self.limits = limits
        self.currency = currency
        self._expressions: dict[str, Callable[..., Any]] = {}

    def check(self, source: str) -> list[str]:
        """Problems of a template source: a syntax error, an unknown filter or test (`|x`, `map('x')`), or
        names that are not tokens. Empty if fine."""
        if _SEPARATOR in source:
            return ["holds the control character \\x1e"]
        try:
            tree = self.env.parse(source)
            names = meta.find_undeclared_variables(tree)
        except TemplateSyntaxError as error:  # syntax, or an unknown filter or test
            return [f"line {error.lineno}: {error.message}"]
        problems = [
            f"line {node.lineno}: {problem}"
            for node in tree.find_all(nodes.Filter)
            if (problem := self._named(node)) is not None
        ]
        unknown = sorted(names - set(TOKENS) - set(self.env.globals))
        return problems + [f"{name!r} is not a token; tokens: {', '.join(TOKENS)}" for name in unknown]

    def _named(self, node: nodes.Filter) -> str | None:
        """What is wrong with the filter or test that `map`, `select` and the like name by an argument."""
        for named, position in ((_NAMED_BY_ARGUMENT, 0), (_NAMED_BY_SECOND, 1)):
            kind = named.get(node.name)
            argument = node.args[position] if kind is not None and len(node.args) > position else None
            if kind is None or not isinstance(argument, nodes.Const):
                continue
            known = self.env.filters if kind == "filters" else self.env.tests
            if argument.value not in known:
                listed = ", ".join(sorted(known))
                return f"No {kind[:-1]} named {argument.value!r} (in {node.name}); {kind}: {listed}"
        return None

    def compile(self, name: str, subject: str, body: str) -> MessageTemplate:
        trees = self.env.parse(subject), self.env.parse(body)
        plain = _plain(trees[0]), _plain(trees[1])
        shown = [piece for part in plain for piece in part or () if not isinstance(piece, str)]
        # What one render of the shown tokens costs in steps (lookups, measures, the filter), with room to
        # spare: a plain template near the limit is left to Jinja, which stops it where it would.
        steps = sum(len(fields) + (4 if money else 1) for _, fields, money in shown)
        fits = 4 * steps + len(shown) <= self.limits.steps
        return MessageTemplate(
            name,
            self.env.from_string(subject),
            self.env.from_string(body),
            subject,
            body,
            self.env.from_string(f"{subject}{_SEPARATOR}{body}"),
            (plain[0], plain[1]) if plain[0] is not None and plain[1] is not None and fits else None,
            frozenset(meta.find_undeclared_variables(trees[0]) | meta.find_undeclared_variables(trees[1])),
        )

    def render(self, template: MessageTemplate, tokens: Mapping[str, Any]) -> tuple[str, str]:
        """(subject, body) for the tokens, or `RenderError` naming what stopped it."""
        if template.plain is not None:
            subject, body = (self._fill(part, tokens) for part in template.plain)
            if subject is not None and body is not None and subject.strip() and body.strip():
                return subject.strip(), body
        chunks: list[str] = []
        try:
            self._collect(template.both, tokens, chunks, ("subject", "body"))
        except RenderError:
            raise
        except Exception:  # the sandbox may raise anything from a template; the parts say which and why
            chunks = []
        subject, separator, body = "".join(chunks).partition(_SEPARATOR)
        if not separator or not subject.strip() or not body.strip() or _SEPARATOR in body:
            subject = self._render(template.subject, template.subject_source, "subject", tokens)
            body = self._render(template.body, template.body_source, "body", tokens)
        return subject.strip(), body

    def _fill(self, plain: _Plain, tokens: Mapping[str, Any]) -> str | None:
        """A plain template filled as Jinja would render it, when every token shown is there and is plain text
        or a number within the limits; None otherwise (Jinja then renders it, and says what is wrong)."""
        limit = self.limits.chars
        text: list[str] = []
        for piece in plain:
            if isinstance(piece, str):
                text.append(piece)
                continue
            name, fields, money = piece
            value = tokens.get(name, _ABSENT)
            for field in fields:  # none is an attribute of dict (`_plain`), which Jinja would look up first
                if type(value) is not dict or field not in value:
                    return None
                value = value[field]
            kind = type(value)
            if money:
                if (kind is not int and kind is not float) or _scalar_weight(value) > limit:
                    return None
                try:
                    value, kind = _money(value, self.currency), str
                except OverflowError:  # too large for a float: Jinja says so
                    return None
            if kind is str:
                if not value.strip():
                    return None
            elif kind is not int and kind is not float:
                return None
            if _scalar_weight(value) > limit:
                return None
            text.append(str(value))
        found = "".join(text)
        return found if len(found) <= limit else None

    def _collect(
        self, template: Template, tokens: Mapping[str, Any], chunks: list[str], parts: tuple[str, ...]
    ) -> None:
        """Render `template` into `chunks` in a budget of steps; `RenderError` naming the part (of `parts`,
        split at `_SEPARATOR`) when it goes past the limits."""
        index = size = 0
        with _steps(self.limits):
            try:
                for chunk in template.generate(tokens):
                    chunks.append(chunk)
                    head, separator, tail = chunk.partition(_SEPARATOR)
                    size += len(head)
                    if size > self.limits.chars:
                        raise _too_long(self.limits)
                    if separator and index + 1 < len(parts):
                        index, size = index + 1, len(tail)
                if size > self.limits.chars:
                    raise _too_long(self.limits)
            except _OverLimit as error:
                raise RenderError(f"{parts[index]}: {error}") from None
            except RecursionError:
                raise RenderError(f"{parts[index]}: calls itself too deeply (a macro or a loop)") from None

    def _render(self, compiled: Template, source: str, part: str, tokens: Mapping[str, Any]) -> str:
        chunks: list[str] = []
        try:
            self._collect(compiled, tokens, chunks, (part,))
        except RenderError:
            raise
        except Exception as error:  # the sandbox may raise anything from a template; none escapes
            raise RenderError(f"{part}: {self._culprit(source, tokens) or _explain(error)}") from None
        text = "".join(chunks)
        if not text.strip():
            raise RenderError(f"{part}: renders empty")
        return text

    def _culprit(self, source: str, tokens: Mapping[str, Any]) -> str | None:
        """The first `{{ token }}` of the source that is undefined, empty or not allowed, in words."""
        with _steps(self.limits):
            for match in _OUTPUT.finditer(source):
                expression = match.group(1).strip()
                try:
                    evaluate = self._expressions.get(expression)
                    if evaluate is None:
                        evaluate = self._expressions[expression] = self.env.compile_expression(
                            expression, undefined_to_none=False
                        )
                    str(self.env.output(evaluate(**tokens)))
                except _Empty:
                    return f"{{{{ {expression} }}}} is empty"
                except UndefinedError:
                    return f"{{{{ {expression} }}}} is undefined"
                except Exception as error:
                    return f"{{{{ {expression} }}}}: {_explain(error)}"
        return None


_ABSENT: Final = object()

_OUTPUT: Final = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)


def _explain(error: Exception) -> str:
    if isinstance(error, _Empty):
        return "a token is empty"
    if isinstance(error, UndefinedError):
        return f"a token is undefined ({error.message})"
    if isinstance(error, SecurityError):
        return f"not allowed: {error}"
    if isinstance(error, _OverLimit):
        return str(error)
    return f"{type(error).__name__}: {error}"
