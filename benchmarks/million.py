"""Memory and time of the seed sync at scale: 10k, 100k and 1M Sentry issues through Airflow.

Each scale runs the example DAG (`dags/sentry_issues.py`, seed YAML) with `airflow dags test`
against a fake Sentry and a fake OpsLevel, with Airflow's default XCom backend (the metadata DB
holds every value), as a dry run unless `--apply`. Printed per scale: wall time, the peak RSS of
the whole `airflow dags test` process (`ru_maxrss` of the child), each task's own peak (the
operators log it; VmHWM is reset per task), the bytes of XCom in the metadata DB, and requests.

    .venv/bin/python benchmarks/million.py [--scales 100x100,200x500,1000x1000] [--apply]

A scale is PROJECTSxISSUES (100 issues per Sentry page). The default is the 1M run alone.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry  # noqa: E402

PEAK = re.compile(r"peak RSS (\d+) MiB")


def run_scale(projects: int, issues: int, apply: bool) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="opslevel-million-"))
    dags = work / "dags"
    dags.mkdir()
    for name in ("sentry_issues.py", "sentry_issues"):
        (dags / name).symlink_to(ROOT / "dags" / name)
    airflow = str(Path(sys.executable).parent / "airflow")
    with (
        FakeSentry(token="s", projects=projects, issues_per_project=issues) as sentry,
        FakeOpsLevel(token="o") as opslevel,
    ):
        for project in sentry.projects:
            opslevel.add_component(project["name"], type="service", aliases=[project["slug"]])
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(work / "home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_OPSLEVEL_DEFAULT": json.dumps(
                {
                    "conn_type": "opslevel",
                    "host": opslevel.url,
                    "password": "o",
                    "extra": {"requests_per_minute": 1000000},
                }
            ),
            "AIRFLOW_CONN_SENTRY_API_TOKEN": json.dumps({"conn_type": "generic", "password": "s"}),
            "SENTRY_URL": sentry.url,
        }
        env.pop("AIRFLOW__CORE__XCOM_BACKEND", None)
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        command = [airflow, "dags", "test", "sentry_issues"]
        if not apply:
            command += ["-c", json.dumps({"dry_run": True})]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        log = done.stdout + done.stderr
        (work / "dag-test.log").write_text(log)
        written = sum(1 for c in opslevel.components() if c["type"] == "sentry_issue")
        sentry_requests, opslevel_requests = sentry.request_count, opslevel.request_count
    peaks: dict[str, int] = {}
    current = None
    for line in log.splitlines():
        task = re.search(r"task_id=(\w+)", line)
        if task and "[DAG TEST] starting" in line:
            current = task.group(1)
        found = PEAK.search(line)
        if found and current:
            peaks[current] = max(peaks.get(current, 0), int(found.group(1)))
    with sqlite3.connect(work / "home" / "airflow.db") as db:
        sizes = [n for (n,) in db.execute("SELECT length(value) FROM xcom WHERE dag_id = 'sentry_issues'")]
    shutil.rmtree(work / "home", ignore_errors=True)
    return {
        "issues": projects * issues,
        "ok": done.returncode == 0,
        "wall_s": round(wall, 1),
        # ru_maxrss of children is the largest child's: the one `airflow dags test` process (an
        # earlier, smaller child such as `db migrate` cannot raise it past this one).
        "process_peak_mib": round(max(peak_kib, before) / 1024) if peak_kib > before else None,
        "task_peaks_mib": peaks,
        "xcom_bytes": sum(n or 0 for n in sizes),
        "xcom_rows": len(sizes),
        "sentry_requests": sentry_requests,
        "opslevel_requests": opslevel_requests,
        "written": written,
        "log": str(work / "dag-test.log"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1000x1000", help="comma-separated PROJECTSxISSUES")
    parser.add_argument("--apply", action="store_true", help="write to the fake OpsLevel (default: dry run)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = []
    for scale in args.scales.split(","):
        projects, issues = (int(part) for part in scale.lower().split("x"))
        print(f"running {projects} projects x {issues} issues ({'apply' if args.apply else 'dry run'}) ...", flush=True)
        row = run_scale(projects, issues, args.apply)
        rows.append(row)
        tasks = ", ".join(f"{task} {mib}" for task, mib in row["task_peaks_mib"].items())  # type: ignore[union-attr]
        print(
            f"  {row['issues']:>9,} issues  {'ok' if row['ok'] else 'FAILED'}  {row['wall_s']} s  "
            f"process peak {row['process_peak_mib']} MiB  XCom {row['xcom_bytes'] / 1e6:.1f} MB in "
            f"{row['xcom_rows']} rows  Sentry {row['sentry_requests']} / OpsLevel {row['opslevel_requests']} "
            f"requests  written {row['written']}\n  task peaks (MiB): {tasks}\n  log: {row['log']}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
