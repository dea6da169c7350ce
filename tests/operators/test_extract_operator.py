"""OpsLevelExtractOperator in real DAG runs: mapped for_each tasks are named after their parents."""

from __future__ import annotations

import pytest
from airflow_helpers import run_dag, task_instances
from operator_dags import EXAMPLE, write_dag

from airflow_provider_opslevel import build_dag


def mapped_labels(run) -> list[str]:
    tis = sorted(
        (ti for ti in task_instances(run) if ti.task_id == "extract_sentry_issue"),
        key=lambda ti: ti.map_index,
    )
    return [ti.rendered_map_index for ti in tis]


def test_mapped_tasks_are_named_after_their_projects_slugs(airflow_db, example_dags, sentry, opslevel):
    run = run_dag(example_dags, "sentry_issues", conf={"dry_run": True})
    assert run.state == "success"
    # Backend API and Frontend Web; payments-production is excluded by the example's extractor.
    assert mapped_labels(run) == ["sentry_project backend-api, frontend-web"]


def test_parent_label_field_names_parents_by_other_keys_and_hostile_names_are_cleaned(
    airflow_db, dags_folder, sentry, opslevel
):
    sentry.add_project("Data Pipeline")
    sentry.add_project("Auth Service", display="Auth\x1b[2J\nService\u202e")  # cleaned
    sentry.add_project("Mobile App")
    sentry.projects.append({**sentry.add_project("Search"), "name": ""})  # no text: the id
    write_dag(
        dags_folder,
        "labels_by_display_name",
        "parents_per_task=2, extract_options={'sentry_issue': {'parent_label_field': ['display', 'name']}}",
    )
    run = run_dag(dags_folder, "labels_by_display_name", conf={"dry_run": True})
    assert run.state == "success"
    search_id = sentry.projects[-1]["id"]
    assert mapped_labels(run) == [
        "sentry_project Backend API, Frontend Web",
        "sentry_project Data Pipeline, Auth[2J Service",
        f"sentry_project Mobile App, {search_id}",
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"sentry_issue": {"parent_label_field": ""}},
            r"\['sentry_issue'\]\['parent_label_field'\] must be a top",
        ),
        (
            {"sentry_issue": {"parent_label_field": ["name", 3]}},
            r"must be a top-level key .* got \['name', 3\]",
        ),
        ({"sentry_project": {"parent_label_field": "name"}}, "sentry_project has no for_each"),
    ],
)
def test_a_bad_parent_label_field_fails_when_the_dag_is_parsed(options, message):
    with pytest.raises(ValueError, match=message):
        build_dag(
            "bad_labels",
            extract=EXAMPLE / "extract.yaml",
            transform=EXAMPLE / "transform.yaml",
            extract_options=options,
        )
