"""CRM push and pull throughput against HubSpot's rate limits, at several simulated server latencies.

    python bench/sync.py [--items 12000] [--latency-ms 0 50 150] [--runs 3] [--in-flight 4] [--reference]
                         [--pull-accounts 10000] [--engagements-per-account 3] [--search-rate 5] [--no-push]

The HubSpot test server allows `--rate` requests per `--interval-ms` (HubSpot's private apps on Professional
and Enterprise: 190 per 10 s; its X-HubSpot-RateLimit-* headers say so, as HubSpot's do) and takes
`--latency-ms` of network and server time per request. For each latency, a book of 200 companies is pulled
(not measured), then `cockpit sync` pushes `--items` interactions in its own process (batch upserts and two
association batches each), with `sync.requests_in_flight = --in-flight`. Reported per latency, min and
median over the runs:

- throughput: the push's requests in each whole rate window from its first request on, against what the
  window allows (target: >= 80%; the client keeps 10% below the limit, so 90% is the ceiling). Whole windows,
  because a sliding window lets a burst through at the start, which requests / wall time would count;
- the push's wall time and requests / wall time; the CPU of the `cockpit sync` process (user + sys: the
  whole run, pull and scoring included; the server runs in this process, not in that one);
- 429 answers (target: none) and the most requests the server had at once.

`--reference` runs one request at a time (`requests_in_flight = 1`) alternately with each measured run, in
the same conditions. Every run checks that each item reached the server exactly once.

The pull (`--pull-accounts`, 0 skips it): a HubSpot of that many companies with `--engagements-per-account`
calls, meetings, emails, notes and tasks each (by colleagues), and a first `cockpit sync` into an empty
book: companies, contacts, deletions and every engagement with its company. Reported: the pull's requests
(searches, association reads, the rest), its wall time, engagements per second, its searches per second of
pull wall against cockpit's own search budget (`--search-budget`, its `search_requests_per_second`, 3 by
default; target: >= 80% at every latency: the searches set the pace, so the association reads and the
storing must go beside them), the most searches in any one second against HubSpot's documented search
limit (`--search-rate`, 5/s) and 429 answers (target: none); it checks that every engagement landed in the
journey once.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.clock import system_clock
from cockpit.crm.hubspot import ENGAGEMENT_SHAPES
from cockpit.services.sync import run_sync
from cockpit.store import open_store
from tests.crm_servers.hubspot import HubSpotServer
from tests.sync.books import PROPERTY, TOKEN, add_interactions, hubspot_book, settings_for, write_config

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    in_flight: int
    latency_ms: int
    share: float
    """Push requests per whole window over what the server allows per window."""
    windows: int
    requests: int
    push_seconds: float
    sync_wall: float
    sync_cpu: float
    rate_limited: int
    most_at_once: int


def push_requests(server: HubSpotServer, after: int) -> list[float]:
    """When the server took in each batch write and association batch numbered past `after`."""
    with server.lock:
        numbers = [
            number
            for number, _method, path, _status in server.log
            if number > after and (path.endswith("/batch/upsert") or "/associations/" in path)
        ]
        return sorted(server.moments[number][0] for number in numbers if number in server.moments)


def whole_windows(moments: Sequence[float], window: float) -> tuple[int, int]:
    """(whole windows from the first moment on, moments inside them)."""
    if not moments:
        return 0, 0
    count = int((moments[-1] - moments[0]) // window)
    return count, sum(1 for moment in moments if moment < moments[0] + count * window)


def cockpit_sync(db: Path, config: Path) -> dict[str, Any]:
    """`cockpit sync --json` in its own process, as cron runs it; its report."""
    finished = subprocess.run(
        [sys.executable, "-m", "cockpit", "sync", "--db", str(db), "--config", str(config), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise SystemExit(f"cockpit sync failed ({finished.returncode}):\n{finished.stdout}{finished.stderr}")
    report: dict[str, Any] = json.loads(finished.stdout)
    return report


def one_run(args: argparse.Namespace, latency_ms: int, in_flight: int) -> Run:
    with (
        tempfile.TemporaryDirectory() as folder,
        HubSpotServer(token=TOKEN, rate_limit=args.rate, interval_ms=args.interval_ms) as server,
    ):
        assert isinstance(server, HubSpotServer)
        server.latency_seconds = latency_ms / 1000
        work = Path(folder)
        hubspot_book(server, companies=200)
        config = write_config(
            work / "config.toml",
            hubspot=server.url,
            sync={
                "request_timeout_seconds": 30.0,
                "backoff_initial_seconds": 0.5,
                "requests_in_flight": in_flight,
            },
            hubspot_extra={"requests_per_10s": args.rate * 10_000 // args.interval_ms},
        )
        db = work / "bench.db"
        store = open_store(db, create=True)
        run_sync(store, settings_for(config), clock=system_clock())  # pull the book, set up the property
        keys = add_interactions(store, args.items)
        store.close()
        before = server.requests
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        report = cockpit_sync(db, config)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        found = server.keys(PROPERTY)
        if sorted(found.elements()) != sorted(keys):
            raise SystemExit("not every item reached the server exactly once")
        moments = push_requests(server, before)
        windows, inside = whole_windows(moments, args.interval_ms / 1000)
        share = inside / (windows * args.rate) if windows else len(moments) / args.rate
        return Run(
            in_flight=in_flight,
            latency_ms=latency_ms,
            share=share,
            windows=windows,
            requests=len(moments),
            push_seconds=float(report["runs"][0]["durations"]["push"]),
            sync_wall=wall,
            sync_cpu=(after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime),
            rate_limited=server.rate_limited,
            most_at_once=server.most_at_once,
        )


@dataclass(frozen=True)
class PullRun:
    accounts: int
    engagements: int
    searches: int
    association_reads: int
    other_requests: int
    pull_seconds: float
    most_searches_per_second: int
    rate_limited: int


def pull_run(args: argparse.Namespace, latency_ms: int) -> PullRun:
    """A first nightly run pulling `--pull-accounts` companies and their engagements (see the module doc)."""
    with (
        tempfile.TemporaryDirectory() as folder,
        HubSpotServer(
            token=TOKEN,
            rate_limit=args.rate,
            interval_ms=args.interval_ms,
            search_per_second=args.search_rate,
        ) as server,
    ):
        assert isinstance(server, HubSpotServer)
        server.latency_seconds = latency_ms / 1000
        work = Path(folder)
        companies = hubspot_book(server, companies=args.pull_accounts, contacts_per=0)
        shapes = list(ENGAGEMENT_SHAPES)
        owner = server.add_owner("Mia", "Chen", "mia@example.com")
        for number, company in enumerate(companies):
            for each in range(args.engagements_per_account):
                target = shapes[(number + each) % len(shapes)]
                record = server.add(
                    target,
                    {"hs_timestamp": "2026-11-18T09:30:00.000Z", "hubspot_owner_id": owner,
                     ENGAGEMENT_SHAPES[target].text[0]: f"Logged by a colleague {number}-{each}"},
                )  # fmt: skip
                server.associations.add((target, record, "companies", company))
        config = write_config(
            work / "config.toml",
            hubspot=server.url,
            sync={"request_timeout_seconds": 30.0, "backoff_initial_seconds": 0.5},
            hubspot_extra={
                "requests_per_10s": args.rate * 10_000 // args.interval_ms,
                "search_requests_per_second": args.search_budget,
            },
        )
        db = work / "bench.db"
        open_store(db, create=True).close()
        run = cockpit_sync(db, config)["runs"][0]
        expected = args.pull_accounts * args.engagements_per_account
        store = open_store(db)
        pulled = store.db.execute(
            "SELECT count(*) FROM interactions WHERE sync_key LIKE 'hubspot:%'"
        ).fetchone()
        store.close()
        if run["counts"].get("engagements_inserted") != expected or pulled[0] != expected:
            raise SystemExit(f"expected {expected} engagements pulled once, got {run['counts']}")
        with server.lock:
            searches = sorted(
                server.moments[n][0] for n, _m, path, _s in server.log if path.endswith("/search")
            )
            reads = sum(1 for _n, _m, path, _s in server.log if path.endswith("/batch/read"))
            total = len(server.log)
        most = max(
            (sum(1 for t in searches[i:] if t < start + 1) for i, start in enumerate(searches)), default=0
        )
        return PullRun(
            accounts=args.pull_accounts,
            engagements=expected,
            searches=len(searches),
            association_reads=reads,
            other_requests=total - len(searches) - reads,
            pull_seconds=float(run["durations"]["pull"]),
            most_searches_per_second=most,
            rate_limited=server.rate_limited,
        )


def pull_summary(runs: list[PullRun], args: argparse.Namespace) -> str:
    first = runs[0]
    seconds = [run.pull_seconds for run in runs]
    rates = [run.engagements / run.pull_seconds for run in runs]
    shares = [run.searches / run.pull_seconds / args.search_budget for run in runs]
    met = "met" if min(shares) >= 0.8 else "MISSED"
    return "\n".join(
        [
            f"  pull of {first.accounts:,} companies and {first.engagements:,} engagements (min / median)",
            f"    requests                    {first.searches} searches, {first.association_reads} association"
            f" reads, {first.other_requests} other",
            f"    pull wall                   {min(seconds):.1f} / {statistics.median(seconds):.1f} s",
            f"    engagements / s             {min(rates):,.0f} / {statistics.median(rates):,.0f}",
            f"    searches / pull wall        {min(shares):.0%} / {statistics.median(shares):.0%} of cockpit's"
            f" search budget ({args.search_budget:g}/s; target >= 80%: {met})",
            f"    most searches in 1 s        {max(run.most_searches_per_second for run in runs)}"
            f" (HubSpot allows {args.search_rate})",
            f"    429 answers                 {max(run.rate_limited for run in runs)} (target 0)",
        ]
    )


def summary(runs: list[Run], label: str, args: argparse.Namespace) -> str:
    def spread(values: list[float], form: str) -> str:
        return f"{format(min(values), form)} / {format(statistics.median(values), form)}"

    shares = [run.share for run in runs]
    rates = [run.requests / run.push_seconds for run in runs]
    allowed = args.rate * 1000 / args.interval_ms
    met = "met" if statistics.median(shares) >= 0.8 and min(shares) >= 0.8 else "MISSED"
    return "\n".join(
        [
            f"  {label}",
            f"    throughput (min / median)   {spread(shares, '.0%')} of the allowed rate per whole window"
            f" ({runs[0].windows} window(s); target >= 80%: {met})",
            f"    requests / push wall        {spread(rates, '.1f')} requests/s (allowed {allowed:g}/s;"
            f" {runs[0].requests} requests)",
            f"    push wall                   {spread([run.push_seconds for run in runs], '.1f')} s",
            f"    cockpit sync wall           {spread([run.sync_wall for run in runs], '.1f')} s, CPU "
            f"{spread([run.sync_cpu for run in runs], '.1f')} s",
            f"    429 answers                 {max(run.rate_limited for run in runs)} (most over the runs;"
            f" target 0)",
            f"    most requests at once       {max(run.most_at_once for run in runs)}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=12_000)
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 50, 150])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--rate", type=int, default=190, help="Requests the server allows per interval.")
    parser.add_argument("--interval-ms", type=int, default=10_000)
    parser.add_argument("--reference", action="store_true", help="Also one request at a time, alternately.")
    parser.add_argument(
        "--pull-accounts", type=int, default=10_000, help="Companies for the pull; 0 skips it."
    )
    parser.add_argument("--engagements-per-account", type=int, default=3)
    parser.add_argument("--search-rate", type=int, default=5, help="Searches per second the server allows.")
    parser.add_argument(
        "--search-budget", type=float, default=3, help="Cockpit's search_requests_per_second."
    )
    parser.add_argument("--no-push", action="store_true", help="Measure the pull only.")
    args = parser.parse_args()
    os.environ["COCKPIT_HUBSPOT_TOKEN"] = TOKEN
    modes = [args.in_flight, 1] if args.reference else [args.in_flight]
    results: dict[tuple[int, int], list[Run]] = {}
    loads = []
    pulls: dict[int, list[PullRun]] = {}
    for number in range(args.runs):
        for latency in args.latency_ms:
            if args.pull_accounts:
                loads.append(os.getloadavg()[0])
                pulled = pull_run(args, latency)
                pulls.setdefault(latency, []).append(pulled)
                print(
                    f"run {number + 1}, {latency} ms, pull: {pulled.pull_seconds:.1f} s, "
                    f"429s {pulled.rate_limited}",
                    file=sys.stderr,
                )
            for in_flight in modes if not args.no_push else []:
                loads.append(os.getloadavg()[0])
                run = one_run(args, latency, in_flight)
                results.setdefault((latency, in_flight), []).append(run)
                print(
                    f"run {number + 1}, {latency} ms, {in_flight} in flight: {run.share:.0%} "
                    f"({run.requests} requests, push {run.push_seconds:.1f} s, 429s {run.rate_limited})",
                    file=sys.stderr,
                )
    pushed = "" if args.no_push else f"{args.items:,} interactions pushed to "
    print(
        f"{pushed or 'Pulled from '}the HubSpot test server, which allows {args.rate} requests per "
        f"{args.interval_ms / 1000:g} s and {args.search_rate} searches per s; {args.runs} run(s) each; 1-minute "
        f"load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs"
    )
    for latency in args.latency_ms:
        print(f"server latency {latency} ms")
        if latency in pulls:
            print(pull_summary(pulls[latency], args))
        for in_flight in modes if not args.no_push else []:
            label = f"{in_flight} in flight" if in_flight > 1 else "one at a time (reference)"
            print(summary(results[(latency, in_flight)], label, args))


if __name__ == "__main__":
    main()
