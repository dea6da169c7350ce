"""A 100,000-issue Sentry sync through Airflow with the object-storage XCom backend.

Runs the example DAG (`dags/sentry_issues.py`, seed YAML) with `airflow dags test` against a fake
Sentry (200 projects x 500 issues by default) and a fake OpsLevel, with Airflow's common-io
object-storage XCom backend (gzip) as the README and the demo configure it. Prints wall time,
OpsLevel requests, the components written, each task's own peak RSS (the operators log it;
VmHWM is reset per task), the size of the XCom objects and what the metadata DB holds for them.

    .venv/bin/python benchmarks/large_sync.py [--projects 200] [--issues 500] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _example_dag import AIRFLOW, airflow_env, dags_folder, task_peaks  # noqa: E402

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--dry-run", action="store_true", help="plan only (reads, no writes)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="opslevel-large-sync-"))
    dags = dags_folder(work)
    store = work / "xcom"
    with (
        FakeSentry(token="s", projects=args.projects, issues_per_project=args.issues) as sentry,
        FakeOpsLevel(token="o") as opslevel,
    ):
        env = airflow_env(
            work,
            dags,
            sentry,
            opslevel,
            AIRFLOW__CORE__XCOM_BACKEND="airflow.providers.common.io.xcom.backend.XComObjectStorageBackend",
            AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH=f"file://{store}",
            AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD="65536",
            AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION="gzip",
        )
        subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
        command = [AIRFLOW, "dags", "test", "sentry_issues"]
        if args.dry_run:
            command += ["-c", json.dumps({"dry_run": True})]
        started = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        log = done.stdout + done.stderr
        (work / "dag-test.log").write_text(log)
        issues = [c for c in opslevel.components() if c["type"] == "sentry_issue"]
        print(
            f"{args.projects} projects x {args.issues} issues; dry run: {args.dry_run}; log: {work / 'dag-test.log'}"
        )
        print(f"DAG run {'succeeded' if done.returncode == 0 else 'FAILED'} in {wall:.0f} s")
        print(f"Sentry requests {sentry.request_count}; OpsLevel requests {opslevel.request_count}")
        print(f"sentry_issue components in the catalog: {len(issues)}")

    peaks = task_peaks(log)
    print(
        "peak RSS per task (MiB):",
        ", ".join(f"{t} {max(v)} (x{len(v)})" for t, v in peaks.items()) or "not logged",
    )
    objects = list(store.rglob("*")) if store.exists() else []
    size = sum(p.stat().st_size for p in objects if p.is_file())
    print(f"XCom objects: {sum(1 for p in objects if p.is_file())} files, {size / 1e6:.1f} MB (gzip)")
    with sqlite3.connect(work / "home" / "airflow.db") as db:
        rows = db.execute("SELECT task_id, length(value) FROM xcom WHERE dag_id = 'sentry_issues'").fetchall()
    print(f"metadata DB xcom rows: {len(rows)}, largest value {max((n for _, n in rows), default=0)} bytes")
    shutil.rmtree(work / "home", ignore_errors=True)
    return 0 if done.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
