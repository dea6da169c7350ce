"""AirflowStack when Airflow cannot start: a clear error, and nothing left running."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from airflow_provider_opslevel.testing.airflow_stack import AirflowStack, CeleryWorker
from airflow_provider_opslevel.testing.errors import AirflowStackError


def _processes_in(home: Path) -> list[int]:
    """Every process on this machine whose working directory is ``home`` (the stack starts its
    components there; their environment is no mark: setproctitle writes over it)."""
    pids = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if cwd.readlink() == home:
                pids.append(int(cwd.parent.name))
        except OSError:  # gone, or not ours to read
            pass
    return pids


def test_a_taken_port_fails_the_start_naming_the_api_server_and_stops_the_rest(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        stack = AirflowStack(tmp_path / "home", port=taken.getsockname()[1], dags_folder=dags)
        with pytest.raises(AirflowStackError, match=r"airflow api-server exited with [1-9]") as error:
            stack.start(timeout=120)
    assert "address already in use" in str(error.value).lower()
    assert (stack.logs / "scheduler.log").exists()  # the others had started, and were stopped:
    assert _processes_in(stack.home) == []


def test_the_stack_environment_drops_the_callers_airflow_settings(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://someone-elses/db")
    monkeypatch.setenv("AIRFLOW_CONN_OPSLEVEL_DEFAULT", "opslevel://elsewhere")
    stack = AirflowStack(tmp_path, port=1, dags_folder=tmp_path, env={"AIRFLOW__CORE__PARALLELISM": "2"})
    airflow_settings = {k: v for k, v in stack.environment.items() if k.startswith("AIRFLOW")}
    assert (
        airflow_settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        == f"sqlite:///{tmp_path.resolve()}/airflow.db"
    )
    assert "AIRFLOW_CONN_OPSLEVEL_DEFAULT" not in airflow_settings
    assert airflow_settings["AIRFLOW__CORE__PARALLELISM"] == "2"  # env wins over the stack's settings
    shown = subprocess.run(
        [stack.airflow, "config", "get-value", "core", "execution_api_server_url"],
        env=stack.environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "http://127.0.0.1:1/execution/"


def test_a_celery_worker_is_its_own_host_home_and_dag_bundle_to_airflow(tmp_path: Path) -> None:
    """What Airflow itself reads in a worker's environment: the hostname its task instances
    report (``airflow.sdk``'s own lookup), its AIRFLOW_HOME and its copy of the DAGs folder."""
    worker = CeleryWorker("worker7", tmp_path / "w7", dags_folder=tmp_path / "w7-dags")
    stack = AirflowStack(tmp_path / "home", port=1, dags_folder=tmp_path / "dags", workers=[worker])
    env = stack.worker_environment(worker)
    shown = subprocess.run(
        [
            str(Path(stack.airflow).parent / "python"),
            "-c",
            "from airflow.sdk.api.client import get_hostname; from airflow.configuration import conf, AIRFLOW_HOME;"
            "print(get_hostname(), AIRFLOW_HOME, conf.get('core', 'dags_folder'))",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split() == ["worker7", str(tmp_path / "w7"), str(tmp_path / "w7-dags")]
    other = stack.worker_environment(CeleryWorker("worker8", tmp_path / "w8"))
    assert other["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "dags")  # the stack's folder by default
    assert other["AIRFLOW_HOME"] != env["AIRFLOW_HOME"]
