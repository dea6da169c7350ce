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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry  # noqa: E402

SENTRY_TOKEN = "demo-sentry-token"
OPSLEVEL_TOKEN = "demo-opslevel-token"


def seed_catalog(opslevel: FakeOpsLevel) -> None:
    """What the seed's Step 1 clicks through in Settings: the Sentry Issue type and its properties."""
    opslevel.add_component_type(
        "sentry_issue",
        "Sentry Issue",
        properties={
            "project_slug": {
                "name": "Project Slug",
                "schema": {"type": "array", "items": {"type": "string"}},
            },
            "substatus": {"name": "Substatus", "schema": {"type": ["string", "null"]}},
            "url": {"name": "URL", "schema": {"type": "string"}},
        },
    )


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
    components = sorted(opslevel.components(), key=lambda c: (c["type"], c["name"]))
    rows = [
        [
            c["type"],
            next((a for a in c["managedAliases"]), ""),
            c["name"][:48],
            ",".join(c["properties"].get("project_slug") or [])
            if isinstance(c["properties"].get("project_slug"), list)
            else str(c["properties"].get("project_slug", "")),
            str(c["properties"].get("substatus") or ""),
            str(c["properties"].get("url") or ""),
        ]
        for c in components
    ]
    header = ["type", "alias", "name", "project_slug", "substatus", "url"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("\nOpsLevel catalog after the run:")
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(f"\n{len(components)} component(s)")


def main() -> None:
    work = ROOT / ".demo"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    airflow = str(Path(sys.executable).parent / "airflow")
    with (
        FakeSentry(token=SENTRY_TOKEN, projects=3, issues_per_project=4, page_size=2) as sentry,
        FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel,
    ):
        seed_catalog(opslevel)
        print(f"fake Sentry at {sentry.url}, fake OpsLevel at {opslevel.url}")
        env = airflow_env(work, sentry, opslevel)
        run([airflow, "db", "migrate"], env, work / "db-migrate.log")
        run([airflow, "dags", "test", "sentry_issues"], env, work / "dag-test.log")
        print(f"Sentry requests: {sentry.request_count}; OpsLevel requests: {opslevel.request_count}")
        print_catalog(opslevel)


if __name__ == "__main__":
    main()
