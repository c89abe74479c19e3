"""Outreach planning speed: `cockpit outreach plan` over a 100,000-account book, against three references measured
in the same run: the facts it plans from in one raw sqlite3 query, every input it reads in raw queries, and
those same inputs in one raw query.

    python bench/outreach.py [--db bench/out/book-100000.db] [--accounts 100000] [--work /tmp/...]

The book is generated once with the demo generator (as bench/score.py does) and copied to a work file, which
the plans write to; the copy is scored first if it has no score run (not timed). Measured, on the same file:
- reference: one raw sqlite3 query reading what planning reads per account from the latest score run (the
  account and score columns and the stored explanation), fetched into Python;
- all facts (a second reference, beside the first, which stays as it was): raw sqlite3 queries for every
  input a plan reads, fetched into Python: the first reference's query, and the contacts, each account's
  latest CSM touch, the contacts' touches in the days planning reaches, the email signals of the email
  window (sends, opens, clicks: what the unopened emails are found in), the open items and those whose
  cooldown may still run, the entitlements and the product catalogue. It decides and writes nothing (a plan
  also writes its drafts, their fingerprints and its skips);
- one query, all facts (a third reference, beside the two): the same facts in one raw query, a row per
  account planned with its other inputs aggregated in it (`ONE_QUERY`);
- the first plan (queues the drafts, one transaction) and a second plan over the same day: nothing changed
  since the first, so it plans no account again (each account's fingerprint is the one the first left).
  Both plan as the nightly sync does: the report counts the decisions and lists none (`keep=0`).

Each measurement runs in a child process of its own (its peak memory is its own high-water mark, VmHWM;
its time is measured inside it, around the work only, in wall and CPU), alternating with the
references in the same run; every round starts from a fresh copy of the scored book. A child that only imports
what a plan imports gives the memory floor of the interpreter and the libraries.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from statistics import median
from typing import NamedTuple

from cockpit.clock import system_clock
from cockpit.config import load_settings
from cockpit.demo import generate_into_store
from cockpit.domain.touches import CSM_TOUCHES
from cockpit.services.outreach import plan
from cockpit.services.scoring import run_scoring
from cockpit.store import open_store
from cockpit.store.db import build_database
from cockpit.store.outreach import latest_run

HERE = Path(__file__).resolve().parent
ANCHOR = date(2026, 11, 22)
"""The generated book's today (a Sunday); planning runs on the Monday after, a working day."""
PLAN_DAY = date(2026, 11, 23)

REFERENCE = """
    SELECT a.id, a.name, a.owner, a.segment, a.plan, a.lifecycle_stage, a.mrr, a.seats, a.domain, a.start_date,
        a.renewal_date, s.health, s.health_band, s.churn_risk, s.churn_tier, s.value_tier, s.priority,
        s.adoption_status, s.adoption_share, s.cross_sell_ready, s.cross_sell_product, s.advocacy, s.explanation
    FROM scores s JOIN accounts a ON a.id = s.account_id
    WHERE s.run_id = ? AND a.deleted_at IS NULL AND (a.churned_on IS NULL OR a.churned_on > ?)
"""

ALL_FACTS = {
    "contacts": """
        SELECT id, account_id, name, email, phone, role, CASE WHEN personalization_consent = 1 THEN birthday END,
            email_opt_in, do_not_contact, deleted_at
        FROM contacts
    """,
    "last touches": """
        SELECT account_id, max(occurred_at) FROM interactions
        WHERE (kind, direction) IN (SELECT value ->> '$[0]', value ->> '$[1]' FROM json_each(:touches))
            AND occurred_at < :end
        GROUP BY account_id
    """,
    "contact touches": """
        SELECT contact_id, occurred_at FROM interactions
        WHERE contact_id IS NOT NULL AND kind <> 'note' AND direction <> 'internal'
            AND occurred_at >= :since AND occurred_at < :until
    """,
    "email signals": """
        SELECT account_id, contact_id, kind, occurred_at, source_id, payload ->> '$.message_id',
            payload ->> '$.subject', payload ->> '$.campaign', payload ->> '$.bulk'
        FROM signals
        WHERE kind IN ('email_sent', 'email_opened', 'email_clicked') AND occurred_at >= :emails_since
            AND occurred_at < :end
    """,
    "open items and cooldowns": """
        SELECT o.id, o.account_id, o.contact_id, o.playbook, o.channel, o.status, o.due_on, o.snoozed_until,
            o.dedupe_key, o.subject, o.body, o.priority, o.reason, e.item_id IS NOT NULL
        FROM outreach o LEFT JOIN outreach_edits e ON e.item_id = o.id
        WHERE o.status IN ('draft', 'approved', 'snoozed') OR o.due_on >= :cooldowns
            OR coalesce(o.reason ->> '$.closed.on', '') >= :cooldowns
    """,
    "entitlements": "SELECT account_id, product_id, started_on, ended_on FROM entitlements",
    "catalogue": """
        SELECT p.id, p.name, c.complement_id, c.reason FROM products p
        LEFT JOIN product_complements c ON c.product_id = p.id
    """,
}
"""The second reference's queries (beside `REFERENCE`): every other input a plan reads, for the whole book
at once, in the windows planning reads (bound from the settings as the plan binds them)."""

ONE_QUERY = """
    SELECT a.id, a.name, a.owner, a.segment, a.plan, a.lifecycle_stage, a.mrr, a.seats, a.domain, a.start_date,
        a.renewal_date, a.custom, s.health, s.health_band, s.churn_risk, s.churn_tier, s.value_tier, s.priority,
        s.adoption_status, s.adoption_share, s.cross_sell_ready, s.cross_sell_product, s.advocacy, s.explanation,
        (SELECT json_group_array(json_array(id, name, email, phone, role,
                CASE WHEN personalization_consent = 1 THEN birthday END, email_opt_in, do_not_contact, deleted_at))
            FROM contacts WHERE account_id = a.id),
        (SELECT max(occurred_at) FROM interactions
            WHERE account_id = a.id AND occurred_at < :end
                AND (kind, direction) IN (SELECT value ->> '$[0]', value ->> '$[1]' FROM json_each(:touches))),
        (SELECT json_group_array(json_array(i.contact_id, i.occurred_at))
            FROM contacts c JOIN interactions i ON i.contact_id = c.id
            WHERE c.account_id = a.id AND i.kind <> 'note' AND i.direction <> 'internal'
                AND i.occurred_at >= :since AND i.occurred_at < :until),
        (SELECT json_group_array(json_array(contact_id, kind, occurred_at, source_id, payload ->> '$.message_id',
                payload ->> '$.subject', payload ->> '$.campaign', payload ->> '$.bulk'))
            FROM signals WHERE account_id = a.id AND kind IN ('email_sent', 'email_opened', 'email_clicked')
                AND occurred_at >= :emails_since AND occurred_at < :end),
        (SELECT json_group_array(json_array(o.id, o.contact_id, o.playbook, o.channel, o.status, o.due_on,
                o.snoozed_until, o.dedupe_key, o.subject, o.body, o.priority, o.reason, e.item_id IS NOT NULL))
            FROM outreach o LEFT JOIN outreach_edits e ON e.item_id = o.id
            WHERE o.account_id = a.id AND (o.status IN ('draft', 'approved', 'snoozed') OR o.due_on >= :cooldowns
                OR coalesce(o.reason ->> '$.closed.on', '') >= :cooldowns)),
        (SELECT json_group_array(json_array(product_id, started_on, ended_on))
            FROM entitlements WHERE account_id = a.id),
        (SELECT json_group_array(json_array(p.id, p.name, c.complement_id, c.reason))
            FROM products p LEFT JOIN product_complements c ON c.product_id = p.id)
    FROM scores s JOIN accounts a ON a.id = s.account_id
    WHERE s.run_id = :run AND a.deleted_at IS NULL AND (a.churned_on IS NULL OR a.churned_on > :day)
"""
"""A third reference, beside the two: the facts of `REFERENCE` and `ALL_FACTS` in one raw query, a row per
account planned (its contacts, touches, email signals, items, cooldowns and entitlements aggregated in its
row; the catalogue, the same for all, computed once), as the issue words its target: "one raw query of the
same facts"."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="The generated book (default: bench/out/book-N.db).")
    parser.add_argument(
        "--work", type=Path, help="The copy the plans write to (default: in the temp folder)."
    )
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds (min and median reported).")
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work or Path(tempfile.gettempdir()) / "cockpit-outreach-bench.db"
    if args.child:
        print(json.dumps(CHILDREN[args.child](work)))
        return
    source = args.db or HERE / "out" / f"book-{args.accounts}.db"
    if not source.exists():
        source.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.accounts:,} accounts into {source} ...")
        build_database(
            source, lambda store: generate_into_store(store, accounts=args.accounts, anchor=ANCHOR)
        )
    scored = work.with_name(work.stem + "-scored.db")
    shutil.copy(source, scored)  # the plans write; the generated book stays as it was
    store = open_store(scored)
    if latest_run(store.db, PLAN_DAY) is None:
        print("scoring the copy first (not timed) ...")
        run_scoring(store, load_settings(), ANCHOR, clock=system_clock())
    store.close()

    results: dict[str, list[Measure]] = {name: [] for name in ORDER}
    for _ in range(args.rounds):
        shutil.copy(scored, work)
        for name in ORDER:
            results[name].append(measure(name, work))
    first, second = results["first plan"][0].note, results["second plan"][0].note
    print(f"planned on {PLAN_DAY}; load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'':<22} {'wall min':>9} {'wall med':>9} {'cpu min':>9} {'cpu med':>9} {'peak MB':>8}")
    for name in dict.fromkeys(ORDER):  # (each reference once, though it runs before each plan)
        runs = results[name]
        walls, cpus = [m.wall for m in runs], [m.cpu for m in runs]
        print(
            f"{name:<22} {min(walls):9.2f} {median(walls):9.2f} {min(cpus):9.2f} {median(cpus):9.2f} "
            f"{max(m.peak_mb for m in runs):8.0f}"
        )
    for offset, name in enumerate(("first plan", "second plan")):
        # Each plan against each reference run just before it, in the same round.
        for reference_name in REFERENCES:
            reference = results[reference_name][offset::2]
            ratio_wall = median(m.wall / r.wall for m, r in zip(results[name], reference, strict=True))
            ratio_cpu = median(m.cpu / r.cpu for m, r in zip(results[name], reference, strict=True))
            print(
                f"{name} / {reference_name}: {ratio_wall:.1f}x wall, {ratio_cpu:.1f}x cpu (median of the rounds)"
            )
    print(f"first plan: {first}\nsecond plan: {second}")
    print(f"all facts: {results['all facts'][0].note}")
    print(f"one query, all facts: {results['one query, all facts'][0].note}")


class Measure(NamedTuple):
    wall: float
    cpu: float
    peak_mb: float
    note: str


REFERENCES = ("reference", "all facts", "one query, all facts")
ORDER = ("imports only", *REFERENCES, "first plan", *REFERENCES, "second plan")


def measure(name: str, work: Path) -> Measure:
    """Run one child and read its own peak memory."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", name, "--work", str(work)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    out = child.stdout.read()
    if child.wait() != 0:
        raise SystemExit(f"the {name} child failed")
    wall, cpu, peak_mb, note = json.loads(out)
    return Measure(wall, cpu, peak_mb, note)


def timed(work: Callable[[], str]) -> tuple[float, float, float, str]:
    """Wall and CPU seconds of the work, this process's peak memory in MB, and what the work says."""
    started, cpu = time.perf_counter(), time.process_time()
    note = work()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    # VmHWM starts again at exec, unlike ru_maxrss, which keeps the forking parent's peak.
    status = Path("/proc/self/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return wall, cpu, peak_kb / 1024, note


def child_imports(_work: Path) -> tuple[float, float, float, str]:
    return timed(lambda: "")


def plan_run(raw: sqlite3.Connection) -> int:
    """The score run a plan on `PLAN_DAY` reads."""
    (run_id,) = raw.execute(
        "SELECT id FROM score_runs WHERE finished_at IS NOT NULL AND as_of <= ? ORDER BY as_of DESC, id DESC",
        [PLAN_DAY.isoformat()],
    ).fetchone()
    return int(run_id)


def child_reference(work: Path) -> tuple[float, float, float, str]:
    raw = sqlite3.connect(work)
    run_id = plan_run(raw)
    found = timed(lambda: f"{len(raw.execute(REFERENCE, [run_id, PLAN_DAY.isoformat()]).fetchall()):,} rows")
    raw.close()
    return found


def windows() -> dict[str, str]:
    """The windows planning reads, bound from the settings as the plan binds them (`ALL_FACTS`, `ONE_QUERY`)."""
    settings = load_settings()
    outreach = settings.outreach
    reach = outreach.policy.window_days + outreach.policy.min_gap_days + outreach.max_shift_days
    longest = max((playbook.cooldown_days for playbook in outreach.playbooks), default=0)
    return {
        "touches": json.dumps(sorted(CSM_TOUCHES)),
        "end": (PLAN_DAY + timedelta(days=1)).isoformat(),
        "since": (PLAN_DAY - timedelta(days=reach)).isoformat(),
        "until": (PLAN_DAY + timedelta(days=366 + reach)).isoformat(),
        "emails_since": (
            PLAN_DAY - timedelta(days=settings.health.thresholds.email_window_days - 1)
        ).isoformat(),
        "cooldowns": (PLAN_DAY - timedelta(days=max(longest, reach))).isoformat(),
    }


def child_all_facts(work: Path) -> tuple[float, float, float, str]:
    """The second reference: every input a plan reads (`REFERENCE` and `ALL_FACTS`), fetched into Python."""
    params = windows()
    raw = sqlite3.connect(work)
    run_id = plan_run(raw)

    def read() -> str:
        counts = {"accounts": len(raw.execute(REFERENCE, [run_id, PLAN_DAY.isoformat()]).fetchall())}
        for name, query in ALL_FACTS.items():
            counts[name] = len(
                raw.execute(query, {k: v for k, v in params.items() if f":{k}" in query}).fetchall()
            )
        return ", ".join(f"{count:,} {name}" for name, count in counts.items())

    found = timed(read)
    raw.close()
    return found


def child_one_query(work: Path) -> tuple[float, float, float, str]:
    """The third reference: the same facts in one raw query (`ONE_QUERY`), fetched into Python."""
    raw = sqlite3.connect(work)
    run_id = plan_run(raw)
    params = {**windows(), "run": run_id, "day": PLAN_DAY.isoformat()}
    found = timed(lambda: f"{len(raw.execute(ONE_QUERY, params).fetchall()):,} rows")
    raw.close()
    return found


def child_plan(work: Path) -> tuple[float, float, float, str]:
    settings = load_settings()
    store = open_store(work)

    def run() -> str:
        # As the nightly sync plans: the report counts the decisions and lists none (`keep`).
        report = plan(store, settings, as_of=PLAN_DAY, clock=system_clock(), keep=0)
        counts = ", ".join(f"{count:,} {name}" for name, count in report.counts().items())
        return f"{report.accounts:,} accounts planned, {report.unchanged:,} unchanged: {counts}"

    try:
        return timed(run)
    finally:
        store.close()


CHILDREN: dict[str, Callable[[Path], tuple[float, float, float, str]]] = {
    "imports only": child_imports,
    "reference": child_reference,
    "all facts": child_all_facts,
    "one query, all facts": child_one_query,
    "first plan": child_plan,
    "second plan": child_plan,
}


if __name__ == "__main__":
    main()
