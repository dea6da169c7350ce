"""Run real DAGs in tests: parse the session DAGs folder, then ``dag.test()``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SENTRY_TOKEN = "sentry-test-token"
OPSLEVEL_TOKEN = "opslevel-test-token"


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def connections(opslevel_url: str, **secrets: str) -> dict[str, str]:
    """Environment variables defining the ``opslevel_default`` connection and template secrets."""
    env = {
        "AIRFLOW_CONN_OPSLEVEL_DEFAULT": json.dumps(
            {"conn_type": "opslevel", "host": opslevel_url, "password": OPSLEVEL_TOKEN}
        )
    }
    for name, value in secrets.items():
        env[f"AIRFLOW_CONN_{name.upper()}"] = json.dumps({"conn_type": "generic", "password": value})
    return env


def link_examples(dags_folder: Path, *names: str) -> Path:
    """Link the repository's example DAG files and YAML folders (``dags/<name>``) into a DAGs folder."""
    examples = Path(__file__).resolve().parents[1] / "dags"
    for name in names:
        link = dags_folder / name
        if not link.exists():
            link.symlink_to(examples / name)
    return dags_folder


def load_dag(dags_folder: Path, dag_id: str) -> Any:
    from airflow_compat import DagBag

    bag = DagBag(str(dags_folder))
    errors = {path: error for path, error in bag.import_errors.items()}
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise AssertionError(f"DAG {dag_id!r} did not load; import errors: {errors}")
    return dag


def run_dag(dags_folder: Path, dag_id: str, conf: dict[str, Any] | None = None) -> Any:
    """One real DAG run; returns the DagRun."""
    dag = load_dag(dags_folder, dag_id)
    return dag.test(run_conf=conf or {})


def task_instances(dag_run: Any) -> list[Any]:
    from airflow_compat import Session, TaskInstance

    with Session() as session:
        return (
            session.query(TaskInstance)
            .filter(TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id)
            .all()
        )


def xcom(dag_run: Any, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    from airflow_compat import Session, XComModel

    with Session() as session:
        row = (
            session.query(XComModel)
            .filter(
                XComModel.dag_id == dag_run.dag_id,
                XComModel.run_id == dag_run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == key,
                XComModel.map_index == map_index,
            )
            .one_or_none()
        )
        if row is None:
            return None
        value = row.value
        return json.loads(value) if isinstance(value, str) else value
