"""A real local Airflow 3: api-server, scheduler and dag-processor on 127.0.0.1, and Celery workers.

For `make airflow`, the end-to-end tests and `make e2e-celery`. Each component is the ``airflow``
command next to this interpreter, started in its own process group (so a Ctrl-C in the terminal
reaches only the caller, which then stops the group, task processes included) with its output in
``home/logs/<component>.log``. Nothing here imports Airflow: a test process drives the stack
over the REST API with a JWT, as a user's script would.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import requests

from airflow_provider_opslevel.testing.errors import AirflowApiError, AirflowStackError

__all__ = ["PASSWORDS_FILE", "AirflowStack", "CeleryWorker", "free_port", "xcom_object_storage"]

#: The SimpleAuthManager passwords file, under ``AIRFLOW_HOME``: ``{"<user>": "<password>"}``.
PASSWORDS_FILE = "simple_auth_manager_passwords.json"
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
_T = TypeVar("_T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the OS's pick, released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def xcom_object_storage(folder: Path) -> dict[str, str]:
    """Settings for Airflow's object-storage XCom backend, as `make demo` and the README use it.

    Large XComs (a sync's packed components) go gzip-compressed to ``folder``; the metadata DB
    keeps only references. Any fsspec URL works in production (``s3://conn@bucket/xcom``).

    :param folder: local folder for the stored values.
    """
    return {
        "AIRFLOW__CORE__XCOM_BACKEND": "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": f"file://{folder}",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "65536",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION": "gzip",
    }


@dataclass(frozen=True)
class CeleryWorker:
    """One ``airflow celery worker`` of a stack, set up as if it ran on a machine of its own.

    :param name: Celery's node name is ``<name>@<host>`` (``celery worker -H``), and its task
        instances report ``name`` as their ``hostname`` (``[core] hostname_callable``): workers
        sharing a machine would otherwise all report its FQDN.
    :param directory: its working directory and ``AIRFLOW_HOME`` (its airflow.cfg, pid file and
        the task logs, under ``logs/``; no log server, so the UI cannot show them).
    :param dags_folder: its copy of the DAG bundle (default: the stack's DAGs folder).
    :param concurrency: task instances it runs at once.
    :param queues: the Celery queues it consumes (``[operators] default_queue`` is ``default``).
    """

    name: str
    directory: Path
    dags_folder: Path | None = None
    concurrency: int = 2
    queues: tuple[str, ...] = ("default",)

    @property
    def component(self) -> str:
        """Its name among the stack's components (and its log file's)."""
        return f"celery-worker-{self.name}"


class AirflowStack:
    """api-server + scheduler + dag-processor (and Celery workers) with a SimpleAuthManager user.

    The processes see this process's environment without any ``AIRFLOW*`` variable (a user's
    own Airflow settings must not point the stack at their database), then the stack's
    settings, then ``env``.

    :param home: ``AIRFLOW_HOME``: config, SQLite DB, logs, XCom objects, the passwords file.
    :param port: the api-server's port on 127.0.0.1 (UI, REST API and the tasks' Execution API).
    :param dags_folder: the DAGs folder.
    :param env: more environment for every process (connections, settings overriding the stack's).
    :param executor: ``[core] executor``.
    :param username: the SimpleAuthManager user (role admin).
    :param password: that user's password (default: a random one, see :attr:`password`).
    :param parallelism: ``[core] parallelism``: task processes the LocalExecutor forks at start;
        with Celery, the task instances queued or running at once.
    :param database_url: the metadata DB's SQLAlchemy URL (default: SQLite in ``home``).
    :param workers: Celery workers to start (``executor="CeleryExecutor"``; the broker comes
        with ``env``, ``AIRFLOW__CELERY__BROKER_URL``).
    """

    def __init__(
        self,
        home: Path,
        *,
        port: int,
        dags_folder: Path,
        env: Mapping[str, str] | None = None,
        executor: str = "LocalExecutor",
        username: str = "admin",
        password: str | None = None,
        parallelism: int = 4,
        database_url: str | None = None,
        workers: Sequence[CeleryWorker] = (),
    ) -> None:
        self.home = Path(home).resolve()
        self.port = port
        self.dags_folder = Path(dags_folder).resolve()
        self.username = username
        self.password = password or secrets.token_urlsafe(12)
        self.workers = tuple(workers)
        self.airflow = str(Path(sys.executable).parent / "airflow")
        self.environment = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.environment.update(self._settings(executor, parallelism))
        if database_url:
            self.environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = database_url
        self.environment.update(env or {})
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._log_files: list[IO[bytes]] = []
        self._token: str | None = None
        self._http = requests.Session()

    @property
    def url(self) -> str:
        """The UI and API base URL, ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def logs(self) -> Path:
        """Airflow's log folder: the components' logs and every task log."""
        return self.home / "logs"

    @property
    def passwords_file(self) -> Path:
        return self.home / PASSWORDS_FILE

    def _settings(self, executor: str, parallelism: int) -> dict[str, str]:
        return {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the UI's Test button and `connections test`
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.username}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            # The scheduler's log server (the UI reads a running task's log from it) on a port of
            # its own, so two stacks on one machine do not read each other's logs on 8793.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            # One secret for every component: the api-server checks the JWTs the scheduler signs
            # for task processes.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            # A new or changed DAG file shows within seconds, not the default five minutes.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            **xcom_object_storage(self.home / "xcom"),
        }

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout: float = 180.0) -> AirflowStack:
        """Migrate the DB, start the three components and wait until the health check says so.

        :param timeout: seconds for everything, ``db migrate`` included.
        :raises AirflowStackError: a component exited or did not become healthy in time
            (everything started is stopped again; the message holds the logs' ends).
        """
        deadline = time.monotonic() + timeout
        self.logs.mkdir(parents=True, exist_ok=True)
        self.passwords_file.write_text(json.dumps({self.username: self.password}) + "\n")
        self.passwords_file.chmod(0o600)
        migrate = self.run_cli("db", "migrate", timeout=timeout)
        (self.logs / "db-migrate.log").write_text(migrate.stdout + migrate.stderr)
        if migrate.returncode != 0:
            raise AirflowStackError(f"airflow db migrate exited {migrate.returncode}:\n{migrate.stderr[-3000:]}")
        try:
            self._launch("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(self.port)])
            self._launch("scheduler", ["scheduler"])
            self._launch("dag-processor", ["dag-processor"])
            for worker in self.workers:
                self._launch_worker(worker)
            self._poll("the scheduler and dag-processor to report healthy", deadline, self._healthy)
            # A worker that is not consuming yet would leave the first tasks to the others.
            self._poll("the Celery workers to be ready", deadline, self._workers_ready)
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(
        self, component: str, args: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        """Start ``airflow <args>`` as ``component`` (the name of its log and in :meth:`_check_alive`)."""
        log = (self.logs / f"{component}.log").open("ab")
        self._log_files.append(log)
        self._processes[component] = subprocess.Popen(
            [self.airflow, *args],
            env=env or self.environment,
            cwd=cwd or self.home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches the task processes too
        )

    def worker_environment(self, worker: CeleryWorker) -> dict[str, str]:
        """The environment of ``worker`` and its task processes: the stack's, with its own
        ``AIRFLOW_HOME``, DAGs folder and ``[core] hostname_callable`` (which writes the module
        that callable lives in, under ``<directory>/python``, on the worker's ``PYTHONPATH``)."""
        directory = Path(worker.directory).resolve()
        modules = directory / "python"
        modules.mkdir(parents=True, exist_ok=True)
        (modules / "celery_worker_hostname.py").write_text(f"def hostname() -> str:\n    return {worker.name!r}\n")
        return {
            **self.environment,
            "AIRFLOW_HOME": str(directory),
            "AIRFLOW__CORE__DAGS_FOLDER": str(Path(worker.dags_folder or self.dags_folder).resolve()),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "celery_worker_hostname.hostname",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(modules), self.environment.get("PYTHONPATH")])),
        }

    def _launch_worker(self, worker: CeleryWorker) -> None:
        command = ["celery", "worker", "--celery-hostname", f"{worker.name}@%h", "--skip-serve-logs"]
        command += ["--concurrency", str(worker.concurrency), "--queues", ",".join(worker.queues)]
        env = self.worker_environment(worker)
        self._launch(worker.component, command, env=env, cwd=Path(env["AIRFLOW_HOME"]))

    def _workers_ready(self) -> bool:
        """Celery logs ``<name>@<host> ready.`` once the worker consumes its queues."""
        for worker in self.workers:
            log = self.logs / f"{worker.component}.log"
            if not re.search(rf"{re.escape(worker.name)}@\S+ ready\.", log.read_text(errors="replace")):
                return False
        return True

    def _healthy(self) -> bool:
        try:
            response = self._http.get(f"{self.url}/api/v2/monitor/health", timeout=5)
        except requests.RequestException:  # not listening yet, or something else holds the port
            return False
        if response.status_code != 200:
            return False
        health = response.json()
        return all(
            (health.get(name) or {}).get("status") == "healthy"
            for name in ("metadatabase", "scheduler", "dag_processor")
        )

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM every process group started, SIGKILL what is left after ``grace`` seconds.

        Idempotent; waits until every process of every group is gone.
        """
        self._http.close()  # uvicorn waits for kept-alive connections before it exits
        processes = list(self._processes.values())
        groups = [process.pid for process in processes]
        for group in groups:
            _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        nudge = time.monotonic() + 3
        while time.monotonic() < deadline:
            running = [process for process in processes if process.poll() is None]  # poll() reaps
            if not running and not any(_group_alive(group) for group in groups):
                break
            if time.monotonic() >= nudge:
                # Airflow 3.3's dag-processor at times logs "Exiting gracefully" and parses on:
                # its handler's SystemExit is swallowed. A second SIGTERM ends it.
                for process in running:
                    _signal_group(process.pid, signal.SIGTERM)
                nudge = time.monotonic() + 3
            time.sleep(0.2)
        for group in groups:
            _signal_group(group, signal.SIGKILL)
        for process in processes:
            process.wait()
        # Task processes reparented to init die last; bounded, as an init that never reaps
        # would leave zombies that still count as members of the group.
        deadline = time.monotonic() + 5
        while any(_group_alive(group) for group in groups) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._processes.clear()
        for log in self._log_files:
            log.close()
        self._log_files.clear()

    def __enter__(self) -> AirflowStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_cli(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` with the stack's environment; never raises on a non-zero exit.

        :param args: the command's arguments, e.g. ``"connections", "test", "opslevel_default"``.
        :param env: variables to change for this command only.
        :param timeout: seconds before the command is killed (``subprocess.TimeoutExpired``).
        """
        return subprocess.run(
            [self.airflow, *args],
            env={**self.environment, **(env or {})},
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    # -- REST API --------------------------------------------------------------------------
    def token(self) -> str:
        """A JWT for :attr:`username` from ``POST /auth/token`` (cached)."""
        if self._token is None:
            response = self._http.post(
                f"{self.url}/auth/token",
                json={"username": self.username, "password": self.password},
                timeout=30,
            )
            if response.status_code >= 300:
                raise AirflowApiError("POST", "/auth/token", response.status_code, response.text[:2000])
            self._token = str(response.json()["access_token"])
        return self._token

    def api(
        self, method: str, path: str, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        """Call the REST API with the bearer token.

        :param method: HTTP method.
        :param path: e.g. ``/api/v2/dags``.
        :param json: the request body.
        :param params: query parameters.
        :returns: the parsed JSON answer (``None`` for an empty one).
        :raises AirflowApiError: any status of 400 or more, with the start of the body.
        """
        response = self._http.request(
            method,
            f"{self.url}{path}",
            json=json,
            params=params,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=60,
        )
        if response.status_code >= 400:
            raise AirflowApiError(method, path, response.status_code, response.text[:2000])
        return response.json() if response.content else None

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """Create a manual run (no logical date, like the UI's trigger form); returns its run id."""
        run = self.api(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf or {})}
        )
        return str(run["dag_run_id"])

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of ``dag_id``, oldest first."""
        return self._pages(f"/api/v2/dags/{dag_id}/dagRuns", "dag_runs", order_by="id")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of a run, mapped ones included (``rendered_map_index`` is their label)."""
        return self._pages(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", "task_instances")

    def _pages(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = self.api("GET", path, params={**params, "limit": 100, "offset": len(rows)})
            rows.extend(page[key])
            if not page[key] or len(rows) >= page["total_entries"]:
                return rows

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed and serialized ``dag_id``; returns its details.

        :raises AirflowStackError: not there in time (the message lists the import errors).
        """

        def details() -> dict[str, Any] | None:
            try:
                return dict(self.api("GET", f"/api/v2/dags/{dag_id}/details"))
            except AirflowApiError as error:
                if error.status == 404:
                    return None
                raise

        try:
            return self._poll(f"DAG {dag_id!r} to be parsed", time.monotonic() + timeout, details)
        except AirflowStackError as error:
            errors = self.api("GET", "/api/v2/importErrors")["import_errors"]
            raise AirflowStackError(f"{error}; import errors: {json.dumps(errors)[:3000]}") from None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180.0) -> str:
        """Wait until the run succeeds or fails; returns that state.

        :raises AirflowStackError: still running at the deadline (the message says the state; a
            run of a paused DAG stays ``queued``: :meth:`unpause` it).
        """
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"
        state = ""

        def finished() -> str | None:
            nonlocal state
            state = self.api("GET", path)["state"]
            return state if state in TERMINAL_RUN_STATES else None

        try:
            return self._poll(f"run {run_id} of {dag_id}", time.monotonic() + timeout, finished)
        except AirflowStackError as error:
            raise AirflowStackError(f"{error} (state {state!r})") from None

    # -- waiting ---------------------------------------------------------------------------
    def _poll(self, what: str, deadline: float, check: Callable[[], _T | None]) -> _T:
        while True:
            self._check_alive()
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AirflowStackError(f"timed out waiting for {what}\n{self._tails()}")
            time.sleep(0.5)

    def _check_alive(self) -> None:
        for component, process in self._processes.items():
            if process.poll() is not None:
                raise AirflowStackError(
                    f"airflow {component} exited with {process.returncode}\n{self._tails(component)}"
                )

    def _tails(self, *components: str) -> str:
        parts = []
        for component in components or tuple(self._processes):
            log = self.logs / f"{component}.log"
            text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            parts.append(f"--- end of {log} ---\n{text}")
        return "\n".join(parts)


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
