"""Message templates: Jinja2 in its immutable sandbox, where an empty or undefined token stops the message.

A template sees only plain data (dicts, lists, text, numbers), the tokens of `TOKENS`. On top of Jinja's
sandbox (no attribute that starts with `_`, no internals, nothing that changes data), this environment
- renders undefined names and attributes as errors (StrictUndefined) and refuses a `{{ }}` whose value is
  None or blank, so that no message goes out with a hole in it; the reason names the token;
- allows only a short list of methods and filters, and bounds `*`, `**`, `%`, `range` and the length of a
  message, so that a template cannot build huge values.

Any failure is a `RenderError` with the reason in words: the planner records it and does not queue the message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

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

MAX_MESSAGE_CHARS: Final = 20_000
"""A rendered subject or body longer than this is refused."""
_MAX_BUILT: Final = 10_000
"""The largest text, list or power a single operator may build."""
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


class RenderError(Exception):
    """A message that cannot be written; the message says why, naming the token."""


class _Empty(TemplateError):
    """Raised by `finalize` for a `{{ }}` whose value is None or blank."""


def _finalize(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _Empty("empty")
    return value


def _bounded_range(*args: int) -> range:
    found = range(*args)
    if len(found) > _MAX_RANGE:
        raise SecurityError(f"range of {len(found)} items is too long (at most {_MAX_RANGE})")
    return found


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def wrap_str_format(self, value: Any) -> None:
        """No str.format: its field widths could build huge text. `is_safe_attribute` then refuses it."""
        return None

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if callable(value):
            return any(isinstance(obj, kind) and attr in names for kind, names in _SAFE_METHODS.items())
        return True

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "%" and isinstance(left, str):
            raise SecurityError("% formatting is not allowed in a template")
        if operator_ == "*":
            count = right if isinstance(left, str | list | tuple) else left
            if isinstance(count, int) and max(_size(left), _size(right)) * abs(count) > _MAX_BUILT:
                raise SecurityError("the product is too long")
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        if operator_ == "**" and numbers and abs(left) > 1 and abs(right) * math.log2(abs(left)) > _MAX_BUILT:
            raise SecurityError("the power is too large")
        return super().call_binop(context, operator_, left, right)


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


_SEPARATOR: Final = "\x1e"
"""ASCII record separator, between subject and body in `MessageTemplate.both`; refused in templates."""


class Templates:
    """The sandboxed environment and the compiled templates of the settings."""

    def __init__(self, currency: str) -> None:
        env = _Sandbox(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_finalize
        )
        env.filters = {name: env.filters[name] for name in _SAFE_FILTERS}
        env.filters["money"] = lambda value: _money(value, currency)
        env.tests = {name: env.tests[name] for name in ("defined", "undefined", "none", "number", "string")}
        env.globals = {"range": _bounded_range}
        self.env = env

    def check(self, source: str) -> list[str]:
        """Problems of a template source: a syntax error, or names that are not tokens. Empty if fine."""
        if _SEPARATOR in source:
            return ["holds the control character \\x1e"]
        try:
            names = meta.find_undeclared_variables(self.env.parse(source))
        except TemplateSyntaxError as error:  # syntax, or an unknown filter or test
            return [f"line {error.lineno}: {error.message}"]
        unknown = sorted(names - set(TOKENS) - set(self.env.globals))
        return [f"{name!r} is not a token; tokens: {', '.join(TOKENS)}" for name in unknown]

    def compile(self, name: str, subject: str, body: str) -> MessageTemplate:
        return MessageTemplate(
            name,
            self.env.from_string(subject),
            self.env.from_string(body),
            subject,
            body,
            self.env.from_string(f"{subject}{_SEPARATOR}{body}"),
        )

    def render(self, template: MessageTemplate, tokens: Mapping[str, Any]) -> tuple[str, str]:
        """(subject, body) for the tokens, or `RenderError` naming what stopped it."""
        try:
            subject, separator, body = template.both.render(tokens).partition(_SEPARATOR)
        except Exception:  # the sandbox may raise anything from a template; the parts say which and why
            separator = ""
        if not separator or not subject.strip() or not body.strip() or _SEPARATOR in body:
            subject = self._render(template.subject, template.subject_source, "subject", tokens)
            body = self._render(template.body, template.body_source, "body", tokens)
        elif len(subject) > MAX_MESSAGE_CHARS or len(body) > MAX_MESSAGE_CHARS:
            part = "subject" if len(subject) > MAX_MESSAGE_CHARS else "body"
            raise RenderError(f"{part}: longer than {MAX_MESSAGE_CHARS:,} characters")
        return subject.strip(), body

    def _render(self, compiled: Template, source: str, part: str, tokens: Mapping[str, Any]) -> str:
        try:
            text = compiled.render(tokens)
        except Exception as error:  # the sandbox may raise anything from a template; none escapes
            raise RenderError(f"{part}: {self._culprit(source, tokens) or _explain(error)}") from None
        if not text.strip():
            raise RenderError(f"{part}: renders empty")
        if len(text) > MAX_MESSAGE_CHARS:
            raise RenderError(f"{part}: longer than {MAX_MESSAGE_CHARS:,} characters")
        return text

    def _culprit(self, source: str, tokens: Mapping[str, Any]) -> str | None:
        """The first `{{ token }}` of the source that is undefined, empty or not allowed, in words."""
        for match in _OUTPUT.finditer(source):
            expression = match.group(1).strip()
            try:
                value = self.env.compile_expression(expression, undefined_to_none=False)(**tokens)
                _finalize(value)
                str(value)
            except _Empty:
                return f"{{{{ {expression} }}}} is empty"
            except UndefinedError:
                return f"{{{{ {expression} }}}} is undefined"
            except Exception as error:
                return f"{{{{ {expression} }}}}: {_explain(error)}"
        return None


_OUTPUT: Final = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)


def _explain(error: Exception) -> str:
    if isinstance(error, _Empty):
        return "a token is empty"
    if isinstance(error, UndefinedError):
        return f"a token is undefined ({error.message})"
    if isinstance(error, SecurityError):
        return f"not allowed: {error}"
    return f"{type(error).__name__}: {error}"
