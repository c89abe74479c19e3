"""CRM push speed: 10,000 interactions to the HubSpot test server, against the rate limit it enforces.

    python bench/sync.py [--items 10000] [--rate 60]

The server allows `--rate` requests a second (its X-HubSpot-RateLimit-* headers say so, as HubSpot's do),
which makes the push limit-bound; cockpit's own ceiling is set to the same rate, and the client keeps 10%
below what the headers allow. Reported: the requests made by kind (the target is ceil(items / 100) batch
upserts plus two association batches for each, not one request per item), the push's wall time, and its
throughput against the allowed rate (target: at least 80%). The reference is the limit itself, measured
in the same run by the server that enforces it; the one-by-one alternative is shown for scale.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import uuid
from collections import Counter
from pathlib import Path

from cockpit.clock import system_clock
from cockpit.services.sync import run_sync
from cockpit.store import open_store
from tests.crm_servers.hubspot import HubSpotServer
from tests.sync.books import TOKEN, add_interactions, hubspot_book, settings_for, write_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=60, help="Requests a second the server allows.")
    args = parser.parse_args()
    os.environ["COCKPIT_HUBSPOT_TOKEN"] = TOKEN
    with (
        tempfile.TemporaryDirectory() as folder,
        HubSpotServer(token=TOKEN, rate_limit=args.rate, interval_ms=1000) as server,
    ):
        assert isinstance(server, HubSpotServer)
        work = Path(folder)
        hubspot_book(server, companies=200)
        config = write_config(
            work / "config.toml",
            hubspot=server.url,
            sync={"request_timeout_seconds": 30.0, "backoff_initial_seconds": 0.5},
            hubspot_extra={"requests_per_10s": args.rate * 10},
        )
        settings = settings_for(config)
        store = open_store(work / f"bench-{uuid.uuid4().hex[:8]}.db", create=True)
        run_sync(store, settings, clock=system_clock())  # pull the book and set up the property: not measured
        keys = add_interactions(store, args.items)
        before = len(server.log)
        report = run_sync(store, settings, clock=system_clock())
        store.close()

    run = report.runs[0]
    requests = Counter(_kind(path) for _n, _m, path, _s in server.log[before:])
    pushed = requests["batch upsert"] + requests["association batch"]
    seconds = run.durations["push"]
    throughput = pushed / seconds
    allowed = args.rate
    targets = Counter(
        {"call": "calls", "meeting": "meetings", "qbr": "meetings", "email": "emails", "note": "notes"}[
            ("call", "meeting", "email", "note", "qbr")[n % 5]
        ]
        for n in range(args.items)
    )
    expected = sum(math.ceil(count / 100) for count in targets.values())
    print(
        f"{len(keys):,} interactions pushed to the HubSpot test server ({run.status}, {run.counts['pushed']:,} synced)"
    )
    print(
        f"  batch upserts              {requests['batch upsert']:7,}   (ceil per object of items / 100: {expected:,})"
    )
    print(
        f"  association batches        {requests['association batch']:7,}   (company and contact per batch)"
    )
    print(f"  other requests             {requests['other']:7,}   (pull, search)")
    print(f"  429 answers                {server.rate_limited:7,}")
    print(f"  push wall time             {seconds:7.1f} s")
    print(
        f"  throughput                 {throughput:7.1f} requests/s of {allowed} allowed = {throughput / allowed:.0%}   (target >= 80%)"
    )
    print(
        f"  one by one instead         {3 * args.items:7,} requests, {3 * args.items / allowed:,.0f} s at this limit"
    )


def _kind(path: str) -> str:
    if path.endswith("/batch/upsert"):
        return "batch upsert"
    if "/associations/" in path:
        return "association batch"
    return "other"


if __name__ == "__main__":
    main()
