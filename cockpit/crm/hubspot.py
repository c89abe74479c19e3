"""HubSpot: the date-versioned CRM API (`/crm/objects/2026-09/...`), a private-app or service-key token.

- Pull: companies and contacts by search on their last-modified property, sorted ascending, 200 a page.
  A search query stops at 10,000 results, so past that the query starts again from the last timestamp
  seen, skipping the records already read at that timestamp. Deletions come from the archived listing.
  Engagements (everyone's) the same way on `hs_lastmodifieddate`, each page's companies by one
  associations batch read; owners (of companies and engagements) by name, from the owners listing.
- Push: notes, calls, emails, meetings (meetings and QBRs) and tasks (approved outreach) by
  `batch/upsert` on a unique property holding cockpit's sync key, 100 a batch, then the default
  associations to the company and the contact in one batch call each. `batch/upsert` is an update when the
  key exists, so a retry after a timeout or a killed run never creates a second record. Where the portal
  would not make the property unique (`setup` records that), the documented fallback runs instead: a
  search by the key for items that may already be there, `batch/update` for those found, `batch/create`
  for the rest. Each item's links are its own: one whose company or contact no longer exists is kept
  linked to what still exists (with a note), or archived if linked to nothing (no orphans).
- Rate limits: the `X-HubSpot-RateLimit-*` headers set the client-side limiter (never above
  `requests_per_10s`); search has its own limiter; a 429 of the DAILY policy, or the daily remainder
  falling to `sync.daily_quota_reserve`, stops the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

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
    Unfinished,
    end_of_meeting,
    local_time,
    parse_time,
    title,
    utc_text,
)
from cockpit.crm.secrets import Secret, require_secret
from cockpit.crm.transport import (
    CrmError,
    DailyLimitReached,
    Outcome,
    PermanentError,
    RateLimited,
    RateLimiter,
    Retry,
    Sleep,
    TransientError,
    Transport,
    json_body,
    retry_after,
)

SEARCH_WINDOW = 10_000
"""HubSpot's hard cap on the results one search query can page through."""
SEARCH_PAGE = 200
LIST_PAGE = 100
ENGAGEMENTS = ("notes", "calls", "emails", "meetings", "tasks")
OBJECTS = {"accounts": "companies", "contacts": "contacts"}
MODIFIED = {"companies": "hs_lastmodifieddate", "contacts": "lastmodifieddate"}
PULLED = {
    "companies": {
        "name": "name",
        "domain": "domain",
        "hubspot_owner_id": "owner",
    },
    "contacts": {
        "firstname": "first_name",
        "lastname": "last_name",
        "email": "email",
        "phone": "phone",
        "jobtitle": "role",
        "associatedcompanyid": "account",
    },
}
ENGAGEMENT_MODIFIED = "hs_lastmodifieddate"
MERGED_IDS = "hs_merged_object_ids"
"""The ids of the records merged into a company or contact, semicolon-separated."""


@dataclass(frozen=True)
class EngagementShape:
    """How one engagement object reads as an interaction."""

    kind: str
    text: tuple[str, ...]
    """Properties whose text makes the summary, in order."""
    direction: str | None = None
    default_direction: str = "outbound"
    extra: tuple[str, ...] = ()
    """Other properties read (a task's status)."""

    @property
    def properties(self) -> list[str]:
        return ["hs_timestamp", *self.text, *([self.direction] if self.direction else []), *self.extra]


ENGAGEMENT_SHAPES = {
    "calls": EngagementShape("call", ("hs_call_title", "hs_call_body"), "hs_call_direction"),
    "meetings": EngagementShape("meeting", ("hs_meeting_title", "hs_meeting_body")),
    "emails": EngagementShape("email", ("hs_email_subject", "hs_email_text"), "hs_email_direction"),
    "notes": EngagementShape("note", ("hs_note_body",), default_direction="internal"),
    "tasks": EngagementShape(
        "note", ("hs_task_subject", "hs_task_body"), default_direction="internal", extra=("hs_task_status",)
    ),
}
INBOUND = {"INBOUND": "inbound", "INCOMING_EMAIL": "inbound"}
TARGETS = {
    "call": "calls",
    "meeting": "meetings",
    "qbr": "meetings",
    "email": "emails",
    "note": "notes",
}
TASK_TYPES = {"email": "EMAIL", "call_task": "CALL", "todo": "TODO"}
PERMANENT_CATEGORIES = frozenset(
    {"VALIDATION_ERROR", "OBJECT_NOT_FOUND", "CONFLICT", "INVALID_AUTHENTICATION", "MISSING_SCOPES"}
)


class HubSpotTransport(Transport):
    vendor = "HubSpot"

    def __init__(self, settings: Settings, token: Secret, *, sleep: Sleep) -> None:
        hubspot = settings.crm.hubspot
        self._per_10s = hubspot.requests_per_10s
        super().__init__(
            hubspot.base_url, settings.sync, limiter=RateLimiter(hubspot.requests_per_10s, 10.0), sleep=sleep
        )
        self._token = token
        self._interval = 10.0

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token.reveal()}"}

    def observe(self, response: httpx.Response) -> None:
        headers = response.headers
        top, interval = (
            headers.get("X-HubSpot-RateLimit-Max"),
            headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"),
        )
        if top and top.isdigit() and interval and interval.isdigit():
            self._interval = int(interval) / 1000
            # Our own ceiling, scaled to the app's window, and never above 90% of what the app may send:
            # HubSpot counts a request when it arrives, a little after we count it, so some room is kept.
            ours = int(self._per_10s * self._interval / 10)
            self.limiter.adjust(min(ours, max(1, int(int(top) * 0.9))), self._interval)
        daily, left = (
            headers.get("X-HubSpot-RateLimit-Daily"),
            headers.get("X-HubSpot-RateLimit-Daily-Remaining"),
        )
        if daily and daily.isdigit() and left and left.isdigit():
            self.record_daily(int(daily) - int(left), int(daily))

    def describe(self, response: httpx.Response) -> tuple[str, str | None]:
        try:
            body = response.json()
        except ValueError:
            return response.text[:300] or response.reason_phrase, None
        if not isinstance(body, dict):
            return str(body)[:300], None
        message = str(body.get("message") or response.reason_phrase)
        correlation = body.get("correlationId")
        suffix = f" (correlationId {correlation})" if correlation else ""
        return f"{message}{suffix}", body.get("category")

    def classify(self, response: httpx.Response) -> Outcome:
        if response.status_code == 429:
            message, _category = self.describe(response)
            try:
                policy = str(response.json().get("policyName", ""))
            except (ValueError, AttributeError):
                policy = ""
            if policy.upper() == "DAILY":
                raise DailyLimitReached(
                    f"HubSpot: {message}", hint="The next run carries on where this one stopped."
                )
            wait = retry_after(response)
            return Retry(
                RateLimited(f"HubSpot answered 429: {message}"), self._interval if wait is None else wait
            )
        return super().classify(response)


class HubSpotAdapter(CrmAdapter):
    name = "hubspot"
    engagement_objects = tuple(ENGAGEMENT_SHAPES)

    def __init__(
        self,
        settings: Settings,
        *,
        token: Secret | None = None,
        sleep: Sleep | None = None,
        search_window: int = SEARCH_WINDOW,
    ) -> None:
        hubspot = settings.crm.hubspot
        self.settings = settings
        self.batch_size = hubspot.batch_size
        self.prop = hubspot.external_id_property
        self.search_window = search_window
        secret = token or require_secret(hubspot.token_env, crm="HubSpot")
        self._sleep = time.sleep if sleep is None else sleep
        self.transport = HubSpotTransport(settings, secret, sleep=self._sleep)
        self._search_lag = hubspot.search_lag_seconds
        self._unsure: dict[str, float] = {}
        """Fallback mode: sync key -> when a create of it whose outcome is unknown was sent (monotonic)."""
        self._lag_waits: list[float] = []
        self._unsure_lock = threading.Lock()
        self._search_gate = RateLimiter(
            max(1, int(hubspot.search_requests_per_second)), max(1.0, 1 / hubspot.search_requests_per_second)
        )
        version = hubspot.api_version
        self._objects = f"/crm/objects/{version}"
        self._associations = f"/crm/associations/{version}"
        self._properties = f"/crm/properties/{version}"
        self._owners_path = f"/crm/owners/{version}"
        self._owners: dict[str, str] | None = None
        self._owners_lock = threading.Lock()
        self._modes: dict[str, str] = {}
        self._pulled = {obj: dict(properties) for obj, properties in PULLED.items()}
        """CRM property -> cockpit field per object: the standard ones and those the config names."""
        if hubspot.lifecycle_property:
            self._pulled["companies"][hubspot.lifecycle_property] = "lifecycle_stage"
        if hubspot.churned_on_property:
            self._pulled["companies"][hubspot.churned_on_property] = "churned_on"

    # Setup ------------------------------------------------------------------------------------------

    def setup(self) -> dict[str, str]:
        """Make sure each engagement object has the external-id property; prefer it unique. Idempotent: a
        property already there (made by an earlier attempt whose answer was lost, say) is used if its
        definition fits, and refused with a clear error if not."""
        state: dict[str, str] = {}
        for target in ENGAGEMENTS:
            found = self._read_property(target) or self._create_property(target)
            self._check_definition(target, found)
            state[f"idempotency:{target}"] = "unique" if found.get("hasUniqueValue") else "search"
        self.use_state(state)
        return state

    def _read_property(self, target: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = json_body(
                self.transport.request("GET", f"{self._properties}/{target}/{self.prop}")
            )
        except PermanentError as error:
            if error.status != 404:
                raise
            return None
        return found

    def _create_property(self, target: str) -> dict[str, Any]:
        definition = {
            "name": self.prop,
            "label": "Cockpit external id",
            "description": "Cockpit's stable key for this record; a retried sync updates instead of duplicating.",
            "type": "string",
            "fieldType": "text",
            "groupName": f"{target.removesuffix('s')}information",
        }
        try:
            return self._post_property(target, {**definition, "hasUniqueValue": True})
        except PermanentError as error:
            if error.status != 400:
                raise
        # The portal will not make it unique on this object: keep a plain property (the fallback).
        return self._post_property(target, definition)

    def _post_property(self, target: str, definition: dict[str, Any]) -> dict[str, Any]:
        try:
            created: dict[str, Any] = json_body(
                self.transport.request("POST", f"{self._properties}/{target}", json=definition)
            )
        except PermanentError as error:
            found = self._read_property(target) if error.status == 409 else None
            if found is None:
                raise
            return found  # "already exists": an earlier attempt went through, its answer lost
        return created

    def _check_definition(self, target: str, found: Mapping[str, Any]) -> None:
        """The property holds cockpit's sync key: a text property, whoever made it."""
        if found.get("type") != "string":
            raise PermanentError(
                f"HubSpot: the {target} property {self.prop} exists with type {found.get('type')!r}; "
                "cockpit needs a single-line text (string) property there for its sync key.",
                code="SETUP",
                hint=(
                    "Rename or delete that property in HubSpot (Settings > Properties), or set "
                    "crm.hubspot.external_id_property to another name; then run `cockpit sync setup`."
                ),
            )

    def use_state(self, state: Mapping[str, str]) -> None:
        self._modes = {
            key.split(":", 1)[1]: value for key, value in state.items() if key.startswith("idempotency:")
        }

    # Pull -------------------------------------------------------------------------------------------

    def _record(self, obj: str, raw: dict[str, Any]) -> PulledRecord:
        properties: dict[str, Any] = raw.get("properties") or {}
        modified = properties.get(MODIFIED[obj]) or raw.get("updatedAt")
        fields: dict[str, Any] = {"hubspot_id": str(raw["id"])}
        for source, target in self._pulled[obj].items():
            value = properties.get(source)
            if source == "hubspot_owner_id":
                value = self._owner(value)
            if value not in (None, ""):
                fields[target] = value
        return PulledRecord(str(raw["id"]), parse_time(str(modified)), fields, merged_ids(raw))

    def pull_changes(self, kind: PullKind, since: datetime | None) -> Iterator[list[PulledRecord]]:
        obj = OBJECTS[kind]
        for page in self._search_since(obj, MODIFIED[obj], [*self._pulled[obj], MERGED_IDS], since):
            yield [self._record(obj, raw) for raw in page]

    def _search_since(
        self, obj: str, modified: str, properties: list[str], since: datetime | None
    ) -> Iterator[list[dict[str, Any]]]:
        """The raw records of `obj` modified at or after `since`, oldest first, a search page at a time."""
        floor = 0 if since is None else int(since.timestamp() * 1000)
        after = 0
        skip: set[str] = set()
        """Ids read before a restart whose timestamp is the new floor: the restarted query gives them again."""
        newest, at_newest = floor, set[str]()
        while True:
            body = {
                "filterGroups": [
                    {"filters": [{"propertyName": modified, "operator": "GTE", "value": str(floor)}]}
                ],
                "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                "properties": [*properties, modified],
                "limit": SEARCH_PAGE,
                "after": str(after),
            }
            page = json_body(
                self.transport.request(
                    "POST", f"{self._objects}/{obj}/search", json=body, limiter=self._search_gate
                )
            )
            records: list[dict[str, Any]] = page.get("results", [])
            for raw in records:
                stamp = _millis(_modified(raw, modified))
                if stamp > newest:
                    newest, at_newest = stamp, set()
                at_newest.add(str(raw["id"]))
            fresh = [raw for raw in records if str(raw["id"]) not in skip]
            if fresh:
                yield fresh
            following = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not records:
                return
            if following is not None and int(following) + SEARCH_PAGE <= self.search_window:
                after = int(following)
                continue
            if following is None and int(page.get("total") or 0) <= after + len(records):
                return
            # This query's window is used up: start again from the newest timestamp read.
            if newest == floor:
                raise PermanentError(
                    f"HubSpot: more than {self.search_window:,} {obj} share the modification time "
                    f"{utc_text(_modified(records[-1], modified))}; search cannot page past them."
                )
            floor, after, skip = newest, 0, set(at_newest)

    def pull_engagements(
        self, since: Mapping[str, datetime | None]
    ) -> Iterator[Unfinished[list[PulledEngagement]]]:
        """Each engagement object in turn, by search on `hs_lastmodifieddate`; the companies and the
        contacts of each page come from one associations batch read each (search answers carry no
        associations), made when the page is finished: the next search goes meanwhile."""
        for obj, shape in ENGAGEMENT_SHAPES.items():
            properties = [*shape.properties, "hubspot_owner_id", self.prop]
            for page in self._search_since(obj, ENGAGEMENT_MODIFIED, properties, since.get(obj)):
                yield Unfinished(partial(self._engagement_page, obj, shape, page))

    def _engagement_page(
        self, obj: str, shape: EngagementShape, page: list[dict[str, Any]]
    ) -> list[PulledEngagement]:
        ids = [str(raw["id"]) for raw in page]
        companies, contacts = self._linked(obj, "companies", ids), self._linked(obj, "contacts", ids)
        return [
            self._engagement(
                obj, shape, raw, companies.get(str(raw["id"]), ()), contacts.get(str(raw["id"]), ())
            )
            for raw in page
        ]

    def _owner(self, owner_id: Any) -> str | None:
        """An owner's name (else email, else id), from the owners listing read once per run."""
        if owner_id in (None, ""):
            return None
        with self._owners_lock:
            if self._owners is None:
                self._owners = self._read_owners()
        return self._owners.get(str(owner_id)) or str(owner_id)

    def _read_owners(self) -> dict[str, str]:
        owners: dict[str, str] = {}
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": LIST_PAGE}
            if after is not None:
                params["after"] = after
            page = json_body(self.transport.request("GET", f"{self._owners_path}/", params=params))
            for raw in page.get("results", []):
                name = " ".join(
                    str(raw.get(part) or "").strip() for part in ("firstName", "lastName")
                ).strip()
                owners[str(raw["id"])] = name or str(raw.get("email") or raw["id"])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if after is None:
                return owners

    def _linked(self, obj: str, to: str, ids: list[str]) -> dict[str, tuple[str, ...]]:
        """Each of `ids`' associated records of `to` (those with none are left out)."""
        path = f"{self._associations}/{obj}/{to}/batch/read"
        body = json_body(self.transport.request("POST", path, json={"inputs": [{"id": i} for i in ids]}))
        return {
            str((raw.get("from") or {}).get("id")): tuple(
                str(to.get("toObjectId") or to.get("id")) for to in raw.get("to") or []
            )
            for raw in body.get("results", [])
        }

    def _engagement(
        self,
        obj: str,
        shape: EngagementShape,
        raw: dict[str, Any],
        companies: tuple[str, ...],
        contacts: tuple[str, ...],
    ) -> PulledEngagement:
        properties: dict[str, Any] = raw.get("properties") or {}
        texts = [str(properties[name]).strip() for name in shape.text if properties.get(name)]
        summary = " · ".join(dict.fromkeys(text for text in texts if text)) or f"({obj} with no text)"
        if obj == "tasks":
            summary = f"task: {summary}"
        when = properties.get("hs_timestamp") or raw.get("createdAt")
        task = None
        if obj == "tasks":
            due = properties.get("hs_timestamp")
            task = TaskState(
                done=properties.get("hs_task_status") == "COMPLETED",
                due_on=None if not due else parse_time(str(due)).date().isoformat(),
            )
        return PulledEngagement(
            crm_id=str(raw["id"]),
            crm_object=obj,
            modified_at=_modified(raw, ENGAGEMENT_MODIFIED),
            kind=shape.kind,
            direction=INBOUND.get(str(properties.get(shape.direction or "")), shape.default_direction),
            occurred_at=parse_time(str(when)),
            summary=summary,
            author=self._owner(properties.get("hubspot_owner_id")),
            account_crm_ids=companies,
            sync_key=properties.get(self.prop) or None,
            contact_crm_ids=contacts,
            task=task,
        )

    def pull_deletions(self, kind: PullKind, since: datetime | None) -> Iterator[list[Deletion]]:
        return self._archived(OBJECTS[kind], since)

    def pull_engagement_deletions(self, since: Mapping[str, datetime | None]) -> Iterator[list[Deletion]]:
        """The archived listing of each engagement object of `since` in turn (search never shows archived
        records)."""
        for obj, after in since.items():
            yield from self._archived(obj, after)

    def _archived(self, obj: str, since: datetime | None) -> Iterator[list[Deletion]]:
        """The archived records of `obj` archived at or after `since`, a listing page at a time: the listing
        goes by id, not by time, and has no date filter (every run pages through all of it). One without its
        `archivedAt` is kept whatever `since` (its `updatedAt` may well be older than the archiving)."""
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"archived": "true", "limit": LIST_PAGE}
            if after is not None:
                params["after"] = after
            page = json_body(self.transport.request("GET", f"{self._objects}/{obj}", params=params))
            deletions = [
                Deletion(
                    str(raw["id"]),
                    parse_time(str(raw.get("archivedAt") or raw.get("updatedAt"))),
                    obj,
                    timed=bool(raw.get("archivedAt")),
                )
                for raw in page.get("results", [])
            ]
            wanted = [d for d in deletions if since is None or not d.timed or d.deleted_at >= since]
            if wanted:
                yield wanted
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if after is None:
                return

    def confirm_deleted(self, crm_object: str, crm_ids: Sequence[str]) -> Confirmation:
        """`batch/read` of the live records (`archived=false`), 100 ids a request: an archived or purged one
        is not returned but named in an OBJECT_NOT_FOUND error (a 207 when some are found); one merged into
        another record is answered by that record, under its own id, naming the asked id in its
        `hs_merged_object_ids`: gone too. An id the answer names nowhere else (another error) stays
        unconfirmed."""
        gone: set[str] = set()
        live: set[str] = set()
        for start in range(0, len(crm_ids), LIST_PAGE):
            asked = set(crm_ids[start : start + LIST_PAGE])
            body = {
                "inputs": [{"id": crm_id} for crm_id in sorted(asked)],
                "properties": ["hs_object_id", MERGED_IDS],
            }
            answer = json_body(
                self.transport.request(
                    "POST",
                    f"{self._objects}/{crm_object}/batch/read",
                    params={"archived": "false"},
                    json=body,
                )
            )
            results = [raw for raw in answer.get("results", []) if not raw.get("archived")]
            found = {str(raw.get("id")) for raw in results}
            live |= found & asked
            for raw in results:
                gone |= (set(merged_ids(raw)) & asked) - found
            for error in answer.get("errors") or []:
                if error.get("category") == "OBJECT_NOT_FOUND":
                    gone |= (_named_ids(error.get("context")) & asked) - found
        return Confirmation(frozenset(gone), frozenset(live))

    # Push -------------------------------------------------------------------------------------------

    def target(self, item: OutboxItem) -> str:
        return "tasks" if item.is_task else TARGETS[item.kind]

    def fields(self, item: OutboxItem) -> dict[str, Any]:
        when = local_time(item.occurred_at)
        stamp = utc_text(when)
        target = self.target(item)
        inbound = item.direction == "inbound"
        properties: dict[str, str]
        if target == "tasks":
            properties = {
                "hs_timestamp": stamp,
                "hs_task_subject": item.subject or title(item.body),
                "hs_task_body": item.body,
                "hs_task_status": "COMPLETED" if item.done else "NOT_STARTED",
                "hs_task_type": TASK_TYPES[item.kind],
            }
        elif target == "calls":
            properties = {
                "hs_timestamp": stamp,
                "hs_call_title": title(item.body),
                "hs_call_body": item.body,
                "hs_call_direction": "INBOUND" if inbound else "OUTBOUND",
                "hs_call_status": "COMPLETED",
            }
        elif target == "emails":
            properties = {
                "hs_timestamp": stamp,
                "hs_email_direction": "INCOMING_EMAIL" if inbound else "EMAIL",
                "hs_email_subject": title(item.body),
                "hs_email_text": item.body,
                "hs_email_status": "SENT",
            }
        elif target == "meetings":
            end = end_of_meeting(when, self.settings.sync.meeting_minutes)
            properties = {
                "hs_timestamp": stamp,
                "hs_meeting_title": ("QBR: " if item.kind == "qbr" else "") + title(item.body),
                "hs_meeting_body": item.body,
                "hs_meeting_start_time": stamp,
                "hs_meeting_end_time": utc_text(end),
                "hs_meeting_outcome": "COMPLETED",
            }
        else:
            properties = {"hs_timestamp": stamp, "hs_note_body": item.body}
        return {**properties, self.prop: item.sync_key}

    def push(self, target: str, items: Sequence[OutboxItem]) -> list[PushResult]:
        if self._modes.get(target, "unique") == "unique":
            written = self._upsert(target, items)
        else:
            written = self._create_or_update(target, items)
        return self._associate(target, items, written)

    def _upsert(self, target: str, items: Sequence[OutboxItem]) -> dict[str, PushResult]:
        inputs = []
        for item in items:
            properties = self.fields(item)
            del properties[self.prop]  # the `id` of an upsert input is the value of `idProperty`
            inputs.append(
                {
                    "idProperty": self.prop,
                    "id": item.sync_key,
                    "properties": properties,
                    "objectWriteTraceId": item.sync_key,
                }
            )
        response = self.transport.request(
            "POST", f"{self._objects}/{target}/batch/upsert", json={"inputs": inputs}
        )
        return self._batch_results(json_body(response), items)

    def _create_or_update(self, target: str, items: Sequence[OutboxItem]) -> dict[str, PushResult]:
        """The fallback without a unique property: find what an earlier attempt may have created, update
        that, create the rest. Search trails writes by seconds: a create whose answer this run lost is
        looked for only once `search_lag_seconds` have passed since it was sent (a nightly retry after a
        kill is long past that)."""
        known = {item.sync_key: item.crm_id for item in items if item.crm_id}
        unsure = [item.sync_key for item in items if item.retried and item.sync_key not in known]
        if unsure:
            self._wait_for_search(unsure)
            known.update(self._find_by_key(target, unsure))
        results: dict[str, PushResult] = {}
        updates = [item for item in items if item.sync_key in known]
        creates = [item for item in items if item.sync_key not in known]
        if updates:
            inputs = [{"id": known[item.sync_key], "properties": self.fields(item)} for item in updates]
            response = self.transport.request(
                "POST", f"{self._objects}/{target}/batch/update", json={"inputs": inputs}
            )
            by_id = {known[item.sync_key]: item.sync_key for item in updates}
            results.update(self._batch_results(json_body(response), updates, by_id=by_id))
        if creates:
            inputs = [
                {"properties": self.fields(item), "associations": [], "objectWriteTraceId": item.sync_key}
                for item in creates
            ]
            sent = time.monotonic()
            try:
                response = self.transport.request(
                    "POST",
                    f"{self._objects}/{target}/batch/create",
                    json={"inputs": inputs},
                    idempotent=False,
                )
            except TransientError:  # it may have been done: the retry must wait for search to show it
                with self._unsure_lock:
                    self._unsure.update(dict.fromkeys((item.sync_key for item in creates), sent))
                raise
            results.update(self._batch_results(json_body(response), creates))
        return results

    def _wait_for_search(self, keys: Sequence[str]) -> None:
        """Wait until search can show what this run's lost creates of `keys` wrote (bounded by
        `search_lag_seconds` from their sending); the wait is counted for the report."""
        with self._unsure_lock:
            sent = [self._unsure.pop(key) for key in keys if key in self._unsure]
        if not sent:
            return
        wait = max(sent) + self._search_lag - time.monotonic()
        if wait > 0:
            self.transport.stats.add(waited=wait)
            self._sleep(wait)
        with self._unsure_lock:
            self._lag_waits.append(max(0.0, wait))

    def notes(self) -> list[str]:
        if not self._lag_waits:
            return []
        return [
            f"hubspot: waited {sum(self._lag_waits):.1f} s in all for search to catch up before looking again "
            f"for {len(self._lag_waits)} batch(es) of creates whose answers were lost (fallback mode: no "
            "unique property)"
        ]

    def _find_by_key(self, target: str, keys: Sequence[str]) -> dict[str, str]:
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": self.prop, "operator": "IN", "values": list(keys)}]}
            ],
            "properties": [self.prop],
            "limit": SEARCH_PAGE,
        }
        page = json_body(
            self.transport.request(
                "POST", f"{self._objects}/{target}/search", json=body, limiter=self._search_gate
            )
        )
        return {
            str(raw["properties"][self.prop]): str(raw["id"])
            for raw in page.get("results", [])
            if (raw.get("properties") or {}).get(self.prop)
        }

    def _batch_results(
        self, body: dict[str, Any], items: Sequence[OutboxItem], *, by_id: Mapping[str, str] | None = None
    ) -> dict[str, PushResult]:
        """Each input's outcome from a 200 or 207 answer, matched by objectWriteTraceId, the key property,
        or (updates) the record id. An input the answer does not mention is left for a retry."""
        wanted = {item.sync_key for item in items}
        results: dict[str, PushResult] = {}
        for raw in body.get("results", []):
            properties = raw.get("properties") or {}
            key = raw.get("objectWriteTraceId") or properties.get(self.prop)
            if key is None and by_id is not None:
                key = by_id.get(str(raw.get("id")))
            if key in wanted:
                results[key] = PushResult(key, crm_id=str(raw["id"]))
        for error in body.get("errors", []):
            context = error.get("context") or {}
            keys = list(context.get("objectWriteTraceId") or context.get(self.prop) or [])
            if by_id is not None:
                keys += [by_id[i] for i in context.get("ids") or [] if i in by_id]
            category = str(error.get("category") or "")
            message = f"HubSpot: {error.get('message') or category or 'refused'}"
            for key in keys:
                if key in wanted and key not in results:
                    results[key] = PushResult(
                        key, error=message, transient=category not in PERMANENT_CATEGORIES
                    )
        for key in wanted - results.keys():
            results[key] = PushResult(
                key, error="HubSpot: the batch answer did not mention it", transient=True
            )
        return results

    def _associate(
        self, target: str, items: Sequence[OutboxItem], written: dict[str, PushResult]
    ) -> list[PushResult]:
        """Associate each written record with its company and contact (the default, unlabelled type;
        associating twice is harmless, so a retry may repeat it). Each item's outcome is its own: a link
        HubSpot could not make now is retried; a record whose company or contact no longer exists is kept
        linked to what still exists (and says so), or, linked to nothing, archived rather than left an
        orphan."""
        done = {item.sync_key: written[item.sync_key] for item in items if written[item.sync_key].ok}
        wanted: dict[str, dict[str, str]] = {}
        """sync key -> object type -> the record to link it to."""
        for item in items:
            if item.sync_key in done:
                wanted[item.sync_key] = {"companies": item.account_crm_id}
                if item.contact_crm_id:
                    wanted[item.sync_key]["contacts"] = item.contact_crm_id
        failures: dict[str, dict[str, LinkFailure]] = {key: {} for key in wanted}
        for to_type in ("companies", "contacts"):
            pairs = {
                key: (str(done[key].crm_id), links[to_type])
                for key, links in wanted.items()
                if to_type in links
            }
            if pairs:
                for key, failure in self._link(target, to_type, pairs).items():
                    failures[key][to_type] = failure
        results = dict(written)
        orphans: dict[str, str] = {}
        """sync key -> why it is linked to nothing: archived below."""
        for key, failed in failures.items():
            if not failed:
                continue
            reasons = "; ".join(failure.message for failure in failed.values())
            if any(failure.transient for failure in failed.values()):
                results[key] = _unlinked(done[key], reasons, transient=True)
            elif not all(failure.gone for failure in failed.values()):
                results[key] = _unlinked(done[key], reasons, transient=False)
            elif len(failed) < len(wanted[key]):
                kept = " and ".join(sorted(set(wanted[key]) - set(failed)))
                note = f"linked to its {kept.removesuffix('s')} only: {reasons}"
                results[key] = PushResult(key, crm_id=done[key].crm_id, note=note)
            else:
                orphans[key] = reasons
        if orphans:
            results.update(
                self._remove_orphans(target, {key: (done[key], why) for key, why in orphans.items()})
            )
        return [results[item.sync_key] for item in items]

    def _link(
        self, target: str, to_type: str, pairs: Mapping[str, tuple[str, str]]
    ) -> dict[str, LinkFailure]:
        """Associate each (record, to) pair of `pairs` (by sync key); the failures, each with its own
        reason (matched by the ids HubSpot's error names)."""
        inputs = [{"from": {"id": record}, "to": {"id": to}} for record, to in pairs.values()]
        path = f"{self._associations}/{target}/{to_type}/batch/associate/default"
        try:
            body = json_body(self.transport.request("POST", path, json={"inputs": inputs}))
        except DailyLimitReached:
            raise
        except CrmError as error:
            transient = not isinstance(error, PermanentError)
            return {key: LinkFailure(error.message, transient=transient) for key in pairs}
        linked = {
            (
                str(raw.get("fromObjectId") or (raw.get("from") or {}).get("id")),
                str(raw.get("toObjectId") or (raw.get("to") or {}).get("id")),
            )
            for raw in body.get("results", [])
        }
        open_pairs = {key: pair for key, pair in pairs.items() if pair not in linked}
        failures: dict[str, LinkFailure] = {}
        for refusal in body.get("errors") or []:
            named = _named_ids(refusal.get("context"))
            # By the record linked from (one input each); else by the record linked to.
            keys = [key for key, (record, _to) in open_pairs.items() if record in named] or [
                key for key, (_record, to) in open_pairs.items() if to in named
            ]
            category = str(refusal.get("category") or "")
            failure = LinkFailure(
                f"HubSpot: {refusal.get('message') or category or 'association refused'}",
                transient=category not in PERMANENT_CATEGORIES,
                gone=category == "OBJECT_NOT_FOUND",
            )
            for key in keys:
                failures.setdefault(key, failure)
        for key, (_record, to) in open_pairs.items():
            if key not in failures:
                failures[key] = LinkFailure(
                    f"HubSpot did not confirm the link to {to_type} {to}", transient=True
                )
        return failures

    def _remove_orphans(
        self, target: str, orphans: Mapping[str, tuple[PushResult, str]]
    ) -> dict[str, PushResult]:
        """Archive the records linked to nothing (their company and contact are gone); each is reported."""
        inputs = [{"id": result.crm_id} for result, _why in orphans.values()]
        try:
            self.transport.request("POST", f"{self._objects}/{target}/batch/archive", json={"inputs": inputs})
        except DailyLimitReached:
            raise
        except CrmError as error:  # still there, unlinked: the next pass tries again
            return {
                key: _unlinked(result, f"{why}; removing it failed: {error.message}", transient=True)
                for key, (result, why) in orphans.items()
            }
        return {
            key: PushResult(
                key, error=f"not linked: {why}; the {target} record was removed rather than left unlinked"
            )
            for key, (_result, why) in orphans.items()
        }


@dataclass(frozen=True)
class LinkFailure:
    message: str
    transient: bool
    gone: bool = False
    """HubSpot says a record of the link no longer exists."""


def _named_ids(context: Any) -> set[str]:
    """Every id an error's context names (its values are lists of ids)."""
    if not isinstance(context, dict):
        return set()
    return {str(value) for values in context.values() if isinstance(values, list) for value in values}


def _unlinked(result: PushResult, reason: str, *, transient: bool) -> PushResult:
    """Written but not associated: keep the id (the record exists) and retry the association."""
    return PushResult(
        result.sync_key, crm_id=result.crm_id, error=f"association: {reason}", transient=transient
    )


def merged_ids(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """The ids merged into a record (`hs_merged_object_ids`: semicolon-separated), in HubSpot's order, but
    the record's own."""
    text = str((raw.get("properties") or {}).get(MERGED_IDS) or "")
    parts = (part.strip() for part in text.split(";"))
    return tuple(dict.fromkeys(part for part in parts if part and part != str(raw.get("id"))))


def _millis(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def _modified(raw: dict[str, Any], modified: str) -> datetime:
    return parse_time(str((raw.get("properties") or {}).get(modified) or raw.get("updatedAt")))
