"""Throwaway PostgreSQL and Redis servers on 127.0.0.1, for an Airflow with a distributed executor.

Each lives in a temporary folder of its own (data, socket, log), on a port of its own, and is gone
with that folder after :meth:`stop`. The binaries are Debian's (packages ``postgresql`` and
``redis-server``; ``scripts/ensure_debian_packages.sh`` installs them). Neither keeps anything
durable: PostgreSQL runs with fsync off, Redis without snapshots or an append-only file.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from airflow_provider_opslevel.testing.airflow_stack import free_port
from airflow_provider_opslevel.testing.errors import AirflowStackError

__all__ = ["PostgresServer", "RedisServer", "postgres_bindir"]


def postgres_bindir() -> Path:
    """The folder of ``initdb``, ``postgres`` and the client programs: where ``initdb`` on ``PATH``
    links to, else Debian's newest ``/usr/lib/postgresql/<major>/bin``.

    :raises AirflowStackError: PostgreSQL is not installed.
    """
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise AirflowStackError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    return found[-1].parent


class _Server:
    """One server process in its own process group, with its output in ``<folder>/server.log``."""

    name = "server"

    def __init__(self, port: int | None = None, parent: Path | None = None) -> None:
        self.port = port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix=f"opslevel-{self.name}-", dir=parent))
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / "server.log"

    def _spawn(self, command: list[str], **popen: Any) -> None:
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )

    def _wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self._process is not None
            if self._process.poll() is not None or time.monotonic() > deadline:
                status = "exited" if self._process.returncode is not None else "did not start in time"
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise AirflowStackError(f"{self.name} on 127.0.0.1:{self.port} {status}:\n{tail}")
            time.sleep(0.2)

    def stop(self, signum: int = signal.SIGTERM, grace: float = 30.0) -> None:
        """Ask the server to shut down (``signum``), kill its group after ``grace`` seconds,
        remove its folder. Idempotent."""
        if self._process is not None:
            group = self._process.pid
            try:
                self._process.send_signal(signum)
                self._process.wait(grace)
            except subprocess.TimeoutExpired:
                pass
            try:  # what is left of the group: a server that would not stop, its children
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PostgresServer(_Server):
    """A PostgreSQL cluster made by ``initdb`` in a temporary folder, trust authentication,
    serving ``database`` on 127.0.0.1.

    PostgreSQL refuses to run as root: as root, the cluster's folder belongs to the ``postgres``
    user and the server runs as that user (the child changes user itself, so the server is the
    process this object signals, with no ``runuser`` in between).

    :param port: the TCP port (default: a free one).
    :param parent: where its temporary folder goes (default: the system's; as root, the
        ``postgres`` user must be able to reach it).
    :param database: the database created for the caller.
    :param max_connections: every Airflow component and Celery worker keeps a connection pool.
    """

    name = "postgres"

    def __init__(
        self,
        *,
        port: int | None = None,
        parent: Path | None = None,
        database: str = "airflow",
        max_connections: int = 200,
    ) -> None:
        super().__init__(port, parent)
        self.database = database
        self.max_connections = max_connections
        self.bindir = postgres_bindir()
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self._as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of :attr:`database` (psycopg2 driver)."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self, timeout: float = 60.0) -> PostgresServer:
        """``initdb``, start the server, create :attr:`database`.

        :raises AirflowStackError: a step failed (the message holds its output); nothing is left.
        """
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        data = self.folder / "data"
        self._check("initdb", "-D", str(data), "--auth=trust", "--username=postgres", "--no-sync", "-E", "UTF8")
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.folder),
            "max_connections": str(self.max_connections),
            # A throwaway: nothing needs to survive a crash.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        self._spawn([str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port), *options], **self._as)
        self._wait_until(lambda: self._run("pg_isready", *self._client_args()).returncode == 0, timeout)
        self._check("createdb", *self._client_args(), self.database)

    def _client_args(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]

    def _check(self, program: str, *args: str) -> None:
        done = self._run(program, *args)
        if done.returncode != 0:
            raise AirflowStackError(f"{program} exited {done.returncode}:\n{done.stdout[-2000:]}")

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / program), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.folder,
            check=False,
            **self._as,
        )

    def stop(self, signum: int = signal.SIGINT, grace: float = 30.0) -> None:
        """Fast shutdown (SIGINT: active sessions are ended), then as :meth:`_Server.stop`."""
        super().stop(signum, grace)

    def __enter__(self) -> PostgresServer:
        return self.start()


class RedisServer(_Server):
    """``redis-server`` on 127.0.0.1 without persistence.

    :param port: the TCP port (default: a free one).
    :param parent: where its temporary folder goes (default: the system's).
    """

    name = "redis"

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> RedisServer:
        """Start the server and wait until it answers ``PING``.

        :raises AirflowStackError: it exited or did not answer in time (with its log's end).
        """
        program = shutil.which("redis-server")
        if program is None:
            self.stop()
            raise AirflowStackError("redis-server is not installed (Debian: apt-get install redis-server)")
        settings = {"port": str(self.port), "bind": "127.0.0.1", "save": "", "appendonly": "no", "dir": str(self.folder)}
        self._spawn([program, *(arg for key, value in settings.items() for arg in (f"--{key}", value))])
        try:
            self._wait_until(self._answers_ping, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def __enter__(self) -> RedisServer:
        return self.start()
