"""Asset events per changed opslevel kind: URIs, and real syncs of the example against the fakes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import Asset
from airflow_compat import sync_dags_folder
from airflow_helpers import load_dag, run_dag
from operator_dags import ROOT

from airflow_provider_opslevel.operators.assets import asset_uri, changed_kinds


@pytest.mark.parametrize(
    ("base_url", "uri"),
    [
        ("https://app.opslevel.com", "opslevel://app.opslevel.com/sentry_issue"),
        ("https://App.OpsLevel.com:443/", "opslevel://app.opslevel.com/sentry_issue"),
        ("https://token:secret@app.opslevel.com/api/", "opslevel://app.opslevel.com/sentry_issue"),
        ("http://127.0.0.1:8123", "opslevel://127.0.0.1:8123/sentry_issue"),
        ("http://opslevel.internal:80", "opslevel://opslevel.internal/sentry_issue"),
        ("https://[::1]:8443", "opslevel://[::1]:8443/sentry_issue"),
    ],
)
def test_one_api_is_one_host_in_the_uri_and_airflow_keeps_it_as_is(base_url, uri):
    assert asset_uri(base_url, "sentry_issue") == uri
    assert Asset(uri).uri == uri  # Airflow's URI validation accepts the scheme and changes nothing
    assert Asset(uri).name == uri  # so Asset("opslevel://...") in a schedule is the same asset


def test_only_kinds_with_writes_have_an_event():
    counts = {
        "sentry_issue": {"create": 2, "update": 1, "unchanged": 5, "delete": 0, "error": 1},
        "team_doc": {"create": 0, "update": 0, "unchanged": 9, "delete": 0, "skip": 3, "suggest": 1},
        "gone": {"create": 0, "update": 0, "delete": 4},
    }
    assert changed_kinds(counts) == {
        "sentry_issue": {"created": 2, "updated": 1, "deleted": 0},
        "gone": {"created": 0, "updated": 0, "deleted": 4},
    }


def asset_events(run: Any) -> list[tuple[str, dict[str, Any]]]:
    """The asset events a DAG run's tasks emitted: (URI, extra); each through the transform's alias."""
    from airflow_compat import AssetEvent, Session

    with Session() as session:
        events = (
            session.query(AssetEvent)
            .filter(AssetEvent.source_dag_id == run.dag_id, AssetEvent.source_run_id == run.run_id)
            .all()
        )
        for event in events:
            assert event.source_task_id == "transform"
            assert [alias.name for alias in event.source_aliases] == [f"opslevel-sync:{run.dag_id}.transform"]
        return [(event.asset.uri, dict(event.extra)) for event in events]


def queued_runs(dag_id: str) -> list[str]:
    """The assets whose events wait in Airflow's queue for ``dag_id`` (what the scheduler consumes)."""
    from airflow_compat import AssetDagRunQueue, AssetModel, Session

    with Session() as session:
        rows = (
            session.query(AssetModel.uri)
            .join(AssetDagRunQueue, AssetDagRunQueue.asset_id == AssetModel.id)
            .filter(AssetDagRunQueue.target_dag_id == dag_id)
            .all()
        )
    return [uri for (uri,) in rows]


def write_downstream_dag(dags_folder: Path, dag_id: str, schedule: str) -> None:
    """A DAG (unpaused, as a user would leave it) scheduled on ``schedule``, Python source."""
    (dags_folder / f"{dag_id}.py").write_text(
        "from airflow.sdk import DAG, Asset, AssetAlias\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        f"with DAG({dag_id!r}, schedule=[{schedule}], is_paused_upon_creation=False):\n"
        "    EmptyOperator(task_id='after_sync')\n"
    )


def test_a_sync_that_changes_sentry_issues_queues_the_dag_scheduled_on_them(
    airflow_db, example_dags, sentry, opslevel
):
    uri = f"opslevel://127.0.0.1:{opslevel.url.rsplit(':', 1)[1]}/sentry_issue"
    write_downstream_dag(example_dags, "after_sentry_issues", f"Asset({uri!r})")
    # Any kind this integration changes: its transform task's alias.
    write_downstream_dag(
        example_dags, "after_any_kind", "AssetAlias('opslevel-sync:sentry_issues.transform')"
    )
    sync_dags_folder()  # the DAGs just written, as the dag-processor would find them
    issues = [issue for project in sentry.projects[:2] for issue in sentry.visible_issues(project["id"])]

    dry = run_dag(example_dags, "sentry_issues", conf={"dry_run": True})
    assert dry.state == "success"
    assert asset_events(dry) == []  # a dry run writes nothing, so it announces nothing
    assert queued_runs("after_sentry_issues") == queued_runs("after_any_kind") == []

    first = run_dag(example_dags, "sentry_issues")
    assert first.state == "success"
    assert asset_events(first) == [
        (
            uri,
            {
                "created": len(issues),
                "updated": 0,
                "deleted": 0,
                "dag_id": "sentry_issues",
                "run_id": first.run_id,
            },
        )
    ]
    assert queued_runs("after_sentry_issues") == [uri]  # the scheduler would start it now
    assert queued_runs("after_any_kind") == [uri]

    unchanged = run_dag(example_dags, "sentry_issues")
    assert unchanged.state == "success"
    assert asset_events(unchanged) == []

    issues[0]["title"] = "Renamed in Sentry"
    renamed = run_dag(example_dags, "sentry_issues")
    assert renamed.state == "success"
    assert [(u, e["created"], e["updated"], e["deleted"]) for u, e in asset_events(renamed)] == [
        (uri, 0, 1, 0)
    ]


def test_the_readmes_downstream_dag_is_scheduled_on_the_documented_asset(airflow_db, tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Assets: run something after the catalog changed", 1)[1].split("\n### ", 1)[0]
    (snippet,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    (tmp_path / "after_sentry_issues.py").write_text(snippet)
    dag = load_dag(tmp_path, "after_sentry_issues")
    assets = [asset.uri for asset in dag.timetable.asset_condition.objects]
    assert assets == [asset_uri("https://app.opslevel.com", "sentry_issue")]
