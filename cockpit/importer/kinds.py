"""The kinds of record `cockpit import` reads: the columns each accepts, and how a valid record becomes a
row of the store (its key, its values, the references it resolves).

A column matches a field when their names agree ignoring case, spaces and punctuation (`Account ID`,
`account_id` and `accountId` are all `accountid`), or through a kind's aliases below.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cockpit.domain import records as r
from cockpit.domain.identity import FREE_MAIL_DOMAINS, email_domain
from cockpit.domain.parsing import DateColumn, calendar_day, iso_timestamp, utc_moment
from cockpit.domain.provenance import SOURCED_FIELDS
from cockpit.domain.subscriptions import current_values
from cockpit.importer.kind_names import KIND_SUMMARIES, KindName
from cockpit.store.imports import AmbiguousReference, References

if TYPE_CHECKING:
    from datetime import date

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def normalize(column: str) -> str:
    return _NOT_ALNUM.sub("", column.lower())


class Skipped(Exception):
    """A valid row that is not a record of the kind (an invoice not paid): counted, not imported."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Unresolved(Exception):
    """A valid row that does not fit the store: a reference to no record, or a new record lacking a field."""

    def __init__(self, field: str, message: str, value: str, *, missing: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.value = value
        self.missing = missing
        """The kind of record the reference names where no such record exists (account, feature...)."""


@dataclass(frozen=True)
class KeyedRow:
    table: str
    key: dict[str, Any]
    values: dict[str, Any]
    also: tuple[KeyedRow, ...] = ()
    """Rows written with this one: the signals that tickets and surveys add to the account's event stream,
    which is what scoring reads."""
    defaults: dict[str, Any] = field(default_factory=dict)
    """Values for a new row only: what the source did not give never replaces what the store holds."""
    merged: dict[str, dict[str, Any]] = field(default_factory=dict)
    """JSON object columns whose given keys are laid over the stored object's (an account's custom fields: a
    file that carries some of them leaves the others as they are)."""
    modified_at: str | None = None
    """When the source last changed the record (accounts): an older value never replaces a newer one."""
    system: str | None = None
    """The system the record comes from (`hubspot`, `salesforce`; None: not known), for its provenance."""


def _signal(account_id: str, kind: str, occurred_at: str, source_id: str, **values: Any) -> KeyedRow:
    """A signal keyed by its identity, so that importing its source again updates it instead of adding one."""
    key = {"account_id": account_id, "kind": kind, "occurred_at": occurred_at, "source_id": source_id}
    return KeyedRow(
        "signals", key, {"payload": json.dumps(values.pop("payload", {}), sort_keys=True), **values}
    )


@dataclass(frozen=True)
class Kind:
    name: str
    record: type[r.Record]
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Field -> other column names (normalised) that mean it; the field's own name always matches."""
    required_any: tuple[str, ...] = ()
    """At least one of these fields must have a column (the record's own checks say which rows lack one)."""
    kept: str | None = None
    """The field that keeps the columns that mean no other field (accounts' `custom`), which no column
    matches by name."""
    to_row: Callable[[Any, References], KeyedRow] | None = None
    """Keyed kinds: the record as a row of its table, upserted one by one."""
    settle: Callable[[References, list[str], date], dict[str, dict[str, Any]]] | None = None
    """Keyed kinds that decide something about the accounts their rows name, once all are written (the
    current subscription, the latest churn): given the accounts and the CSM's day, the values to set on
    each account (recorded in its history)."""
    event_table: str | None = None
    event_identity: tuple[str, ...] = ()
    event_values: tuple[str, ...] = ()
    to_event: Callable[[Any, References], tuple[Any, ...]] | None = None
    """Event kinds: the record as (identity..., values...) for a bulk upsert."""
    event_summed: str | None = None
    """The value that rows of one event without a source id add up to (see `EventStage`)."""
    fast_event: (
        Callable[
            [References, dict[str, int], dict[str, DateColumn]], Callable[[Any, int], tuple[Any, ...] | None]
        ]
        | None
    ) = None
    """Makes `to_event` for CSV cells and their row (given each field's column position and the file's date
    column readers) without pydantic, for rows whose every value is already in normal form or a date its
    column reads, that is what validation would return; it returns None for anything else, which then goes
    through full validation. Only for kinds that come by the million."""

    @property
    def noun(self) -> str:
        """One record of the kind, for messages ("account", "usage event")."""
        return {"usage": "usage event", "entitlements": "entitlement", "churn_events": "churn event"}.get(
            self.name, self.name.removesuffix("s")
        )

    def column_index(self) -> dict[str, str]:
        """Normalised column name -> field."""
        index: dict[str, str] = {}
        for name in self.record.model_fields:
            if name == self.kept:
                continue
            index[normalize(name)] = name
            for alias in self.aliases.get(name, ()):
                index[alias] = name
        return index

    @property
    def required(self) -> list[str]:
        return [name for name, info in self.record.model_fields.items() if info.is_required()]


def _account(ref: str, refs: References, field_name: str = "account") -> str:
    found = _found_account(ref, refs, field_name)
    if found is None:
        if email_domain(ref) in FREE_MAIL_DOMAINS:
            raise Unresolved(field_name, "a free-mail address names no account", ref)
        raise Unresolved(field_name, "no such account (by id, CRM id or domain)", ref, missing="account")
    return found


def _found_account(ref: str, refs: References, field_name: str) -> str | None:
    """The account `ref` names (None: none); a reference naming two is refused."""
    try:
        return refs.find("account", ref)
    except AmbiguousReference as ambiguous:
        raise Unresolved(field_name, ambiguous.problem, ref) from None


def _optional(kind: str, ref: str | None, refs: References) -> str | None:
    if ref is None:
        return None
    found = refs.find(kind, ref)
    if found is None:
        raise Unresolved(kind, f"no such {kind}", ref, missing=kind)
    return found


def _event_parties(account: str | None, contact: str | None, refs: References) -> tuple[str, str | None]:
    """The (account, contact) of an event: the account it names and its contact; or, where it names only a
    person, the account of the contact, else of the domain of the person's email (the person not being a
    contact of the book, the event has none)."""
    if account is not None:
        account_id = _account(account, refs)
        return account_id, _contact(account_id, contact, refs)
    assert contact is not None  # the record names one or the other
    contact_id = refs.find("contact", contact)
    owner = None if contact_id is None else refs.account_of_contact(contact_id)
    if owner is not None:
        return owner, contact_id
    if email_domain(contact) is None:
        raise Unresolved("contact", "no such contact", contact, missing="contact")
    return _account(contact, refs, "contact"), None


def _contact(account_id: str, ref: str | None, refs: References) -> str | None:
    """The contact an event names, which must belong to the account the event names."""
    contact_id = _optional("contact", ref, refs)
    if contact_id is None:
        return None
    owner = refs.account_of_contact(contact_id)
    if owner is not None and owner != account_id:
        raise Unresolved("contact", f"contact {ref} belongs to account {owner}, not {account_id}", ref or "")
    return contact_id


def _given(record: r.Record, *names: str) -> dict[str, Any]:
    """The fields the source actually gave, so that an update never blanks a column it did not carry."""
    return {name: getattr(record, name) for name in names if name in record.model_fields_set}


def _derived_id(prefix: str, *parts: object) -> str:
    digest = hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()[:16]
    return f"{prefix}-{digest}"


def _account_row(record: r.AccountRecord, refs: References) -> KeyedRow:
    identifiers = (record.id, record.hubspot_id, record.salesforce_id, record.domain)
    existing = refs.find_existing("account", identifiers)
    new_id = record.id or (
        f"hubspot-{record.hubspot_id}"
        if record.hubspot_id
        else f"salesforce-{record.salesforce_id}"
        if record.salesforce_id
        else f"domain-{record.domain}"
    )
    values = _given(record, "hubspot_id", "salesforce_id", *SOURCED_FIELDS)
    if record.mrr is None and record.arr is not None:
        values["mrr"] = round(record.arr / 12, 2)
    if existing is None and record.name is None:
        raise Unresolved("name", "required for a new account", record.id or new_id)
    account_id = existing or new_id
    refs.remember("account", identifiers, account_id)
    return KeyedRow(
        "accounts",
        {"id": account_id},
        values,
        also=_alias_rows(account_id, record.aliases, refs),
        merged={"custom": record.custom} if record.custom else {},
        modified_at=record.modified_at,
        system=_system(record),
    )


def _system(record: r.AccountRecord) -> str | None:
    """The CRM an account record comes from, where it carries the id of one only."""
    if record.hubspot_id and not record.salesforce_id:
        return "hubspot"
    if record.salesforce_id and not record.hubspot_id:
        return "salesforce"
    return None


def _alias_rows(account_id: str, aliases: dict[str, str] | None, refs: References) -> tuple[KeyedRow, ...]:
    """The account's ids in other systems, each of which names one account: an alias that names another is
    refused, never moved (an import giving one alias to two accounts is refused by the store)."""
    for system, alias in (aliases or {}).items():
        owner = refs.alias_owner(system, alias)
        if owner not in (None, account_id):
            raise Unresolved("aliases", f"{system} id {alias} already names account {owner}", alias)
    return tuple(
        KeyedRow("account_aliases", {"system": system, "value": alias, "account_id": account_id}, {})
        for system, alias in (aliases or {}).items()
    )


def _contact_row(record: r.ContactRecord, refs: References) -> KeyedRow:
    identifiers = (record.id, record.hubspot_id, record.salesforce_id, record.email)
    existing = refs.find_existing("contact", identifiers)
    new_id = record.id or (
        f"hubspot-{record.hubspot_id}"
        if record.hubspot_id
        else f"salesforce-{record.salesforce_id}"
        if record.salesforce_id
        else _derived_id("contact", record.email)
    )
    values = {
        "account_id": _account(record.account, refs),
        **_given(
            record,
            "hubspot_id",
            "salesforce_id",
            "email",
            "role",
            "phone",
            "birthday",
            "email_opt_in",
            "do_not_contact",
            "personalization_consent",
        ),
    }
    if {"name", "first_name", "last_name"} & record.model_fields_set or existing is None:
        values["name"] = record.full_name
    refs.remember("contact", identifiers, existing or new_id)
    return KeyedRow("contacts", {"id": existing or new_id}, values)


def _product_row(record: r.ProductRecord, refs: References) -> KeyedRow:
    return KeyedRow("products", {"id": record.id}, _given(record, "name", "family", "list_price"))


def _feature_row(record: r.FeatureRecord, refs: References) -> KeyedRow:
    product = _optional("product", record.product, refs)
    return KeyedRow("features", {"id": record.id}, {"product_id": product, "name": record.name})


def _complement_row(record: r.ComplementRecord, refs: References) -> KeyedRow:
    product = _optional("product", record.product, refs)
    complement = refs.find("product", record.complement)
    if complement is None:
        raise Unresolved("complement", "no such product", record.complement, missing="product")
    return KeyedRow(
        "product_complements", {"product_id": product, "complement_id": complement}, {"reason": record.reason}
    )


def _entitlement_row(record: r.EntitlementRecord, refs: References) -> KeyedRow:
    key = {
        "account_id": _account(record.account, refs),
        "product_id": _optional("product", record.product, refs),
    }
    return KeyedRow("entitlements", key, _given(record, "started_on", "ended_on", "seats"))


def _ticket_row(record: r.TicketRecord, refs: References) -> KeyedRow:
    account = _account(record.account, refs)
    values = {
        "account_id": account,
        "contact_id": _contact(account, record.contact, refs),
        "opened_at": record.opened_at,
        **_given(record, "status", "closed_at", "priority", "escalated", "subject"),
    }
    if record.status is None and record.closed_at is not None:
        values["status"] = (
            "closed"  # a closing time says so; "open" (the table's default) would contradict it
        )
    details = {"ticket_id": record.id, "subject": record.subject, "priority": record.priority}
    payload = {name: value for name, value in details.items() if value is not None}
    account, contact = values["account_id"], values["contact_id"]
    signals = [
        _signal(account, "support_ticket", record.opened_at, record.id, contact_id=contact, payload=payload)
    ]
    if record.escalated:
        signals.append(
            _signal(account, "escalation", record.opened_at, record.id, contact_id=contact, payload=payload)
        )
    return KeyedRow("tickets", {"id": record.id}, values, also=tuple(signals))


def _survey_row(record: r.SurveyRecord, refs: References) -> KeyedRow:
    account = _account(record.account, refs)
    contact = _contact(account, record.contact, refs)
    survey_id = record.id or _derived_id("survey", account, contact, record.kind, record.responded_at)
    values = {
        "account_id": account,
        "contact_id": contact,
        "kind": record.kind,
        "score": record.score,
        "responded_at": record.responded_at,
        **_given(record, "comment"),
    }
    signal = _signal(
        account,
        record.kind,
        record.responded_at,
        survey_id,
        contact_id=contact,
        value=float(record.score),
        payload={"comment": record.comment} if record.comment else {},
    )
    return KeyedRow("surveys", {"id": survey_id}, values, also=(signal,))


def _interaction_row(record: r.InteractionRecord, refs: References) -> KeyedRow:
    account = _account(record.account, refs)
    interaction_id = record.id or _derived_id(
        "interaction", account, record.kind, record.occurred_at, record.summary
    )
    values = {
        "account_id": account,
        "contact_id": _contact(account, record.contact, refs),
        "kind": record.kind,
        "direction": record.direction,
        "occurred_at": record.occurred_at,
        "summary": record.summary,
        "sync_key": r.interaction_sync_key(interaction_id),
        **_given(record, "sentiment", "author", "follow_up_on", "hubspot_id", "salesforce_id"),
    }
    # Interactions that came from a CRM are already there; new ones wait in the outbox, and importing one
    # again leaves its sync state (pushed since, perhaps) as it is.
    if record.hubspot_id or record.salesforce_id:
        values["sync_state"] = "synced"
    return KeyedRow("interactions", {"id": interaction_id}, values, defaults={"sync_state": "pending"})


def _transaction_row(record: r.TransactionRecord, refs: References) -> KeyedRow:
    if record.status not in (None, "paid"):
        raise Skipped(f"invoices not paid ({record.status})")
    values = {
        "account_id": _payer(record.account, record.contact, refs),
        "occurred_at": record.occurred_at,
        "amount": record.in_currency_units,
    }
    return KeyedRow("transactions", {"id": record.id}, values)


def _payer(account: str | None, contact: str | None, refs: References) -> str:
    """The account that paid: the one `account` names (an id, CRM id or alias: a Stripe customer), else that
    of the contact (an email) who paid, else that of the email's domain; when both find one, they agree."""
    if contact is None:
        return _account(account or "", refs)
    found = None if account is None else _found_account(account, refs, "account")
    contact_id = refs.find("contact", contact)
    owner = None if contact_id is None else refs.account_of_contact(contact_id)
    if found is not None and owner is not None and owner != found:
        raise Unresolved("contact", f"contact {contact} belongs to account {owner}, not {found}", contact)
    if found is None and owner is None and email_domain(contact) is not None:
        owner = _found_account(contact, refs, "contact")
    if found is None and owner is None:
        named = f"{account} (nor the payer {contact})" if account else contact
        raise Unresolved(
            "account" if account else "contact", "no account for it", named or "", missing="account"
        )
    return found or str(owner)


def _subscription_row(record: r.SubscriptionRecord, refs: References) -> KeyedRow:
    values = {
        "account_id": _account(record.account, refs),
        "started_on": record.started_on,
        **_given(record, "plan", "mrr", "seats", "ended_on", "status"),
    }
    if record.mrr is None and record.arr is not None:
        values["mrr"] = round(record.arr / 12, 2)
    return KeyedRow("subscriptions", {"id": record.id}, values)


def _current_subscriptions(refs: References, accounts: list[str], today: date) -> dict[str, dict[str, Any]]:
    return {
        account: current_values(subscriptions, today)
        for account, subscriptions in refs.subscriptions_of(accounts).items()
    }


def _churn_event_row(record: r.ChurnEventRecord, refs: References) -> KeyedRow:
    account = _account(record.account, refs)
    event_id = record.id or _derived_id("churn", account, record.churned_on)
    values = {"account_id": account, "churned_on": record.churned_on, **_given(record, "reason")}
    return KeyedRow("churn_events", {"id": event_id}, values)


def _latest_churn(refs: References, accounts: list[str], today: date) -> dict[str, dict[str, Any]]:
    return {account: {"churned_on": day} for account, day in refs.latest_churn_days(accounts).items()}


def _usage_event(record: r.UsageRecord, refs: References) -> tuple[Any, ...]:
    return _usage_tuple(
        record.account,
        record.feature,
        record.occurred_at,
        record.contact,
        record.count,
        record.source_id,
        refs,
    )


def _usage_tuple(
    account: str | None,
    feature: str,
    occurred_at: str,
    contact: str | None,
    count: int,
    source_id: str | None,
    refs: References,
) -> tuple[Any, ...]:
    feature_id = refs.find("feature", feature)
    if feature_id is None:
        raise Unresolved("feature", "no such feature", feature, missing="feature")
    account_id, contact_id = _event_parties(account, contact, refs)
    return (account_id, feature_id, occurred_at, contact_id or "", source_id or "", count)


def _signal_event(record: r.SignalRecord, refs: References) -> tuple[Any, ...]:
    payload = json.dumps(record.payload or {}, sort_keys=True, ensure_ascii=False)
    account, contact = _event_parties(record.account, record.contact, refs)
    return (
        account,
        record.kind,
        record.occurred_at,
        record.source_id or "",
        contact,
        record.value,
        payload,
    )


_KNOWN_TIMES = 4096
"""Times the fast path remembers in normal form: an export has few distinct days, and repeats a time on
the rows of one moment; when the memory is full it starts again, so it stays small."""


_PRELOADED = 200_000
"""Up to this many accounts, features and contacts are looked up at once before the fast path starts (a
few MB); a bigger book is looked up by the records a file names."""


def _plain(value: Any) -> bool:
    """Text that validation would keep as it is: not empty, no surrounding space, at most 200 characters."""
    return type(value) is str and 0 < len(value) <= 200 and value == value.strip()


def plain_reference(refs: References, kind: str, ref: str) -> str | None:
    """A reference first met on the fast path: looked up as validation would, when it is text validation keeps
    as is (anything else, or one that finds nothing or more than one record, is left to the full path to
    report)."""
    try:
        return refs.find(kind, ref) if _plain(ref) else None
    except AmbiguousReference:
        return None


def _fast_usage(
    refs: References, positions: dict[str, int], dates: dict[str, DateColumn]
) -> Callable[[Any, int], tuple[Any, ...] | None]:
    """Usage events from CSV cells, for rows whose every value is in normal form, or a time its column reads."""
    if "account" not in positions:
        return lambda _cells, _row: None  # events naming only a person: the full path finds their account
    when_column = dates["occurred_at"]
    for kind in ("account", "feature", "contact"):
        refs.preload(kind, at_most=_PRELOADED)
    accounts, features, contacts = refs.cache("account"), refs.cache("feature"), refs.cache("contact")
    owners = refs.contact_accounts()
    account_at, feature_at, when_at = positions["account"], positions["feature"], positions["occurred_at"]
    contact_at, count_at, source_at = (
        positions.get("contact"),
        positions.get("count"),
        positions.get("source_id"),
    )
    width = max(positions.values()) + 1
    normal_times: dict[str, str] = {}
    amounts = {"": 1}
    """Counts as written, read (a blank one is 1); few distinct, like the times."""

    def event(cells: list[str], row: int) -> tuple[Any, ...] | None:
        if len(cells) < width:
            return None
        # The caches hold references already resolved, each under the text validation keeps.
        account, feature = cells[account_at], cells[feature_at]
        account_id = accounts.get(account) or plain_reference(refs, "account", account)
        feature_id = features.get(feature) or plain_reference(refs, "feature", feature)
        contact = cells[contact_at] if contact_at is not None else ""
        contact_id = (contacts.get(contact) or plain_reference(refs, "contact", contact)) if contact else ""
        if account_id is None or feature_id is None or contact_id is None:
            return None
        if contact_id:
            owner = owners.get(contact_id) or refs.account_of_contact(contact_id)
            if owner is not None and owner != account_id:
                return None  # left for the full path to report
        written = cells[when_at]
        if utc_moment(written) is not None and calendar_day(written[:10]):
            when = f"{written[:10]}T{written[11:19]}+00:00"  # what iso_timestamp makes of it, inline
        elif written in normal_times:
            when = normal_times[written]
        else:
            try:
                when = iso_timestamp(written) or when_column.timestamp(written, row)
            except ValueError:
                return None
            if len(normal_times) >= _KNOWN_TIMES:
                normal_times.clear()
            normal_times[written] = when
        count = cells[count_at] if count_at is not None else ""
        amount = amounts.get(count)
        if amount is None:
            if not (count.isascii() and count.isdigit()):
                return None
            amount = int(count)
            if len(amounts) < _KNOWN_TIMES:
                amounts[count] = amount
        source_id = cells[source_at] if source_at is not None else ""
        if source_id and not _plain(source_id):
            return None
        return (account_id, feature_id, when, contact_id, source_id, amount)

    return event


_ACCOUNT_REF = (
    "accountid",
    "accountref",
    "company",
    "companyid",
    "customer",
    "customerid",
    "accountdomain",
    "domain",
)
_CONTACT_REF = ("contactid", "contactemail", "user", "userid", "useremail", "email")
_WHEN = ("date", "day", "time", "timestamp", "ts", "eventtime", "eventdate", "createdat")


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "accounts",
            r.AccountRecord,
            aliases={
                "id": ("accountid",),
                "name": ("accountname", "companyname", "company", "customername"),
                "domain": ("website", "companydomainname", "url", "companydomain"),
                "owner": ("csm", "accountowner", "companyowner", "csmname", "customersuccessmanager"),
                "mrr": ("monthlyrecurringrevenue",),
                "arr": ("annualrecurringrevenue",),
                "seats": ("licenses", "licences", "users"),
                "plan": ("tier", "subscription", "subscriptionplan", "plantier"),
                "start_date": ("customersince", "contractstartdate", "startedon", "signupdate"),
                "renewal_date": ("renewal", "renewson", "contractenddate", "renewalon"),
                "churned_on": ("churndate", "cancelledon", "canceledon", "churnedat"),
                "contract_months": (
                    "contract",
                    "contractterm",
                    "term",
                    "contractlength",
                    "termmonths",
                    "contracttermmonths",
                    "contracttype",
                ),
                "cac": ("acquisitioncost", "customeracquisitioncost"),
                "lifecycle_stage": ("lifecyclestage", "stage"),
                "hubspot_id": ("hsobjectid", "hubspotcompanyid"),
                "salesforce_id": ("sfdcid", "salesforceaccountid"),
                "modified_at": ("lastmodifieddate", "hslastmodifieddate", "lastmodified", "modifieddate"),
            },
            required_any=("id", "hubspot_id", "salesforce_id", "domain"),
            kept="custom",
            to_row=_account_row,
        ),
        Kind(
            "contacts",
            r.ContactRecord,
            aliases={
                "id": ("contactid",),
                "account": (*_ACCOUNT_REF[:-1], "associatedcompanyid", "associatedcompany"),
                "email": ("emailaddress", "mail"),
                "name": ("fullname", "contactname"),
                "first_name": ("givenname",),
                "last_name": ("surname", "familyname"),
                "role": ("title", "jobtitle", "position"),
                "phone": ("phonenumber", "mobile", "mobilephone"),
                "birthday": ("birthdate", "dateofbirth", "dob"),
                "email_opt_in": ("optin", "emailoptin", "marketingoptin", "subscribed"),
                "do_not_contact": ("dnc", "donotcall"),
                "personalization_consent": ("personalisationconsent", "consent"),
                "hubspot_id": ("hsobjectid", "hubspotcontactid"),
                "salesforce_id": ("sfdcid", "salesforcecontactid"),
            },
            required_any=("id", "hubspot_id", "salesforce_id", "email"),
            to_row=_contact_row,
        ),
        Kind(
            "products",
            r.ProductRecord,
            aliases={
                "id": ("productid", "sku"),
                "name": ("productname",),
                "family": ("productfamily", "category"),
                "list_price": ("price",),
            },
            to_row=_product_row,
        ),
        Kind(
            "features",
            r.FeatureRecord,
            aliases={
                "id": ("featureid", "featurekey", "key"),
                "product": ("productid",),
                "name": ("featurename",),
            },
            to_row=_feature_row,
        ),
        Kind(
            "complements",
            r.ComplementRecord,
            aliases={"product": ("productid",), "complement": ("complementid", "complementaryproduct")},
            to_row=_complement_row,
        ),
        Kind(
            "entitlements",
            r.EntitlementRecord,
            aliases={
                "account": _ACCOUNT_REF,
                "product": ("productid", "sku"),
                "started_on": ("startdate", "start", "since", "startedat"),
                "ended_on": ("enddate", "end", "endedat"),
                "seats": ("licenses", "quantity"),
            },
            to_row=_entitlement_row,
        ),
        Kind(
            "usage",
            r.UsageRecord,
            aliases={
                "account": (*_ACCOUNT_REF, "subscriptionid"),
                "feature": ("featureid", "featurekey", "event", "eventname", "featurename"),
                "occurred_at": (*_WHEN, "usagedate", "usedat"),
                "contact": _CONTACT_REF,
                "count": ("events", "eventcount", "quantity", "n", "usagecount"),
                "source_id": ("eventid", "id"),
            },
            required_any=("account", "contact"),
            event_table="usage_events",
            event_identity=("account_id", "feature_id", "occurred_at", "contact_id", "source_id"),
            event_values=("count",),
            event_summed="count",
            to_event=_usage_event,
            fast_event=_fast_usage,
        ),
        Kind(
            "signals",
            r.SignalRecord,
            aliases={
                "account": _ACCOUNT_REF,
                "kind": ("type", "signal", "event"),
                "occurred_at": _WHEN,
                "contact": _CONTACT_REF,
                "value": ("score",),
                "payload": ("data", "properties", "details"),
                "source_id": ("eventid", "id"),
            },
            required_any=("account", "contact"),
            event_table="signals",
            event_identity=("account_id", "kind", "occurred_at", "source_id"),
            event_values=("contact_id", "value", "payload"),
            to_event=_signal_event,
        ),
        Kind(
            "tickets",
            r.TicketRecord,
            aliases={
                "id": ("ticketid", "ticketnumber", "number"),
                "account": _ACCOUNT_REF,
                "contact": (*_CONTACT_REF, "requester", "requesteremail"),
                "opened_at": ("opened", "created", "createdat", "createddate", "date"),
                "closed_at": ("closed", "solvedat", "resolvedat", "closeddate"),
                "escalated": ("isescalated",),
                "subject": ("title",),
            },
            to_row=_ticket_row,
        ),
        Kind(
            "surveys",
            r.SurveyRecord,
            aliases={
                "id": ("responseid", "surveyid"),
                "account": _ACCOUNT_REF,
                "contact": (*_CONTACT_REF, "respondent"),
                "kind": ("type", "survey", "surveytype"),
                "score": ("rating", "response"),
                "responded_at": ("submittedat", "answeredat", *_WHEN),
                "comment": ("feedback", "verbatim", "text"),
            },
            to_row=_survey_row,
        ),
        Kind(
            "interactions",
            r.InteractionRecord,
            aliases={
                "id": ("interactionid", "activityid"),
                "account": _ACCOUNT_REF,
                "contact": _CONTACT_REF,
                "kind": ("type", "activitytype"),
                "occurred_at": ("when", "activitydate", *_WHEN),
                "summary": ("subject", "notes", "description", "body"),
                "author": ("by", "owner", "csm"),
                "follow_up_on": ("followup", "followupdate", "followupon"),
            },
            to_row=_interaction_row,
        ),
        Kind(
            "transactions",
            r.TransactionRecord,
            aliases={
                "id": ("orderid", "transactionid", "invoiceid"),
                "account": _ACCOUNT_REF,
                "contact": ("customeremail", "payeremail", "email"),
                "occurred_at": ("orderdate", "purchasedat", "purchasedate", *_WHEN),
                "amount": ("total", "value", "revenue"),
            },
            to_row=_transaction_row,
        ),
        Kind(
            "subscriptions",
            r.SubscriptionRecord,
            aliases={
                "id": ("subscriptionid",),
                "account": _ACCOUNT_REF,
                "plan": ("plantier", "tier", "planname", "product"),
                "mrr": ("mrramount", "monthlyrecurringrevenue", "monthlyamount"),
                "arr": ("arramount", "annualrecurringrevenue"),
                "seats": ("quantity", "licenses", "licences", "users"),
                "started_on": ("startdate", "start", "startedat", "created", "createdat"),
                "ended_on": ("enddate", "end", "endedat", "canceledat", "cancelledat", "cancelledon"),
            },
            to_row=_subscription_row,
            settle=_current_subscriptions,
        ),
        Kind(
            "churn_events",
            r.ChurnEventRecord,
            aliases={
                "id": ("churneventid", "eventid"),
                "account": _ACCOUNT_REF,
                "churned_on": ("churndate", "churnedat", "canceledat", "cancelledat", "cancelledon", "date"),
                "reason": ("reasoncode", "churnreason", "cancellationreason", "cancelreason"),
            },
            to_row=_churn_event_row,
            settle=_latest_churn,
        ),
    )
}

assert set(KINDS) == set(KIND_SUMMARIES) - {"bundle"} == set(KindName) - {"bundle"}, "every kind has a name"
