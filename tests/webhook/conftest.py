"""A real Airflow (api-server with the webhook plugin, scheduler, dag-processor) for the webhook tests.

Its DAGs folder holds the shipped example ``deploys`` (linked from ``dags/``) and three more:
``deploys_burst`` (the same documents, for the burst, so its queue does not hold up the
others), ``deploys_unexposed`` (a push DAG without a webhook connection) and ``not_push`` (a
plain DAG with one). A fake OpsLevel takes the writes. Secrets are random per session.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.testing.airflow_stack import AirflowStack, free_port

ROOT = Path(__file__).resolve().parents[2]
OPSLEVEL_TOKEN = "webhook-test-opslevel-token"
EXPOSED = ("deploys", "deploys_burst", "not_push")
PUSH_DAG = """\
from pathlib import Path
from airflow_provider_opslevel import build_dag

HERE = Path({folder!r})
dag = build_dag("{dag_id}", extract=HERE / "extract.yaml", transform=HERE / "transform.yaml",
                catalog=HERE / "catalog.yaml", push=True)
"""
PLAIN_DAG = """\
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("not_push", schedule=None):
    EmptyOperator(task_id="nothing")
"""


@dataclass(frozen=True)
class WebhookStack:
    """The started stack, its fake OpsLevel, and the webhook secret of each exposed DAG."""

    airflow: AirflowStack
    opslevel: FakeOpsLevel
    secrets: dict[str, str]

    def url(self, integration: str) -> str:
        return f"{self.airflow.url}/opslevel/webhook/{integration}"


def _dags_folder(folder: Path) -> Path:
    folder.mkdir()
    for name in ("deploys.py", "deploys"):
        (folder / name).symlink_to(ROOT / "dags" / name)
    for dag_id in ("deploys_burst", "deploys_unexposed"):
        (folder / f"{dag_id}.py").write_text(
            PUSH_DAG.format(folder=str(ROOT / "dags" / "deploys"), dag_id=dag_id)
        )
    (folder / "not_push.py").write_text(PLAIN_DAG)
    return folder


@pytest.fixture(scope="session")
def webhook_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookStack]:
    """Started once, every DAG parsed, ``deploys_burst`` unpaused (``deploys`` is paused, as shipped).
    Stopped (every process group) at the end."""
    base = tmp_path_factory.mktemp("webhook")
    keys = {dag_id: secrets.token_urlsafe(24) for dag_id in EXPOSED}
    with FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel:
        env = {
            "AIRFLOW_CONN_OPSLEVEL_DEFAULT": json.dumps(
                {"conn_type": "opslevel", "host": opslevel.url, "password": OPSLEVEL_TOKEN}
            ),
            **{
                f"AIRFLOW_CONN_OPSLEVEL_WEBHOOK_{dag_id.upper()}": json.dumps(
                    {"conn_type": "generic", "password": key}
                )
                for dag_id, key in keys.items()
            },
        }
        stack = AirflowStack(
            base / "home", port=free_port(), dags_folder=_dags_folder(base / "dags"), env=env
        )
        stack.start(timeout=240)  # stops what it started when it fails
        try:
            for dag_id in (*EXPOSED, "deploys_unexposed"):
                stack.wait_for_dag(dag_id)
            stack.unpause("deploys_burst")
            yield WebhookStack(stack, opslevel, keys)
        finally:
            stack.stop()
