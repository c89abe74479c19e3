"""Learned churn speed: fitting on 12 monthly snapshots against one full scoring run, and a scoring run with
the learned model against the usage GROUP BY floor.

    python bench/churn.py [--db bench/out/book-100000.db] [--accounts 100000]

On the benchmark book (the one bench/score.py scores), in this order and in this one run: the floor (the
usage GROUP BY every scoring run makes), a full scoring run by the rules, `cockpit churn fit` as of the same
day on 12 snapshots 30 days apart (reading the book as of each, the rules on the holdout's accounts, the
fits), and a full scoring run with the learned model (churn.mode = "learned"). Targets: the fit within 5 times
the rules' run, the learned run within 3 times the floor. Each line also gives the CPU seconds of this process
(all its threads), which another process's load on the machine changes less than the wall clock.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure the checkout this script is in, not an installed cockpit

from cockpit.clock import system_clock  # noqa: E402
from cockpit.config import Settings, load_settings  # noqa: E402
from cockpit.demo import generate_into_store  # noqa: E402
from cockpit.scoring.common import RECENT_DAYS  # noqa: E402
from cockpit.scoring.learned_fit import SNAPSHOT_STEP_DAYS  # noqa: E402
from cockpit.services.churn import ChurnFit, fit_churn  # noqa: E402
from cockpit.services.scoring import run_scoring  # noqa: E402
from cockpit.store import open_store  # noqa: E402
from cockpit.store.churn import history  # noqa: E402
from cockpit.store.db import build_database  # noqa: E402
from cockpit.store.scoring import usage_by_feature  # noqa: E402

AS_OF = date(2026, 11, 22)
SNAPSHOTS = 12


def with_churn(settings: Settings, mode: str) -> Settings:
    learned = settings.churn.learned.model_copy(update={"max_snapshots": SNAPSHOTS, "min_churned": 1})
    churn = settings.churn.model_copy(update={"mode": mode, "learned": learned})
    return settings.model_copy(update={"churn": churn})


def timed(label: str, work: Callable[[], object]) -> tuple[float, float]:
    """Run `work`, print its wall and CPU seconds, and return them."""
    started, cpu = time.perf_counter(), time.process_time()
    work()
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    print(f"  {label:<34} {wall:7.1f} s (cpu {used:6.1f})", flush=True)
    return wall, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    source = args.db or HERE / "out" / f"book-{args.accounts}.db"
    if not source.exists():
        source.parent.mkdir(parents=True, exist_ok=True)
        build_database(source, lambda store: generate_into_store(store, accounts=args.accounts, anchor=AS_OF))
    work = source.with_name("churn-bench.db")
    shutil.copy(source, work)  # the runs write their scores and models; keep the generated book as it was
    store = open_store(work)
    settings = load_settings()
    clock = system_clock()
    horizon = settings.churn.learned.horizon_days
    # Twelve snapshot days, whatever history the book holds: the oldest has its 30 days behind it.
    oldest = AS_OF - timedelta(days=horizon + SNAPSHOT_STEP_DAYS * (SNAPSHOTS - 1))
    since = oldest - timedelta(days=RECENT_DAYS - 1)
    active = history(store.db).first
    events = store.db.execute("SELECT count(*) FROM usage_events").fetchone()[0]
    print(
        f"{store.db.execute('SELECT count(*) FROM accounts').fetchone()[0]:,} accounts, {events:,} usage events "
        f"from {active}; {SNAPSHOTS} snapshots from {oldest} to {AS_OF - timedelta(days=horizon)}"
    )
    floor = timed("floor: usage GROUP BY", lambda: sum(1 for _ in usage_by_feature(store.db, AS_OF, 30)))
    rules = timed(
        "scoring run, rules", lambda: run_scoring(store, with_churn(settings, "rules"), AS_OF, clock=clock)
    )
    found: list[ChurnFit] = []
    fit = timed(
        f"churn fit, {SNAPSHOTS} snapshots",
        lambda: found.append(fit_churn(store, with_churn(settings, "auto"), AS_OF, since=since, clock=clock)),
    )
    learned = timed(
        "scoring run, learned model",
        lambda: run_scoring(store, with_churn(settings, "learned"), AS_OF, clock=clock),
    )
    store.close()
    metrics = found[0].run.metrics
    print(
        f"  fit on {metrics['final']['rows']:,} rows; holdout AUC learned "
        f"{metrics['holdout']['learned']['auc']:.3f}, rules {metrics['holdout']['rules']['auc']:.3f}"
    )
    for label, (wall, cpu), (base_wall, base_cpu), target in (
        ("fit / rules run", fit, rules, "target <= 5"),
        ("learned run / floor", learned, floor, "target <= 3"),
        ("rules run / floor", rules, floor, "for comparison"),
    ):
        print(f"  ratio {label:<22} {wall / base_wall:7.2f}   (cpu {cpu / base_cpu:5.2f}; {target})")


if __name__ == "__main__":
    main()
