"""Outreach planning speed: `cockpit outreach plan` over a 100,000-account book, against reading the facts it
plans from with one raw sqlite3 query, measured in the same run.

    python bench/outreach.py [--db bench/out/book-100000.db] [--accounts 100000] [--work /tmp/...]

The book is generated once with the demo generator (as bench/score.py does) and copied to a work file, which
the plans write to; the copy is scored first if it has no score run (not timed). Measured, on the same file:
- reference: one raw sqlite3 query reading what planning reads per account from the latest score run (the
  account and score columns and the stored explanation), fetched into Python;
- the explanations alone, decoded through `latest_score` for every account (the stalled-feature trigger
  needs them for the whole book);
- the first plan (queues the drafts, one transaction) and a second plan over the same day (queues nothing).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from datetime import date
from pathlib import Path

from cockpit.clock import system_clock
from cockpit.config import load_settings
from cockpit.demo import generate_into_store
from cockpit.services.outreach import plan
from cockpit.services.scoring import run_scoring
from cockpit.store import open_store
from cockpit.store.db import build_database
from cockpit.store.outreach import latest_run
from cockpit.store.scoring import latest_score

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="The generated book (default: bench/out/book-N.db).")
    parser.add_argument(
        "--work", type=Path, help="The copy the plans write to (default: in the temp folder)."
    )
    args = parser.parse_args()
    source = args.db or HERE / "out" / f"book-{args.accounts}.db"
    if not source.exists():
        source.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.accounts:,} accounts into {source} ...")
        build_database(
            source, lambda store: generate_into_store(store, accounts=args.accounts, anchor=ANCHOR)
        )
    work = args.work or Path(tempfile.gettempdir()) / "cockpit-outreach-bench.db"
    shutil.copy(source, work)  # the plans write; the generated book stays as it was
    settings = load_settings()
    store = open_store(work)
    if latest_run(store.db, PLAN_DAY) is None:
        print("scoring the copy first (not timed) ...")
        run_scoring(store, settings, ANCHOR, clock=system_clock())
    found = latest_run(store.db, PLAN_DAY)
    assert found is not None
    run_id, scored_as_of = found

    raw = sqlite3.connect(work)
    started = time.perf_counter()
    rows = raw.execute(REFERENCE, [run_id, PLAN_DAY.isoformat()]).fetchall()
    reference = time.perf_counter() - started
    raw.close()

    started = time.perf_counter()
    for row in rows:
        latest_score(store.db, row[0], scored_as_of)
    explanations = time.perf_counter() - started

    first = plan(store, settings, as_of=PLAN_DAY, clock=system_clock())
    second = plan(store, settings, as_of=PLAN_DAY, clock=system_clock())
    items = store.db.execute("SELECT count(*) FROM outreach WHERE status = 'draft'").fetchone()[0]
    store.close()

    counts = first.counts()
    print(f"{len(rows):,} accounts planned on {PLAN_DAY} from score run {run_id} (as of {scored_as_of})")
    print(f"  reference: raw sqlite3, same facts     {reference:7.2f} s")
    print(f"  explanations via latest_score          {explanations:7.2f} s   (inside the plan)")
    print(
        f"  first plan                             {first.seconds:7.2f} s   {counts['queued']:,} queued, "
        f"{counts['updated']:,} updated, {counts['cancelled']:,} cancelled, {counts['skipped']:,} skipped"
    )
    for name, seconds in first.phases.items():
        print(f"    {name:<36} {seconds:7.2f} s")
    print(
        f"  second plan, same day                  {second.seconds:7.2f} s   {second.counts()['queued']:,} queued"
    )
    print(f"  ratio first plan / reference           {first.seconds / reference:7.1f}")
    print(f"  drafts in the queue                    {items:,}")
    for playbook, by in first.by_playbook().items():
        print(f"    {playbook:<22} " + ", ".join(f"{count:,} {name}" for name, count in by.items()))


if __name__ == "__main__":
    main()
