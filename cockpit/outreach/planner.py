"""Planning: facts in, decisions out. No I/O and no clock: the store reads, the service writes.

A run works in two steps, so that the costly facts are read for the accounts that need them only:
1. `evaluate` checks every playbook's trigger on every account (for playbooks about a contact, on every
   contact of it) and returns what fired.
2. `decide` turns what fired into decisions against the open items, the contact policy and the templates:
   - queue a new draft, or update the open item of the same dedupe key (playbook, account and what the
     message is about): a rule that fires again never adds a second open item;
   - keep an item as it is: approved (it waits for the sync), snoozed until a later day, edited by the CSM,
     or unchanged;
   - cancel an open item that can no longer go: one the CSM approved, snoozed or edited whose contact may
     not be reached any more (opt-out always wins; an untouched draft moves to another contact instead),
     or an untouched draft whose rule no longer fires or that cannot be written or placed any more;
   - skip with the reason: in its cooldown, no contact that may be reached on a day the policy allows, a
     template token empty or undefined, nothing to be about (no stalled feature, no renewal date, ...).

Rules are decided in playbook priority order, then by account value (MRR, largest first), so the most
important message gets a contact's touches first; existing items keep their day when it is still allowed,
so plans do not shuffle from night to night. Every decision carries why: the rule and the values that fired
it, the contact chosen and the ones passed over, and why the day moved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cockpit.outreach.facts import PlanAccount, PlanContact
from cockpit.outreach.items import Cancellation, ClosedItem, Draft, Kept, OpenItem, Skip
from cockpit.outreach.playbooks import CompiledPlaybook, Playbooks
from cockpit.outreach.policy import Calendar, place, quiet, unreachable
from cockpit.outreach.templates import RenderError, Templates
from cockpit.outreach.triggers import fact_named


@dataclass(frozen=True)
class Fired:
    """A playbook whose trigger holds for an account (and, for playbooks about a contact, that contact)."""

    playbook: CompiledPlaybook
    account_id: str
    contact_id: str | None = None


@dataclass
class Plan:
    queued: list[Draft] = field(default_factory=list)
    updated: list[Draft] = field(default_factory=list)
    """Open items with a new state: re-rendered, moved, another contact, or woken from a snooze."""
    kept: list[Kept] = field(default_factory=list)
    cancelled: list[Cancellation] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


@dataclass(frozen=True)
class Book:
    """What `decide` reads besides what fired."""

    accounts: Mapping[str, PlanAccount]
    contacts: Mapping[str, Sequence[PlanContact]]
    """Contacts of the accounts that fired, by account, as they are now."""
    open_items: Sequence[OpenItem]
    closed: Mapping[str, date]
    """Dedupe key -> the last day an item of it was sent or cancelled by a person (for cooldowns)."""
    calendar: Calendar


def cooldown_starts(closed: Iterable[ClosedItem]) -> dict[str, date]:
    """Per dedupe key, the last day an item of it went out (its due day) or was cancelled by a person (the
    day the cancellation records): where its rule's cooldown starts. An item the planner withdrew (its rule
    stopped firing) starts none."""
    starts: dict[str, date] = {}
    for item in closed:
        if item.status == "cancelled":
            if item.closed_by == "plan":
                continue
            day = item.closed_on or item.due_on
        else:
            day = item.due_on
        starts[item.dedupe_key] = max(day, starts.get(item.dedupe_key, day))
    return starts


def dedupe_key(playbook_id: str, account_id: str, about: str | None) -> str:
    return f"{playbook_id}:{account_id}" if about is None else f"{playbook_id}:{account_id}:{about}"


def evaluate(
    playbooks: Playbooks,
    accounts: Iterable[PlanAccount],
    contacts: Mapping[str, Sequence[tuple[str, Mapping[str, Any]]]] | None = None,
) -> list[Fired]:
    """Every playbook whose trigger holds, per account; for playbooks about a contact, per (contact id,
    contact facts) of `contacts`, with the account's facts too."""
    fired: list[Fired] = []
    per_account = [playbook for playbook in playbooks.active if playbook.config.about != "contact"]
    per_contact = [
        (playbook, [name for name in playbook.trigger.names if fact_named(name).contact])
        for playbook in playbooks.active
        if playbook.config.about == "contact"
    ]
    for account in accounts:
        facts = account.facts
        for playbook in per_account:
            if playbook.trigger.evaluate(facts):
                fired.append(Fired(playbook, account.id))
        if not (per_contact and contacts):
            continue
        listed = contacts.get(account.id, ())
        for playbook, names in per_contact:
            # Contacts without any of the contact facts the trigger reads (most have no shared birthday)
            # all decide as one: evaluated once per account.
            blank: bool | None = None
            for contact_id, contact_facts in listed:
                if any(contact_facts.get(name) is not None for name in names):
                    fires = bool(playbook.trigger.evaluate(_Both(contact_facts, facts)))
                else:
                    if blank is None:
                        blank = bool(playbook.trigger.evaluate(_Both({}, facts)))
                    fires = blank
                if fires:
                    fired.append(Fired(playbook, account.id, contact_id))
    return fired


class _Both:
    """A contact's facts over its account's, for per-contact triggers (the names never overlap)."""

    __slots__ = ("account", "contact")

    def __init__(self, contact: Mapping[str, Any], account: Mapping[str, Any]) -> None:
        self.contact, self.account = contact, account

    def get(self, key: str, /) -> Any:
        return self.contact[key] if key in self.contact else self.account.get(key)


@dataclass(frozen=True)
class _Rule:
    """A fired rule with what it is about, resolved against the book."""

    fired: Fired
    account: PlanAccount
    contact: PlanContact | None
    about: str | None
    key: str
    values: dict[str, Any]
    due_in_days: int = 0
    """Days from today to the due day: the playbook's `due_in` fact, 0 without one."""

    @property
    def playbook(self) -> CompiledPlaybook:
        return self.fired.playbook


class _Failed(Exception):
    """A rule that cannot be written or placed; the message says why."""


def decide(
    fired: Sequence[Fired],
    book: Book,
    playbooks: Playbooks,
    *,
    today: date,
    max_shift_days: int,
    me: str,
    score_run: int,
) -> Plan:
    """The decisions for one planning run (see the module docstring)."""
    plan = Plan()
    open_by_key = _open_items(book, plan, today)
    rules = [rule for rule in (_resolve(one, book, plan) for one in fired) if rule is not None]
    _withdraw(open_by_key, {rule.key for rule in rules}, book.calendar, playbooks, plan, today)
    rules.sort(
        key=lambda rule: (
            rule.playbook.config.priority,
            -rule.account.facts["mrr"],
            rule.account.id,
            rule.key,
        )
    )
    writer = _Writer(book, playbooks.templates, today, max_shift_days, me, score_run)
    for rule in rules:
        existing = open_by_key.get(rule.key)
        if existing is None:
            cooling = _cooling_down(rule, book, today)
            if cooling is not None:
                _skip(plan, rule, cooling)
                continue
        else:
            held = _held(existing, today)
            if isinstance(held, Kept):
                plan.kept.append(held)
                continue
            if held is not None:
                plan.updated.append(held)
                continue
        try:
            draft = writer.write(rule, existing)
        except _Failed as failure:
            _skip(plan, rule, str(failure))
            if existing is not None:
                plan.cancelled.append(_cancellation(existing, str(failure)))
            continue
        if draft.contact_id is not None:
            book.calendar.add(draft.contact_id, draft.due_on, draft.item_id)
        if existing is None:
            plan.queued.append(draft)
        elif _same(existing, draft):
            plan.kept.append(_kept(existing, "unchanged"))
        else:
            plan.updated.append(draft)
    return plan


def _open_items(book: Book, plan: Plan, today: date) -> dict[str, OpenItem]:
    """The open items by dedupe key. Drafts the planner may rewrite come off the calendar: they are planned
    again in priority order, keep their contact and day if still allowed, and move to another contact if
    theirs may no longer be reached. Any other open item whose contact may no longer be reached (approved,
    snoozed, edited: the CSM's) is cancelled: opt-out always wins."""
    open_by_key: dict[str, OpenItem] = {}
    for item in book.open_items:
        replannable = _replannable(item, today) and not item.edited
        why = None if item.contact is None else unreachable(item.contact, item.channel)
        if item.contact_id is not None and item.contact is None:
            why = "is gone"
        if why is not None and not replannable:
            _cancel(plan, book.calendar, item, f"contact {why}")
            continue
        open_by_key[item.dedupe_key] = item
        if replannable:
            book.calendar.lift(item.id)
    return open_by_key


def _withdraw(
    open_by_key: dict[str, OpenItem],
    fired_keys: set[str],
    calendar: Calendar,
    playbooks: Playbooks,
    plan: Plan,
    today: date,
) -> None:
    """Cancel the untouched drafts whose rule no longer fires; wake edited ones whose snooze has ended."""
    for key, item in list(open_by_key.items()):
        if key in fired_keys or not _replannable(item, today):
            continue
        if item.edited:
            if item.woken(today):
                plan.updated.append(_woken(item))
            continue
        playbook = playbooks.get(item.playbook)
        muted = playbook is not None and playbook.id in playbooks.muted
        if playbook is not None and playbook.fixed_date and item.due_on >= today and not muted:
            # A message due on a date (a birthday) outlives its trigger's window until that day passes.
            if item.contact_id is not None:
                calendar.add(item.contact_id, item.due_on, item.id)
            plan.kept.append(_kept(item, "due on its date; the trigger's window has passed"))
            continue
        if playbook is None:
            why = "its playbook is gone"
        elif muted:
            why = "its playbook is muted"
        else:
            why = "its rule no longer fires"
        _cancel(plan, calendar, item, why)
        del open_by_key[key]


def _cooling_down(rule: _Rule, book: Book, today: date) -> str | None:
    """Why a new item may not be queued yet (its cooldown), or None."""
    last = book.closed.get(rule.key)
    if last is None:
        return None
    again = last + timedelta(days=rule.playbook.config.cooldown_days)
    return (
        f"cooling down: the last one went or was cancelled on {last}; again from {again}"
        if today < again
        else None
    )


def _held(existing: OpenItem, today: date) -> Kept | Draft | None:
    """What happens to an open item the planner may not rewrite; None when it may."""
    if existing.status == "approved":
        return _kept(existing, "approved, waiting for the sync")
    if existing.status == "snoozed" and not existing.woken(today):
        return _kept(existing, f"snoozed until {existing.snoozed_until}")
    if existing.edited:
        return _woken(existing) if existing.woken(today) else _kept(existing, "edited by the CSM")
    return None


def _replannable(item: OpenItem, today: date) -> bool:
    return item.status == "draft" or item.woken(today)


def _cancel(plan: Plan, calendar: Calendar, item: OpenItem, why: str) -> None:
    calendar.lift(item.id)
    plan.cancelled.append(_cancellation(item, why))


def _cancellation(item: OpenItem, why: str) -> Cancellation:
    return Cancellation(item.id, item.dedupe_key, item.account_id, item.playbook, why)


def _kept(item: OpenItem, why: str) -> Kept:
    return Kept(item.id, item.dedupe_key, item.account_id, item.playbook, why)


def _woken(item: OpenItem) -> Draft:
    """An edited snoozed item back as a draft, as the CSM left it."""
    return Draft(
        item.id, item.dedupe_key, item.account_id, item.contact_id, item.playbook, item.channel,
        item.subject, item.body, item.due_on, item.priority, item.reason,
    )  # fmt: skip


def _same(item: OpenItem, draft: Draft) -> bool:
    """Whether planning again leaves a draft exactly as it is stored."""
    return item.status == "draft" and (
        (item.contact_id, item.channel, item.due_on, item.subject, item.body, item.priority, item.reason)
        == (
            draft.contact_id,
            draft.channel,
            draft.due_on,
            draft.subject,
            draft.body,
            draft.priority,
            draft.reason,
        )
    )


def _skip(plan: Plan, rule: _Rule, why: str) -> None:
    contact_id = rule.contact.id if rule.contact else rule.fired.contact_id
    plan.skipped.append(Skip(rule.account.id, contact_id, rule.playbook.id, rule.key, why, rule.values))


def _resolve(fired: Fired, book: Book, plan: Plan) -> _Rule | None:
    """The fired rule with its account, contact, what it is about and its values; None (a skip) when there is
    nothing to be about."""
    playbook, account = fired.playbook, book.accounts[fired.account_id]
    contact: PlanContact | None = None
    facts: Mapping[str, Any] = account.facts
    if fired.contact_id is not None:
        contact = next((c for c in book.contacts.get(account.id, ()) if c.id == fired.contact_id), None)
        facts = {**facts, **(contact.facts if contact else {})}
    values = {name: _plain(facts.get(name)) for name in playbook.trigger.names}
    about_kind = playbook.config.about
    about: str | None = None
    missing = None
    if about_kind == "contact":
        about = fired.contact_id
        if contact is None:
            missing = "the contact is no longer there"
    elif about_kind == "feature":
        about = account.facts.get("stalled_feature")
        missing = None if about else "no feature is stalled in onboarding"
    elif about_kind == "product":
        about = account.offer.product_id if account.offer else None
        missing = None if about else "no complementary product to offer"
    elif about_kind == "renewal":
        about = account.renewal_date.isoformat() if account.renewal_date else None
        missing = None if about else "no renewal date"
    elif about_kind == "email":
        campaign = account.last_email.campaign if account.last_email else None
        if account.last_email is None:
            missing = "no unopened email to follow up"
        elif campaign is not None and campaign not in playbook.config.follow_up_campaigns:
            missing = f"the unopened email is a bulk send (campaign {campaign!r}), not followed up"
    due_in = facts.get(playbook.config.due_in) if playbook.config.due_in else 0
    if due_in is None:
        missing = missing or f"{playbook.config.due_in} is empty"
    key = dedupe_key(playbook.id, account.id, about)
    rule = _Rule(fired, account, contact, about, key, values, int(due_in or 0))
    if missing is not None:
        _skip(plan, rule, missing)
        return None
    return rule


def _plain(value: Any) -> Any:
    """A fact as JSON keeps it (tuples as lists), so stored reasons compare equal to new ones."""
    return list(value) if isinstance(value, tuple) else value


class _Writer:
    """Chooses the contact and the day, and renders the message, for one rule at a time."""

    def __init__(
        self, book: Book, templates: Templates, today: date, shift: int, me: str, score_run: int
    ) -> None:
        self.book, self.templates, self.today, self.shift = book, templates, today, shift
        self.me, self.score_run = me, score_run

    def write(self, rule: _Rule, existing: OpenItem | None) -> Draft:
        playbook = rule.playbook
        config = playbook.config
        due = self.today + timedelta(days=rule.due_in_days)
        if due < self.today:
            raise _Failed(f"due on {due}, which has passed")
        contact, day, notes = self._contact_and_day(rule, due, existing)
        tokens = self._tokens(rule, contact, day)
        try:
            subject, body = self.templates.render(playbook.template, tokens)
        except RenderError as error:
            raise _Failed(f"template {config.template!r}: {error}") from None
        reason: dict[str, Any] = {
            "playbook": playbook.id,
            "title": config.title,
            "trigger": playbook.trigger.source,
            "values": rule.values,
        }
        if rule.about is not None:
            reason["about"] = {config.about: rule.about}
        if contact is not None:
            reason["contact"] = {"id": contact.id, "name": contact.name, "why": notes[0]}
        if notes[1]:
            reason["due"] = notes[1]
        reason["score_run"] = self.score_run
        return Draft(
            existing.id if existing else None, rule.key, rule.account.id, contact.id if contact else None,
            playbook.id, config.channel, subject, body, day, config.priority, reason,
        )  # fmt: skip

    def _contact_and_day(
        self, rule: _Rule, due: date, existing: OpenItem | None
    ) -> tuple[PlanContact | None, date, tuple[str, str]]:
        """The contact (None for a todo), the day, and why that contact and why that day."""
        playbook, calendar = rule.playbook, self.book.calendar
        channel, fixed = playbook.config.channel, playbook.fixed_date
        if channel == "todo":
            day, moved = place(calendar, None, due, self.today, self.shift, fixed=fixed)
            if day is None:
                raise _Failed(moved)
            return None, day, ("", moved)
        candidates = self._candidates(rule)
        if existing is not None and self._still_fits(existing, candidates, due, fixed):
            chosen = next(c for c in candidates if c.id == existing.contact_id)
            before = existing.reason.get("contact") or {}
            why = str(before.get("why") or self._why(rule, chosen, []))
            return chosen, existing.due_on, (why, str(existing.reason.get("due") or ""))
        passed: list[str] = []
        for contact in candidates:
            why_not = unreachable(contact, channel)
            if why_not is None:
                day, moved = place(calendar, contact.id, due, self.today, self.shift, fixed=fixed)
                if day is not None:
                    return contact, day, (self._why(rule, contact, passed), moved)
                why_not = moved
            passed.append(f"{_label(contact)}: {why_not}")
        if not passed:
            raise _Failed("the account has no contacts")
        raise _Failed(f"no contact can be reached: {'; '.join(passed)}")

    def _candidates(self, rule: _Rule) -> list[PlanContact]:
        about = rule.playbook.config.about
        if about == "contact":
            return [rule.contact] if rule.contact else []
        contacts = self.book.contacts.get(rule.account.id, ())
        if about == "email":
            recipient = rule.account.last_email.contact_id if rule.account.last_email else None
            found = [contact for contact in contacts if contact.id == recipient]
            if not found:
                raise _Failed("the unopened email's recipient is not a contact of the account")
            return found
        roles = rule.playbook.roles
        return sorted(
            contacts,
            key=lambda c: (roles.index(c.role) if c.role in roles else len(roles), c.id),
        )

    def _still_fits(self, item: OpenItem, candidates: list[PlanContact], due: date, fixed: bool) -> bool:
        """An open draft keeps its contact and day while both still satisfy everything."""
        contact = next((c for c in candidates if c.id == item.contact_id), None)
        if contact is None or unreachable(contact, item.channel) is not None:
            return False
        day, calendar = item.due_on, self.book.calendar
        in_reach = (abs((day - due).days) if fixed else (day - due).days) in range(self.shift + 1)
        return (
            in_reach
            and day >= self.today
            and not quiet(day, calendar.policy)
            and calendar.refusal(contact.id, day) is None
        )

    @staticmethod
    def _why(rule: _Rule, contact: PlanContact, passed: list[str]) -> str:
        about = rule.playbook.config.about
        if about == "contact":
            why = "the contact the rule fired for"
        elif about == "email":
            why = "the unopened email's recipient"
        elif contact.role in rule.playbook.roles:
            why = f"role {contact.role}"
        else:
            why = "first reachable contact"
        return f"{why}; passed over: {'; '.join(passed)}" if passed else why

    def _tokens(self, rule: _Rule, contact: PlanContact | None, day: date) -> dict[str, Any]:
        """The tokens the rule's template names (`MessageTemplate.names`; it reads no other)."""
        names = rule.playbook.template.names
        account = rule.account
        facts = account.facts
        tokens: dict[str, Any] = {}
        if "account" in names:
            tokens["account"] = {
                "id": account.id,
                "name": facts["name"],
                "domain": account.domain,
                "owner": facts["owner"],
                "segment": facts["segment"],
                "plan": facts["plan"],
                "mrr": facts["mrr"],
                "arr": facts["arr"],
                "seats": facts["seats"],
                "start_date": account.start_date,
                "renewal_date": None if account.renewal_date is None else account.renewal_date.isoformat(),
            }
        if "csm" in names:
            tokens["csm"] = {"name": facts["owner"] or self.me or None}
        if "scores" in names:
            tokens["scores"] = {
                "health": None if facts["health"] is None else round(facts["health"]),
                "health_band": facts["health_band"],
                "churn_risk": None if facts["churn_risk"] is None else round(facts["churn_risk"], 2),
                "churn_tier": facts["churn_tier"],
                "value_tier": facts["value_tier"],
                "priority": facts["priority"],
                "adoption": facts["adoption"],
                "adoption_share": facts["adoption_share"],
                "cross_sell_ready": facts["cross_sell_ready"],
                "advocacy": facts["advocacy"],
            }
        if "playbook" in names:
            tokens["playbook"] = {"id": rule.playbook.id, "title": rule.playbook.config.title}
        if "today" in names:
            tokens["today"] = self.today.isoformat()
        if "due_on" in names:
            tokens["due_on"] = day.isoformat()
        if contact is not None and "contact" in names:
            tokens["contact"] = _contact_token(contact)
        if account.churn and "churn" in names:
            tokens["churn"] = {
                "reasons": ", ".join(
                    dict.fromkeys(signal.name.replace("_", " ") for signal in account.churn)
                ),
                "signals": [signal._asdict() for signal in account.churn],
            }
        feature = account.stalled
        if feature is not None and "feature" in names:
            tokens["feature"] = {"id": feature.id, "name": feature.name, "product": feature.product}
        offer = account.offer
        if offer is not None and "product" in names:
            tokens["product"] = {"id": offer.product_id, "name": offer.product_name, "reason": offer.reason}
        if offer is not None and offer.owned_id is not None and "owned_product" in names:
            tokens["owned_product"] = {"id": offer.owned_id, "name": offer.owned_name}
        email = account.last_email
        if email is not None and "last_email" in names:
            tokens["last_email"] = {
                "subject": email.subject,
                "sent_on": email.sent_on.isoformat(),
                "days": (self.today - email.sent_on).days,
            }
        renewal = account.renewal_date
        if renewal is not None and "renewal" in names:
            tokens["renewal"] = {"date": renewal.isoformat(), "in_days": (renewal - self.today).days}
        return tokens


def _contact_token(contact: PlanContact) -> dict[str, Any]:
    """The `contact` token: personal fields (the birthday) only where the contact consented."""
    parts = contact.name.split()
    token: dict[str, Any] = {
        "id": contact.id,
        "name": contact.name,
        "first_name": parts[0] if parts else None,
        "email": contact.email,
        "phone": contact.phone,
        "role": contact.role,
    }
    if contact.birthday is not None:
        token["birthday"] = contact.birthday.isoformat()
    return token


def _label(contact: PlanContact) -> str:
    return f"{contact.name} ({contact.role})" if contact.role else contact.name
