"""`make e2e-celery`: the example Sentry integration on CeleryExecutor with two workers.

Starts a throwaway PostgreSQL (metadata DB), Redis (broker), an api-server, scheduler and
dag-processor, and two `airflow celery worker`s (worker1, worker2: own working directory,
AIRFLOW_HOME and copy of the DAGs folder; 2 task slots each), with object-storage XCom on a shared
``file://`` folder; all of it in one temporary folder (testing/celery_stack.py). The DAG is the
seed's Sentry integration with ``parents_per_task=2`` against a fake Sentry of 18 projects (16
synced: 8 mapped extract tasks per run) and a fake OpsLevel. Triggered through the REST API: a dry
run (must write nothing), then a real run (the fake catalog must hold every unresolved issue,
linked to its project's service). Then everything stops and the folder goes; no process may be
left. The last line says where the mapped task instances ran, from their ``hostname`` in the REST
API; the exit status is 1 unless both workers ran some and every check passed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_opslevel.testing.airflow_stack import AirflowStack  # noqa: E402
from airflow_provider_opslevel.testing.celery_stack import distributed_airflow  # noqa: E402
from airflow_provider_opslevel.testing.demo_fakes import DemoFakes, demo_fakes  # noqa: E402
from airflow_provider_opslevel.testing.errors import AirflowStackError  # noqa: E402

DAG_ID = "sentry_issues_celery"
MAPPED_TASK = "extract_sentry_issue"
WORKERS = 2
DAG_FILE = f'''"""The seed's Sentry integration, two Sentry projects per mapped extract task."""

import os
from pathlib import Path

from airflow_provider_opslevel import build_dag

HERE = Path(__file__).parent / "sentry_issues"

dag = build_dag(
    "{DAG_ID}",
    extract=HERE / "extract.yaml",
    transform=HERE / "transform.yaml",
    catalog=HERE / "catalog.yaml",
    schedule=None,
    parents_per_task=2,
    rewrite_origins={{"https://sentry.io": os.environ["SENTRY_URL"]}},
)
'''


def write_dags(folder: Path) -> Path:
    """The DAG file and the seed's YAML (copied: the workers get copies of this folder)."""
    folder.mkdir()
    shutil.copytree(ROOT / "dags" / "sentry_issues", folder / "sentry_issues")
    (folder / f"{DAG_ID}.py").write_text(DAG_FILE)
    return folder


class Checks:
    """Failed checks, printed as they happen."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, ok: bool, what: str) -> None:
        print(f"  {'ok' if ok else 'FAILED'}: {what}", flush=True)
        if not ok:
            self.failed.append(what)


def trigger_and_wait(stack: AirflowStack, conf: dict[str, Any]) -> tuple[str, str, float]:
    started = time.monotonic()
    run_id = stack.trigger(DAG_ID, conf)
    state = stack.wait_for_run(DAG_ID, run_id, timeout=240)
    return run_id, state, time.monotonic() - started


def check_catalog(fakes: DemoFakes, check: Checks) -> None:
    expected = fakes.expected_issues()
    components = {c["managedAliases"][0]: c for c in fakes.sentry_issue_components()}
    check(set(components) == set(expected), f"the catalog holds the {len(expected)} unresolved issues ({len(components)})")
    wrong = [
        issue_id
        for issue_id, issue in expected.items()
        if issue_id in components
        and (
            components[issue_id]["name"] != issue["title"]
            or components[issue_id]["properties"].get("project_slug") != [issue["project"]["slug"]]
        )
    ]
    check(not wrong, f"every issue's name and project_slug as in Sentry (wrong: {wrong[:5]})")
    unlinked = []
    for project in fakes.synced_projects():
        linked = {c["managedAliases"][0] for c in fakes.opslevel.related(project["slug"], "sentry_issues")}
        if linked != {i for i, issue in expected.items() if issue["project"]["slug"] == project["slug"]}:
            unlinked.append(project["slug"])
    check(not unlinked, f"each service is related to its project's issues (wrong: {unlinked})")


def processes_under(folder: Path) -> list[str]:
    """Processes whose working directory is in ``folder``: what a teardown left behind."""
    found = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if cwd.readlink().is_relative_to(folder):
                found.append(f"{cwd.parent.name} {(cwd.parent / 'cmdline').read_bytes()[:120]!r}")
        except OSError:  # gone meanwhile
            pass
    return found


def keep_logs(work: Path) -> Path:
    """The components' and workers' logs, copied to artifacts/ before the folder goes."""
    target = ROOT / "artifacts" / "e2e-celery"
    shutil.rmtree(target, ignore_errors=True)
    for logs in [work / "home" / "logs", *sorted(work.glob("worker*/logs"))]:
        if logs.exists():
            shutil.copytree(logs, target / logs.parent.name)
    return target


def run(work: Path, check: Checks, started: float) -> tuple[int, Counter[str]]:
    with demo_fakes(projects=18, issues_per_project=3, page_size=2) as fakes:
        dags = write_dags(work / "dags")
        with distributed_airflow(work, dags_folder=dags, env=fakes.environment(), workers=WORKERS) as stack:
            print(f"up in {time.monotonic() - started:.0f}s: {stack.url}, workers {[w.name for w in stack.workers]}")
            stack.wait_for_dag(DAG_ID, timeout=180)
            stack.unpause(DAG_ID)
            fakes.opslevel.reset_log()
            dry_run_id, state, seconds = trigger_and_wait(stack, {"dry_run": True})
            print(f"dry run {state} in {seconds:.0f}s")
            check(state == "success", "the dry run succeeded")
            writes = [r for r in fakes.opslevel.requests if r["query"].lstrip().startswith("mutation")]
            check(not writes and not fakes.sentry_issue_components(), "the dry run wrote nothing")
            run_id, state, seconds = trigger_and_wait(stack, {"dry_run": False})
            print(f"real run {state} in {seconds:.0f}s")
            check(state == "success", "the real run succeeded")
            check_catalog(fakes, check)
            hosts: Counter[str] = Counter()
            for label, run_id_ in (("dry run", dry_run_id), ("real run", run_id)):
                instances = stack.task_instances(DAG_ID, run_id_)
                mapped = [ti for ti in instances if ti["task_id"] == MAPPED_TASK and ti["map_index"] >= 0]
                on = Counter(ti["hostname"] for ti in mapped)
                hosts.update(on)
                others = ", ".join(f"{ti['task_id']}@{ti['hostname']}" for ti in instances if ti["map_index"] < 0)
                print(f"{label}: {len(mapped)} mapped {MAPPED_TASK} on {dict(on)}; {others}")
                check(len(mapped) >= 4, f"{label}: at least 4 mapped extract tasks ({len(mapped)})")
            if check.failed:
                print(f"logs kept in {keep_logs(work)}")
    return sum(hosts.values()), hosts


def main() -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="opslevel-e2e-celery-"))
    work.chmod(0o755)  # PostgreSQL runs as the postgres user when this runs as root
    check = Checks()
    mapped, hosts = 0, Counter[str]()
    try:
        mapped, hosts = run(work, check, started)
    except AirflowStackError as error:
        check(False, f"the stack: {error}")
        print(f"logs kept in {keep_logs(work)}")
    finally:
        left = processes_under(work)
        shutil.rmtree(work, ignore_errors=True)
    check(not left, f"nothing left running after the teardown {left[:5]}")
    check(not work.exists(), "the temporary folder is gone")
    check(len(hosts) == WORKERS, f"the mapped tasks ran on {WORKERS} workers ({dict(hosts)})")
    print(f"{time.monotonic() - started:.0f}s in all; {'FAILED: ' + '; '.join(check.failed) if check.failed else 'all checks passed'}")
    print(f"celery e2e: {mapped} mapped task instances ran on {len(hosts)} workers", flush=True)
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
