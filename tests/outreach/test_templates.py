"""Templates: tokens render, a hole in a message stops it with the token named, and the sandbox holds."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace
from typing import Any

import pytest

from cockpit.outreach.templates import TOKENS, RenderError, RenderLimits, Templates
from tests.tuning import defaults

TOKENS_OF_ONE: dict[str, Any] = {
    "account": {"id": "acc-1", "name": "Acme Corp", "arr": 84000.0, "renewal_date": "2027-01-31"},
    "contact": {"id": "con-1", "name": "Ann Lee", "first_name": "Ann", "email": None, "role": ""},
    "csm": {"name": "Sofia"},
    "feature": {"id": "ana-explore", "name": "Explorer", "product": "analytics"},
}


LIMITS = RenderLimits(defaults().outreach.template_max_steps, defaults().outreach.template_max_chars)


def new_templates(limits: RenderLimits = LIMITS) -> Templates:
    return Templates("USD", limits)


def render(subject: str, body: str = "Body") -> tuple[str, str]:
    templates = new_templates()
    return templates.render(templates.compile("t", subject, body), TOKENS_OF_ONE)


def test_tokens_render_into_subject_and_body() -> None:
    subject, body = render(
        "Getting more from {{ feature.name }}",
        "Hi {{ contact.first_name }},\n\n{{ account.name }} ({{ account.arr | money }} ARR)\n{{ csm.name }}",
    )
    assert subject == "Getting more from Explorer"
    assert body == "Hi Ann,\n\nAcme Corp (84,000 USD ARR)\nSofia"


@pytest.mark.parametrize(
    ("subject", "body", "reason"),
    [
        ("Hi {{ contact.email }}", "x", "subject: {{ contact.email }} is empty"),
        ("Hi", "Role: {{ contact.role }}", "body: {{ contact.role }} is empty"),
        ("Hi", "{{ contact.birthday }}", "body: {{ contact.birthday }} is undefined"),
        ("About {{ product.name }}", "x", "subject: {{ product.name }} is undefined"),
        ("Hi", "{{ account.nickname | upper }}", "body: {{ account.nickname | upper }} is undefined"),
        ("{{ contact.email if false }}", "x", "subject: renders empty"),
        ("Hi", "{% if false %}x{% endif %}", "body: renders empty"),
    ],
)
def test_an_empty_or_undefined_token_stops_the_message(subject: str, body: str, reason: str) -> None:
    with pytest.raises(RenderError) as caught:
        render(subject, body)
    assert str(caught.value) == reason


# Each of these tries to reach Python's internals (the classic `__class__` / `__mro__` / `__subclasses__` /
# `__globals__` chains, Jinja's own objects), to change data, or to build something huge. Each must end as a
# RenderError (the message is not queued, the reason recorded) and never as output or another exception.
ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ account.__class__.__init__.__globals__ }}",
    "{{ account['__class__'] }}",
    "{{ account|attr('__class__') }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ range.__self__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ config }}",
    "{{ request }}",
    "{{ ''.format.__globals__ }}",
    "{{ '{0.__class__}'.format(account) }}",
    "{{ '%s' % account }}",
    "{{ account.update({'name': 'x'}) }}",
    "{{ account.pop('name') }}",
    "{{ account.setdefault('x', 1) }}",
    "{% set x = account.clear() %}{{ x }}",
    "{{ ''.join }}",
    "{{ account.name.encode('utf-8') }}",
    "{{ account.name.center(100000000) }}",
    "{{ 'a' * 100000000 }}",
    "{{ [0] * 100000000 }}",
    "{{ 10 ** 100000 }}",
    "{{ (10 ** 1000) ** 1000 }}",
    "{{ range(100000000)|list }}",
    "{% for i in range(999) %}{{ 'x' * 999 }}{% endfor %}",
    "{{ account.name|format(1) }}",
    "{{ account|tojson }}",
    "{{ account.name|center(100000000) }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_fail_safely(source: str) -> None:
    templates = new_templates()
    problems = templates.check(source)
    if problems:  # refused when the config is read: an unknown filter or name
        assert all(isinstance(problem, str) for problem in problems)
        return
    with pytest.raises(RenderError):
        templates.render(templates.compile("t", "Subject", source), TOKENS_OF_ONE)
    assert TOKENS_OF_ONE["account"]["name"] == "Acme Corp"  # nothing changed the data


def test_checking_a_template_names_unknown_tokens_and_bad_syntax() -> None:
    templates = new_templates()
    assert templates.check("Hi {{ contact.first_name }} from {{ csm.name }}") == []
    assert templates.check("{% for s in churn.signals %}{{ s.detail }}{% endfor %}") == []
    assert "'acount' is not a token" in templates.check("{{ acount.name }}")[0]
    assert "line 1" in templates.check("{{ account.name }")[0]
    assert "No filter named 'center'" in templates.check("{{ account.name|center(9) }}")[0]
    assert templates.check("a\x1eb") == ["holds the control character \\x1e"]


def test_the_message_length_is_bounded() -> None:
    with pytest.raises(RenderError) as caught:
        render("Hi", "{% for i in range(900) %}{{ 'x' * 900 }}{% endfor %}")
    assert f"longer than {LIMITS.chars:,}" in str(caught.value)


# Each builds far more than a message, or loops far longer than a message needs: refused with the reason and
# the setting that bounds it, in a few hundredths of a second and without building the value (the first
# took 83 s for one account, the join 1 GB, before renders were bounded).
BOUNDED = [
    ("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}x", "steps"),
    ("{% for i in range(100) %}{% for j in range(100) %}{% for k in range(100) %}{% endfor %}{% endfor %}"
     "{% endfor %}x", "steps"),
    ("{% for i in range(1000) %}{{ range(1000)|list|length }}{% endfor %}", "steps"),
    ("{% for s in account.name * 900 %}{% for t in account.name * 900 %}{% endfor %}{% endfor %}x", "steps"),
    ("{% for i in range(1000) %}{% for j in range(1000) %}{{ i }}{% endfor %}{% endfor %}", "steps"),
    ("{% set a = range(1000)|join('x' * 9999) %}{% set b = range(100)|join(a) %}{{ b|length }}", "the join"),
    ("{% set a = range(1000)|join('x' * 999) %}{{ a|length }}", "the join"),
    ("{{ 'x' * 10**9 }}", "the product"),
    ("{{ [account] * 10**6 }}", "the product"),
    ("{% set a = 'x' * 9000 %}{% set b = a ~ a ~ a %}{{ b|length }}", "a ~ concatenation"),
    ("{% set a = 'x' * 9000 %}{% set b = a + a + a %}{{ b|length }}", "the sum"),
    ("{% set a %}{% for i in range(900) %}{{ 'x' * 900 }}{% endfor %}{% endset %}{{ a|length }}", "a block"),
    ("{% set a = 'x' * 5000 %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}{{ b }}", "a value shown"),
    ("{% set a = 'x' * 5000 %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}{{ b|string|length }}", "string"),
    ("{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}", "calls itself too deeply"),
    ("{% for x in range(1000) recursive %}{{ loop(range(1000)) }}{% endfor %}", "calls itself too deeply"),
    ("{{ range(10**9)|length }}", "range of 1000000000 items"),
    ("{% for i in range(100) %}{{ 'x' * 900 }}{% endfor %}", f"longer than {LIMITS.chars:,} characters"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "reason"), BOUNDED)
def test_every_render_is_bounded_in_steps_and_size(source: str, reason: str) -> None:
    templates = new_templates()
    compiled = templates.compile("t", "Subject", source)
    tracemalloc.start()
    try:
        with pytest.raises(RenderError) as caught:
            templates.render(compiled, TOKENS_OF_ONE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(caught.value).startswith("body: ") and reason in str(caught.value)
    assert peak < 5_000_000  # bytes: nothing near a huge value was built


def test_the_limits_are_settings_named_in_the_reason() -> None:
    steps = "{% for i in range(600) %}{% for j in range(5) %}{% endfor %}{% endfor %}x"
    assert render("Subject", steps)[1] == "x"  # 3,600 steps: within the defaults
    templates = new_templates(RenderLimits(steps=2_000, chars=1_000))
    with pytest.raises(RenderError) as caught:
        templates.render(templates.compile("t", "Subject", steps), TOKENS_OF_ONE)
    assert str(caught.value) == "body: takes more than 2,000 steps to render (outreach.template_max_steps)"
    with pytest.raises(RenderError) as caught:
        templates.render(templates.compile("t", "{{ 'x' * 600 }}{{ 'y' * 600 }}", "Body"), TOKENS_OF_ONE)
    assert str(caught.value) == "subject: longer than 1,000 characters (outreach.template_max_chars)"


@pytest.mark.parametrize(
    "source",
    [
        "{{ churn.signals|map(attribute='nam')|list }}",
        "{{ churn.signals|map(attribute='nam')|join(', ') }}",
        "{{ churn.signals|map(attribute='nam')|list|string }}",
        "{% for name in churn.signals|map(attribute='nam') %}{{ name }}{% endfor %}",
        "{{ churn.signals|map(attribute='nam')|list|first }}",
    ],
)
def test_a_missing_attribute_in_map_stops_the_message_never_shows_undefined(source: str) -> None:
    templates = new_templates()
    tokens = {**TOKENS_OF_ONE, "churn": {"signals": [{"name": "cancel_click"}, {"name": "inactivity"}]}}
    with pytest.raises(RenderError) as caught:
        templates.render(templates.compile("t", "Subject", source), tokens)
    assert "undefined" in str(caught.value)
    good = "{{ churn.signals|map(attribute='name')|join(', ') }}"
    assert templates.render(templates.compile("t", "Subject", good), tokens)[1] == "cancel_click, inactivity"


def test_a_filter_or_test_named_by_map_or_select_is_checked() -> None:
    templates = new_templates()
    assert "No filter named 'upperx' (in map)" in templates.check("{{ churn.reasons|map('upperx')|join }}")[0]
    assert "No test named 'odd' (in select)" in templates.check("{{ churn.reasons|select('odd')|list }}")[0]
    assert "No test named 'eq' (in selectattr)" in templates.check("{{ x|selectattr('a', 'eq', 1)|list }}")[0]
    assert templates.check("{{ churn.reasons|map('upper')|select('string')|join(', ') }}") == []


def test_safe_methods_and_filters_still_work() -> None:
    subject, body = render(
        "{{ account.name.upper() }} / {{ account.name|lower }}",
        "{{ account.get('name') }} {{ account.name.split()|join('-') }} {{ contact.nickname|default('there') }}",
    )
    assert subject == "ACME CORP / acme corp"
    assert body == "Acme Corp Acme-Corp there"


def test_every_token_is_documented() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "outreach.md").read_text(encoding="utf-8")
    assert [name for name in TOKENS if f"`{name}`" not in docs] == []


PLAIN_VALUES: list[Any] = [
    "Ann", "  ", "", None, 0, 12, -3, 0.35, 84000.0, True, ["a"], {"name": "x"}, "a\x1eb", "x" * 1_200,
    10**400,
]  # fmt: skip


@pytest.mark.parametrize("value", PLAIN_VALUES, ids=lambda value: type(value).__name__)
def test_a_plain_template_fills_as_jinja_renders_it(value: Any) -> None:
    """A template of text and tokens (most messages) is filled without Jinja: the same text, or the same
    reason it cannot be written, whatever a token holds (missing, empty, a number, a list, too long)."""
    templates = new_templates(RenderLimits(1_000, 1_000))
    sources = [(template.subject, template.body) for template in defaults().outreach.templates.values()] + [
        ("{{ account.keys }}", "{{ account.name }}"),
        ("Hi {{ contact }}", "{{ account.arr | money }}!"),
    ]
    tokens = {
        "account": {"name": value, "arr": value, "keys": value},
        "contact": value,
        "csm": {"name": value},
        "renewal": {"date": value, "in_days": value},
    }
    for subject, body in sources:
        template = templates.compile("t", subject, body)
        assert template.plain is not None or "keys" in subject
        outcomes: list[tuple[str, str] | str] = []
        for compiled in (template, replace(template, plain=None)):
            try:
                outcomes.append(templates.render(compiled, tokens))
            except RenderError as error:
                outcomes.append(str(error))
        assert outcomes[0] == outcomes[1], (subject, body)


def test_a_template_with_more_than_tokens_is_left_to_jinja() -> None:
    templates = new_templates()
    for source in ("{% if csm %}x{% endif %}", "{{ account['name'] }}", "{{ csm.name | upper }}", "{{ 1 }}"):
        assert templates.compile("t", source, "body").plain is None
