"""`make demo`: the seed's Sentry integration, end to end in Airflow, against local fakes.

Starts a fake Sentry and a fake OpsLevel on 127.0.0.1, runs the example DAG
(`dags/sentry_issues.py`, YAML verbatim; only https://sentry.io is pointed at the fake) with
`airflow dags test`, then prints the catalog the run produced.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry  # noqa: E402
from airflow_provider_opslevel.transform.report import table  # noqa: E402

SENTRY_TOKEN = "demo-sentry-token"
OPSLEVEL_TOKEN = "demo-opslevel-token"


def seed_services(sentry: FakeSentry, opslevel: FakeOpsLevel) -> None:
    """Services that already exist in OpsLevel, one per Sentry project, aliased by the project slug."""
    for project in sentry.projects:
        opslevel.add_component(project["name"], type="service", aliases=[project["slug"]])


def airflow_env(work: Path, sentry: FakeSentry, opslevel: FakeOpsLevel) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(work / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        AIRFLOW_CONN_OPSLEVEL_DEFAULT=json.dumps(
            {"conn_type": "opslevel", "host": opslevel.url, "password": OPSLEVEL_TOKEN}
        ),
        AIRFLOW_CONN_SENTRY_API_TOKEN=json.dumps({"conn_type": "generic", "password": SENTRY_TOKEN}),
        SENTRY_URL=sentry.url,
        # Large XComs (extracted records) go to object storage, gzip-compressed; the metadata DB
        # keeps only references. Any fsspec URL works (s3://conn@bucket/xcom in production).
        AIRFLOW__CORE__XCOM_BACKEND="airflow.providers.common.io.xcom.backend.XComObjectStorageBackend",
        AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH=f"file://{work / 'xcom'}",
        AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD="65536",
        AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION="gzip",
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


def print_catalog(opslevel: FakeOpsLevel) -> None:
    issues = sorted(
        (c for c in opslevel.components() if c["type"] == "sentry_issue"),
        key=lambda c: (c["properties"].get("project_slug") or [""], c["name"]),
    )
    rows = [
        [
            c["managedAliases"][0] if c["managedAliases"] else "",
            c["name"][:46],
            ",".join(c["properties"].get("project_slug") or []),
            str(c["properties"].get("substatus") or ""),
        ]
        for c in issues
    ]
    print(f"\nOpsLevel catalog: {len(issues)} sentry_issue component(s)")
    print(textwrap.indent(table(["alias", "name", "project_slug", "substatus"], rows), "  "))
    print("\nServices and their Sentry issues (relationship `sentry_issues`, set by its management rule):")
    for service in sorted(
        (c for c in opslevel.components() if c["type"] == "service"), key=lambda c: c["name"]
    ):
        related = opslevel.related(service["managedAliases"][0], "sentry_issues")
        print(f"  {service['name']} ({service['managedAliases'][0]}): {len(related)} issue(s)")
        for issue in sorted(related, key=lambda c: c["name"]):
            print(f"    - {issue['name'][:70]}")


def main() -> None:
    work = ROOT / ".demo"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    airflow = str(Path(sys.executable).parent / "airflow")
    with (
        FakeSentry(token=SENTRY_TOKEN, projects=3, issues_per_project=4, page_size=2) as sentry,
        FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel,
    ):
        seed_services(sentry, opslevel)
        print(f"fake Sentry at {sentry.url}, fake OpsLevel at {opslevel.url}")
        env = airflow_env(work, sentry, opslevel)
        run([airflow, "db", "migrate"], env, work / "db-migrate.log")
        run([airflow, "dags", "test", "sentry_issues"], env, work / "dag-test.log")
        print(f"Sentry requests: {sentry.request_count}; OpsLevel requests: {opslevel.request_count}")
        print_catalog(opslevel)


if __name__ == "__main__":
    main()
