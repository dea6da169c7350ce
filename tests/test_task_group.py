"""build_task_group: build_dag's tasks as a group of a user's DAG, its Params, and a real run after a "dbt run"."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path
from typing import Any

import pendulum
import pytest
from airflow.sdk import DAG, Param, TaskGroup
from airflow_compat import AIRFLOW_VERSION, process_params
from airflow_helpers import (
    OPSLEVEL_TOKEN,
    SENTRY_TOKEN,
    connections,
    environment,
    link_examples,
    run_dag,
    task_instances,
    xcom,
)
from opslevel_helpers import mutations
from packaging.version import Version

from airflow_provider_opslevel import build_dag, build_task_group
from airflow_provider_opslevel.errors import ConfigError
from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "dags" / "sentry_issues"
DOCUMENTS = {
    "extract": SEED / "extract.yaml",
    "transform": SEED / "transform.yaml",
    "catalog": SEED / "catalog.yaml",
}


def param_view(param: Param) -> tuple[Any, ...]:
    return param.value, param.schema, param.description


def test_the_group_holds_build_dags_tasks_under_its_prefix():
    options = {"sentry_issue": {"concurrency": 8, "pool": "sentry"}}
    alone = build_dag("alone", extract_options=options, **DOCUMENTS)
    with DAG("with_group", schedule=None) as dag:
        group = build_task_group("opslevel", extract_options=options, **DOCUMENTS)
    assert isinstance(group, TaskGroup)

    def shape(tasks: Any, prefix: str) -> dict[str, Any]:
        return {
            t.task_id.removeprefix(prefix): (
                type(t).__name__,
                {u.removeprefix(prefix) for u in t.upstream_task_ids},
                getattr(t, "partial_kwargs", {}).get("concurrency"),
                t.max_active_tis_per_dag,
            )
            for t in tasks
        }

    assert shape(dag.tasks, "opslevel.") == shape(alone.tasks, "")
    assert set(shape(alone.tasks, "")) == {
        "extract_sentry_project",
        "extract_sentry_issue",
        "ensure_catalog",
        "transform",
    }
    transform = dag.get_task("opslevel.transform")
    # The transform pulls the extract results by their group-prefixed ids.
    assert transform.extract_task_ids == ["opslevel.extract_sentry_project", "opslevel.extract_sentry_issue"]
    assert (
        transform.max_active_tis_per_dag == 1
        and dag.get_task("opslevel.ensure_catalog").max_active_tis_per_dag == 1
    )
    assert dag.get_task("opslevel.extract_sentry_issue").pool == "sentry"
    assert {t.task_id for t in group} == set(dag.task_ids)
    assert (
        transform.integration_id == "with_group.opslevel"
        and alone.get_task("transform").integration_id is None
    )


def test_the_group_gives_a_dag_without_them_build_dags_params():
    alone = build_dag("params_alone", max_delete_count=10, **DOCUMENTS)
    with DAG("params_added", schedule=None, params={"target": "prod"}) as dag:
        build_task_group("opslevel", max_delete_count=10, **DOCUMENTS)
    assert set(dag.params) == {"target", "dry_run", "allow_mass_deletion"}
    for name in ("dry_run", "allow_mass_deletion"):
        assert param_view(dag.params.get_param(name)) == param_view(alone.params.get_param(name))
    assert "or more than 10" in dag.params.get_param("allow_mass_deletion").description
    transform = dag.get_task("opslevel.transform")
    assert process_params(dag, transform, {"dry_run": True}, suppress_exception=False)["dry_run"] is True


def test_the_group_carries_the_integrations_documentation_where_airflow_takes_it():
    with DAG("documented_group", schedule=None):
        group = build_task_group("opslevel", **DOCUMENTS)
    if AIRFLOW_VERSION >= Version("3.3"):
        assert group.doc_md.startswith("OpsLevel custom integration.")
        assert "* kinds: sentry_project, sentry_issue" in group.doc_md
    else:  # TaskGroup takes no doc_md before 3.3: the group is built without it
        assert not hasattr(group, "doc_md")


def test_a_dags_own_dry_run_param_is_kept():
    mine = Param(True, type="boolean", title="Plan only", description="Ours: plan unless unticked.")
    with DAG("params_kept", schedule=None, params={"dry_run": mine}) as dag:
        build_task_group("opslevel", **DOCUMENTS)
    assert param_view(dag.params.get_param("dry_run")) == param_view(mine)
    assert dag.params.get_param("allow_mass_deletion").schema["title"] == "Allow mass deletion"
    # The writing tasks see the DAG's default: a run without conf only plans.
    for task_id in ("opslevel.transform", "opslevel.ensure_catalog"):
        assert process_params(dag, dag.get_task(task_id), {}, suppress_exception=False)["dry_run"] is True


def test_groups_own_their_components_apart_and_can_adopt_a_dags():
    with DAG("two_groups", schedule=None) as dag:
        build_task_group("first", **DOCUMENTS)
        with TaskGroup("outer"):
            build_task_group("inner", **DOCUMENTS)
        build_task_group("adopting", integration_id="sentry_issues", **DOCUMENTS)
    ids = {t.task_id: t.integration_id for t in dag.tasks if t.task_id.endswith("transform")}
    assert ids == {
        "first.transform": "two_groups.first",
        "outer.inner.transform": "two_groups.outer.inner",
        "adopting.transform": "sentry_issues",
    }
    assert dag.get_task("outer.inner.transform").extract_task_ids[0] == "outer.inner.extract_sentry_project"


def test_outside_a_dag_is_a_clear_error():
    with pytest.raises(
        RuntimeError, match=r"build_task_group\('opslevel'\) must be called while a DAG is being defined"
    ):
        build_task_group("opslevel", **DOCUMENTS)


def test_a_given_dag_needs_no_context():
    dag = DAG("given_dag", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
    build_task_group("opslevel", dag=dag, **DOCUMENTS)
    assert "opslevel.transform" in dag.task_ids and "dry_run" in dag.params


def test_paths_are_relative_to_the_calling_file_and_config_errors_name_file_line_and_key(
    tmp_path, monkeypatch
):
    folder = tmp_path / "dags"
    shutil.copytree(SEED, folder / "docs")
    dag_file = folder / "nightly.py"
    dag_file.write_text(
        "from airflow.sdk import dag, task\n"
        "from airflow_provider_opslevel import build_task_group\n\n"
        "@dag(schedule=None)\n"
        "def nightly():\n"
        "    build_task_group('sync', extract='docs/extract.yaml', transform='docs/transform.yaml')\n\n"
        "the_dag = nightly()\n"
    )
    monkeypatch.chdir(tmp_path)  # not the DAG file's folder
    loaded = runpy.run_path(str(dag_file))["the_dag"]
    assert loaded.get_task("sync.transform").extract == str(folder / "docs" / "extract.yaml")

    broken = folder / "docs" / "extract.yaml"
    broken.write_text(broken.read_text().replace("for_each: sentry_project", "for_each: sentry_projects"))
    with pytest.raises(ConfigError) as raised:
        runpy.run_path(str(dag_file))
    assert f"{broken}:23: extractors[1] (sentry_issue) http_polling.for_each" in str(raised.value)
    assert "did you mean 'sentry_project'" in str(raised.value)


def test_extract_options_are_checked_in_a_group():
    with DAG("bad_options", schedule=None), pytest.raises(ValueError, match="did you mean 'concurrency'"):
        build_task_group("opslevel", extract_options={"sentry_issue": {"concurency": 2}}, **DOCUMENTS)


def test_push_documents_need_their_own_dag(tmp_path):
    (tmp_path / "extract.yaml").write_text("extractors:\n- external_kind: deploy\n  external_id: .id\n")
    (tmp_path / "transform.yaml").write_text(
        "transforms:\n- external_kind: deploy\n  opslevel_kind: deploy\n  opslevel_identifier: .id\n"
        "  on_component_not_found: create\n"
    )
    with (
        DAG("push_group", schedule=None),
        pytest.raises(ConfigError, match=r"build_dag\(\.\.\., push=True\)"),
    ):
        build_task_group("opslevel", extract=tmp_path / "extract.yaml", transform=tmp_path / "transform.yaml")


@pytest.fixture
def example_dags(dags_folder: Path) -> Path:
    """The repository's dbt-then-OpsLevel example DAG and the YAML folder it reads, in the session DAGs folder."""
    return link_examples(dags_folder, "dbt_then_opslevel.py", "sentry_issues")


def test_example_dag_plans_on_a_dry_run_then_syncs_after_the_dbt_run(airflow_db, example_dags):
    with (
        FakeSentry(token=SENTRY_TOKEN, projects=3, issues_per_project=4, page_size=2) as sentry,
        FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel,
    ):
        for project in sentry.projects:  # services that exist already, aliased by project slug
            opslevel.add_component(project["name"], type="service", aliases=[project["slug"]])
        expected = {
            issue["id"]
            for project in sentry.projects
            if "production" not in project["name"]  # the seed's exclude
            for issue in sentry.visible_issues(project["id"])
        }
        assert len(expected) >= 4
        env = {**connections(opslevel.url, sentry_api_token=SENTRY_TOKEN), "SENTRY_URL": sentry.url}
        with environment(**env):
            planned = run_dag(example_dags, "dbt_then_opslevel", conf={"dry_run": True})
            assert planned.state == "success"
            assert mutations(opslevel.requests) == []
            assert [c for c in opslevel.components() if c["type"] == "sentry_issue"] == []
            report = xcom(planned, "opslevel.transform")
            assert report["dry_run"] is True and report["counts"]["sentry_issue"]["create"] == len(expected)

            synced = run_dag(example_dags, "dbt_then_opslevel")
        assert synced.state == "success"
        components = [c for c in opslevel.components() if c["type"] == "sentry_issue"]
        assert {c["managedAliases"][0] for c in components} == expected
        for component in components:
            assert {"key": "opslevel-integration", "value": "dbt_then_opslevel.opslevel"} in component["tags"]
        assert xcom(synced, "opslevel.transform")["counts"]["sentry_issue"]["create"] == len(expected)

        instances = {(ti.task_id, ti.map_index): ti for ti in task_instances(synced)}
        assert all(ti.state == "success" for ti in instances.values())
        dbt = instances["dbt_run", -1]
        first_extract = instances["opslevel.extract_sentry_project", -1]
        assert dbt.end_date <= first_extract.start_date  # the sync reads after the dbt run
        mapped = [ti for (task_id, _), ti in instances.items() if task_id == "opslevel.extract_sentry_issue"]
        assert mapped and all(ti.rendered_map_index.startswith("sentry_project ") for ti in mapped)
