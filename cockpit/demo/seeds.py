"""`python -m cockpit.demo.seeds [DIRECTORY]`: regenerate the demo seeds (by default the shipped `seeds/`).

The writing and loading live in `cockpit.demo.seedfiles`; this module is only the command, kept apart so
that running it does not import it twice (the package imports `seedfiles`, never this).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cockpit.demo.seedfiles import write_seeds
from cockpit.resources import seeds_dir


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cockpit.demo.seeds", description=__doc__)
    parser.add_argument(
        "directory", nargs="?", type=Path, default=seeds_dir(), help="default: the shipped seeds/"
    )
    args = parser.parse_args(argv)
    counts = write_seeds(args.directory)
    sys.stdout.write(f"Wrote {sum(counts.values())} rows of {len(counts)} tables to {args.directory}.\n")


if __name__ == "__main__":
    main()
