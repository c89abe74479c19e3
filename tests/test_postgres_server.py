"""The test suite's own PostgreSQL server (`tests/postgres.py`): a real server, on loopback only, not root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.postgres import Server, stop_leftovers
from tests.processes import ROOT, running


def test_the_server_listens_on_loopback_only_and_not_as_root(postgres_server: Server) -> None:
    with psycopg.connect(postgres_server.dsn) as connection:
        listen, sockets = connection.execute(
            "SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories')"
        ).fetchone() or ("", "")
        assert (listen, sockets) == ("127.0.0.1", "")
        assert connection.execute("SELECT count(*) FROM generate_series(1, 1000)").fetchone() == (1000,)
    with open(f"/proc/{postgres_server.process.pid}/status") as status:
        uid = next(line.split()[1] for line in status if line.startswith("Uid:"))
    assert uid != "0"


@pytest.mark.slow
def test_a_server_a_killed_run_left_is_stopped_by_the_next_and_no_other(postgres_server: Server) -> None:
    """A run killed outright (SIGKILL) leaves its server running; the next run's `stop_leftovers` stops it and
    removes its folder, and leaves alone a live run's server and a process that serves no folder of its own."""
    where = Path(tempfile.mkdtemp(prefix="cockpit-leftovers-"))
    where.chmod(0o755)  # the unprivileged server reaches its folder through it
    decoy = subprocess.Popen(["sleep", "300"])
    run = subprocess.Popen(
        [sys.executable, "-c", _A_RUN],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(where)},
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert run.stdout is not None
        line = run.stdout.readline().split()  # the server answers: its pid and folder
        assert len(line) == 2, f"the run did not start its server (exit {run.wait()})"
        server, folder = int(line[0]), Path(os.fsdecode(line[1]))
        owner = (folder / "owner").read_text()
        run.kill()
        run.wait()
        assert running(server), "a killed run's server runs on (the reason for the sweep)"
        # A folder as a killed run leaves it, whose postmaster.pid names a process that serves no such folder.
        foreign = where / "cockpit-postgres-foreign"
        (foreign / "data").mkdir(parents=True)
        (foreign / "owner").write_text(owner)
        (foreign / "data" / "postmaster.pid").write_text(f"{decoy.pid}\n")

        assert sorted(stop_leftovers(where)) == sorted([folder, foreign])
        assert not running(server) and not folder.exists()
        assert running(decoy.pid)
        # A live run's server: untouched.
        with psycopg.connect(postgres_server.dsn, connect_timeout=10) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
        assert stop_leftovers(where) == []
    finally:
        run.kill()
        run.communicate()
        decoy.kill()
        decoy.wait()
        shutil.rmtree(where, ignore_errors=True)


_A_RUN = """
import glob, tempfile, time
from tests.postgres import temporary_server
with temporary_server() as server:
    (folder,) = glob.glob(tempfile.gettempdir() + "/cockpit-postgres-*")
    print(server.process.pid, folder, flush=True)
    time.sleep(300)
"""
