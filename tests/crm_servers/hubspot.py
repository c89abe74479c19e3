"""A HubSpot CRM API server for tests: the endpoints cockpit uses, as HubSpot documents them.

- Date-versioned paths (`/crm/objects/2026-09/...`; another version is a 404), bearer-token auth (401
  INVALID_AUTHENTICATION otherwise).
- Search: written records show only `search_lag_seconds` after the write (the index trails writes);
  filter groups (at most 5, 10 filters each), operators EQ, GT, GTE, LT, LTE, IN, sorts as
  objects, `limit` at most 200, and the 10,000-result window: a query pages no further (`after` past the
  window is a 400). Archived records never show in search. The archived listing pages by `after`.
- Batch writes of at most 100 inputs (400 otherwise): `batch/upsert` by a unique `idProperty` (400
  "Unable to perform update/upsert by non-unique ... property" otherwise), `batch/create` (a duplicate
  unique value is a per-item CONFLICT), `batch/update` by id; unknown properties and bad enum values are
  per-item VALIDATION_ERRORs, `hs_timestamp` is required on create; any per-item error makes the answer a
  207 with `errors[]` naming each input's `objectWriteTraceId`.
- Default associations in batches of 100, harmless to repeat; each refused input has its own error naming
  the missing record (`No companies 123`), and a partial answer fails every other input.
- `batch/archive` by id (204), which frees the record's unique values.
- `batch/read` by id (at most 100): the live records (`archived=true`: the archived ones), in no set order;
  the others named in one OBJECT_NOT_FOUND error, a 207 when some were found. A record merged into another
  (`merge`, as `POST .../merge` does) reads as the record it was merged into, under that record's id, which
  names it in `hs_merged_object_ids`.
- The owners listing (`/crm/owners/{version}/`, paged by `after`).
- Associations batch read (at most 1,000 ids): each input's linked records; engagements carry
  `hs_lastmodifieddate`, set on every write, so they can be searched by it like companies.
- Properties: read one, create one (`hasUniqueValue` on engagements only if `unique_on_engagements`).
- Rate limits: `rate_limit` requests per `interval_ms` (429 TEN_SECONDLY_ROLLING with Retry-After),
  `search_per_second` for search (429 SECONDLY), `daily_limit` (429 DAILY); the X-HubSpot-RateLimit-*
  headers on every answer but search's.

It keeps its own records, so a test can check that every item exists exactly once.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections import Counter, deque
from datetime import datetime
from functools import partial
from typing import Any

from tests.crm_servers.base import CrmServer, FaultPlan, Reply, Request, echoed, now

VERSION = "2026-09"
ENGAGEMENTS = ("notes", "calls", "emails", "meetings", "tasks")
OBJECT_TYPE_IDS = {
    "contacts": "0-1",
    "companies": "0-2",
    "notes": "0-46",
    "calls": "0-48",
    "emails": "0-49",
    "meetings": "0-47",
    "tasks": "0-27",
}
STANDARD_PROPERTIES = {
    "companies": [
        "name",
        "domain",
        "lifecyclestage",
        "industry",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
        "createdate",
        "hs_merged_object_ids",
    ],
    "contacts": [
        "firstname",
        "lastname",
        "email",
        "phone",
        "jobtitle",
        "associatedcompanyid",
        "lastmodifieddate",
        "createdate",
        "hs_merged_object_ids",
    ],
    "notes": ["hs_timestamp", "hs_note_body", "hubspot_owner_id", "hs_lastmodifieddate", "hs_attachment_ids"],
    "calls": [
        "hs_timestamp",
        "hs_call_title",
        "hs_call_body",
        "hs_call_direction",
        "hs_call_duration",
        "hs_call_status",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
    ],
    "emails": [
        "hs_timestamp",
        "hs_email_direction",
        "hs_email_subject",
        "hs_email_text",
        "hs_email_status",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
    ],
    "meetings": [
        "hs_timestamp",
        "hs_meeting_title",
        "hs_meeting_body",
        "hs_meeting_start_time",
        "hs_meeting_end_time",
        "hs_meeting_outcome",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
    ],
    "tasks": [
        "hs_timestamp",
        "hs_task_subject",
        "hs_task_body",
        "hs_task_status",
        "hs_task_priority",
        "hs_task_type",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
    ],
}
ENUMS = {
    "hs_call_direction": {"INBOUND", "OUTBOUND"},
    "hs_call_status": {
        "BUSY",
        "CALLING_CRM_USER",
        "CANCELED",
        "COMPLETED",
        "CONNECTING",
        "FAILED",
        "IN_PROGRESS",
        "NO_ANSWER",
        "QUEUED",
        "RINGING",
    },
    "hs_email_direction": {"EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"},
    "hs_email_status": {"BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"},
    "hs_meeting_outcome": {"SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"},
    "hs_task_status": {"NOT_STARTED", "COMPLETED", "IN_PROGRESS", "WAITING", "DEFERRED"},
    "hs_task_priority": {"LOW", "MEDIUM", "HIGH"},
    "hs_task_type": {"EMAIL", "CALL", "TODO"},
}
MODIFIED = {
    "companies": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
    **dict.fromkeys(ENGAGEMENTS, "hs_lastmodifieddate"),
}
ASSOCIATION_READ_LIMIT = 1000
"""Ids one associations batch read may name (HubSpot's limit since February 2025)."""
DATETIME_PROPERTIES = {"hs_lastmodifieddate", "lastmodifieddate", "createdate", "hs_timestamp"}
BATCH_LIMIT = 100
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\Z")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _millis(value: str) -> int:
    if value.isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _sort_key(name: str, record: dict[str, Any]) -> tuple[Any, int]:
    value = record["properties"].get(name)
    return (_millis(str(value)) if name in DATETIME_PROPERTIES else str(value), int(record["id"]))


def error(status: int, category: str, message: str, **extra: Any) -> Reply:
    body = {
        "status": "error",
        "message": message,
        "category": category,
        "correlationId": str(uuid.uuid4()),
        **extra,
    }
    return Reply(status, body)


def _batch_inputs(body: dict[str, Any]) -> list[Any] | Reply:
    """A batch's `inputs`, or the 400 HubSpot answers when there are none or more than `BATCH_LIMIT`."""
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return error(400, "VALIDATION_ERROR", "inputs must be a non-empty list")
    if len(inputs) > BATCH_LIMIT:
        return error(
            400, "VALIDATION_ERROR", f"Batch input size {len(inputs)} exceeds the limit of {BATCH_LIMIT}"
        )
    return inputs


class HubSpotServer(CrmServer):
    def __init__(
        self,
        *,
        token: str = "pat-na1-test-token",
        faults: FaultPlan | None = None,
        rate_limit: int = 1000,
        interval_ms: int = 10_000,
        search_per_second: int = 1000,
        daily_limit: int = 1_000_000,
        search_window: int = 10_000,
        unique_on_engagements: bool = True,
        retry_after: int = 0,
        search_lag_seconds: float = 0.0,
    ) -> None:
        """`search_lag_seconds`: how long a write takes to show in search (HubSpot's index trails writes)."""
        super().__init__(faults)
        self.token = token
        self.rate_limit, self.interval_ms = rate_limit, interval_ms
        self.search_per_second = search_per_second
        self.daily_limit = daily_limit
        self.search_window = search_window
        self.unique_on_engagements = unique_on_engagements
        self.retry_after = retry_after
        self.search_lag_seconds = search_lag_seconds
        self._searchable_at: dict[tuple[str, str], float] = {}
        """(object type, id) -> when its latest write shows in search (`time.monotonic()`)."""
        self.objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in OBJECT_TYPE_IDS}
        self.properties: dict[str, dict[str, dict[str, Any]]] = {
            name: {prop: {"name": prop, "type": "string", "hasUniqueValue": False} for prop in props}
            for name, props in STANDARD_PROPERTIES.items()
        }
        self.unique: dict[tuple[str, str], dict[str, str]] = {}
        self.associations: set[tuple[str, str, str, str]] = set()
        self.owners: dict[str, tuple[str, str, str]] = {}
        """Owner id -> (first name, last name, email), as the owners listing gives them."""
        self.rate_limited = 0
        self.daily_used = 0
        self._sent: deque[float] = deque()
        self._searches: deque[float] = deque()
        self._next_id = 1000

    # Test helpers ----------------------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def add(self, object_type: str, properties: dict[str, str], *, modified: datetime | None = None) -> str:
        with self.lock:
            moment = modified or now()
            record_id = self._new_id()
            props = {**properties, "hs_object_id": record_id, "createdate": _iso(moment)}
            if object_type in MODIFIED:
                props[MODIFIED[object_type]] = _iso(moment)
            self.objects[object_type][record_id] = {
                "id": record_id,
                "properties": props,
                "createdAt": _iso(moment),
                "updatedAt": _iso(moment),
                "archived": False,
            }
            return record_id

    def update(
        self,
        object_type: str,
        record_id: str,
        properties: dict[str, str],
        *,
        modified: datetime | None = None,
    ) -> None:
        with self.lock:
            record = self.objects[object_type][record_id]
            moment = _iso(modified or now())
            record["properties"].update(properties)
            record["updatedAt"] = moment
            if object_type in MODIFIED:
                record["properties"][MODIFIED[object_type]] = moment

    def index_later(self, object_type: str, record_id: str, seconds: float) -> None:
        """Keep a record out of search for `seconds` from now (0: show it now), as HubSpot's index trails."""
        with self.lock:
            self._searchable_at[(object_type, record_id)] = time.monotonic() + seconds

    def archive(
        self, object_type: str, record_id: str, *, at: datetime | None = None, dated: bool = True
    ) -> None:
        """Archive a record, at `at` (now if None): the archived listing is in id order, not by time.
        `dated=False`: the listing shows no `archivedAt`, only the record's `updatedAt` from before."""
        with self.lock:
            record = self.objects[object_type][record_id]
            record["archived"] = True
            if dated:
                record["archivedAt"] = _iso(at or now())

    def restore(self, object_type: str, record_id: str) -> None:
        """Bring an archived record back: live again (in search too), and modified now. A new record, not the
        old one changed: a listing answered with the old one is not yet sent when an `after` hook runs."""
        with self.lock:
            old = self.objects[object_type][record_id]
            record = {**old, "properties": dict(old["properties"]), "archived": False}
            record.pop("archivedAt", None)
            self.objects[object_type][record_id] = record
        self.update(object_type, record_id, {})

    def merge(
        self, object_type: str, secondary: str, primary: str, *, listed: bool = True, new_id: bool = False
    ) -> str:
        """Merge `secondary` into `primary` as `POST .../merge` does: the record that results, modified now, names
        the records merged (and those merged into them before) in `hs_merged_object_ids`; a read of a
        merged id answers with it, under its own id. `new_id`: the result is a new record with the primary's
        values and a new id, and the primary is merged away too (what HubSpot's changelog says its merges
        of contacts and companies now do). `listed`: the archived listing names the merged-away records
        (with their `archivedAt`); HubSpot does not say whether it does, so a test chooses. The result's id."""
        with self.lock:
            records = self.objects[object_type]
            gone_ids = [secondary, primary] if new_id else [secondary]
            if new_id:
                kept = {
                    name: value
                    for name, value in records[primary]["properties"].items()
                    if name not in ("hs_object_id", "createdate", MODIFIED[object_type])
                }
                result = self.add(object_type, kept)
            else:
                result = primary
            ids = list(gone_ids)
            for gone_id in gone_ids:
                gone = records[gone_id]
                earlier = gone["properties"].get("hs_merged_object_ids")
                ids += str(earlier).split(";") if earlier else []
                gone.update(archived=True, merged_into=result, listed=listed)
                if listed:
                    gone["archivedAt"] = _iso(now())
            before = records[result]["properties"].get("hs_merged_object_ids")
            ids = [*(str(before).split(";") if before else []), *ids]
            moved = [  # the contacts of companies merged away follow them (the merge moves associations)
                contact
                for contact, record in self.objects["contacts"].items()
                if object_type == "companies" and record["properties"].get("associatedcompanyid") in gone_ids
            ]
        self.update(object_type, result, {"hs_merged_object_ids": ";".join(dict.fromkeys(ids))})
        for contact in moved:
            self.update("contacts", contact, {"associatedcompanyid": result})
        return result

    def _merged_into(self, object_type: str, record_id: str) -> dict[str, Any] | None:
        """The live record a merged-away id now reads as (through merges of merges)."""
        record = self.objects[object_type].get(record_id)
        while record is not None and record.get("merged_into"):
            record = self.objects[object_type].get(record["merged_into"])
        return None if record is None or record["archived"] else record

    def live(self, object_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.objects[object_type].values() if not r["archived"]]

    def keys(self, prop: str) -> Counter[str]:
        """How many live engagements (of every type) carry each value of `prop`."""
        with self.lock:
            return Counter(
                str(r["properties"][prop])
                for name in ENGAGEMENTS
                for r in self.objects[name].values()
                if not r["archived"] and r["properties"].get(prop)
            )

    def associated(self, from_type: str, from_id: str, to_type: str) -> set[str]:
        with self.lock:
            return {
                t for f, fi, tt, t in self.associations if f == from_type and fi == from_id and tt == to_type
            }

    # Limits ----------------------------------------------------------------------------------------------

    def limit_rate(self, rate_limit: int, interval_ms: int) -> None:
        """From now on, `rate_limit` requests per `interval_ms`, counted afresh (as after an idle spell)."""
        with self.lock:
            self.rate_limit, self.interval_ms = rate_limit, interval_ms
            self._sent.clear()

    def _limit_headers(self) -> dict[str, str]:
        window = self.interval_ms / 1000
        moment = time.monotonic()
        while self._sent and self._sent[0] <= moment - window:
            self._sent.popleft()
        return {
            "X-HubSpot-RateLimit-Max": str(self.rate_limit),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self.rate_limit - len(self._sent))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self.daily_used)),
        }

    def _rate_limited(self, policy: str) -> Reply:
        self.rate_limited += 1
        if policy == "DAILY":
            message = "You have reached your daily limit."
        elif policy == "SECONDLY":
            message = "You have reached your secondly limit."
        else:
            message = "You have reached your ten_secondly_rolling limit."
        reply = error(429, "RATE_LIMITS", message, errorType="RATE_LIMIT", policyName=policy)
        reply.body["groupName"] = "publicapi:private_app-api-calls"
        if policy != "DAILY":
            reply.headers["Retry-After"] = str(self.retry_after)
        return reply

    def fault_reply(self, fault: str, request: Request) -> Reply | None:
        if fault == "429":
            return self._rate_limited("TEN_SECONDLY_ROLLING")
        if fault == "daily_limit":
            return self._rate_limited("DAILY")
        if fault == "echo_auth":  # a careless server quoting the request back: the client must redact it
            return error(400, "VALIDATION_ERROR", f"Bad request; headers were {dict(request.headers)}")
        if fault == "echo":
            return error(400, "VALIDATION_ERROR", echoed(request))
        return super().fault_reply(fault, request)

    def _admit(self, search: bool) -> Reply | None:
        if self.daily_used >= self.daily_limit:
            return self._rate_limited("DAILY")
        moment = time.monotonic()
        if search:
            while self._searches and self._searches[0] <= moment - 1:
                self._searches.popleft()
            if len(self._searches) >= self.search_per_second:
                return self._rate_limited("SECONDLY")
            self._searches.append(moment)
        else:
            window = self.interval_ms / 1000
            while self._sent and self._sent[0] <= moment - window:
                self._sent.popleft()
            if len(self._sent) >= self.rate_limit:
                reply = self._rate_limited("TEN_SECONDLY_ROLLING")
                reply.headers["Retry-After"] = str(
                    max(self.retry_after, math.ceil(self._sent[0] + window - moment))
                )
                return reply
            self._sent.append(moment)
        self.daily_used += 1
        return None

    # Endpoints -------------------------------------------------------------------------------------------

    def handle(self, request: Request, *, partial: bool) -> Reply:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        parts = request.path.strip("/").split("/")
        if parts[:3] == ["crm", "owners", VERSION] and request.method == "GET":
            return self._admit(search=False) or self._list_owners(request.query)
        if len(parts) < 4 or parts[0] != "crm" or parts[2] != VERSION:
            return error(404, "OBJECT_NOT_FOUND", f"No route for {request.path}")
        search = parts[-1] == "search"
        refused = self._admit(search)
        if refused is not None:
            return refused
        reply = self._route(request, parts[1], parts[3:], partial)
        if not search:
            reply.headers.update(self._limit_headers())
        return reply

    def _route(self, request: Request, area: str, rest: list[str], partial: bool) -> Reply:
        kind = rest[0]
        if area == "properties" and kind in self.properties:
            if request.method == "GET" and len(rest) == 2:
                return self._get_property(kind, rest[1])
            if request.method == "POST" and len(rest) == 1:
                return self._create_property(kind, request.json())
        if area == "objects" and kind in self.objects:
            if request.method == "GET" and len(rest) == 1:
                return self._list(kind, request.query)
            if request.method == "POST" and rest[1:] == ["search"]:
                return self._search(kind, request.json())
            if request.method == "POST" and rest[1:] == ["batch", "read"]:
                return self._read_batch(kind, request.json(), request.query, partial)
            if request.method == "POST" and len(rest) == 3 and rest[1] == "batch":
                return self._batch(kind, rest[2], request.json(), partial)
        if area == "associations" and rest[2:] == ["batch", "associate", "default"]:
            return self._associate(rest[0], rest[1], request.json(), partial)
        if area == "associations" and rest[2:] == ["batch", "read"]:
            return self._read_associations(rest[0], rest[1], request.json())
        return error(404, "OBJECT_NOT_FOUND", f"No route for {request.method} {request.path}")

    def _list_owners(self, query: dict[str, str]) -> Reply:
        limit = int(query.get("limit", "100"))
        if limit > 500:
            return error(400, "VALIDATION_ERROR", "limit must be at most 500")
        after = int(query.get("after", "0"))
        rows = sorted(self.owners.items(), key=lambda item: int(item[0]))
        page = [
            {"id": owner, "email": email, "firstName": first, "lastName": last, "type": "PERSON"}
            for owner, (first, last, email) in rows
            if int(owner) > after
        ][:limit]
        body: dict[str, Any] = {"results": page}
        if page and page[-1]["id"] != rows[-1][0]:
            body["paging"] = {"next": {"after": page[-1]["id"]}}
        reply = Reply(200, body)
        reply.headers.update(self._limit_headers())
        return reply

    def add_owner(self, first: str, last: str, email: str) -> str:
        with self.lock:
            owner = self._new_id()
            self.owners[owner] = (first, last, email)
            return owner

    def _get_property(self, kind: str, name: str) -> Reply:
        found = self.properties[kind].get(name)
        if found is None:
            return error(404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for object type {kind}")
        return Reply(200, found)

    def _create_property(self, kind: str, body: dict[str, Any]) -> Reply:
        name = body.get("name")
        missing = [key for key in ("name", "label", "type", "fieldType", "groupName") if not body.get(key)]
        if missing:
            return error(400, "VALIDATION_ERROR", f"Missing required fields: {', '.join(missing)}")
        if body["groupName"] != f"{kind.removesuffix('s')}information":
            return error(400, "VALIDATION_ERROR", f"Property group {body['groupName']} does not exist")
        if name in self.properties[kind]:
            return error(409, "CONFLICT", f"Property {name} already exists")
        unique = bool(body.get("hasUniqueValue"))
        if unique and kind in ENGAGEMENTS and not self.unique_on_engagements:
            return error(400, "VALIDATION_ERROR", f"Unique value properties are not supported for {kind}")
        self.properties[kind][str(name)] = {**body, "hasUniqueValue": unique}
        if unique:
            self.unique[(kind, str(name))] = {}
        return Reply(201, self.properties[kind][str(name)])

    def _list(self, kind: str, query: dict[str, str]) -> Reply:
        limit = int(query.get("limit", "10"))
        if limit > 100:
            return error(400, "VALIDATION_ERROR", "limit must be at most 100")
        archived = query.get("archived", "false") == "true"
        rows = sorted(
            (r for r in self.objects[kind].values() if r["archived"] == archived and r.get("listed", True)),
            key=lambda r: int(r["id"]),
        )
        after = int(query.get("after", "0"))
        page = [r for r in rows if int(r["id"]) > after][:limit]
        body: dict[str, Any] = {"results": page}
        if len(page) == limit and rows and page[-1] is not rows[-1]:
            body["paging"] = {"next": {"after": page[-1]["id"]}}
        return Reply(200, body)

    def _matches(self, record: dict[str, Any], flt: dict[str, Any]) -> bool:
        name, operator = flt.get("propertyName"), flt.get("operator")
        value = record["properties"].get(name)
        if operator == "IN":
            return value in set(flt.get("values") or [])
        if value is None:
            return False
        wanted = flt.get("value")
        left: Any = _millis(str(value)) if name in DATETIME_PROPERTIES else str(value)
        right: Any = _millis(str(wanted)) if name in DATETIME_PROPERTIES else str(wanted)
        outcome: bool = {
            "EQ": left == right,
            "GT": left > right,
            "GTE": left >= right,
            "LT": left < right,
            "LTE": left <= right,
        }[str(operator)]
        return outcome

    def _search(self, kind: str, body: dict[str, Any]) -> Reply:
        limit = int(body.get("limit", 10))
        after = int(body.get("after") or 0)
        groups = body.get("filterGroups") or []
        if limit > 200:
            return error(400, "VALIDATION_ERROR", "limit must be at most 200")
        if len(groups) > 5 or any(len(g.get("filters") or []) > 10 for g in groups):
            return error(400, "VALIDATION_ERROR", "too many filter groups or filters")
        if after >= self.search_window:
            return error(400, "VALIDATION_ERROR", f"Cannot page past {self.search_window} results")
        for group in groups:
            for flt in group.get("filters") or []:
                if flt.get("propertyName") not in self.properties[kind]:
                    return error(
                        400,
                        "VALIDATION_ERROR",
                        f"There was a problem with the request: property {flt.get('propertyName')} does not exist",
                    )
                if flt.get("operator") not in ("EQ", "GT", "GTE", "LT", "LTE", "IN"):
                    return error(400, "VALIDATION_ERROR", f"Unsupported operator {flt.get('operator')}")
        moment = time.monotonic()
        rows = [
            r
            for r in self.objects[kind].values()
            if not r["archived"]
            and self._searchable_at.get((kind, r["id"]), 0.0) <= moment
            and (not groups or any(all(self._matches(r, f) for f in g["filters"]) for g in groups))
        ]
        for sort in reversed(body.get("sorts") or []):
            if not isinstance(sort, dict):
                return error(400, "VALIDATION_ERROR", "sorts must be objects")
            rows.sort(
                key=partial(_sort_key, str(sort["propertyName"])),
                reverse=sort.get("direction") == "DESCENDING",
            )
        visible = rows[: self.search_window]
        page = visible[after : after + limit]
        wanted = body.get("properties") or []
        results = [
            {**r, "properties": {p: r["properties"].get(p) for p in [*wanted, "hs_object_id"]}} for r in page
        ]
        answer: dict[str, Any] = {"total": len(rows), "results": results}
        if after + limit < len(rows):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return Reply(200, answer)

    # Batch writes ----------------------------------------------------------------------------------------

    def _check_properties(self, kind: str, properties: dict[str, Any]) -> str | None:
        for name, value in properties.items():
            if name not in self.properties[kind]:
                return f'Property "{name}" does not exist'
            if not isinstance(value, str):
                return f'Property "{name}" must be a string'
            if name in ENUMS and value not in ENUMS[name]:
                return f'{value} was not one of the allowed options for "{name}"'
            if name in DATETIME_PROPERTIES and not (value.isdigit() or _ISO.match(value)):
                return f'Property "{name}" is not a valid timestamp: {value}'
        return None

    def _write(
        self, kind: str, record_id: str | None, properties: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        moment = _iso(now())
        if record_id is not None:
            record = self.objects[kind][record_id]
            record["properties"].update(properties)
            record["updatedAt"] = moment
            new = False
            if kind in MODIFIED:
                record["properties"][MODIFIED[kind]] = moment
        else:
            record_id = self._new_id()
            record = {
                "id": record_id,
                "properties": {
                    **properties,
                    "hs_object_id": record_id,
                    **({MODIFIED[kind]: moment} if kind in MODIFIED else {}),
                },
                "createdAt": moment,
                "updatedAt": moment,
                "archived": False,
            }
            self.objects[kind][record_id] = record
            new = True
        for (object_type, name), index in self.unique.items():
            if object_type == kind and record["properties"].get(name):
                index[str(record["properties"][name])] = record_id
        self._searchable_at[(kind, record_id)] = time.monotonic() + self.search_lag_seconds
        return record, new

    def _batch(self, kind: str, action: str, body: dict[str, Any], partial: bool) -> Reply:
        inputs = _batch_inputs(body)
        if isinstance(inputs, Reply):
            return inputs
        if action == "archive":
            return self._archive_batch(kind, inputs)
        if action not in ("upsert", "create", "update"):
            return error(404, "OBJECT_NOT_FOUND", f"No batch action {action}")
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        done_upto = len(inputs) // 2 if partial else len(inputs)
        for position, item in enumerate(inputs):
            trace = item.get("objectWriteTraceId")
            context = {"objectWriteTraceId": [trace]} if trace else {}
            if position >= done_upto:
                errors.append(
                    {
                        "status": "error",
                        "category": "INTERNAL_ERROR",
                        "message": "Please try again",
                        "context": context,
                    }
                )
                continue
            properties = dict(item.get("properties") or {})
            problem = self._check_properties(kind, properties)
            existing: str | None = None
            if action == "upsert":
                id_property = item.get("idProperty")
                index = self.unique.get((kind, str(id_property)))
                if index is None:
                    return error(
                        400,
                        "VALIDATION_ERROR",
                        f"Unable to perform update/upsert by non-unique {OBJECT_TYPE_IDS[kind]} property {id_property}",
                    )
                existing = index.get(str(item.get("id")))
                properties[str(id_property)] = str(item.get("id"))
            elif action == "update":
                existing = str(item.get("id"))
                if existing not in self.objects[kind] or self.objects[kind][existing]["archived"]:
                    errors.append(
                        {
                            "status": "error",
                            "category": "OBJECT_NOT_FOUND",
                            "message": f"Object {existing} not found",
                            "context": {"ids": [existing]},
                        }
                    )
                    continue
            else:
                clash = next(
                    (n for (t, n), index in self.unique.items() if t == kind and properties.get(n) in index),
                    None,
                )
                if clash is not None:
                    message = f"A {kind} record with {clash} {properties[clash]} already exists"
                    errors.append(
                        {"status": "error", "category": "CONFLICT", "message": message, "context": context}
                    )
                    continue
            if existing is None and "hs_timestamp" not in properties:
                problem = problem or 'Property "hs_timestamp" is required'
            if problem:
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": problem,
                        "context": context,
                    }
                )
                continue
            record, new = self._write(kind, existing, properties)
            result = {**record, "new": new}
            if trace:
                result["objectWriteTraceId"] = trace
            results.append(result)
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": _iso(now()),
            "completedAt": _iso(now()),
        }
        if errors:
            answer.update(numErrors=len(errors), errors=errors)
            return Reply(207, answer)
        return Reply(201 if action == "create" else 200, answer)

    def _read_batch(self, kind: str, body: dict[str, Any], query: dict[str, str], partial: bool) -> Reply:
        """Read by id, at most 100 ids: the records whose archived state is the query's `archived` (false by
        default), in no set order; the ids with none of them named together in one OBJECT_NOT_FOUND error
        (a 207, or the whole answer when none is found). A `partial` fault leaves the second half of the
        inputs with an INTERNAL_ERROR."""
        inputs = _batch_inputs(body)
        if isinstance(inputs, Reply):
            return inputs
        archived = query.get("archived", "false") == "true"
        wanted = [str(item.get("id")) for item in inputs]
        done_upto = len(wanted) // 2 if partial else len(wanted)
        properties = body.get("properties") or []
        results, missing = [], []
        for record_id in wanted[:done_upto]:
            record = self.objects[kind].get(record_id)
            if record is not None and record.get("merged_into") and not archived:
                record = self._merged_into(kind, record_id)  # answered by the record it was merged into
            if record is None or record["archived"] != archived:
                missing.append(record_id)
                continue
            shown = {name: record["properties"].get(name) for name in [*properties, "hs_object_id"]}
            results.append({**record, "properties": shown})
        errors: list[dict[str, Any]] = []
        if missing:
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {kind} objects, they may be deleted or not exist. "
                    "Check that ids are valid.",
                    "context": {"ids": missing},
                }
            )
        if done_upto < len(wanted):
            errors.append(
                {
                    "status": "error",
                    "category": "INTERNAL_ERROR",
                    "message": "Please try again",
                    "context": {"ids": wanted[done_upto:]},
                }
            )
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results[::-1]}
        if errors:
            answer.update(numErrors=len(errors), errors=errors)
            return Reply(207, answer)
        return Reply(200, answer)

    def _archive_batch(self, kind: str, inputs: list[dict[str, Any]]) -> Reply:
        """Archive by id (harmless to repeat); an archived record no longer holds its unique values."""
        for item in inputs:
            record = self.objects[kind].get(str(item.get("id")))
            if record is None:
                continue
            record["archived"], record["archivedAt"] = True, _iso(now())
            for (object_type, _name), index in self.unique.items():
                if object_type == kind:
                    for value in [v for v, owner in index.items() if owner == record["id"]]:
                        del index[value]
        return Reply(204)

    def _read_associations(self, from_type: str, to_type: str, body: dict[str, Any]) -> Reply:
        """The records of `to_type` each input is associated with (v4 batch read); an input with none is
        left out of `results`, as HubSpot does."""
        inputs = body.get("inputs")
        if from_type not in self.objects or to_type not in self.objects or not isinstance(inputs, list):
            return error(400, "VALIDATION_ERROR", "bad association request")
        if len(inputs) > ASSOCIATION_READ_LIMIT:
            return error(
                400,
                "VALIDATION_ERROR",
                f"Batch input size {len(inputs)} exceeds the limit of {ASSOCIATION_READ_LIMIT}",
            )
        wanted = [str(item.get("id")) for item in inputs]
        linked: dict[str, list[int]] = {source: [] for source in wanted}
        for f, source, t_type, target in self.associations:
            if f == from_type and t_type == to_type and source in linked:
                linked[source].append(int(target))
        results = [
            {
                "from": {"id": source},
                "to": [
                    {
                        "toObjectId": target,
                        "associationTypes": [{"category": "HUBSPOT_DEFINED", "label": None}],
                    }
                    for target in sorted(linked[source])
                ],
            }
            for source in wanted
            if linked[source]
        ]
        return Reply(200, {"status": "COMPLETE", "results": results})

    def _associate(self, from_type: str, to_type: str, body: dict[str, Any], partial: bool) -> Reply:
        inputs = body.get("inputs")
        if from_type not in self.objects or to_type not in self.objects or not isinstance(inputs, list):
            return error(400, "VALIDATION_ERROR", "bad association request")
        if len(inputs) > BATCH_LIMIT:
            return error(
                400, "VALIDATION_ERROR", f"Batch input size {len(inputs)} exceeds the limit of {BATCH_LIMIT}"
            )
        results, errors = [], []
        for position, item in enumerate(inputs):
            source, target = str(item["from"]["id"]), str(item["to"]["id"])
            context = {"fromObjectId": [source], "toObjectId": [target]}
            if partial and position % 2:  # a partial answer fails every other input, each its own way
                errors.append(
                    {
                        "status": "error",
                        "category": "INTERNAL_ERROR",
                        "message": f"Please try again: {from_type} {source} to {to_type} {target} not processed",
                        "context": context,
                    }
                )
                continue
            missing = [
                f"{t} {i}"
                for t, i in ((from_type, source), (to_type, target))
                if i not in self.objects[t] or self.objects[t][i]["archived"]
            ]
            if missing:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": f"No {' and no '.join(missing)}",
                        "context": context,
                    }
                )
                continue
            self.associations.add((from_type, source, to_type, target))
            results.append(
                {
                    "fromObjectTypeId": OBJECT_TYPE_IDS[from_type],
                    "fromObjectId": int(source),
                    "toObjectTypeId": OBJECT_TYPE_IDS[to_type],
                    "toObjectId": int(target),
                    "labels": [],
                }
            )
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            answer.update(numErrors=len(errors), errors=errors)
            return Reply(207, answer)
        return Reply(200, answer)
