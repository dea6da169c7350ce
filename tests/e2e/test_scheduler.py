"""The example DAG run as people run Airflow: a real scheduler, dag-processor and api-server.

The runs come from ``sentry_runs`` (tests/e2e/conftest.py): triggered through the REST API with a
JWT from ``/auth/token``, a dry run, then a real one, against the fakes seeded as `make demo`
seeds them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from airflow_compat import CONNECTIONS_TEST_FAILED_EXIT_CODE
from e2e.e2e_stack import DOWNSTREAM_DAG_ID, E2EAirflow, SentryRuns
from opslevel_helpers import mutations

from airflow_provider_opslevel.testing.demo_fakes import OPSLEVEL_TOKEN, SENTRY_TOKEN

MAPPED_TASK = "extract_sentry_issue"
WRONG_TOKEN = "not-the-opslevel-token-e2e"


def test_a_dry_run_writes_nothing_and_the_real_run_writes_the_demo_catalog(
    airflow_stack: E2EAirflow, sentry_runs: SentryRuns
) -> None:
    fakes = airflow_stack.fakes
    assert sentry_runs.states == {sentry_runs.dry_run_id: "success", sentry_runs.run_id: "success"}
    # Unpausing the unscheduled example started no run of its own: only the two triggered ones.
    assert {r["dag_run_id"] for r in airflow_stack.dag_runs(sentry_runs.dag_id)} == set(sentry_runs.states)

    assert sentry_runs.dry_run_requests, "the dry run read the catalog"
    assert mutations(sentry_runs.dry_run_requests) == []

    expected = fakes.expected_issues()
    components = {c["managedAliases"][0]: c for c in fakes.sentry_issue_components()}
    assert set(components) == set(expected) and len(expected) >= 4
    for issue_id, issue in expected.items():
        assert components[issue_id]["name"] == issue["title"]
        assert components[issue_id]["properties"]["project_slug"] == [issue["project"]["slug"]]
    for project in fakes.synced_projects():
        linked = {c["managedAliases"][0] for c in fakes.opslevel.related(project["slug"], "sentry_issues")}
        assert linked == {i for i, issue in expected.items() if issue["project"]["slug"] == project["slug"]}
    assert f"OpsLevel catalog: {len(expected)} sentry_issue component(s)" in fakes.catalog_text()


def test_mapped_extract_tasks_are_labelled_with_the_sentry_project_slugs(
    airflow_stack: E2EAirflow, sentry_runs: SentryRuns
) -> None:
    for run_id in (sentry_runs.dry_run_id, sentry_runs.run_id):
        mapped = [
            ti
            for ti in airflow_stack.task_instances(sentry_runs.dag_id, run_id)
            if ti["task_id"] == MAPPED_TASK
        ]
        labels = [ti["rendered_map_index"] for ti in mapped]
        assert mapped and all(label and label.startswith("sentry_project ") for label in labels), labels
        for slug in sentry_runs.project_slugs:
            assert any(slug in label for label in labels), f"{slug!r} in no label of {labels}"


def test_the_real_sync_triggers_the_dag_scheduled_on_its_asset_and_the_dry_run_does_not(
    airflow_stack: E2EAirflow, sentry_runs: SentryRuns
) -> None:
    events = airflow_stack.api(
        "GET", "/api/v2/assets/events", params={"source_run_id": sentry_runs.dry_run_id}
    )
    assert events["asset_events"] == []

    deadline = time.monotonic() + 60
    while not (runs := airflow_stack.dag_runs(DOWNSTREAM_DAG_ID)) and time.monotonic() < deadline:
        time.sleep(1)
    assert [r["run_type"] for r in runs] == ["asset_triggered"], runs
    (run,) = runs
    assert airflow_stack.wait_for_run(DOWNSTREAM_DAG_ID, run["dag_run_id"], timeout=90) == "success"
    path = f"/api/v2/dags/{DOWNSTREAM_DAG_ID}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents"
    (event,) = airflow_stack.api("GET", path)["asset_events"]
    assert event["uri"] == airflow_stack.sentry_issue_asset
    assert event["source_dag_id"] == sentry_runs.dag_id and event["source_run_id"] == sentry_runs.run_id
    assert event["extra"]["created"] == len(airflow_stack.fakes.expected_issues())


def _opslevel_connection(stack: E2EAirflow, token: str) -> dict[str, Any]:
    return {"conn_type": "opslevel", "host": stack.fakes.opslevel.url, "password": token}


def test_connection_check_passes_against_the_fake_and_names_a_refused_token(
    airflow_stack: E2EAirflow, sentry_runs: SentryRuns
) -> None:
    refused = f"OpsLevel at {airflow_stack.fakes.opslevel.url} refused the API token (HTTP 401)"

    # `airflow connections test`, the connection from the environment as the tasks see it.
    good = airflow_stack.run_cli("connections", "test", "opslevel_default")
    assert good.returncode == 0 and "Connection success!" in good.stdout, good.stdout + good.stderr
    wrong = json.dumps(_opslevel_connection(airflow_stack, WRONG_TOKEN))
    bad = airflow_stack.run_cli(
        "connections", "test", "opslevel_default", env={"AIRFLOW_CONN_OPSLEVEL_DEFAULT": wrong}
    )
    output = bad.stdout + bad.stderr
    assert bad.returncode == CONNECTIONS_TEST_FAILED_EXIT_CODE and refused in output, output
    assert WRONG_TOKEN not in output

    # The UI's Test button: the form's fields posted to the API.
    def test_button(token: str) -> dict[str, Any]:
        body = {"connection_id": "opslevel_default", **_opslevel_connection(airflow_stack, token)}
        return dict(airflow_stack.api("POST", "/api/v2/connections/test", json=body))

    ok = test_button(OPSLEVEL_TOKEN)
    assert ok["status"] is True and ok["message"].startswith("Connected to OpsLevel account"), ok
    failed = test_button(WRONG_TOKEN)
    assert failed["status"] is False and refused in failed["message"] and WRONG_TOKEN not in failed["message"]


def test_no_token_appears_in_any_file_under_airflow_home(
    airflow_stack: E2EAirflow, sentry_runs: SentryRuns
) -> None:
    """The logs (components and tasks), the metadata DB and stored XComs: no Sentry or OpsLevel token."""
    files = [path for path in airflow_stack.home.rglob("*") if path.is_file()]
    task_logs = [path for path in files if f"run_id={sentry_runs.run_id}" in str(path)]
    assert len(task_logs) >= 4, "the real run's task logs are there"
    assert airflow_stack.home / "airflow.db" in files
    for path in files:
        text = path.read_bytes()
        for token in (SENTRY_TOKEN, OPSLEVEL_TOKEN, WRONG_TOKEN):
            assert token.encode() not in text, f"{token} in {path}"
