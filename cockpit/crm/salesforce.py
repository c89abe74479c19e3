"""Salesforce: the REST API with an OAuth 2.0 client-credentials token.

- Auth: `POST {instance_url}/services/oauth2/token` (grant_type=client_credentials) gives an access token
  and the instance to call; a 401 INVALID_SESSION_ID gets one new token, then the request once more.
- Pull: SOQL on `SystemModstamp` (indexed, and changed by system updates too), oldest first, following
  `nextRecordsUrl`; deletions through `queryAll` with `IsDeleted = true`. Accounts bring their owner's
  name (`Owner.Name`); Tasks and Events (everyone's, by the same watermark) their account and owner.
- Push: Tasks (calls, emails, notes, approved outreach) and Events (meetings, QBRs) upserted by the
  external-id field through sObject Collections, 200 a call, results in input order. `TaskSubtype` (Call,
  Email) can only be set on create, so whether an item is a create or an update is asked of Salesforce
  before any resend (a query by the external-id field): a key Salesforce does not hold yet is created with
  its subtype, one it holds is updated without it. A write that carries a subtype is not resent blindly
  by the transport after an unknown outcome (a timeout, a dropped answer): the next pass looks first.
- Limits: `Sforce-Limit-Info: api-usage=N/M` on every answer feeds the daily reserve; 403
  REQUEST_LIMIT_EXCEEDED stops the run (the daily allocation) or backs off (the concurrency limit).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from cockpit.config import Settings
from cockpit.crm.base import (
    Confirmation,
    CrmAdapter,
    Deletion,
    OutboxItem,
    PulledEngagement,
    PulledRecord,
    PullKind,
    PushResult,
    TaskState,
    end_of_meeting,
    local_time,
    parse_time,
    title,
    utc_text,
)
from cockpit.crm.secrets import Secret, flaw, remember, require_secret
from cockpit.crm.transport import (
    AuthError,
    DailyLimitReached,
    Outcome,
    PermanentError,
    RateLimited,
    Refresh,
    Retry,
    Sleep,
    Transport,
    check_url,
    json_body,
)
from cockpit.errors import ConfigError

OBJECTS = {"accounts": "Account", "contacts": "Contact"}
PULLED = {
    "Account": {"Name": "name", "Website": "domain", "Owner.Name": "owner"},
    "Contact": {
        "AccountId": "account",
        "FirstName": "first_name",
        "LastName": "last_name",
        "Email": "email",
        "Phone": "phone",
        "Title": "role",
    },
}
ACTIVITY_COLUMNS = {
    "Task": (
        "Subject",
        "Description",
        "ActivityDate",
        "TaskSubtype",
        "CallType",
        "OwnerId",
        "Status",
        "IsClosed",
    ),
    "Event": ("Subject", "Description", "StartDateTime", "ActivityDateTime", "OwnerId"),
}
ACTIVITY_KINDS = {"Call": "call", "Email": "email", "ListEmail": "email"}
"""A Task's subtype as an interaction kind; any other Task is kept as a note saying it is a task."""
SUBTYPES = {"call": "Call", "email": "Email", "call_task": "Call", "todo": "Task"}
KEYS_PER_QUERY = 100
"""External ids or record ids per lookup query (a SOQL query goes in the URL, whose limit is 16,384 bytes:
100 keys keep it well short of that)."""
TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE"})
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceTransport(Transport):
    vendor = "Salesforce"

    def __init__(self, settings: Settings, client_id: Secret, client_secret: Secret, *, sleep: Sleep) -> None:
        salesforce = settings.crm.salesforce
        if not salesforce.instance_url:
            raise ConfigError(
                "crm.salesforce.instance_url is empty.",
                hint="Set it to your org's My Domain URL, e.g. https://acme.my.salesforce.com.",
            )
        super().__init__(salesforce.instance_url, settings.sync, sleep=sleep)
        self._client_id, self._client_secret = client_id, client_secret
        self._token: Secret | None = None
        self._renewing = threading.Lock()
        """One token request at a time, however many requests are in flight."""
        self.instance = str(self.base_url)

    def auth_headers(self) -> dict[str, str]:
        if self._token is None:
            with self._renewing:
                if self._token is None:
                    self._renew()
        assert self._token is not None
        return {"Authorization": f"Bearer {self._token.reveal()}"}

    def refresh(self) -> bool:
        with self._renewing:
            self._renew()
        return True

    def _renew(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id.reveal(),
            "client_secret": self._client_secret.reveal(),
        }
        try:
            response = self.request("POST", "/services/oauth2/token", data=form, authenticated=False)
        except PermanentError as error:
            raise AuthError(
                f"Salesforce refused the client credentials: {error.message}",
                hint="Check the connected app's client id and secret, and that it allows the client-credentials flow.",
            ) from None
        body = json_body(response)
        token = str(body.get("access_token") or "")
        if not token:
            raise AuthError("Salesforce: the token answer carried no access_token")
        remember(token)
        problem = flaw(token)
        if problem is not None:
            raise AuthError(f"Salesforce: the access token it handed out is unusable: {problem}")
        instance = str(body.get("instance_url") or self.instance).rstrip("/")
        self.instance = str(check_url(instance)).rstrip("/")
        self._token = Secret(token, "Salesforce token answer")  # last: a token names the instance to call

    def observe(self, response: httpx.Response) -> None:
        found = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if found:
            self.record_daily(int(found.group(1)), int(found.group(2)))

    def describe(self, response: httpx.Response) -> tuple[str, str | None]:
        try:
            body = response.json()
        except ValueError:
            return response.text[:300] or response.reason_phrase, None
        if isinstance(body, list) and body and isinstance(body[0], dict):
            first = body[0]
            return f"{first.get('errorCode', '')}: {first.get('message', '')}", first.get("errorCode")
        if isinstance(body, dict):  # the OAuth endpoint: {"error", "error_description"}
            return f"{body.get('error', '')}: {body.get('error_description', '')}", body.get("error")
        return str(body)[:300], None

    def classify(self, response: httpx.Response) -> Outcome:
        status = response.status_code
        if status in (401, 403):
            message, code = self.describe(response)
            if code == "REQUEST_LIMIT_EXCEEDED":
                if "concurrent" in message.lower():
                    return Retry(RateLimited(f"Salesforce: {message}"))
                raise DailyLimitReached(
                    f"Salesforce: {message}", hint="The next run carries on where this one stopped."
                )
            if status == 401:
                return Refresh(AuthError(f"Salesforce answered 401: {message}"))
        return super().classify(response)


class SalesforceAdapter(CrmAdapter):
    name = "salesforce"
    engagement_objects = tuple(ACTIVITY_COLUMNS)

    def __init__(
        self,
        settings: Settings,
        *,
        client_id: Secret | None = None,
        client_secret: Secret | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        salesforce = settings.crm.salesforce
        self.settings = settings
        self.batch_size = salesforce.batch_size
        self.field = salesforce.external_id_field
        self.version = salesforce.api_version
        self.transport = SalesforceTransport(
            settings,
            client_id or require_secret(salesforce.client_id_env, crm="Salesforce"),
            client_secret or require_secret(salesforce.client_secret_env, crm="Salesforce"),
            sleep=time.sleep if sleep is None else sleep,
        )
        self._sf = self.transport
        self._pulled = {sobject: dict(fields) for sobject, fields in PULLED.items()}
        """CRM field -> cockpit field per sObject: the standard ones and those the config names."""
        if salesforce.lifecycle_field:
            self._pulled["Account"][salesforce.lifecycle_field] = "lifecycle_stage"
        if salesforce.churned_on_field:
            self._pulled["Account"][salesforce.churned_on_field] = "churned_on"

    def _api(self, path: str) -> str:
        self._sf.auth_headers()  # a token first: it names the instance to call
        return f"{self._sf.instance}/services/data/{self.version}{path}"

    def setup(self) -> dict[str, str]:
        """Check that Task and Event carry the external-id field (REST cannot create a custom field)."""
        for sobject in ("Task", "Event"):
            described = json_body(self._sf.request("GET", self._api(f"/sobjects/{sobject}/describe")))
            field = next((f for f in described.get("fields", []) if f.get("name") == self.field), None)
            if field is None or not field.get("externalId"):
                raise PermanentError(
                    f"Salesforce: {sobject} has no external-id field {self.field}.",
                    code="SETUP",
                    hint=(
                        f"In Setup > Object Manager > Activity > Fields, add {self.field}: Text(255), "
                        "External ID and Unique; then run `cockpit sync setup --crm salesforce` again."
                    ),
                )
        return {"external_id_field": self.field}

    # Pull -------------------------------------------------------------------------------------------

    def _query(self, endpoint: str, soql: str) -> Iterator[list[dict[str, Any]]]:
        page = json_body(self._sf.request("GET", self._api(f"/{endpoint}"), params={"q": soql}))
        while True:
            records: list[dict[str, Any]] = page.get("records", [])
            if records:
                yield records
            following = page.get("nextRecordsUrl")
            if page.get("done", True) or not following:
                return
            page = json_body(self._sf.request("GET", f"{self._sf.instance}{following}"))

    def pull_changes(self, kind: PullKind, since: datetime | None) -> Iterator[list[PulledRecord]]:
        sobject = OBJECTS[kind]
        columns = ", ".join(["Id", *self._pulled[sobject], "SystemModstamp"])
        where = "" if since is None else f" WHERE SystemModstamp >= {utc_text(since)}"
        soql = f"SELECT {columns} FROM {sobject}{where} ORDER BY SystemModstamp ASC"
        for records in self._query("query", soql):
            page = []
            for raw in records:
                fields: dict[str, Any] = {"salesforce_id": str(raw["Id"])}
                for source, target in self._pulled[sobject].items():
                    value = _value(raw, source)
                    if value not in (None, ""):
                        fields[target] = value
                page.append(PulledRecord(str(raw["Id"]), parse_time(str(raw["SystemModstamp"])), fields))
            yield page

    def pull_engagements(self, since: Mapping[str, datetime | None]) -> Iterator[list[PulledEngagement]]:
        """Tasks, then Events, each modified since its `since` (`SystemModstamp`, like the accounts), with their
        account (`AccountId`: Salesforce derives it from WhatId or WhoId), their contact (`WhoId`) and their
        owner's name."""
        for sobject, columns in ACTIVITY_COLUMNS.items():
            after = since.get(sobject)
            where = "" if after is None else f" WHERE SystemModstamp >= {utc_text(after)}"
            listed = ", ".join(
                ["Id", *columns, "AccountId", "WhoId", "Owner.Name", self.field, "SystemModstamp"]
            )
            soql = f"SELECT {listed} FROM {sobject}{where} ORDER BY SystemModstamp ASC"
            for records in self._query("query", soql):
                yield [self._activity(sobject, raw) for raw in records]

    def _activity(self, sobject: str, raw: dict[str, Any]) -> PulledEngagement:
        subject, description = (
            str(raw.get("Subject") or "").strip(),
            str(raw.get("Description") or "").strip(),
        )
        summary = " · ".join(dict.fromkeys(text for text in (subject, description) if text)) or "(no text)"
        if sobject == "Event":
            kind, direction = "meeting", "outbound"
            when = raw.get("StartDateTime") or raw.get("ActivityDateTime")
        else:
            kind = ACTIVITY_KINDS.get(str(raw.get("TaskSubtype") or ""), "note")
            direction = "inbound" if raw.get("CallType") == "Inbound" else "outbound"
            if kind == "note":
                summary, direction = f"task: {summary}", "internal"
            when = raw.get("ActivityDate")
        task = None
        if sobject == "Task":  # closed: `Completed`, or any status the org marks closed
            done = raw.get("Status") == "Completed" or bool(raw.get("IsClosed"))
            task = TaskState(done=done, due_on=str(when)[:10] if when else None)
        account, contact = raw.get("AccountId"), raw.get("WhoId")
        return PulledEngagement(
            crm_id=str(raw["Id"]),
            crm_object=sobject,
            modified_at=parse_time(str(raw["SystemModstamp"])),
            kind=kind,
            direction=direction,
            occurred_at=parse_time(str(when or raw["SystemModstamp"])),
            summary=summary,
            author=_value(raw, "Owner.Name") or raw.get("OwnerId"),
            account_crm_ids=(str(account),) if account else (),
            sync_key=raw.get(self.field) or None,
            contact_crm_ids=(str(contact),) if contact else (),  # a Lead's id finds no contact
            task=task,
        )

    def pull_deletions(self, kind: PullKind, since: datetime | None) -> Iterator[list[Deletion]]:
        return self._deleted(OBJECTS[kind], since)

    def pull_engagement_deletions(self, since: Mapping[str, datetime | None]) -> Iterator[list[Deletion]]:
        """The Tasks, the Events, or both (those of `since`, in turn) in the recycle bin (`queryAll` with
        `IsDeleted = true`)."""
        for sobject, after in since.items():
            yield from self._deleted(sobject, after)

    def _deleted(self, sobject: str, since: datetime | None) -> Iterator[list[Deletion]]:
        """Deleted records of `sobject`; an Account's or a Contact's with its `MasterRecordId`, the winner of
        the merge that deleted it (activities are not merged)."""
        after = "" if since is None else f" AND SystemModstamp >= {utc_text(since)}"
        master = ", MasterRecordId" if sobject in PULLED else ""
        soql = (
            f"SELECT Id, SystemModstamp{master} FROM {sobject} WHERE IsDeleted = true{after} "
            "ORDER BY SystemModstamp ASC"
        )
        for records in self._query("queryAll", soql):
            yield [
                Deletion(
                    str(raw["Id"]),
                    parse_time(str(raw["SystemModstamp"])),
                    sobject,
                    merged_into=str(raw["MasterRecordId"]) if raw.get("MasterRecordId") else None,
                )
                for raw in records
            ]

    def confirm_deleted(self, crm_object: str, crm_ids: Sequence[str]) -> Confirmation:
        """`SELECT Id ... WHERE Id IN (...) AND IsDeleted = false`, `KEYS_PER_QUERY` ids a query, through
        `queryAll` (`query` leaves out archived activities, Tasks and Events a year old, which are live):
        an id the answer lacks is deleted (or purged)."""
        live: set[str] = set()
        for start in range(0, len(crm_ids), KEYS_PER_QUERY):
            listed = ", ".join(_soql_text(crm_id) for crm_id in crm_ids[start : start + KEYS_PER_QUERY])
            soql = f"SELECT Id FROM {crm_object} WHERE Id IN ({listed}) AND IsDeleted = false"
            for records in self._query("queryAll", soql):
                live.update(str(raw["Id"]) for raw in records)
        live &= set(crm_ids)
        return Confirmation(frozenset(crm_ids) - live, frozenset(live))

    # Push -------------------------------------------------------------------------------------------

    def target(self, item: OutboxItem) -> str:
        return "Event" if not item.is_task and item.kind in ("meeting", "qbr") else "Task"

    def fields(self, item: OutboxItem) -> dict[str, Any]:
        when = local_time(item.occurred_at)
        record: dict[str, Any] = {"WhatId": item.account_crm_id, "Description": item.body}
        if item.contact_crm_id:
            record["WhoId"] = item.contact_crm_id
        if self.target(item) == "Event":
            record.update(
                Subject=("QBR: " if item.kind == "qbr" else "Meeting: ") + title(item.body, 240),
                StartDateTime=utc_text(when),
                EndDateTime=utc_text(end_of_meeting(when, self.settings.sync.meeting_minutes)),
            )
        elif item.is_task:
            record.update(
                Subject=item.subject or title(item.body, 240),
                Status="Completed" if item.done else "Not Started",
                Priority="Normal",
                ActivityDate=when.date().isoformat(),
            )
        else:
            label = {"call": "Call", "email": "Email", "note": "Note"}[item.kind]
            record.update(
                Subject=f"{label}: {title(item.body, 240)}",
                Status="Completed",
                Priority="Normal",
                ActivityDate=when.date().isoformat(),
            )
            if item.kind == "call":
                record["CallType"] = "Inbound" if item.direction == "inbound" else "Outbound"
        subtype = self._subtype(item)
        if subtype and item.crm_id is None:
            record["TaskSubtype"] = subtype  # create-only; `push` asks Salesforce before a resend
        record[self.field] = item.sync_key
        return record

    def _subtype(self, item: OutboxItem) -> str | None:
        return SUBTYPES.get(item.kind) if self.target(item) == "Task" else None

    def _held(self, target: str, keys: Sequence[str]) -> set[str]:
        """Those of `keys` a live record of `target` carries in the external-id field."""
        held: set[str] = set()
        for start in range(0, len(keys), KEYS_PER_QUERY):
            listed = ", ".join(_soql_text(key) for key in keys[start : start + KEYS_PER_QUERY])
            soql = f"SELECT Id, {self.field} FROM {target} WHERE {self.field} IN ({listed})"
            for records in self._query("query", soql):
                held.update(str(raw[self.field]) for raw in records if raw.get(self.field))
        return held

    def push(self, target: str, items: Sequence[OutboxItem]) -> list[PushResult]:
        # A key sent before (its outcome unknown, or refused, or a kill in between) may or may not be in
        # Salesforce: ask, so that a create carries the subtype and an update does not.
        sent_before = [
            item.sync_key for item in items if self._subtype(item) and (item.retried or item.crm_id)
        ]
        held = self._held(target, sent_before) if sent_before else set()
        records = []
        for item in items:
            record = {"attributes": {"type": target}, **self.fields(item)}
            subtype = self._subtype(item)
            if subtype and item.sync_key not in held:
                record["TaskSubtype"] = subtype
            else:
                record.pop("TaskSubtype", None)
            records.append(record)
        path = self._api(f"/composite/sobjects/{target}/{quote(self.field)}")
        creates_with_subtype = any("TaskSubtype" in record for record in records)
        answer = json_body(
            self._sf.request(
                "PATCH",
                path,
                json={"allOrNone": False, "records": records},
                idempotent=not creates_with_subtype,  # resent as is, a create that went through is refused
            )
        )
        if not isinstance(answer, list) or len(answer) != len(items):
            return [
                PushResult(
                    item.sync_key, error="Salesforce: the answer does not match the batch", transient=True
                )
                for item in items
            ]
        results = []
        for item, raw in zip(items, answer, strict=True):
            if raw.get("success"):
                results.append(PushResult(item.sync_key, crm_id=str(raw["id"])))
                continue
            errors = raw.get("errors") or [{}]
            code = str(errors[0].get("statusCode") or "")
            message = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)
            # TaskSubtype on what turned out an update (written meanwhile): the next pass asks again.
            raced = code == "INVALID_FIELD_FOR_INSERT_UPDATE" and "TaskSubtype" in (
                errors[0].get("fields") or []
            )
            results.append(
                PushResult(
                    item.sync_key, error=f"Salesforce: {message}", transient=code in TRANSIENT_CODES or raced
                )
            )
        return results


def _value(raw: dict[str, Any], path: str) -> Any:
    """A field of a SOQL row, following a relationship (`Owner.Name` is `{"Owner": {"Name": ...}}`)."""
    value: Any = raw
    for name in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _soql_text(value: str) -> str:
    """A SOQL string literal."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
