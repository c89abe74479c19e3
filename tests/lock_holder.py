"""Another cockpit process applying an import, for the tests of writers that wait: it holds the database's
write lock and an applying staging file, as an import's apply does, until told to let go.

    python -m tests.lock_holder DB [--not-an-import]

Prints `held` once it holds the lock; lets go (commits nothing) when a line, or the end, comes on stdin.
With `--not-an-import`, it holds the lock as any other writer does (a scoring run, a sync).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

from cockpit.store import Store
from cockpit.store.staging import staging_for


def main() -> None:
    path = Path(sys.argv[1])
    store = Store(path)
    with ExitStack() as holding:
        if "--not-an-import" not in sys.argv:
            staging = holding.enter_context(staging_for(path))
            holding.enter_context(staging.applying(store.db))
        holding.enter_context(store.write(keep=False))
        sys.stdout.write("held\n")
        sys.stdout.flush()
        sys.stdin.readline()
    store.close()


if __name__ == "__main__":
    main()
