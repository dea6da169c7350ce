"""The throwaway PostgreSQL and Redis of `make e2e-celery`: they serve, and leave nothing behind."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from airflow_provider_opslevel.testing.errors import AirflowStackError
from airflow_provider_opslevel.testing.services import PostgresServer, RedisServer, postgres_bindir


def _postgres_installed() -> bool:
    try:
        postgres_bindir()
    except AirflowStackError:
        return False
    return True


needs_postgres = pytest.mark.skipif(not _postgres_installed(), reason="Debian's postgresql is not installed")
needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _processes_in(folder: Path) -> list[int]:
    pids = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if cwd.readlink().is_relative_to(folder):
                pids.append(int(cwd.parent.name))
        except OSError:
            pass
    return pids


def _redis(port: int, *commands: bytes) -> bytes:
    """The answers to ``commands`` (QUIT's ``+OK`` cut off: the server closes after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"".join(commands) + b"QUIT\r\n")
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
    return answer.removesuffix(b"+OK\r\n")


@needs_postgres
def test_postgres_serves_its_database_as_the_postgres_user_and_leaves_nothing() -> None:
    psycopg2 = pytest.importorskip("psycopg2")
    with PostgresServer(database="metadata") as server:
        assert server.url == f"postgresql+psycopg2://postgres@127.0.0.1:{server.port}/metadata"
        with psycopg2.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="metadata") as db:
            cursor = db.cursor()
            cursor.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (7); SELECT x FROM t")
            assert cursor.fetchone() == (7,)
            cursor.execute("SHOW listen_addresses")
            assert cursor.fetchone() == ("127.0.0.1",)
        db.close()
        pids = _processes_in(server.folder)
        assert pids, "the server runs from its folder"
        if os.geteuid() == 0:  # PostgreSQL refuses root: the server is the postgres user's
            owner = {Path(f"/proc/{pid}").stat().st_uid for pid in pids}
            assert owner == {Path(server.folder).stat().st_uid} and 0 not in owner
    assert not server.folder.exists()
    assert _processes_in(server.folder) == []
    assert not _listening(server.port)


@needs_postgres
def test_postgres_on_a_taken_port_fails_with_its_log_and_leaves_nothing() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = PostgresServer(port=taken.getsockname()[1])
        with pytest.raises(AirflowStackError, match=rf"postgres on 127\.0\.0\.1:{taken.getsockname()[1]} exited") as error:
            server.start(timeout=60)
    assert "could not bind" in str(error.value) or "address already in use" in str(error.value).lower()
    assert not server.folder.exists()
    assert _processes_in(server.folder) == []


@needs_redis
def test_redis_answers_keeps_nothing_on_disk_and_stops(tmp_path: Path) -> None:
    with RedisServer(parent=tmp_path) as server:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        assert _redis(server.port, b"SET k v\r\n", b"GET k\r\n") == b"+OK\r\n$1\r\nv\r\n"
        assert _redis(server.port, b"CONFIG GET save\r\n") == b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
        assert _redis(server.port, b"CONFIG GET appendonly\r\n").endswith(b"$2\r\nno\r\n")
        assert _processes_in(server.folder)
    assert not server.folder.exists()
    assert _processes_in(tmp_path) == []
    assert not _listening(server.port)
