"""The seed's Sentry example, verbatim, as a real Airflow DAG run against both fakes over HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from airflow_helpers import environment, link_examples, load_dag, run_dag, task_instances, xcom
from opslevel_helpers import mutations

from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.testing.demo_fakes import demo_fakes

ROOT = Path(__file__).resolve().parents[1]
MUTATIONS = {
    "ComponentCreate",
    "ComponentUpdate",
    "AliasCreate",
    "PropertyAssign",
    "PropertyUnassign",
    "TagAssign",
}


@pytest.fixture
def example_dags(dags_folder: Path) -> Path:
    """The repository's example DAG file and its YAML folder, linked into the session DAGs folder."""
    return link_examples(dags_folder, "sentry_issues.py", "sentry_issues")


@pytest.fixture
def fakes():
    """The fakes as `make demo` seeds them (services aliased by project slug), in the environment."""
    with demo_fakes() as started, environment(**started.environment()):
        yield started


def test_the_readme_shows_the_shipped_dag_file_verbatim():
    readme = (ROOT / "README.md").read_text()
    snippets = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert (ROOT / "dags" / "sentry_issues.py").read_text() in snippets


def test_the_shipped_dag_cannot_write_before_someone_triggers_it(airflow_db, example_dags):
    """Unpausing it (the trigger form's default) must not start a run that writes before a dry run."""
    dag = load_dag(example_dags, "sentry_issues")
    assert type(dag.timetable).__name__ == "NullTimetable" and not dag.timetable.can_be_scheduled
    assert dag.is_paused_upon_creation is True
    assert dag.catchup is False


def mutation_names(opslevel: FakeOpsLevel) -> list[str]:
    return mutations(opslevel.requests)


def test_example_dag_syncs_sentry_issues_and_a_second_run_creates_nothing(airflow_db, example_dags, fakes):
    sentry, opslevel = fakes.sentry, fakes.opslevel
    expected = fakes.expected_issues()
    assert len(expected) >= 4

    first = run_dag(example_dags, "sentry_issues")
    assert first.state == "success"
    components = {c["managedAliases"][0]: c for c in opslevel.components() if c["type"] == "sentry_issue"}
    assert set(components) == set(expected)
    for issue_id, issue in expected.items():
        component = components[issue_id]
        assert component["name"] == issue["title"]
        assert component["properties"]["url"] == issue["permalink"]
        assert component["properties"].get("substatus") == issue["substatus"]
        assert component["properties"]["project_slug"] == [issue["project"]["slug"]]  # coerced to the array
        assert component["propertyErrors"] == {}
    assert mutation_names(opslevel).count("serviceCreate") == len(expected)
    # ensure_catalog made the seed's type (locked properties) and relationship; its rule linked
    # every issue to the service whose alias is the issue's project slug.
    (issue_type,) = [t for t in opslevel.snapshot()["componentTypes"] if t["alias"] == "sentry_issue"]
    assert {alias: d["lockedStatus"] for alias, d in issue_type["properties"].items()} == {
        "project_slug": "ui_locked",
        "substatus": "ui_locked",
        "url": "ui_locked",
    }
    for project in sentry.projects:
        linked = {c["managedAliases"][0] for c in opslevel.related(project["slug"], "sentry_issues")}
        assert linked == {i for i, issue in expected.items() if issue["project"]["slug"] == project["slug"]}

    # The for_each child ran as mapped tasks named after their parents.
    mapped = [ti for ti in task_instances(first) if ti.task_id == "extract_sentry_issue"]
    assert mapped and all(ti.rendered_map_index.startswith("sentry_project ") for ti in mapped)
    report = xcom(first, "transform")
    assert report["counts"]["sentry_issue"]["create"] == len(expected)

    opslevel.reset_log()
    second = run_dag(example_dags, "sentry_issues")
    assert second.state == "success"
    assert mutation_names(opslevel) == []  # nothing changed, nothing written
    assert len([c for c in opslevel.components() if c["type"] == "sentry_issue"]) == len(expected)
    assert xcom(second, "transform")["counts"]["sentry_issue"]["create"] == 0


def test_dry_run_param_plans_and_writes_nothing(airflow_db, example_dags, fakes):
    opslevel = fakes.opslevel
    run = run_dag(example_dags, "sentry_issues", conf={"dry_run": True})
    assert run.state == "success"
    assert mutation_names(opslevel) == []
    assert "sentry_issue" not in {t["alias"] for t in opslevel.snapshot()["componentTypes"]}
    assert [i["action"] for i in xcom(run, "ensure_catalog")["items"]].count("create") >= 2
    assert [c for c in opslevel.components() if c["type"] == "sentry_issue"] == []
    report = xcom(run, "transform")
    assert report["dry_run"] is True
    assert report["counts"]["sentry_issue"]["create"] == len(fakes.expected_issues())


def test_an_empty_sentry_holds_deletion_until_a_person_approves_it(airflow_db, example_dags, fakes):
    sentry, opslevel = fakes.sentry, fakes.opslevel
    assert run_dag(example_dags, "sentry_issues").state == "success"
    created = {c["id"] for c in opslevel.components() if c["type"] == "sentry_issue"}
    sentry.projects.clear()  # Sentry now answers with no projects at all

    held = run_dag(example_dags, "sentry_issues")
    assert held.state == "failed"
    assert {c["id"] for c in opslevel.components() if c["type"] == "sentry_issue"} == created
    report = xcom(held, "transform", key="report")
    assert report["deletions"]["sentry_issue"]["deleted"] == 0
    assert "allow_mass_deletion=true" in report["deletions"]["sentry_issue"]["held"]

    approved = run_dag(example_dags, "sentry_issues", conf={"allow_mass_deletion": True})
    assert approved.state == "success"
    assert [c for c in opslevel.components() if c["type"] == "sentry_issue"] == []
    assert xcom(approved, "transform")["counts"]["sentry_issue"]["delete"] == len(created)
