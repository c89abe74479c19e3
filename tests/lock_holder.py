"""Another cockpit process applying an import, for the tests of writers that wait: it holds the database's
write lock (and a staging file, as an import does) until told to let go.

    python -m tests.lock_holder DB

Prints `held` once it holds the lock; lets go (commits nothing) when a line, or the end, comes on stdin.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cockpit.store import Store
from cockpit.store.staging import staging_for


def main() -> None:
    path = Path(sys.argv[1])
    store = Store(path)
    with staging_for(path), store.write(keep=False):
        sys.stdout.write("held\n")
        sys.stdout.flush()
        sys.stdin.readline()
    store.close()


if __name__ == "__main__":
    main()
