"""`cockpit outreach`: plan, list, show, approve, snooze, cancel, edit and skipped, as a script would use them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.demo import STORY_ACCOUNTS
from cockpit.store import open_store

from .builders import TODAY, days

runner = CliRunner()


def cockpit(db: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["outreach", *args, "--db", str(db)], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def planned(db: Path) -> list[dict[str, object]]:
    code, out, err = cockpit(db, "plan", "--as-of", TODAY.isoformat())
    assert code == 0, err
    code, out, err = cockpit(db, "list", "--json")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def status(db: Path, item_id: str) -> str:
    store = open_store(db)
    try:
        return str(store.db.execute("SELECT status FROM outreach WHERE id = ?", [item_id]).fetchone()[0])
    finally:
        store.close()


def test_plan_dry_run_json_then_for_real(demo_path: Path) -> None:
    code, out, err = cockpit(demo_path, "plan", "--dry-run", "--json", "--as-of", TODAY.isoformat())
    assert code == 0, err
    report = json.loads(out)
    assert report["dry_run"] is True and report["run_id"] is None
    assert report["counts"]["queued"] > 0
    assert {d["playbook"] for d in report["queued"]} >= {"renewal", "rescue", "cross-sell"}
    code, out, err = cockpit(demo_path, "plan", "--as-of", TODAY.isoformat())
    assert code == 0, err
    assert f"queued {report['counts']['queued']}" in out
    assert "save-now" in out
    code, out, _ = cockpit(demo_path, "plan", "--as-of", TODAY.isoformat())
    assert "queued 0, updated 0" in out
    assert "rules fired on 0 accounts" in out and "accounts unchanged since the last plan" in out
    code, out, _ = cockpit(demo_path, "plan", "--full", "--as-of", TODAY.isoformat())
    assert code == 0 and "queued 0, updated 0" in out and "rules fired on 0 accounts" not in out


def test_list_show_and_filters(demo_path: Path) -> None:
    items = planned(demo_path)
    assert items and all(item["status"] == "draft" for item in items)
    account = STORY_ACCOUNTS["cancel_lookup"]
    code, out, _ = cockpit(demo_path, "list", "--account", account, "--playbook", "save-now")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("id") and len(lines) == 2 and "save-now" in lines[1]
    item_id = lines[1].split()[0]
    code, out, _ = cockpit(demo_path, "show", item_id)
    assert code == 0
    assert "Subject: Call" in out and "Why:" in out
    assert "churn_tier == 'high' and value_tier == 'high'" in out
    code, out, _ = cockpit(demo_path, "show", item_id, "--json")
    assert json.loads(out)["id"] == item_id
    code, _, err = cockpit(demo_path, "list", "--status", "lost")
    assert code == 2 and "'lost' is not one of" in err


def test_approve_by_id_and_by_filter(demo_path: Path) -> None:
    items = planned(demo_path)
    first = str(items[0]["id"])
    code, out, err = cockpit(demo_path, "approve", first)
    assert code == 0, err
    assert out.startswith(f"approved {first}")
    assert status(demo_path, first) == "approved"
    renewals = [item for item in items if item["playbook"] == "renewal"]
    code, out, err = cockpit(demo_path, "approve", "--playbook", "renewal", "--json")
    assert code == 0, err
    assert {i["id"] for i in json.loads(out)["changed"]} == {i["id"] for i in renewals}
    code, _, err = cockpit(demo_path, "approve")
    assert code == 2 and "give item ids, or a filter" in err
    code, _, err = cockpit(demo_path, "approve", first, "--playbook", "renewal")
    assert code == 2 and "not both" in err


def test_a_refused_approval_exits_1_and_says_why(demo_path: Path) -> None:
    items = planned(demo_path)
    email = next(item for item in items if item["channel"] == "email")
    store = open_store(demo_path)
    with store.write() as db:
        db.execute("UPDATE contacts SET do_not_contact = 1 WHERE id = ?", [email["contact_id"]])
    store.close()
    code, _, err = cockpit(demo_path, "approve", str(email["id"]))
    assert code == 1
    assert f"refused {email['id']}: contact do not contact" in err
    assert status(demo_path, str(email["id"])) == "draft"


def test_snooze_cancel_and_unknown_ids(demo_path: Path) -> None:
    items = planned(demo_path)
    first, second = str(items[0]["id"]), str(items[1]["id"])
    code, out, err = cockpit(demo_path, "snooze", first, "--until", days(3).isoformat())
    assert code == 0, err
    assert status(demo_path, first) == "snoozed"
    code, out, err = cockpit(demo_path, "cancel", second)
    assert code == 0 and out.startswith(f"cancelled {second}")
    code, _, err = cockpit(demo_path, "cancel", "out-99999", first)
    assert code == 1 and "no outreach item 'out-99999'" in err and "Traceback" not in err
    assert status(demo_path, first) == "snoozed"
    code, _, err = cockpit(demo_path, "show", "out-99999")
    assert code == 1 and "cockpit outreach list" in err


def test_edit_from_stdin(demo_path: Path) -> None:
    items = planned(demo_path)
    email = next(item for item in items if item["channel"] == "email")
    code, out, err = cockpit(
        demo_path, "edit", str(email["id"]), "--subject", "Hello", "--body-file", "-", stdin="Mine.\n"
    )
    assert code == 0, err
    assert "Subject: Hello" in out and "Mine." in out and "(edited)" in out
    code, _, err = cockpit(demo_path, "edit", str(email["id"]), "--subject", "{{ x }}")
    assert code == 2 and "template markup" in err


def test_skipped_lists_why(demo_path: Path, tmp_path: Path) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text(
        "[outreach]\nmax_shift_days = 0\n\n[outreach.policy]\nmax_touches = 1\nwindow_days = 30\n"
    )
    result = runner.invoke(
        app,
        ["outreach", "plan", "--as-of", TODAY.isoformat(), "--db", str(demo_path), "--config", str(strict)],
    )
    assert result.exit_code == 0, result.stderr
    code, out, _ = cockpit(demo_path, "skipped")
    assert code == 0 and "no contact can be reached" in out
    code, out, _ = cockpit(demo_path, "skipped", "--json")
    assert all("why" in json.loads(line) for line in out.splitlines())


def test_a_bad_trigger_stops_the_plan_naming_the_key(demo_path: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[[outreach.playbooks]]\nid = "x"\ntitle = "X"\ntrigger = "churn_tier == \'hihg\'"\nchannel = "email"\n'
        'template = "referral"\ncooldown_days = 1\npriority = 1\n'
    )
    result = runner.invoke(app, ["outreach", "plan", "--db", str(demo_path), "--config", str(mine)])
    assert result.exit_code == 2
    assert "outreach.playbooks[0] (x).trigger: churn_tier is never 'hihg'" in result.stderr


def test_an_unscored_book_says_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    assert runner.invoke(app, ["init", "--db", str(db)]).exit_code == 0
    code, _, err = cockpit(db, "plan")
    assert code == 1 and "cockpit score" in err


def test_an_unknown_filter_or_a_trigger_nested_too_deeply_stops_the_plan(
    demo_path: Path, tmp_path: Path
) -> None:
    """Config errors, naming the playbook and the key: never a traceback (Jinja's own error, a RecursionError)."""
    mine = tmp_path / "mine.toml"
    deep = "(" * 3000 + "health < 50" + ")" * 3000
    mine.write_text(
        '[[outreach.playbooks]]\nid = "x"\ntitle = "X"\ntrigger = "churn_tier == \'high\'"\nchannel = "email"\n'
        'template = "shouty"\ncooldown_days = 1\npriority = 1\n'
        f'[[outreach.playbooks]]\nid = "y"\ntitle = "Y"\ntrigger = "{deep}"\nchannel = "email"\n'
        'template = "referral"\ncooldown_days = 1\npriority = 2\n'
        '[outreach.templates.shouty]\nsubject = "{{ account.name|shout }}"\n'
        "body = \"{{ churn.signals|map('upperx')|join(', ') }}\"\n"
    )
    result = runner.invoke(app, ["outreach", "plan", "--db", str(demo_path), "--config", str(mine)])
    assert result.exit_code == 2, result.stderr
    assert "outreach.templates.shouty.subject (playbook x): line 1: No filter named 'shout'." in result.stderr
    assert (
        "outreach.templates.shouty.body (playbook x): line 1: No filter named 'upperx' (in map)"
        in result.stderr
    )
    assert "outreach.playbooks[1] (y).trigger: nested more than 50 levels deep" in result.stderr
    assert "Traceback" not in result.stderr


def test_mute_and_unmute_a_playbook(demo_path: Path) -> None:
    code, out, err = cockpit(demo_path, "mute", "referral")
    assert (code, out) == (0, "referral muted\nmuted playbooks: referral\n"), err
    code, out, _ = cockpit(demo_path, "plan", "--as-of", TODAY.isoformat())
    assert "referral               muted: queues nothing (cockpit outreach unmute referral)" in out
    assert not [item for item in planned(demo_path) if item["playbook"] == "referral"]
    code, out, _ = cockpit(demo_path, "plan", "--json", "--as-of", TODAY.isoformat())
    assert json.loads(out)["muted"] == ["referral"]
    code, out, err = cockpit(demo_path, "unmute", "referral")
    assert (code, out) == (0, "referral unmuted\nmuted playbooks: none\n"), err
    assert [item for item in planned(demo_path) if item["playbook"] == "referral"]
    code, out, err = cockpit(demo_path, "mute", "referal")
    assert code == 2 and "no playbook 'referal'; the playbooks are save-now, rescue" in err


def test_plan_json_is_written_as_the_plan_decides_and_lists_every_decision(
    demo_path: Path, tmp_path: Path
) -> None:
    """The document `plan --json` streams is the report's JSON with every decision listed, as a plan that
    keeps them all reports it (on a copy of the same book)."""
    from cockpit.services.outreach import plan
    from tests.clocks import at
    from tests.tuning import defaults

    copy = tmp_path / "copy.db"
    shutil.copy(demo_path, copy)
    store = open_store(copy)
    heard: list[str] = []
    try:
        every = plan(
            store, defaults(), as_of=TODAY, clock=at(TODAY), batch_size=7, keep=None,
            progress=lambda done, total: heard.append("batch"), sink=lambda kind, found: heard.append(kind),
        )  # fmt: skip
    finally:
        store.close()
    assert "queued" in heard[: heard.index("batch")], "decisions are heard batch by batch"
    code, out, err = cockpit(demo_path, "plan", "--json", "--as-of", TODAY.isoformat())
    assert code == 0, err
    document, expected = json.loads(out), every.to_json()
    for figures in (document, expected):
        del figures["seconds"], figures["phases"]
    assert document == expected and len(document["queued"]) == every.counts()["queued"] > 0
    assert document["skipped"] and document["updated"], "the kinds held back until the queued are listed"


def test_a_plan_json_that_fails_writes_nothing_to_stdout(demo_path: Path) -> None:
    """Its drafts decided, the plan's write fails (here a trigger of the book refuses new items): no
    unfinished document on the standard output, and the book as it was."""
    store = open_store(demo_path)
    try:
        with store.write() as db:
            db.execute(
                "CREATE TRIGGER refuse_items BEFORE INSERT ON outreach BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        before = store.db.execute("SELECT count(*) FROM outreach").fetchone()[0]
    finally:
        store.close()
    result = runner.invoke(
        app, ["outreach", "plan", "--json", "--as-of", TODAY.isoformat(), "--db", str(demo_path)]
    )
    assert result.exit_code != 0 and result.stdout == ""
    store = open_store(demo_path)
    try:
        assert store.db.execute("SELECT count(*) FROM outreach").fetchone()[0] == before
    finally:
        store.close()
