"""The test suite's own PostgreSQL server (`tests/postgres.py`): a real server, on loopback only, not root."""

from __future__ import annotations

import psycopg

from tests.postgres import Server


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
