"""The 100,000-issue dry run of the example DAG on CeleryExecutor (two workers) and on LocalExecutor.

Both in one sitting, against the same fake Sentry (PROJECTS x ISSUES, 100 per page) and fake
OpsLevel, each executor in a stack of its own started by testing/celery_stack.py: PostgreSQL as
the metadata DB, object-storage XCom (gzip) on a local folder, api-server, scheduler and
dag-processor; Celery adds Redis and the workers (2 task slots each, [core] parallelism their
sum); LocalExecutor gets the same parallelism. Each run is triggered through the REST API with
``dry_run`` and waited for. Printed per run: wall time (trigger to final state), each task's
duration and where it ran (REST API), and each task's own peak RSS (the operators log it; VmHWM
is reset at the start of each task, and every task is a process of its own here).

    .venv/bin/python benchmarks/celery_vs_local.py [--projects 200] [--issues 500] [--runs 1]

Needs the ``celery`` extra (`make e2e-celery` installs it) and Debian's postgresql and
redis-server; without the Celery provider it prints a note and runs nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _example_dag import PEAK, dags_folder  # noqa: E402

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry  # noqa: E402
from airflow_provider_opslevel.testing.airflow_stack import AirflowStack  # noqa: E402
from airflow_provider_opslevel.testing.celery_stack import distributed_airflow  # noqa: E402

DAG_ID = "sentry_issues"
TIMESTAMP = re.compile(r'"timestamp":"([^"]+)"')
SLOTS = 4  # task instances at once: 2 workers x 2 with Celery, the LocalExecutor's parallelism


def task_key(ti: dict[str, Any]) -> str:
    return ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else "")


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def from_logs(work: Path, run_id: str) -> dict[str, dict[str, Any]]:
    """Per task of this run, from its log (the stack's or a worker's): the logged peak RSS (MiB)
    and the seconds from its first to its last line (the task process's own time)."""
    found: dict[str, dict[str, Any]] = {}
    for log in work.rglob("attempt=*.log"):
        if f"run_id={run_id}" not in str(log):
            continue
        parts = dict(part.split("=", 1) for part in log.parent.parts if "=" in part)
        key = parts["task_id"] + (f"[{parts['map_index']}]" if "map_index" in parts else "")
        text = log.read_text(errors="replace")
        stamps = TIMESTAMP.findall(text)
        found[key] = {
            "peak_mib": max((int(m) for m in PEAK.findall(text)), default=None),
            "in_process_s": seconds_between(stamps[0], stamps[-1]) if stamps else None,
        }
    return found


def run_executor(executor: str, fakes_env: dict[str, str], runs: int) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="opslevel-bench-executor-"))
    work.chmod(0o755)  # PostgreSQL runs as the postgres user when this runs as root
    rows = []
    try:
        dags = dags_folder(work)
        concurrency = 2 if executor == "CeleryExecutor" else SLOTS
        started = time.monotonic()
        with distributed_airflow(work, dags_folder=dags, env=fakes_env, executor=executor, concurrency=concurrency) as stack:
            print(f"{executor}: up in {time.monotonic() - started:.0f}s", flush=True)
            stack.wait_for_dag(DAG_ID, timeout=180)
            stack.unpause(DAG_ID)
            for _ in range(runs):
                rows.append(one_run(stack, work, executor))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def one_run(stack: AirflowStack, work: Path, executor: str) -> dict[str, Any]:
    started = time.monotonic()
    run_id = stack.trigger(DAG_ID, {"dry_run": True})
    state = stack.wait_for_run(DAG_ID, run_id, timeout=1800)
    wall = time.monotonic() - started
    instances = sorted(stack.task_instances(DAG_ID, run_id), key=lambda ti: ti["start_date"] or "")
    logs = from_logs(work, run_id)
    tasks = {
        task_key(ti): {
            "queued_s": seconds_between(ti["queued_when"], ti["start_date"]),
            "seconds": seconds_between(ti["start_date"], ti["end_date"]),
            "host": ti["hostname"],
            "state": ti["state"],
            **logs.get(task_key(ti), {}),
        }
        for ti in instances
    }
    row = {"executor": executor, "state": state, "wall_s": round(wall, 1), "tasks": tasks}
    print(f"  {executor} run: {state} in {wall:.1f}s", flush=True)
    print("    task                         state    queued→start  start→end  log span  peak MiB  host")
    for key, task in tasks.items():
        print(
            f"    {key:<28} {task['state']:<8} {task['queued_s'] or 0:>10.1f}s {task['seconds'] or 0:>9.1f}s "
            f"{task.get('in_process_s') or 0:>8.1f}s  {task.get('peak_mib')!s:>8}  {task['host']}"
        )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--runs", type=int, default=1, help="dry runs per executor (same stack)")
    parser.add_argument("--executors", default="CeleryExecutor,LocalExecutor")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    if importlib.util.find_spec("airflow.providers.celery") is None:
        print("the Celery provider is not installed (`make e2e-celery` installs the celery extra): skipped")
        return 0
    rows: list[dict[str, Any]] = []
    with (
        FakeSentry(token="s", projects=args.projects, issues_per_project=args.issues) as sentry,
        FakeOpsLevel(token="o") as opslevel,
    ):
        for project in sentry.projects:
            opslevel.add_component(project["name"], type="service", aliases=[project["slug"]])
        env = {
            "AIRFLOW_CONN_OPSLEVEL_DEFAULT": json.dumps(
                {"conn_type": "opslevel", "host": opslevel.url, "password": "o", "extra": {"requests_per_minute": 1000000}}
            ),
            "AIRFLOW_CONN_SENTRY_API_TOKEN": json.dumps({"conn_type": "generic", "password": "s"}),
            "SENTRY_URL": sentry.url,
        }
        print(f"{args.projects} projects x {args.issues} issues, dry run", flush=True)
        for executor in args.executors.split(","):
            rows.extend(run_executor(executor, env, args.runs))
    print("\nexecutor          wall s  extract_sentry_issue peaks MiB  transform MiB  mapped tasks on")
    for row in rows:
        tasks = row["tasks"]
        mapped = [t for key, t in tasks.items() if key.startswith("extract_sentry_issue[")]
        transform = tasks.get("transform", {}).get("peak_mib")
        print(
            f"{row['executor']:<16} {row['wall_s']:>7}  {[t['peak_mib'] for t in mapped]!s:<31} {transform!s:<14} "
            f"{sorted({str(t['host']) for t in mapped})}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(row["state"] == "success" for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
