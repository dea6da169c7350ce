"""`make demo`: the seed's Sentry integration, end to end in Airflow, against local fakes.

Starts a fake Sentry and a fake OpsLevel on 127.0.0.1, runs the example DAG
(`dags/sentry_issues.py`, YAML verbatim; only https://sentry.io is pointed at the fake) with
`airflow dags test`, then prints the catalog the run produced.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_opslevel.testing.airflow_stack import xcom_object_storage  # noqa: E402
from airflow_provider_opslevel.testing.demo_fakes import DemoFakes, demo_fakes  # noqa: E402


def airflow_env(work: Path, fakes: DemoFakes) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(work / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        **fakes.environment(),
        **xcom_object_storage(work / "xcom"),
    )
    return env


def run(command: list[str], env: dict[str, str], log: Path) -> None:
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.call(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    print(
        f"  $ {' '.join(command[1:] if command[0].endswith('python') else command)}"
        f"  ({time.monotonic() - started:.0f}s, log: {log.relative_to(ROOT)})"
    )
    if code != 0:
        print(log.read_text()[-6000:])
        raise SystemExit(f"demo failed: {' '.join(command)} exited {code}")


def main() -> None:
    work = ROOT / ".demo"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    airflow = str(Path(sys.executable).parent / "airflow")
    with demo_fakes() as fakes:
        print(f"fake Sentry at {fakes.sentry.url}, fake OpsLevel at {fakes.opslevel.url}")
        env = airflow_env(work, fakes)
        run([airflow, "db", "migrate"], env, work / "db-migrate.log")
        run([airflow, "dags", "test", "sentry_issues"], env, work / "dag-test.log")
        print(f"Sentry requests: {fakes.sentry.request_count}; OpsLevel requests: {fakes.opslevel.request_count}")
        print()
        print(fakes.catalog_text())


if __name__ == "__main__":
    main()
