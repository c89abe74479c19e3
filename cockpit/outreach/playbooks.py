"""The playbooks of the settings, compiled once per run: triggers, `due_in` and templates checked together.

Anything wrong is a `ConfigError` that names the playbook or template and the key, so a typo stops the plan
before it reads the book, not half way through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.config import Playbook, Settings
from cockpit.errors import ConfigError
from cockpit.outreach.templates import MessageTemplate, RenderLimits, Templates
from cockpit.outreach.triggers import FACTS, Trigger, TriggerError, compile_trigger, fact_named


@dataclass(frozen=True)
class CompiledPlaybook:
    config: Playbook
    trigger: Trigger
    template: MessageTemplate
    roles: tuple[str, ...]
    """Contact roles in order of preference."""

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def fixed_date(self) -> bool:
        """Due on a date (a birthday) rather than as soon as possible."""
        return bool(self.config.due_in)


@dataclass(frozen=True)
class Playbooks:
    templates: Templates
    playbooks: tuple[CompiledPlaybook, ...]
    muted: frozenset[str] = frozenset()
    """The ids of the playbooks the CSM muted: they queue nothing, and their untouched drafts are withdrawn."""

    @property
    def active(self) -> tuple[CompiledPlaybook, ...]:
        """The playbooks that plan: every one not muted."""
        return tuple(playbook for playbook in self.playbooks if playbook.id not in self.muted)

    @property
    def explained(self) -> bool:
        """Whether any trigger needs facts from the score explanations."""
        return any(playbook.trigger.explained for playbook in self.active)

    @property
    def journeys(self) -> bool:
        """Whether any trigger needs the journey patterns the accounts are on."""
        return any(playbook.trigger.journeys for playbook in self.playbooks)

    @property
    def emails(self) -> bool:
        """Whether any playbook planning reads the accounts' unopened emails: in its trigger
        (`unopened_email_days`), for its recipient (about an email) or in its template (`last_email`)."""
        return any(
            playbook.trigger.emails
            or playbook.config.about == "email"
            or "last_email" in playbook.template.names
            for playbook in self.active
        )

    @property
    def per_contact(self) -> bool:
        return any(playbook.config.about == "contact" for playbook in self.active)

    @property
    def follow_up_campaigns(self) -> frozenset[str]:
        """The bulk campaigns some playbook about an email follows up (a person's emails always count)."""
        return frozenset(
            campaign
            for playbook in self.active
            if playbook.config.about == "email"
            for campaign in playbook.config.follow_up_campaigns
        )

    def get(self, playbook_id: str) -> CompiledPlaybook | None:
        return next((playbook for playbook in self.playbooks if playbook.id == playbook_id), None)


def compile_playbooks(settings: Settings) -> Playbooks:
    outreach = settings.outreach
    templates = Templates(
        settings.general.currency, RenderLimits(outreach.template_max_steps, outreach.template_max_chars)
    )
    problems: list[str] = []
    broken: set[str] = set()
    for name, template in outreach.templates.items():
        users = ", ".join(playbook.id for playbook in outreach.playbooks if playbook.template == name)
        for part, source in (("subject", template.subject), ("body", template.body)):
            found = templates.check(source)
            where = f"outreach.templates.{name}.{part}" + (f" (playbook {users})" if users else "")
            problems += [f"{where}: {problem}" for problem in found]
            broken |= {name} if found else set()
    compiled: list[CompiledPlaybook] = []
    for index, playbook in enumerate(outreach.playbooks):
        where = f"outreach.playbooks[{index}] ({playbook.id})"
        try:
            trigger = _trigger(playbook)
        except TriggerError as error:
            problems.append(f"{where}.trigger: {error}")
            continue
        due_in = _due_in_problem(playbook)
        if due_in:
            problems.append(f"{where}.due_in: {due_in}")
            continue
        if playbook.template in broken:  # said above; it would not compile
            continue
        template = outreach.templates[playbook.template]
        compiled.append(
            CompiledPlaybook(
                playbook,
                trigger,
                templates.compile(playbook.template, template.subject, template.body),
                tuple(playbook.roles or outreach.contact_roles),
            )
        )
    if problems:
        raise ConfigError(
            "\n".join(f"config: {problem}" for problem in problems),
            hint="Fix the keys named above; docs/outreach.md lists the facts and tokens.",
        )
    return Playbooks(templates, tuple(sorted(compiled, key=lambda playbook: playbook.config.priority)))


def _trigger(playbook: Playbook) -> Trigger:
    trigger = compile_trigger(playbook.trigger)
    if trigger.per_contact and playbook.about != "contact":
        contact_facts = [name for name in trigger.names if fact_named(name).contact]
        raise TriggerError(
            f'{", ".join(contact_facts)} is a fact of a contact: set about = "contact" to check the '
            "trigger for each contact"
        )
    return trigger


def _due_in_problem(playbook: Playbook) -> str | None:
    if not playbook.due_in:
        return None
    fact = FACTS.get(playbook.due_in)
    if fact is None or fact.type != "number":
        numbers = ", ".join(name for name, fact in FACTS.items() if fact.type == "number")
        return f"{playbook.due_in!r} is not a number fact; one of {numbers}"
    if fact.contact and playbook.about != "contact":
        return f'{playbook.due_in} is a fact of a contact: needs about = "contact"'
    return None
