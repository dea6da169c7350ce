"""Memory and time of the seed sync at scale: 10k, 100k and 1M Sentry issues through Airflow.

Each scale runs the example DAG (`dags/sentry_issues.py`, seed YAML) with `airflow dags test`
against a fake Sentry and a fake OpsLevel, with Airflow's default XCom backend (the metadata DB
holds every value), as a dry run unless `--apply`. Printed per scale: wall time, the peak RSS of
the whole `airflow dags test` process (sampled from /proc every 0.2 s; `wait4`'s ru_maxrss is
printed beside it, but it also counts the descendants it waited for, the jq sandbox's children,
which the kernel appears to charge with the image they were forked from), each task's own peak (the operators log it; VmHWM is reset per
task), the bytes of XCom in the metadata DB, and requests.

    .venv/bin/python benchmarks/million.py [--scales 100x100,200x500,1000x1000] [--apply]

A scale is PROJECTSxISSUES (100 issues per Sentry page). The default is the 1M run alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _example_dag import AIRFLOW, airflow_env, dags_folder, task_peaks  # noqa: E402

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry  # noqa: E402


def _sample(pid: int, samples: list[tuple[float, int]], started: float) -> None:
    """RSS of ``pid`` every 0.2 s until it exits: when the peak happened (which task)."""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                samples.append((round(time.monotonic() - started, 1), int(line.split()[1]) // 1024))
        time.sleep(0.2)


def run_scale(projects: int, issues: int, apply: bool) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="opslevel-million-"))
    dags = dags_folder(work)
    with (
        FakeSentry(token="s", projects=projects, issues_per_project=issues) as sentry,
        FakeOpsLevel(token="o") as opslevel,
    ):
        env = airflow_env(work, dags, sentry, opslevel)
        env.pop("AIRFLOW__CORE__XCOM_BACKEND", None)
        subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
        command = [AIRFLOW, "dags", "test", "sentry_issues"]
        if not apply:
            command += ["-c", json.dumps({"dry_run": True})]
        started = time.monotonic()
        with tempfile.TemporaryFile("w+") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
            samples: list[tuple[float, int]] = []
            sampler = threading.Thread(target=_sample, args=(process.pid, samples, started), daemon=True)
            sampler.start()
            # wait4 gives this child's own rusage: its peak RSS (and its waited descendants').
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            log = out.read()
        wall = time.monotonic() - started
        peak_kib = usage.ru_maxrss
        sampler.join(timeout=1)
        (work / "dag-test.log").write_text(log)
        written = sum(1 for c in opslevel.components() if c["type"] == "sentry_issue")
        sentry_requests, opslevel_requests = sentry.request_count, opslevel.request_count
    peaks = {task: max(values) for task, values in task_peaks(log).items()}
    with sqlite3.connect(work / "home" / "airflow.db") as db:
        sizes = [n for (n,) in db.execute("SELECT length(value) FROM xcom WHERE dag_id = 'sentry_issues'")]
    shutil.rmtree(work / "home", ignore_errors=True)
    return {
        "issues": projects * issues,
        "ok": process.returncode == 0,
        "wall_s": round(wall, 1),
        "process_peak_mib": round(peak_kib / 1024),
        "task_peaks_mib": peaks,
        "peak_at_s": max(samples, key=lambda sample: sample[1])[0] if samples else None,
        "sampled_peak_mib": max((mib for _, mib in samples), default=None),
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
            f"process peak {row['sampled_peak_mib']} MiB (at {row['peak_at_s']} s; with waited descendants "
            f"{row['process_peak_mib']} MiB)  XCom {row['xcom_bytes'] / 1e6:.1f} MB in "
            f"{row['xcom_rows']} rows  Sentry {row['sentry_requests']} / OpsLevel {row['opslevel_requests']} "
            f"requests  written {row['written']}\n  task peaks (MiB): {tasks}\n  log: {row['log']}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
