"""The records cockpit holds, as pydantic models that validate one row of any source (an import, a form).

Values are parsed leniently (see `parsing`); pass `context={"dayfirst": True}` to read `01/02/2026` as the
1st of February, or, as an import does, `context={"dates": {field: DateColumn}, "row": n}` to read each date
field through its column's reader (whose day/month order is decided once for the column). References to other records (`account`, `contact`, `feature`, `product`) stay as the text
the source gave; the import resolves them against the store (by id, CRM id, domain or email).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any, Literal, TypeVar, cast, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cockpit.domain import parsing
from cockpit.domain.identity import salesforce_forms
from cockpit.domain.names import DirectionName, InteractionKindName, SignalKindName


def _dayfirst(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("dayfirst"))


def _column(info: ValidationInfo) -> parsing.DateColumn | None:
    """The import's reader of the column this date comes from, which decides the column's day/month order."""
    columns = info.context.get("dates") if info.context else None
    return columns.get(info.field_name) if columns and info.field_name else None


def _date(value: object, info: ValidationInfo) -> str:
    column = _column(info)
    if column is not None:
        return column.date(value, info.context["row"] if info.context else 0)
    return parsing.parse_date(value, dayfirst=_dayfirst(info))


def _timestamp(value: object, info: ValidationInfo) -> str:
    column = _column(info)
    if column is not None:
        return column.timestamp(value, info.context["row"] if info.context else 0)
    return parsing.parse_timestamp(value, dayfirst=_dayfirst(info))


def _text(value: object) -> object:
    """Numbers in a JSON source are fine where text is expected (ids like 12345); text is trimmed."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


def _lower(value: object) -> object:
    text = _text(value)
    return text.lower().replace(" ", "_").replace("-", "_") if isinstance(text, str) else text


def _domain(value: object) -> object:
    """A bare host name from a domain or a website address (`https://www.Acme.com/about` -> `acme.com`)."""
    text = _text(value)
    if not isinstance(text, str):
        return text
    host = text.lower().split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rstrip(".")
    return host.removeprefix("www.")


ALIAS_PREFIX = "alias:"
"""A column mapped to `alias:SYSTEM` holds the account's id in that system (`alias:stripe`)."""
_SYSTEM = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _aliases(value: object) -> object:
    """An account's ids in other systems: {system: id}, or text `stripe:cus_1; zendesk:42`."""
    if isinstance(value, str):
        pairs = [part.partition(":") for part in re.split(r"[;\s]+", value.strip()) if part]
        if any(not sep for _system, sep, _id in pairs):
            raise ValueError("expected SYSTEM:ID pairs separated by ';' (stripe:cus_123; zendesk:42)")
        value = {system: alias for system, _sep, alias in pairs}
    if not isinstance(value, dict):
        raise ValueError("expected SYSTEM:ID pairs")
    aliases: dict[str, str] = {}
    for system, alias in value.items():
        name, text = str(system).strip().lower(), _text(alias)
        if not _SYSTEM.match(name):
            raise ValueError(f"{system!r} is not a system name (letters, digits, - and _)")
        if not isinstance(text, str) or not 0 < len(text) <= 200:
            raise ValueError(f"{name} id {alias!r} is not an id")
        aliases[name] = text
    return aliases


def _salesforce_id(value: object) -> object:
    """A Salesforce id in its 18-character form, the API's (a report's 15-character id is the same record)."""
    text = _text(value)
    forms = salesforce_forms(text) if isinstance(text, str) else None
    return text if forms is None else forms[1]


Text = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=100_000)]
Id = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=200)]
SalesforceId = Annotated[str, BeforeValidator(_salesforce_id), Field(min_length=1, max_length=200)]
DateText = Annotated[str, BeforeValidator(_date)]
Timestamp = Annotated[str, BeforeValidator(_timestamp)]
Money = Annotated[float, BeforeValidator(parsing.parse_number), Field(ge=0)]
Count = Annotated[int, BeforeValidator(parsing.parse_integer), Field(ge=0)]
Flag = Annotated[bool, BeforeValidator(parsing.parse_bool)]
Number = Annotated[float, BeforeValidator(parsing.parse_number)]
ContractMonths = Annotated[int, BeforeValidator(parsing.parse_contract_months)]
CustomKey = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]


def custom_key(column: str) -> str:
    """The key a column that means no field is kept under (`Annual Revenue` -> `annual_revenue`): the key a
    filter (`custom.annual_revenue:...`) and a playbook trigger (`custom.annual_revenue`) name it by."""
    return "_".join(re.findall(r"[a-z0-9]+", column.lower()))[:64]


SignalKind = Annotated[SignalKindName, BeforeValidator(_lower)]
InteractionKind = Annotated[InteractionKindName, BeforeValidator(_lower)]
Direction = Annotated[DirectionName, BeforeValidator(_lower)]
Sentiment = Annotated[Literal["positive", "neutral", "negative"], BeforeValidator(_lower)]
TicketPriority = Annotated[Literal["low", "normal", "high", "urgent"], BeforeValidator(_lower)]
TicketStatus = Annotated[Literal["open", "pending", "solved", "closed"], BeforeValidator(_lower)]
SurveyKind = Annotated[Literal["nps", "csat"], BeforeValidator(_lower)]


def _json_object(value: object) -> object:
    """A JSON object given as text (a CSV cell) or as an object (a JSONL field)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError("not a JSON object") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


JsonObject = Annotated[dict[str, Any], BeforeValidator(_json_object)]


def date_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of `model` that hold a date or a moment (an import reads each through its column's reader)."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if any(_reads_dates(item) for item in (*info.metadata, info.annotation))
    )


def field_problem(model: type[BaseModel], name: str, value: object) -> str | None:
    """Why the field `name` of `model` cannot take `value` (None: it can), checked on its own, as an import
    checks a value map or a constant before any row."""
    info = model.model_fields[name]
    try:
        TypeAdapter[Any](cast(Any, Annotated)[info.annotation, info]).validate_python(value)
    except ValidationError as invalid:
        problem = str(invalid.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
        return problem[:1].lower() + problem[1:]
    return None


def _reads_dates(item: object) -> bool:
    if isinstance(item, BeforeValidator):
        return item.func in (_date, _timestamp)
    return any(_reads_dates(arg) for arg in get_args(item))


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_Event = TypeVar("_Event", "UsageRecord", "SignalRecord")


def _names_an_account(record: _Event) -> _Event:
    """An event names its account, or a person (a contact, an email) whose account it is."""
    if record.account is None and record.contact is None:
        raise ValueError("needs an account, or a contact (an email) whose account it is")
    return record


class AccountRecord(Record):
    id: Id | None = None
    hubspot_id: Id | None = None
    salesforce_id: SalesforceId | None = None
    name: Text | None = None
    """Required for a new account; a file that only updates existing accounts may leave it out."""
    domain: Annotated[str | None, BeforeValidator(_domain), Field(pattern=r"^[a-z0-9.-]+\.[a-z0-9-]+$")] = (
        None
    )
    owner: Text | None = None
    segment: Text | None = None
    plan: Text | None = None
    mrr: Money | None = None
    arr: Money | None = None
    seats: Count | None = None
    start_date: DateText | None = None
    renewal_date: DateText | None = None
    churned_on: DateText | None = None
    contract_months: ContractMonths | None = None
    """The contract term: `12`, `One year`, `Month-to-month` (1), `annual` ..."""
    cac: Money | None = None
    lifecycle_stage: Text | None = None
    custom: dict[CustomKey, Text] | None = None
    """The file's columns that mean no field, by their key (`custom_key`): kept as the account's custom fields."""
    aliases: Annotated[dict[str, str], BeforeValidator(_aliases)] | None = None
    """Its ids in other systems by system (`stripe`, `zendesk`), by which references find it too."""
    modified_at: Timestamp | None = None
    """When the source last changed the record (HubSpot's `hs_lastmodifieddate`, Salesforce's
    `LastModifiedDate`): a value older than the one stored does not replace it."""

    @model_validator(mode="after")
    def _identified(self) -> AccountRecord:
        if not (self.id or self.hubspot_id or self.salesforce_id or self.domain):
            raise ValueError(
                "needs an id, a HubSpot or Salesforce id, or a domain to be matched on re-import"
            )
        if (
            self.mrr is not None
            and self.arr is not None
            and abs(self.mrr * 12 - self.arr) > 0.01 * max(self.arr, 1)
        ):
            raise ValueError(f"mrr {self.mrr:g} and arr {self.arr:g} disagree (arr should be 12 x mrr)")
        return self


class ContactRecord(Record):
    id: Id | None = None
    account: Id
    hubspot_id: Id | None = None
    salesforce_id: SalesforceId | None = None
    name: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    email: Annotated[str | None, BeforeValidator(_lower), Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] = None
    role: Text | None = None
    phone: Text | None = None
    birthday: DateText | None = None
    email_opt_in: Flag | None = None
    do_not_contact: Flag | None = None
    personalization_consent: Flag | None = None

    @model_validator(mode="after")
    def _identified(self) -> ContactRecord:
        if not (self.id or self.hubspot_id or self.salesforce_id or self.email):
            raise ValueError(
                "needs an id, a HubSpot or Salesforce id, or an email to be matched on re-import"
            )
        if not (self.name or self.first_name or self.last_name or self.email):
            raise ValueError("needs a name (or first and last name, or an email)")
        return self

    @property
    def full_name(self) -> str:
        parts = " ".join(part for part in (self.first_name, self.last_name) if part)
        return self.name or parts or (self.email or "")


class ProductRecord(Record):
    id: Id
    name: Text
    family: Text | None = None
    list_price: Money | None = None


class FeatureRecord(Record):
    id: Id
    product: Id
    name: Text


class ComplementRecord(Record):
    product: Id
    complement: Id
    reason: Text

    @model_validator(mode="after")
    def _different(self) -> ComplementRecord:
        if self.product == self.complement:
            raise ValueError("a product cannot complement itself")
        return self


class EntitlementRecord(Record):
    account: Id
    product: Id
    started_on: DateText
    ended_on: DateText | None = None
    seats: Count | None = None


class UsageRecord(Record):
    account: Id | None = None
    """Not given: the account of the contact, or of the domain of the contact's email (a person only)."""
    feature: Id
    occurred_at: Timestamp
    contact: Id | None = None
    count: Count = 1
    source_id: Id | None = None

    @model_validator(mode="after")
    def _named(self) -> UsageRecord:
        return _names_an_account(self)


class SignalRecord(Record):
    account: Id | None = None
    """Not given: the account of the contact, or of the domain of the contact's email (a person only)."""
    kind: SignalKind
    occurred_at: Timestamp
    contact: Id | None = None
    value: Number | None = None
    payload: JsonObject | None = None
    source_id: Id | None = None

    @model_validator(mode="after")
    def _named(self) -> SignalRecord:
        return _names_an_account(self)


class TicketRecord(Record):
    id: Id
    account: Id
    contact: Id | None = None
    opened_at: Timestamp
    closed_at: Timestamp | None = None
    priority: TicketPriority | None = None
    status: TicketStatus | None = None
    """Not given: closed if the ticket has a closing time, else open."""
    escalated: Flag | None = None
    subject: Text | None = None


class SurveyRecord(Record):
    id: Id | None = None
    account: Id
    contact: Id | None = None
    kind: SurveyKind
    score: Annotated[int, BeforeValidator(parsing.parse_integer)]
    responded_at: Timestamp
    comment: Text | None = None

    @model_validator(mode="after")
    def _in_scale(self) -> SurveyRecord:
        low, high = (0, 10) if self.kind == "nps" else (1, 5)
        if not low <= self.score <= high:
            raise ValueError(f"score {self.score} is outside the {self.kind.upper()} scale {low}-{high}")
        return self


# Interactions get a stable CRM upsert key derived from their id, the same on every machine.
SYNC_KEY_NAMESPACE = uuid.UUID("6b0c1f0e-5a8e-4c55-9a53-0c0c4b1d2e11")


def interaction_sync_key(interaction_id: str) -> str:
    return str(uuid.uuid5(SYNC_KEY_NAMESPACE, interaction_id))


FOLLOW_UP_KEY_SUFFIX = "-follow-up"


def follow_up_sync_key(interaction_key: str) -> str:
    """The CRM upsert key of the follow-up an interaction asked for (its task in the CRM): made from the
    interaction's own key, so it is as stable, and distinct from it."""
    return interaction_key + FOLLOW_UP_KEY_SUFFIX


def item_sync_key(pushed_key: str) -> str:
    """The sync key of the local item a key found on a CRM record stands for: a follow-up's stands for its
    interaction's (one follow-up an interaction), any other for itself."""
    return pushed_key.removesuffix(FOLLOW_UP_KEY_SUFFIX)


class InteractionRecord(Record):
    id: Id | None = None
    account: Id
    contact: Id | None = None
    kind: InteractionKind
    direction: Direction = "outbound"
    """Not given: internal for a note (kept inside the team), else outbound."""
    occurred_at: Timestamp
    summary: Text
    sentiment: Sentiment | None = None
    author: Text | None = None
    follow_up_on: DateText | None = None
    hubspot_id: Id | None = None
    salesforce_id: Id | None = None

    @model_validator(mode="before")
    @classmethod
    def _note_is_internal(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and data.get("direction") in (None, "")
            and _lower(data.get("kind")) == "note"
        ):
            return {**data, "direction": "internal"}
        return data


def _minor_units(value: object) -> object:
    """An amount in a currency's smallest unit: a whole number, written without a decimal point (a `49.00`
    is an amount in units, which read as cents would be a hundred times too small)."""
    text = _text(value)
    if isinstance(text, str) and text.isascii() and text.isdigit():
        return int(text)
    raise ValueError(
        "a whole number in the currency's smallest unit (4900 for 49.00); a decimal one is amount"
    )


class TransactionRecord(Record):
    """An order or a paid invoice: revenue evidence for the lifetime-value models."""

    id: Id
    account: Id | None = None
    contact: Id | None = None
    """Who paid (an email, as Stripe's `customer_email`): names the account when `account` does not."""
    occurred_at: Timestamp
    amount: Number | None = None
    amount_minor: Annotated[int | None, BeforeValidator(_minor_units)] = None
    """The amount in the currency's smallest unit (cents), as Stripe writes `amount_paid`."""
    currency: Annotated[str | None, BeforeValidator(_text), Field(pattern=r"^[A-Za-z]{3}$")] = None
    """Checked against the book's currency (`general.currency`, the validation context's `currency`)."""
    status: Annotated[str | None, BeforeValidator(_lower)] = None
    """An invoice's status: only a `paid` one (or a row without a status) is a transaction."""

    @field_validator("currency")
    @classmethod
    def _the_books_currency(cls, currency: str | None, info: ValidationInfo) -> str | None:
        book = info.context.get("currency") if info.context else None
        if currency and book and currency.upper() != book.upper():
            raise ValueError(
                f"the book's amounts are in {book.upper()} (general.currency), not this currency"
            )
        return currency

    @model_validator(mode="after")
    def _one_payer_and_amount(self) -> TransactionRecord:
        if self.account is None and self.contact is None:
            raise ValueError("needs the account, or the contact (an email) who paid")
        if (self.amount is None) == (self.amount_minor is None):
            raise ValueError("needs one amount: amount, or amount_minor (in cents)")
        return self

    @property
    def in_currency_units(self) -> float:
        """The amount in units of the currency (dollars, not cents)."""
        if self.amount is not None:
            return self.amount
        assert self.amount_minor is not None
        zero_decimal = (self.currency or "").upper() in ZERO_DECIMAL_CURRENCIES
        return float(self.amount_minor) if zero_decimal else self.amount_minor / 100


ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
"""Currencies without a minor unit: Stripe writes their amounts as they are (stripe.com/docs/currencies)."""


class SubscriptionRecord(Record):
    """One subscription of an account: the current one sets the account's plan, MRR and seats; the others are
    its history."""

    id: Id
    account: Id
    plan: Text | None = None
    mrr: Money | None = None
    arr: Money | None = None
    seats: Count | None = None
    started_on: DateText
    ended_on: DateText | None = None
    status: Annotated[str | None, BeforeValidator(_lower)] = None
    """As the billing system says it (active, trialing, canceled...): an ended status is not current."""


class ChurnEventRecord(Record):
    """An account churned on a day, for a reason: the latest sets the account's churn day."""

    id: Id | None = None
    account: Id
    churned_on: DateText
    reason: Text | None = None
