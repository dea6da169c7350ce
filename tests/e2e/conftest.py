"""One real Airflow for the end-to-end tests of a session, and the example DAG's two runs in it.

``airflow_stack``: api-server + scheduler + dag-processor (LocalExecutor, SQLite) in a temporary
AIRFLOW_HOME on a free port, talking to the fakes seeded as `make demo` seeds them. Its DAGs
folder links the project's ``dags/`` entries and adds ``after_sentry_issue_sync``, a DAG scheduled
on the asset the sync emits. ``sentry_runs``: ``sentry_issues`` triggered through the REST API,
first with ``dry_run`` true, then false, each waited for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.e2e_stack import DAG_ID, DOWNSTREAM_DAG_ID, E2EAirflow, SentryRuns

from airflow_provider_opslevel.testing.airflow_stack import free_port
from airflow_provider_opslevel.testing.demo_fakes import demo_fakes

ROOT = Path(__file__).resolve().parents[2]
# A DAG a user would write to act on the catalog's changes; the URI is filled in with the fake's port.
DOWNSTREAM_DAG = '''"""Runs after a sync changed the fake OpsLevel's sentry_issue components."""

from airflow.sdk import DAG, Asset, task

with DAG("{dag_id}", schedule=[Asset("{uri}")], catchup=False, tags=["e2e"]):

    @task
    def notice_the_change() -> None:
        print("sentry_issue components changed")

    notice_the_change()
'''


def _dags_folder(folder: Path, downstream_uri: str) -> Path:
    folder.mkdir()
    for entry in (ROOT / "dags").iterdir():
        if entry.name != "__pycache__":
            (folder / entry.name).symlink_to(entry)
    (folder / f"{DOWNSTREAM_DAG_ID}.py").write_text(
        DOWNSTREAM_DAG.format(dag_id=DOWNSTREAM_DAG_ID, uri=downstream_uri)
    )
    return folder


@pytest.fixture(scope="session")
def airflow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EAirflow]:
    """A started :class:`E2EAirflow`; stopped (every process group) at the end of the session."""
    home = tmp_path_factory.mktemp("airflow-e2e")
    with demo_fakes() as fakes:
        stack = E2EAirflow(home / "home", fakes=fakes, port=free_port(), dags_folder=home / "dags")
        _dags_folder(stack.dags_folder, stack.sentry_issue_asset)
        stack.start(timeout=240)  # stops what it started when it fails
        try:
            yield stack
        finally:
            stack.stop()


@pytest.fixture(scope="session")
def sentry_runs(airflow_stack: E2EAirflow) -> SentryRuns:
    """``sentry_issues`` run through the REST API as a user would: unpaused, a dry run, a real run."""
    stack, opslevel = airflow_stack, airflow_stack.fakes.opslevel
    for dag_id in (DAG_ID, DOWNSTREAM_DAG_ID):
        stack.wait_for_dag(dag_id)
        stack.unpause(dag_id)
    states: dict[str, str] = {}
    seconds: dict[str, float] = {}

    def run(conf: dict[str, Any]) -> str:
        started = time.monotonic()
        run_id = stack.trigger(DAG_ID, conf)
        states[run_id] = stack.wait_for_run(DAG_ID, run_id, timeout=180)
        seconds[run_id] = time.monotonic() - started
        return run_id

    opslevel.reset_log()
    dry_run_id = run({"dry_run": True})
    dry_run_requests = opslevel.requests
    run_id = run({"dry_run": False})
    return SentryRuns(
        dag_id=DAG_ID,
        dry_run_id=dry_run_id,
        run_id=run_id,
        states=states,
        project_slugs=[project["slug"] for project in stack.fakes.synced_projects()],
        dry_run_requests=dry_run_requests,
        seconds=seconds,
    )
