"""The run around the sync: dry runs, conflicts, deletions, the lock, the CLI, and secrets kept out of sight."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.cli.sync import render_report, render_run
from cockpit.config import load_settings
from cockpit.services.sync import SyncBusy, resolve_conflict, sync_status
from cockpit.services.sync.lock import SyncLock
from cockpit.store import Store
from cockpit.store.sync import start_run
from tests.clocks import at
from tests.crm_servers.base import FaultPlan
from tests.crm_servers.hubspot import HubSpotServer
from tests.crm_servers.salesforce import SalesforceServer
from tests.processes import on_a_terminal

from .books import (
    CLIENT_SECRET,
    NOW,
    PROPERTY,
    SYNC_DAY,
    TOKEN,
    add_interactions,
    add_outreach,
    hubspot_book,
    name_changed_on_both_sides,
    nightly,
    salesforce_book,
    settings_for,
    waiting,
    write_config,
)

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def dump(store: Store) -> str:
    return "\n".join(store.db.conn.iterdump())


def test_dry_run_lists_each_change_field_by_field_and_writes_nothing(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    companies = hubspot_book(hubspot, companies=3)
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url)
    assert nightly(store, settings_for(config)).exit_code == 0
    hubspot.update("companies", companies[0], {"name": "Company Zero Inc"})
    new_company = hubspot.add("companies", {"name": "Brand New", "domain": "brandnew.com"})
    [key] = add_interactions(store, 1)
    before, requests = dump(store), hubspot.requests
    hubspot.faults = FaultPlan(at={requests + 1: "503", requests + 3: "429", requests + 5: "drop"})

    result = runner.invoke(
        app, ["sync", "--dry-run", "--json", "--db", str(store.path), "--config", str(config)]
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    changes = report["runs"][0]["changes"]
    renamed = next(c for c in changes if c["crm_id"] == companies[0])
    assert renamed["side"] == "local" and renamed["action"] == "update"
    assert renamed["fields"] == {"name": {"from": "Company 0", "to": "Company Zero Inc"}}
    inserted = next(c for c in changes if c["crm_id"] == new_company)
    assert inserted["action"] == "insert"
    assert inserted["fields"]["domain"] == {"from": None, "to": "brandnew.com"}
    pushed = next(c for c in changes if c["side"] == "crm")
    assert pushed["action"] == "create" and pushed["object"] == "calls"
    assert pushed["fields"][PROPERTY] == {"from": None, "to": key}
    assert pushed["fields"]["hs_call_direction"]["to"] == "INBOUND"
    assert report["runs"][0]["counts"]["retries"] == 3  # the faults were met and got past
    assert dump(store) == before  # nothing written locally ...
    writes = [
        entry
        for entry in hubspot.log
        if entry[0] > requests and entry[1] != "GET" and "search" not in entry[2]
    ]
    assert writes == []  # ... nor in the CRM
    text = runner.invoke(app, ["sync", "--dry-run", "--db", str(store.path), "--config", str(config)])
    assert 'name: "Company 0" -> "Company Zero Inc"' in text.stdout


def test_a_field_changed_on_both_sides_is_reported_and_left_for_the_csm(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    settings, local_id = name_changed_on_both_sides(store, salesforce, tmp_path / "c.toml")

    report = nightly(store, settings)

    assert report.exit_code == 1
    [conflict] = report.runs[0].conflicts
    assert (conflict.field, conflict.base, conflict.local, conflict.crm) == (
        "name",
        "Company 0",
        "Ours",
        "Theirs",
    )
    name, domain, stage = store.db.execute(
        "SELECT name, domain, lifecycle_stage FROM accounts WHERE id = ?", [local_id]
    ).fetchone()
    assert (name, domain, stage) == ("Ours", "ours.com", "Customer")  # changed on one side only: merged
    [open_conflict] = sync_status(store, settings).conflicts
    assert nightly(store, settings).exit_code == 0  # reported once, not every night
    status = runner.invoke(app, ["sync", "status", "--db", str(store.path)])
    assert f"{open_conflict.id:>5}  salesforce account · Ours name: " in status.stdout  # by name, not by id

    resolve_conflict(store, open_conflict.id, "crm", clock=at(SYNC_DAY))
    assert store.db.execute("SELECT name FROM accounts WHERE id = ?", [local_id]).fetchone()[0] == "Theirs"
    assert sync_status(store, settings).conflicts == []
    again = nightly(store, settings)
    assert again.exit_code == 0 and again.runs[0].conflicts == []


def test_deletions_are_marked_not_dropped(store: Store, hubspot: HubSpotServer, tmp_path: Path) -> None:
    companies = hubspot_book(hubspot, companies=3)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    hubspot.archive("companies", companies[1])
    report = nightly(store, settings)
    assert report.runs[0].counts["deleted"] == 1
    rows = store.db.execute(
        "SELECT hubspot_id, deleted_at IS NOT NULL FROM accounts ORDER BY hubspot_id"
    ).fetchall()
    assert rows == [(companies[0], 0), (companies[1], 1), (companies[2], 0)]


def test_a_run_stopped_in_the_archived_listing_misses_no_older_deletion_after_it(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """HubSpot lists archived records by id, not by when they were archived: a run stopped after the first
    page (archived lately) must not let the next one skip an older archive on the page after it."""
    companies = hubspot_book(hubspot, companies=101, contacts_per=0)
    lately = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    for company in companies:  # last modified before it is archived
        hubspot.update("companies", company, {}, modified=lately - timedelta(hours=4))
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    for company in companies[:100]:  # the first listing page, archived two hours after the last company
        hubspot.archive("companies", company, at=lately)
    hubspot.archive("companies", companies[100], at=lately - timedelta(hours=2))
    hubspot.faults = FaultPlan(on_path={"GET /crm/objects/2026-09/companies": ["", *["500"] * 10]})
    assert nightly(store, settings).exit_code != 0  # the first page stored, the second failed
    hubspot.faults = FaultPlan()

    resumed = nightly(store, settings)
    assert resumed.exit_code == 0 and resumed.runs[0].counts["deleted"] == 1  # the last one, once
    deleted = "SELECT hubspot_id FROM accounts WHERE deleted_at IS NOT NULL"
    assert {row[0] for row in store.db.execute(deleted)} == set(companies)
    assert nightly(store, settings).runs[0].counts["deleted"] == 0  # each marked once


def test_items_of_accounts_not_in_the_crm_wait_and_say_why(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    hubspot_book(hubspot, companies=1)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    nightly(store, settings)
    now = "2026-11-20T10:00:00+00:00"
    with store.write() as db:
        db.execute(
            "INSERT INTO accounts (id, name, created_at, updated_at) VALUES ('local-only', 'Local', ?, ?)",
            [now, now],
        )
    keys = add_interactions(store, 2)  # one on each account
    report = nightly(store, settings)
    assert report.exit_code == 1
    assert report.runs[0].counts["blocked"] == 1 and report.runs[0].counts["pushed"] == 1
    assert "local-only has no hubspot id" in " ".join(report.runs[0].errors)
    assert (
        sum(hubspot.keys(PROPERTY).values()) == 1
        and hubspot.keys(PROPERTY)[keys[0]] + hubspot.keys(PROPERTY)[keys[1]] == 1
    )


def test_items_of_accounts_deleted_here_are_held_back_and_counted(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """An account the pull marked deleted (its company deleted in HubSpot) keeps its items out of the
    outbox: they are held back and counted, not sent to be refused or left orphaned."""
    [gone_company, _kept] = hubspot_book(hubspot, companies=2)
    settings = settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    keys = add_interactions(store, 4) + add_outreach(store, 2)  # spread over both accounts
    gone = store.db.execute("SELECT id FROM accounts WHERE hubspot_id = ?", [gone_company]).fetchone()[0]
    held = [
        key
        for table in ("interactions", "outreach")
        for (key,) in store.db.execute(f"SELECT sync_key FROM {table} WHERE account_id = ?", [gone])
    ]
    hubspot.archive("companies", gone_company)

    report = nightly(store, settings)

    [run] = report.runs
    assert report.exit_code == 0, report.to_json()
    assert run.counts["deleted"] == 1
    assert run.counts["held_deleted_accounts"] == len(held) == 3
    assert run.counts["pushed"] == len(keys) - len(held)
    assert "3 item(s) held back: their account is deleted in cockpit" in " ".join(run.notes)
    assert sorted(hubspot.keys(PROPERTY)) == sorted(set(keys) - set(held))
    assert "3 held back (account deleted)" in "\n".join(render_run(run))


def test_an_item_the_crm_keeps_refusing_is_set_aside_then_retried_on_request(
    store: Store, salesforce: SalesforceServer, tmp_path: Path
) -> None:
    salesforce_book(salesforce, accounts=1)
    settings = settings_for(
        write_config(tmp_path / "c.toml", salesforce=salesforce.url, sync={"max_item_attempts": 2})
    )
    nightly(store, settings)
    add_interactions(store, 3)
    with store.write() as db:  # an id Salesforce does not know: each Task is refused (WhatId)
        db.execute("UPDATE accounts SET salesforce_id = '001000000000999AAA'")
    first = nightly(store, settings)
    assert first.runs[0].counts["push_errors"] == 3 and first.exit_code == 1
    second = nightly(store, settings)
    assert second.runs[0].counts["failed_items"] == 3
    status = sync_status(store, settings)
    assert {problem.state for problem in status.problems} == {"failed"}
    assert "INVALID_CROSS_REFERENCE_KEY" in status.problems[0].error
    assert waiting(store) == 0
    assert (
        store.db.execute("SELECT count(*) FROM interactions WHERE sync_state = 'failed'").fetchone()[0] == 3
    )
    retried = runner.invoke(app, ["sync", "retry", "--db", str(store.path)])
    assert retried.exit_code == 0 and "3 item(s)" in retried.stdout
    assert waiting(store) == 3


def test_a_second_run_waits_for_the_lock_then_gives_up(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    settings = settings_for(
        write_config(tmp_path / "c.toml", hubspot=hubspot.url, sync={"lock_wait_seconds": 0.2})
    )
    with SyncLock(store.path, wait_seconds=0), pytest.raises(SyncBusy) as busy:
        nightly(store, settings)
    assert busy.value.exit_code == 5
    assert "another cockpit sync" in busy.value.message

    waited = settings_for(
        write_config(tmp_path / "w.toml", hubspot=hubspot.url, sync={"lock_wait_seconds": 10})
    )
    holder = SyncLock(store.path, wait_seconds=0).__enter__()
    threading.Timer(0.3, holder.__exit__, [None, None, None]).start()
    assert nightly(store, waited).exit_code == 0  # waited for the first to finish


def test_a_killed_lock_holder_leaves_no_stale_lock(store: Store) -> None:
    holding = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from pathlib import Path; from cockpit.services.sync.lock import SyncLock; "
            f"lock = SyncLock(Path({str(store.path)!r}), wait_seconds=0).__enter__(); print('held', flush=True); "
            "import time; time.sleep(60)",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holding.stdout is not None and holding.stdout.readline().strip() == "held"
    with pytest.raises(SyncBusy):
        SyncLock(store.path, wait_seconds=0).__enter__()
    holding.kill()
    holding.wait()
    holding.stdout.close()
    with SyncLock(store.path, wait_seconds=1):
        pass


@pytest.mark.slow
def test_one_database_under_two_names_runs_one_sync_at_a_time(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """A sync through a symbolic link and one through the real path are two syncs of one database: while the
    first runs, the second is refused as already running (the lock goes with the real file)."""
    hubspot_book(hubspot, companies=2)
    link = tmp_path / "link.db"
    link.symlink_to(store.path)
    config = write_config(
        tmp_path / "c.toml",
        hubspot=hubspot.url,
        sync={"lock_wait_seconds": 0, "request_timeout_seconds": 60, "max_retries": 0},
    )
    hubspot.faults = FaultPlan(hold_path="/")  # the first run waits at its first request
    command = [sys.executable, "-m", "cockpit", "sync", "--config", str(config), "--db"]
    first = subprocess.Popen(
        [*command, str(store.path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert hubspot.faults.holding.wait(timeout=60)  # the lock is taken before the first request
        second = subprocess.run(
            [*command, str(link)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
        assert second.returncode == 5, second.stdout + second.stderr
        assert f"another cockpit sync (pid {first.pid}) is running on this database" in second.stderr
    finally:
        hubspot.faults.release.set()
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err


@pytest.mark.slow
def test_a_terminal_sees_the_sync_progress_bar_then_the_report_and_a_pipe_or_json_no_bar(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    hubspot_book(hubspot, companies=3)
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url)
    command = ["sync", "--db", str(store.path), "--config", str(config)]
    shown = on_a_terminal(command).decode(errors="replace")
    # The pull, the refit, the scoring, the plan and the push: done of five, and the time left.
    assert "syncing [" in shown and "/5 steps" in shown and "s left" in shown, shown
    assert "5/5 steps 100%" in shown
    cleared = re.compile(r"\r {40,}\r").search(shown, shown.rindex("syncing ["))  # the bar, then the report
    assert cleared is not None and "scoring   3 accounts" in shown[cleared.end() :], shown
    assert shown.rstrip().endswith("exit code 0")
    piped = subprocess.run(
        [sys.executable, "-m", "cockpit", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.rstrip().endswith("exit code 0")
    assert "syncing" not in piped.stdout + piped.stderr and "\r" not in piped.stdout + piped.stderr
    as_json = on_a_terminal([*command, "--json"]).decode(errors="replace")
    assert "syncing" not in as_json and json.loads(as_json)["exit_code"] == 0


def test_secrets_never_reach_output_logs_reports_or_the_database(
    store: Store,
    hubspot: HubSpotServer,
    salesforce: SalesforceServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hubspot_book(hubspot, companies=2)
    salesforce_book(salesforce, accounts=2)
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url, salesforce=salesforce.url)
    base = ["--db", str(store.path), "--config", str(config)]
    outputs = [runner.invoke(app, ["sync", *base]), runner.invoke(app, ["sync", "--json", *base])]
    add_interactions(store, 5)
    # A server that quotes the request back, headers and all, in its error message.
    hubspot.faults = FaultPlan(at={hubspot.requests + n: "echo_auth" for n in range(1, 40)})
    salesforce.faults = FaultPlan(at={salesforce.requests + 1: "expire_session"})
    outputs += [runner.invoke(app, ["sync", *base]), runner.invoke(app, ["sync", "status", "--json", *base])]
    assert any("Bad request; headers were" in result.stdout for result in outputs)  # the echo did happen
    tokens = [TOKEN, CLIENT_SECRET, *salesforce.tokens]
    texts = [r.stdout + r.stderr for r in outputs] + [caplog.text, dump(store), config.read_text()]
    for text in texts:
        for secret in tokens:
            assert secret not in text


def test_missing_credentials_are_a_clear_configuration_error(
    store: Store, hubspot: HubSpotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COCKPIT_HUBSPOT_TOKEN")
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url)
    result = runner.invoke(app, ["sync", "--db", str(store.path), "--config", str(config)])
    assert result.exit_code == 2
    assert "COCKPIT_HUBSPOT_TOKEN is not set" in result.stderr
    assert hubspot.requests == 0


def test_plain_http_to_a_remote_host_is_refused(store: Store, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", hubspot="http://api.hubapi.com")
    result = runner.invoke(app, ["sync", "--db", str(store.path), "--config", str(config)])
    assert result.exit_code == 2
    assert "must use https" in result.stderr


def test_status_lists_runs_and_the_outbox(store: Store, hubspot: HubSpotServer, tmp_path: Path) -> None:
    hubspot_book(hubspot, companies=2)
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url)
    base = ["--db", str(store.path), "--config", str(config)]
    assert runner.invoke(app, ["sync", *base]).exit_code == 0
    add_interactions(store, 4)
    add_outreach(store, 2)
    status = json.loads(runner.invoke(app, ["sync", "status", "--json", *base]).stdout)
    assert status["pending"] == {"hubspot": {"interaction": 4, "outreach": 2, "follow_up": 0}}
    assert [run["status"] for run in status["runs"]] == ["ok"]
    text = runner.invoke(app, ["sync", "status", *base]).stdout
    assert "Pending for hubspot: 4 interactions, 2 outreach items, 0 follow-ups" in text


def test_a_first_dry_run_shows_the_whole_book_it_would_import(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    hubspot_book(hubspot, companies=2, contacts_per=1)
    report = nightly(
        store, settings_for(write_config(tmp_path / "c.toml", hubspot=hubspot.url)), dry_run=True
    )
    assert report.exit_code == 0, report.to_json()
    inserts = [c for c in report.runs[0].changes if c.action == "insert"]
    assert sorted(c.object_type for c in inserts) == ["accounts", "accounts", "contacts", "contacts"]
    assert store.db.execute("SELECT count(*) FROM accounts").fetchone()[0] == 0
    assert hubspot.count("/crm/properties") == 0  # setup is left to the real run


def test_the_nightly_run_plans_outreach_before_it_pushes(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    """Planning runs between scoring and the push: an approved email to a contact who has since asked not to
    be contacted is withdrawn before it could reach the CRM."""
    hubspot_book(hubspot, companies=3, contacts_per=1)
    settings = settings_for(write_config(tmp_path / "config.toml", hubspot=hubspot.url))
    assert nightly(store, settings).exit_code == 0
    account, contact = store.db.execute("SELECT account_id, id FROM contacts ORDER BY id LIMIT 1").fetchone()
    with store.write() as db:
        db.execute(
            "INSERT INTO outreach (id, account_id, contact_id, playbook, channel, subject, body, status, due_on, "
            "dedupe_key, sync_key, created_at, updated_at) VALUES ('out-1', ?, ?, 'renewal', 'email', 'Renewal', "
            "'Shall we talk?', 'approved', '2026-11-25', 'renewal:1', 'key-out-1', ?, ?)",
            [account, contact, NOW, NOW],
        )
        db.execute("UPDATE contacts SET do_not_contact = 1 WHERE id = ?", [contact])

    report = nightly(store, settings)

    assert report.outreach is not None and report.outreach["cancelled"] >= 1, report.to_json()
    assert report.history is not None and (report.history["runs_kept"], report.history["runs_dropped"]) == (
        2,
        0,
    )
    # The first night's run is kept compact; the second, the latest and the plan's, in full.
    assert report.history["runs_compacted"] == 1
    assert store.db.execute("SELECT run_id FROM compact_scores").fetchall() == [(1,)]
    assert "history   Database" in render_report(report)
    assert store.db.execute("SELECT status FROM outreach WHERE id = 'out-1'").fetchone()[0] == "cancelled"
    assert "key-out-1" not in hubspot.keys(PROPERTY)
    assert store.db.execute("SELECT count(*) FROM outreach_runs").fetchone()[0] == 2  # one plan a night


def test_items_still_without_an_answer_when_the_passes_run_out_leave_the_run_short_of_complete(
    store: Store, hubspot: HubSpotServer, tmp_path: Path
) -> None:
    hubspot_book(hubspot, companies=2)
    config = write_config(tmp_path / "c.toml", hubspot=hubspot.url, sync={"max_retries": 1})
    assert nightly(store, settings_for(config)).exit_code == 0
    keys = add_interactions(store, 3)
    # Every write answers 503, through the transport's retries and the run's second pass.
    hubspot.faults = FaultPlan(on_path={"batch/upsert": ["503"] * 20})

    report = nightly(store, settings_for(config))

    [run] = report.runs
    assert run.status == "partial"
    assert report.exit_code != 0
    assert run.counts["unconfirmed"] == len(keys)
    assert any("3 item(s) without an answer after 2 passes" in error for error in run.errors)
    assert waiting(store) == len(keys)
    hubspot.faults = FaultPlan()
    assert nightly(store, settings_for(config)).exit_code == 0
    assert waiting(store) == 0


def test_a_run_left_running_with_no_sync_holding_the_lock_shows_as_interrupted(store: Store) -> None:
    """Ctrl-C, SIGTERM or a kill leaves the run's row `running` until the next run closes it: `sync status`
    and the sync screen say `interrupted` at once, but `running` while a sync holds the lock."""
    with store.write() as db:
        run_id = start_run(db, "hubspot", dry_run=False, now="2026-12-01T02:00:00Z")
    settings = load_settings()
    [run] = sync_status(store, settings).runs
    assert (run.id, run.status) == (run_id, "interrupted")
    shown = runner.invoke(app, ["sync", "status", "--db", str(store.path)])
    assert re.search(rf"{run_id}\s+hubspot\s+\S+\s+interrupted", shown.stdout), shown.stdout
    with SyncLock(store.path, wait_seconds=0):
        [run] = sync_status(store, settings).runs
        assert run.status == "running"
    assert store.db.execute("SELECT status FROM sync_runs").fetchone() == ("running",)  # only shown so
