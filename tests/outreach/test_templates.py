"""Templates: tokens render, a hole in a message stops it with the token named, and the sandbox holds."""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.outreach.templates import MAX_MESSAGE_CHARS, TOKENS, RenderError, Templates

TOKENS_OF_ONE: dict[str, Any] = {
    "account": {"id": "acc-1", "name": "Acme Corp", "arr": 84000.0, "renewal_date": "2027-01-31"},
    "contact": {"id": "con-1", "name": "Ann Lee", "first_name": "Ann", "email": None, "role": ""},
    "csm": {"name": "Sofia"},
    "feature": {"id": "ana-explore", "name": "Explorer", "product": "analytics"},
}


def render(subject: str, body: str = "Body") -> tuple[str, str]:
    templates = Templates("USD")
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
    templates = Templates("USD")
    problems = templates.check(source)
    if problems:  # refused when the config is read: an unknown filter or name
        assert all(isinstance(problem, str) for problem in problems)
        return
    with pytest.raises(RenderError):
        templates.render(templates.compile("t", "Subject", source), TOKENS_OF_ONE)
    assert TOKENS_OF_ONE["account"]["name"] == "Acme Corp"  # nothing changed the data


def test_checking_a_template_names_unknown_tokens_and_bad_syntax() -> None:
    templates = Templates("USD")
    assert templates.check("Hi {{ contact.first_name }} from {{ csm.name }}") == []
    assert templates.check("{% for s in churn.signals %}{{ s.detail }}{% endfor %}") == []
    assert "'acount' is not a token" in templates.check("{{ acount.name }}")[0]
    assert "line 1" in templates.check("{{ account.name }")[0]
    assert "No filter named 'center'" in templates.check("{{ account.name|center(9) }}")[0]
    assert templates.check("a\x1eb") == ["holds the control character \\x1e"]


def test_the_message_length_is_bounded() -> None:
    with pytest.raises(RenderError) as caught:
        render("Hi", "{% for i in range(900) %}{{ 'x' * 900 }}{% endfor %}")
    assert f"longer than {MAX_MESSAGE_CHARS:,}" in str(caught.value)


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
