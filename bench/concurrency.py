"""A CSM's writes while operations load data: the TUI's write (logging an interaction) during a large
`cockpit import usage`, against the same write with no import running, measured in the same run.

    python bench/concurrency.py [--events 1000000] [--writes 200] [--pause-ms 50]

Uses the book and the usage file of `bench/import.py` (10,000 accounts; `--events` usage events, made once).
  reference: the write, `--writes` times, on a copy of the book with nothing else running;
  (a) `cockpit import usage FILE` in its own process on a fresh copy, while this process logs an interaction
      every `--pause-ms` until the import ends: each write's latency, from the call to its commit;
  (b) the import again on a fresh copy, and `cockpit score` started halfway through (a)'s import time:
      both must complete without error.
Targets: (a) p95 within 1 s; (b) score exits 0. The write is `services.interactions.log_interaction` over a
store opened as the TUI opens it (waiting for another writer up to `database.write_wait_seconds`).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cockpit.clock import system_clock
from cockpit.config import Settings, load_settings
from cockpit.services.interactions import check_interaction, log_interaction
from cockpit.store import Store
from cockpit.store.db import NOTICE_AFTER_MS

# bench/import.py makes the book and the usage file (a module named `import` loads only this way).
_import_bench = importlib.import_module("import")
book_and_events: Callable[[int], tuple[Path, Path]] = _import_bench.book_and_events
fresh_copy: Callable[[Path, str], Path] = _import_bench.fresh_copy


class Writer:
    """The TUI's write on its own store: an interaction logged on the first account, timed."""

    def __init__(self, path: Path, settings: Settings) -> None:
        database = settings.database
        self.waits = 0
        self.store = Store(
            path,
            busy_timeout_ms=database.busy_timeout_ms,
            write_wait_seconds=database.write_wait_seconds,
            on_wait=self._waited,
        )
        self.account = str(self.store.db.execute("SELECT min(id) FROM accounts").fetchone()[0])
        self.clock = system_clock()

    def _waited(self, _what: str | None) -> None:
        self.waits += 1

    def write(self) -> float:
        """One logged interaction; its latency in seconds."""
        now = self.clock()
        record = check_interaction(
            self.account, {"kind": "call", "summary": "Budget call"}, contact_ids=set(), now=now
        )
        started = time.perf_counter()
        log_interaction(self.store, record, author="bench", now=now)
        return time.perf_counter() - started

    def close(self) -> None:
        self.store.close()


def start_import(db: Path, events_file: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cockpit", "import", "usage", str(events_file), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finished(process: subprocess.Popen[bytes], what: str) -> None:
    _out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{what} failed with exit code {process.returncode}:\n{err.decode()}")


def reference(base: Path, settings: Settings, writes: int, pause: float) -> list[float]:
    writer = Writer(fresh_copy(base, "concurrency-reference.db"), settings)
    latencies = []
    for _ in range(writes):
        latencies.append(writer.write())
        time.sleep(pause)
    writer.close()
    return latencies


def during_import(
    base: Path, events_file: Path, settings: Settings, pause: float
) -> tuple[list[float], float, int]:
    """The writes' latencies while the import runs, the import's time, and how many writes had to wait."""
    db = fresh_copy(base, "concurrency-import.db")
    writer = Writer(db, settings)
    started = time.perf_counter()
    importer = start_import(db, events_file)
    latencies = []
    while importer.poll() is None:
        latencies.append(writer.write())
        time.sleep(pause)
    elapsed = time.perf_counter() - started
    finished(importer, "the import")
    writer.close()
    return latencies, elapsed, writer.waits


def score_mid_import(base: Path, events_file: Path, after: float) -> tuple[float, float]:
    """Start `cockpit score` `after` seconds into an import; when it started and how long it took."""
    db = fresh_copy(base, "concurrency-score.db")
    started = time.perf_counter()
    importer = start_import(db, events_file)
    time.sleep(after)
    if importer.poll() is not None:
        raise SystemExit("the import ended before score started; give more --events")
    score_started = time.perf_counter() - started
    score = subprocess.Popen(
        [sys.executable, "-m", "cockpit", "score", "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    finished(score, "cockpit score")
    score_took = time.perf_counter() - started - score_started
    finished(importer, "the import")
    return score_started, score_took


def line(name: str, samples: list[float]) -> str:
    ms = sorted(sample * 1000 for sample in samples)
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1] if len(ms) >= 2 else ms[0]
    return (
        f"  {name:<28} n={len(ms):>5}  p50 {statistics.median(ms):7.1f}  p95 {p95:7.1f}  max {ms[-1]:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=200, help="writes in the reference")
    parser.add_argument("--pause-ms", type=float, default=50, help="between two writes")
    args = parser.parse_args()
    base, events_file = book_and_events(args.events)
    settings = load_settings()
    pause = args.pause_ms / 1000
    alone = reference(base, settings, args.writes, pause)
    during, took, waited = during_import(base, events_file, settings, pause)
    score_at, score_took = score_mid_import(base, events_file, took / 2)
    print(f"{args.events:,} usage events imported; a logged interaction (the TUI's write), latency:")
    print(line("reference (no import)", alone))
    print(line(f"(a) during the import ({took:.0f} s)", during))
    print(
        f"      {waited} of them waited over {NOTICE_AFTER_MS} ms, for the import's apply (target: p95 within 1000 ms)"
    )
    print(
        f"  (b) cockpit score started {score_at:.1f} s into the import: exit 0 after {score_took:.1f} s; import exit 0"
    )


if __name__ == "__main__":
    main()
