"""With Airflow's object-storage XCom backend, the metadata DB holds only references to records."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from airflow_helpers import OPSLEVEL_TOKEN, SENTRY_TOKEN, connections

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry

ROOT = Path(__file__).resolve().parents[1]


def test_example_dag_with_object_storage_xcom(airflow_db, dags_folder, tmp_path):
    for name in ("sentry_issues.py", "sentry_issues"):
        if not (dags_folder / name).exists():
            (dags_folder / name).symlink_to(ROOT / "dags" / name)
    store = tmp_path / "xcom"
    with (
        FakeSentry(token=SENTRY_TOKEN, projects=3, issues_per_project=6) as sentry,
        FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel,
    ):
        env = {
            **os.environ,
            **connections(opslevel.url, sentry_api_token=SENTRY_TOKEN),
            "SENTRY_URL": sentry.url,
            "AIRFLOW__CORE__XCOM_BACKEND": "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend",
            "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": f"file://{store}",
            "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "0",
            "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION": "gzip",
        }
        airflow = str(Path(sys.executable).parent / "airflow")
        done = subprocess.run(
            [airflow, "dags", "test", "sentry_issues"], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        created = [c for c in opslevel.components() if c["type"] == "sentry_issue"]
        assert len(created) == 12  # 2 kept projects x 6 issues
    with sqlite3.connect(airflow_db / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, value FROM xcom WHERE dag_id = 'sentry_issues' AND key = 'return_value' "
            "AND run_id = (SELECT run_id FROM dag_run WHERE dag_id = 'sentry_issues' ORDER BY id DESC LIMIT 1)"
        ).fetchall()
    assert {task for task, _ in rows} >= {"extract_sentry_project", "extract_sentry_issue", "transform"}
    for _, value in rows:
        reference = json.loads(value)
        assert (
            isinstance(reference, str)
            and reference.startswith(f"file://{store}")
            and reference.endswith(".gz")
        )
    assert len(list(store.rglob("*.gz"))) >= len(rows)
