"""Shared by the benchmarks that run the example DAG with `airflow dags test` against the fakes."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
PEAK = re.compile(r"peak RSS (\d+) MiB")


def dags_folder(work: Path) -> Path:
    """A DAGs folder in ``work`` holding only the example DAG and its YAML."""
    dags = work / "dags"
    dags.mkdir()
    for name in ("sentry_issues.py", "sentry_issues"):
        (dags / name).symlink_to(ROOT / "dags" / name)
    return dags


def airflow_env(work: Path, dags: Path, sentry: Any, opslevel: Any, **extra: str) -> dict[str, str]:
    """The environment of an Airflow home in ``work`` with the example's connections pointing at
    the fakes (services seeded for each project, as the seed's Step 1 has them)."""
    for project in sentry.projects:
        opslevel.add_component(project["name"], type="service", aliases=[project["slug"]])
    return {
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
        **extra,
    }


def task_peaks(log: str) -> dict[str, list[int]]:
    """Each task's logged peak RSS (MiB), per task id, from a `dags test` log (mapped tasks: one each)."""
    peaks: dict[str, list[int]] = {}
    current = None
    for line in log.splitlines():
        task = re.search(r"task_id=(\w+)", line)
        if task and "[DAG TEST] starting" in line:
            current = task.group(1)
        found = PEAK.search(line)
        if found and current:
            peaks.setdefault(current, []).append(int(found.group(1)))
    return peaks
