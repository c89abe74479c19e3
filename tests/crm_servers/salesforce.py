"""A Salesforce REST API server for tests: the endpoints cockpit uses, as Salesforce documents them.

- OAuth 2.0 client credentials at `/services/oauth2/token` (400 invalid_client for bad credentials);
  a token is good until the `expire_session` fault, after which it gets 401 INVALID_SESSION_ID.
- `/services/data/{version}/...` for the configured version only (404 otherwise).
- SOQL on `query` and `queryAll`: `SELECT fields FROM Account|Contact|Task|Event [WHERE a op b AND ...]
  [ORDER BY f ASC, ...]` (op: = != < <= > >=, and IN ('a', 'b')), unknown fields are INVALID_FIELD (Account has the org's custom fields too), datetime
  literals must be unquoted (a quoted one is MALFORMED_QUERY), deleted rows and archived activities
  (`IsArchived`, a Task or Event a year old) only through `queryAll`;
  results in batches of `page_size` with `nextRecordsUrl` until `done`; a URI longer than 16,384 bytes
  (a query's long `IN` list) is a 414.
- sObject Collections upsert (`PATCH composite/sobjects/{Task|Event}/{ExternalIdField}`): at most 200
  records (400 otherwise), one sObject type, each with `attributes.type` and its external id and no `Id`;
  per-record errors in input order (REQUIRED_FIELD_MISSING, INVALID_CROSS_REFERENCE_KEY for an unknown
  WhatId/WhoId, INVALID_FIELD_FOR_INSERT_UPDATE for TaskSubtype on an update, DUPLICATE_VALUE).
- `merge`: a merge's losing record deleted with `MasterRecordId` naming the winner (Account, Contact).
- Relationship columns: `Owner.Name` (the users are `add_user`'s); an activity's `AccountId` follows its
  WhatId or WhoId.
- `describe` of Task and Event, with the external-id field when `external_id` is on.
- `Sforce-Limit-Info: api-usage=N/M` on every answer; past `daily_limit`, 403 REQUEST_LIMIT_EXCEEDED.
  The `429` fault is Salesforce's own answer to too much at once: 403 REQUEST_LIMIT_EXCEEDED naming the
  concurrent limit (Salesforce sends no 429 and no Retry-After).
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from tests.crm_servers.base import CrmServer, FaultPlan, Reply, Request, echoed, now

VERSION = "v62.0"
FIELDS = {
    "Account": {
        "Id",
        "Name",
        "Website",
        "Type",
        "Industry",
        "OwnerId",
        "SystemModstamp",
        "LastModifiedDate",
        "IsDeleted",
        "MasterRecordId",
    },
    "Contact": {
        "Id",
        "AccountId",
        "FirstName",
        "LastName",
        "Email",
        "Phone",
        "Title",
        "OwnerId",
        "SystemModstamp",
        "IsDeleted",
        "MasterRecordId",
    },
}
TASK_FIELDS = {
    "Subject",
    "Status",
    "IsClosed",
    "Priority",
    "ActivityDate",
    "Description",
    "OwnerId",
    "WhoId",
    "WhatId",
    "TaskSubtype",
    "CallType",
    "CallDurationInSeconds",
    "CallDisposition",
    "Type",
}
EVENT_FIELDS = {
    "Subject",
    "StartDateTime",
    "EndDateTime",
    "DurationInMinutes",
    "ActivityDateTime",
    "Description",
    "Location",
    "WhoId",
    "WhatId",
    "OwnerId",
    "IsAllDayEvent",
}
PREFIX = {"Account": "001", "Contact": "003", "Task": "00T", "Event": "00U"}
COLLECTION_LIMIT = 200
URI_LIMIT = 16_384
"""Bytes a REST request's URI may hold: a SOQL query goes in it, so a long `IN (...)` list must be split."""
_SOQL = re.compile(
    r"^SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<obj>\w+)(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>.+?))?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE,
)
_CONDITION = re.compile(r"^(\w+)\s*(=|!=|>=|<=|>|<|\bIN\b)\s*(.+)$", re.IGNORECASE)
_TEXT = re.compile(r"'((?:[^'\\]|\\.)*)'")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")


def stamp(moment: datetime) -> str:
    """Salesforce's datetime form: `2026-11-21T10:00:00.000+0000`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _moment(text: str) -> datetime:
    value = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", value):
        value = f"{value[:-2]}:{value[-2:]}"
    return datetime.fromisoformat(value)


def _sort_key(name: str, record: dict[str, Any]) -> Any:
    return _moment(record[name]) if name == "SystemModstamp" else str(record.get(name))


def failure(status: int, code: str, message: str, fields: list[str] | None = None) -> Reply:
    return Reply(status, [{"message": message, "errorCode": code, "fields": fields or []}])


class SalesforceServer(CrmServer):
    def __init__(
        self,
        *,
        client_id: str = "3MVG9-test-client",
        client_secret: str = "test-client-secret-0123456789",
        faults: FaultPlan | None = None,
        daily_limit: int = 100_000,
        page_size: int = 2000,
        external_id: str | None = "Cockpit_External_Id__c",
        account_fields: tuple[str, ...] = ("Churned_On__c",),
    ) -> None:
        """`account_fields`: the org's custom Account fields (a Date field that records churn, by default)."""
        super().__init__(faults)
        activity = {
            "Id",
            "Subject",
            "SystemModstamp",
            "IsDeleted",
            "IsArchived",
            *([external_id] if external_id else []),
        }
        related = {"Owner.Name"}
        self.fields = {
            "Account": FIELDS["Account"] | set(account_fields) | related,
            "Contact": FIELDS["Contact"] | related,
            "Task": activity | TASK_FIELDS | {"AccountId"} | related,
            "Event": activity | EVENT_FIELDS | {"AccountId"} | related,
        }
        self.users: dict[str, str] = {}
        """User id -> name: the owners a record's `OwnerId` names."""
        self.client_id, self.client_secret = client_id, client_secret
        self.daily_limit = daily_limit
        self.page_size = page_size
        self.external_id = external_id
        self.tokens: set[str] = set()
        self.handed_out: list[str] = []
        """Every access token issued, expired or not (a test looks for each where no secret may be)."""
        self.issued = 0
        self.used = 0
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in PREFIX}
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._counter = 0

    # Test helpers ----------------------------------------------------------------------------------------

    def _new_id(self, sobject: str) -> str:
        self._counter += 1
        return f"{PREFIX[sobject]}{self._counter:012d}AAA"

    def add(self, sobject: str, fields: dict[str, Any], *, modified: datetime | None = None) -> str:
        with self.lock:
            record_id = self._new_id(sobject)
            self.records[sobject][record_id] = {
                **fields,
                "Id": record_id,
                "SystemModstamp": stamp(modified or now()),
                "IsDeleted": False,
            }
            return record_id

    def update(
        self, sobject: str, record_id: str, fields: dict[str, Any], *, modified: datetime | None = None
    ) -> None:
        with self.lock:
            self.records[sobject][record_id].update(fields, SystemModstamp=stamp(modified or now()))

    def delete(self, sobject: str, record_id: str) -> None:
        with self.lock:
            self.records[sobject][record_id].update(IsDeleted=True, SystemModstamp=stamp(now()))

    def merge(self, sobject: str, loser: str, winner: str) -> None:
        """Merge `loser` into `winner` as Salesforce does: the loser deleted (to the recycle bin, so
        `queryAll` lists it) with `MasterRecordId` naming the winner, and the winner updated."""
        with self.lock:
            moment = stamp(now())
            self.records[sobject][loser].update(IsDeleted=True, MasterRecordId=winner, SystemModstamp=moment)
            self.records[sobject][winner].update(SystemModstamp=moment)

    def undelete(self, sobject: str, record_id: str, *, modified: datetime | None = None) -> None:
        """Restore a record from the recycle bin: live again, and modified now (or at `modified`)."""
        with self.lock:
            self.records[sobject][record_id].update(IsDeleted=False, SystemModstamp=stamp(modified or now()))

    def archive_activity(self, sobject: str, record_id: str) -> None:
        """Archive a Task or Event, as Salesforce does a year after it: live, but only `queryAll` shows it."""
        with self.lock:
            self.records[sobject][record_id]["IsArchived"] = True

    def keys(self) -> Counter[str]:
        """How many live Tasks and Events carry each external-id value."""
        with self.lock:
            return Counter(
                str(record[self.external_id])
                for sobject in ("Task", "Event")
                for record in self.records[sobject].values()
                if self.external_id and not record["IsDeleted"] and record.get(self.external_id)
            )

    def find(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return [
                (sobject, record)
                for sobject in ("Task", "Event")
                for record in self.records[sobject].values()
                if self.external_id and record.get(self.external_id) == key
            ]

    # Dispatch --------------------------------------------------------------------------------------------

    def _usage(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.used}/{self.daily_limit}"}

    def fault_reply(self, fault: str, request: Request) -> Reply | None:
        if fault == "429":
            return failure(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
        if fault == "daily_limit":
            return failure(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if fault == "expire_session":
            with self.lock:
                self.tokens.clear()
            return None
        if fault == "echo":
            if request.path == "/services/oauth2/token":
                return Reply(400, {"error": "invalid_request", "error_description": echoed(request)})
            return failure(400, "INVALID_FIELD", echoed(request))
        if fault in ("500", "502", "503"):
            return failure(int(fault), "SERVER_UNAVAILABLE", "The server is temporarily unavailable")
        return super().fault_reply(fault, request)

    def handle(self, request: Request, *, partial: bool) -> Reply:
        if request.path == "/services/oauth2/token":
            return self._token(request)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.tokens:
            return failure(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if self.used >= self.daily_limit:
            return failure(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.used += 1
        reply = self._route(request, partial)
        reply.headers.update(self._usage())
        return reply

    def _token(self, request: Request) -> Reply:
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return Reply(
                400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Reply(400, {"error": "invalid_client", "error_description": "invalid client credentials"})
        token = f"00D000000000001!{secrets.token_urlsafe(24)}"
        self.tokens.add(token)
        self.handed_out.append(token)
        self.issued += 1
        return Reply(
            200,
            {
                "access_token": token,
                "instance_url": self.url,
                "id": f"{self.url}/id/00D000000000001/005000000000001",
                "token_type": "Bearer",
                "issued_at": str(int(now().timestamp() * 1000)),
                "signature": "c2lnbmF0dXJl",
            },
        )

    def _route(self, request: Request, partial: bool) -> Reply:
        prefix = f"/services/data/{VERSION}/"
        if not request.path.startswith(prefix):
            return failure(404, "NOT_FOUND", "The requested resource does not exist")
        rest = request.path.removeprefix(prefix).strip("/").split("/")
        if request.method == "GET" and rest[0] in ("query", "queryAll"):
            if len(request.path) + len(quote(request.query.get("q", ""))) + 3 > URI_LIMIT:
                return failure(414, "URI_TOO_LONG", f"The URI is longer than {URI_LIMIT:,} bytes")
            if len(rest) == 2:
                return self._more(rest[1])
            return self._query(request.query.get("q", ""), include_deleted=rest[0] == "queryAll")
        if request.method == "GET" and len(rest) == 3 and rest[0] == "sobjects" and rest[2] == "describe":
            return self._describe(rest[1])
        if request.method == "PATCH" and len(rest) == 4 and rest[:2] == ["composite", "sobjects"]:
            return self._upsert(rest[2], rest[3], request.json(), partial)
        return failure(404, "NOT_FOUND", "The requested resource does not exist")

    # SOQL ------------------------------------------------------------------------------------------------

    def _query(self, soql: str, *, include_deleted: bool) -> Reply:
        parsed = _SOQL.match(soql.strip())
        if parsed is None:
            return failure(400, "MALFORMED_QUERY", f"unexpected token in: {soql[:80]}")
        sobject = parsed["obj"]
        if sobject not in self.fields:
            return failure(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        fields = [name.strip() for name in parsed["fields"].split(",")]
        conditions = []
        for part in (
            re.split(r"\s+AND\s+", parsed["where"] or "", flags=re.IGNORECASE) if parsed["where"] else []
        ):
            found = _CONDITION.match(part.strip())
            if found is None:
                return failure(400, "MALFORMED_QUERY", f"unexpected token: {part}")
            conditions.append((found[1], found[2], found[3].strip()))
        order = [item.split() for item in (parsed["order"] or "").split(",") if item.strip()]
        for name in [*fields, *(c[0] for c in conditions), *(o[0] for o in order)]:
            if name not in self.fields[sobject]:
                return failure(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")
        rows = []
        for record in self.records[sobject].values():
            if (record["IsDeleted"] or record.get("IsArchived")) and not include_deleted:
                continue
            keep = True
            for name, operator, literal in conditions:
                check = self._compare(record.get(name), operator, literal)
                if isinstance(check, Reply):
                    return check
                keep = keep and check
            if keep:
                rows.append(record)
        for item in reversed(order):
            rows.sort(key=partial(_sort_key, item[0]), reverse=len(item) > 1 and item[1].upper() == "DESC")
        if parsed["limit"]:
            rows = rows[: int(parsed["limit"])]
        shaped = [
            {
                "attributes": {
                    "type": sobject,
                    "url": f"/services/data/{VERSION}/sobjects/{sobject}/{r['Id']}",
                },
                **{f.split(".")[0]: self._field(r, f) for f in fields},
            }
            for r in rows
        ]
        cursor = f"01g{secrets.token_hex(6)}"
        self._cursors[cursor] = shaped
        return self._page(cursor, 0)

    def _field(self, record: dict[str, Any], name: str) -> Any:
        """A column of a row: `Owner.Name` is the owning user's record; an activity's `AccountId` is its
        WhatId's account, else its WhoId's contact's account (Salesforce derives it so)."""
        if name == "Owner.Name":
            owner = record.get("OwnerId")
            if owner not in self.users:
                return None
            return {"attributes": {"type": "User"}, "Name": self.users[owner]}
        if name == "IsClosed":  # read-only, from the status (this org's one closed status: Completed)
            return record.get("Status") == "Completed"
        if name == "AccountId" and "AccountId" not in record:
            what, who = str(record.get("WhatId") or ""), str(record.get("WhoId") or "")
            if what.startswith(PREFIX["Account"]):
                return what
            return self.records["Contact"].get(who, {}).get("AccountId")
        return record.get(name)

    def add_user(self, name: str) -> str:
        with self.lock:
            user = f"005{len(self.users) + 1:012d}AAA"
            self.users[user] = name
            return user

    def _compare(self, value: Any, operator: str, literal: str) -> bool | Reply:
        if operator.upper() == "IN":
            if not (literal.startswith("(") and literal.endswith(")")):
                return failure(400, "MALFORMED_QUERY", f"unexpected token: {literal}")
            listed = [re.sub(r"\\(.)", r"\1", text) for text in _TEXT.findall(literal)]
            return value in listed
        if literal.lower() in ("true", "false"):
            wanted: Any = literal.lower() == "true"
            left: Any = bool(value)
        elif _DATETIME.match(literal):
            wanted, left = _moment(literal), _moment(str(value)) if value else None
        elif literal.startswith("'") and literal.endswith("'"):
            inner = literal[1:-1]
            if _DATETIME.match(inner):
                return failure(
                    400,
                    "MALFORMED_QUERY",
                    f"value of filter criterion must be of type dateTime and should not be enclosed in quotes: {literal}",
                )
            wanted, left = inner, value
        else:
            return failure(400, "MALFORMED_QUERY", f"unexpected token: {literal}")
        if left is None:
            return False
        outcome: bool = {
            "=": left == wanted,
            "!=": left != wanted,
            ">": left > wanted,
            ">=": left >= wanted,
            "<": left < wanted,
            "<=": left <= wanted,
        }[operator]
        return outcome

    def _page(self, cursor: str, offset: int) -> Reply:
        rows = self._cursors[cursor]
        batch = rows[offset : offset + self.page_size]
        done = offset + self.page_size >= len(rows)
        body: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": batch}
        if not done:
            body["nextRecordsUrl"] = f"/services/data/{VERSION}/query/{cursor}-{offset + self.page_size}"
        return Reply(200, body)

    def _more(self, locator: str) -> Reply:
        cursor, _, offset = locator.rpartition("-")
        if cursor not in self._cursors or not offset.isdigit():
            return failure(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor, int(offset))

    # Describe and upsert ---------------------------------------------------------------------------------

    def _describe(self, sobject: str) -> Reply:
        if sobject not in ("Task", "Event"):
            return failure(404, "NOT_FOUND", "The requested resource does not exist")
        names = sorted(TASK_FIELDS if sobject == "Task" else EVENT_FIELDS)
        fields = [{"name": name, "externalId": False, "unique": False} for name in ["Id", *names]]
        if self.external_id:
            fields.append({"name": self.external_id, "externalId": True, "unique": True, "type": "string"})
        return Reply(200, {"name": sobject, "fields": fields})

    def _upsert(self, sobject: str, field: str, body: Any, partial: bool) -> Reply:
        if sobject not in ("Task", "Event"):
            return failure(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        if field != self.external_id:
            return failure(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field}"
            )
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            return failure(400, "JSON_PARSER_ERROR", "records must be a non-empty list")
        if len(records) > COLLECTION_LIMIT:
            return failure(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
            )
        allowed = TASK_FIELDS if sobject == "Task" else EVENT_FIELDS
        index = {r[field]: r["Id"] for r in self.records[sobject].values() if r.get(field)}
        results: list[dict[str, Any]] = []
        done_upto = len(records) // 2 if partial else len(records)
        for position, record in enumerate(records):
            if position >= done_upto:
                results.append(
                    _failed("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
                )
                continue
            if (record.get("attributes") or {}).get("type") != sobject:
                results.append(_failed("INVALID_TYPE", "each record's attributes.type must match the URI"))
                continue
            if "Id" in record:
                results.append(
                    _failed("INVALID_FIELD", "Id is not allowed in an upsert by external id", ["Id"])
                )
                continue
            key = record.get(field)
            values = {k: v for k, v in record.items() if k not in ("attributes", field)}
            unknown = sorted(set(values) - allowed)
            if not key or unknown:
                results.append(
                    _failed(
                        "INVALID_FIELD",
                        f"No such column {unknown or [field]} on {sobject}",
                        unknown or [field],
                    )
                )
                continue
            existing = index.get(key)
            problem = self._check(sobject, values, existing)
            if problem is not None:
                results.append(problem)
                continue
            if existing is None:
                record_id = self._new_id(sobject)
                self.records[sobject][record_id] = {
                    **values,
                    field: key,
                    "Id": record_id,
                    "IsDeleted": False,
                    "SystemModstamp": stamp(now()),
                }
                index[key] = record_id
                results.append({"id": record_id, "success": True, "errors": [], "created": True})
            else:
                self.records[sobject][existing].update(values, SystemModstamp=stamp(now()))
                results.append({"id": existing, "success": True, "errors": [], "created": False})
        return Reply(200, results)

    def _check(self, sobject: str, values: dict[str, Any], existing: str | None) -> dict[str, Any] | None:
        if existing is not None and "TaskSubtype" in values:
            return _failed(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "Unable to create/update fields: TaskSubtype.",
                ["TaskSubtype"],
            )
        for name, target in (("WhatId", "Account"), ("WhoId", "Contact")):
            ref = values.get(name)
            if ref is not None and (
                ref not in self.records[target] or self.records[target][ref]["IsDeleted"]
            ):
                return _failed("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {ref}", [name])
        if existing is None:
            required = ["Status", "Priority"] if sobject == "Task" else ["StartDateTime"]
            missing = [name for name in required if not values.get(name)]
            if sobject == "Event" and not (values.get("EndDateTime") or values.get("DurationInMinutes")):
                missing.append("EndDateTime")
            if missing:
                return _failed("REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", missing)
        return None


def _failed(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"success": False, "errors": [{"statusCode": code, "message": message, "fields": fields or []}]}
