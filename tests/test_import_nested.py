"""Nested JSON: dotted paths (`context.groupId`, `properties.time`) read values inside a JSON Lines record, as
Segment and Mixpanel export them; a dotted `--map` that matches nothing is an error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.test_import import book, cockpit, fingerprint, rows, write

__all__ = ["book"]


def jsonl(path: Path, *records: dict[str, Any]) -> Path:
    return write(path, "".join(json.dumps(record) + "\n" for record in records))


def segment_track(event: str, group: str, timestamp: str, message: str) -> dict[str, Any]:
    """A track call as the Segment spec documents it, the account in `context.groupId`."""
    return {
        "anonymousId": "23adfd82-aa0f-45a7-a756-24f2a7a4c895",
        "context": {
            "library": {"name": "analytics.js", "version": "2.11.1"},
            "ip": "108.0.78.21",
            "groupId": group,
            "traits": {"email": "ann@acme.example"},
        },
        "event": event,
        "messageId": message,
        "properties": {"title": "Quarterly review"},
        "receivedAt": "2026-11-20T14:03:01.266Z",
        "sentAt": "2026-11-20T14:03:01.169Z",
        "timestamp": timestamp,
        "type": "track",
        "userId": "AiUGstSDIg",
        "originalTimestamp": "2026-11-20T14:03:01.152Z",
    }


def mixpanel(event: str, company: str, time: int, insert_id: str) -> dict[str, Any]:
    """An event as Mixpanel's raw export writes it: everything but its name inside `properties`."""
    return {
        "event": event,
        "properties": {
            "time": time,
            "distinct_id": "user-41",
            "$insert_id": insert_id,
            "$browser": "Chrome",
            "mp_lib": "web",
            "company_id": company,
        },
    }


def usage(db: Path) -> list[tuple[Any, ...]]:
    return rows(db, "SELECT account_id, feature_id, occurred_at, source_id FROM usage_events ORDER BY 3")


def test_a_segment_track_export_lands_with_its_profile(book: Path, tmp_path: Path) -> None:
    source = jsonl(
        tmp_path / "segment.jsonl",
        segment_track("Reports", "acc-1", "2026-11-20T14:03:00.249Z", "ajs-f8ca1e4d"),
        segment_track("dashboards", "acc-2", "2026-11-21T09:30:00.000Z", "ajs-0b3928bd"),
    )
    code, _, err = cockpit("import", "usage", source, "--db", book, "--profile", "segment-track")
    assert code == 0, err
    assert usage(book) == [
        ("acc-1", "reports", "2026-11-20T14:03:00+00:00", "ajs-f8ca1e4d"),
        ("acc-2", "dashboards", "2026-11-21T09:30:00+00:00", "ajs-0b3928bd"),
    ]
    assert "'context'" not in err  # read within, so not said to be ignored
    code, _, err = cockpit("import", "usage", source, "--db", book, "--profile", "segment-track")
    assert "2 rows: 0 inserted, 0 updated, 2 unchanged, 0 rejected" in err


def test_a_mixpanel_raw_export_lands_with_its_profile(book: Path, tmp_path: Path) -> None:
    source = jsonl(
        tmp_path / "mixpanel.jsonl",
        mixpanel("Reports", "acc-1", 1763647380, "a1"),
        mixpanel("Dashboards", "acc-2", 1763647440, "a2"),
    )
    code, _, err = cockpit("import", "usage", source, "--db", book, "--profile", "mixpanel-events")
    assert code == 0, err
    assert usage(book) == [
        ("acc-1", "reports", "2025-11-20T14:03:00+00:00", "a1"),
        ("acc-2", "dashboards", "2025-11-20T14:04:00+00:00", "a2"),
    ]


def test_a_map_names_another_group_key_than_the_profile_s(book: Path, tmp_path: Path) -> None:
    record = mixpanel("Reports", "ignored", 1763647380, "a1")
    record["properties"] = {**record["properties"], "account_id": "acc-2"}
    del record["properties"]["company_id"]
    source = jsonl(tmp_path / "mixpanel.jsonl", record)
    code, _, err = cockpit(
        "import", "usage", source, "--db", book, "--profile", "mixpanel-events",
        "--map", "properties.account_id=account",
    )  # fmt: skip
    assert code == 0, err
    assert usage(book) == [("acc-2", "reports", "2025-11-20T14:03:00+00:00", "a1")]


def test_dotted_maps_read_nested_values_without_a_profile(book: Path, tmp_path: Path) -> None:
    source = jsonl(
        tmp_path / "events.jsonl",
        {"context": {"groupId": "acc-1"}, "properties": {"feature": "reports"}, "at": "2026-11-20"},
        {
            "context": {"groupId": "acc-2"},
            "properties": {"feature": "dashboards", "n": 3},
            "at": "2026-11-21",
        },
    )
    code, _, err = cockpit(
        "import", "usage", source, "--db", book,
        "--map", "context.groupId=account", "--map", "properties.feature=feature",
        "--map", "properties.n=count", "--map", "at=occurred_at",
    )  # fmt: skip
    assert code == 0, err
    assert rows(book, "SELECT account_id, feature_id, count FROM usage_events ORDER BY 1") == [
        ("acc-1", "reports", 1),
        ("acc-2", "dashboards", 3),
    ]


def test_a_dotted_map_that_matches_nothing_is_an_error(book: Path, tmp_path: Path) -> None:
    before = fingerprint(book)
    source = jsonl(
        tmp_path / "events.jsonl",
        {"account": "acc-1", "feature": "reports", "time": "2026-11-20", "properties": {"n": 2}},
    )
    code, _, err = cockpit("import", "usage", source, "--db", book, "--map", "properties.count=count")
    assert code == 2
    assert "--map 'properties.count' matches nothing: no record of the file has it" in err
    csv = write(tmp_path / "events.csv", "account,feature,time\nacc-1,reports,2026-11-20\n")
    code, _, err = cockpit("import", "usage", csv, "--db", book, "--map", "properties.count=count")
    assert code == 2
    assert "the CSV has no column of that name" in err
    assert fingerprint(book) == before
