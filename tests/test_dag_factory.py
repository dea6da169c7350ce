"""build_dag: DAG shape, parse-time validation, chunked for_each mapping, failures that lose nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow_helpers import (
    OPSLEVEL_TOKEN,
    SENTRY_TOKEN,
    connections,
    environment,
    load_dag,
    run_dag,
    task_instances,
    xcom,
)

from airflow_provider_opslevel import build_dag
from airflow_provider_opslevel.errors import ConfigError
from airflow_provider_opslevel.extract.results import to_chunks
from airflow_provider_opslevel.extract.runner import PartitionResult
from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "dags" / "sentry_issues"


def write_dag(dags_folder: Path, dag_id: str, extract: Path, transform: Path, **kwargs: object) -> None:
    args = "".join(f", {key}={value!r}" for key, value in kwargs.items())
    (dags_folder / f"{dag_id}.py").write_text(
        "from airflow_provider_opslevel import build_dag\n"
        f"dag = build_dag({dag_id!r}, extract={str(extract)!r}, transform={str(transform)!r}{args})\n"
    )


def test_dag_shape_params_and_relative_paths():
    dag = build_dag(
        "shape", extract=SEED / "extract.yaml", transform=SEED / "transform.yaml", schedule="@hourly"
    )
    assert set(dag.task_ids) == {"extract_sentry_project", "extract_sentry_issue", "transform"}
    assert dag.params["dry_run"] is False
    assert dag.get_task("transform").upstream_task_ids == {"extract_sentry_project", "extract_sentry_issue"}
    assert dag.get_task("extract_sentry_issue").upstream_task_ids == {"extract_sentry_project"}
    assert "opslevel" in dag.tags and dag.max_active_runs == 1


def test_dag_with_a_catalog_keeps_its_task_ids_and_dependencies():
    dag = build_dag(
        "shape_catalog",
        extract=SEED / "extract.yaml",
        transform=SEED / "transform.yaml",
        catalog=SEED / "catalog.yaml",
    )
    assert {t.task_id: t.upstream_task_ids for t in dag.tasks} == {
        "extract_sentry_project": set(),
        "extract_sentry_issue": {"extract_sentry_project"},
        "ensure_catalog": set(),
        "transform": {"extract_sentry_project", "extract_sentry_issue", "ensure_catalog"},
    }
    transform = dag.get_task("transform")
    assert transform.extract_task_ids == ["extract_sentry_project", "extract_sentry_issue"]
    assert transform.integration_id is None  # the DAG id tags what it creates, as before
    # The writers run one at a time across runs, even if a user raises max_active_runs.
    assert (
        transform.max_active_tis_per_dag == 1 and dag.get_task("ensure_catalog").max_active_tis_per_dag == 1
    )


def test_bad_config_is_an_import_error_naming_file_line_and_key(airflow_db, dags_folder, tmp_path):
    broken = tmp_path / "extract.yaml"
    broken.write_text(
        (SEED / "extract.yaml").read_text().replace("for_each: sentry_project", "for_each: sentry_projects")
    )
    write_dag(dags_folder, "broken_config", broken, SEED / "transform.yaml")
    from airflow_compat import DagBag

    errors = DagBag(str(dags_folder)).import_errors
    (message,) = [error for path, error in errors.items() if path.endswith("broken_config.py")]
    assert f"{broken}:23: extractors[1] (sentry_issue) http_polling.for_each" in message
    assert "did you mean 'sentry_project'" in message
    (dags_folder / "broken_config.py").unlink()


def test_build_dag_raises_config_error_directly(tmp_path):
    transform = tmp_path / "transform.yaml"
    transform.write_text(
        "transforms:\n- external_kind: sentry_isue\n  opslevel_kind: x\n  opslevel_identifier: .id\n"
    )
    with pytest.raises(ConfigError) as raised:
        build_dag("bad", extract=SEED / "extract.yaml", transform=transform)
    text = str(raised.value)
    assert "on_component_not_found" in text and "sentry_isue" in text and "transform.yaml:2" in text


def test_chunks_stay_under_the_mapping_limit():
    partition = PartitionResult("p", None, records=[{"external_id": str(i), "data": {}} for i in range(5000)])
    chunks = to_chunks("p", [partition], chunk_size=1, max_chunks=512)
    assert len(chunks) <= 512 and sum(len(c["records"]) for c in chunks) == 5000
    assert chunks[0]["partitions"][0]["records"] == 5000 and all(c["partitions"] == [] for c in chunks[1:])
    assert len(to_chunks("p", [PartitionResult("p", None)])) == 1  # always one, so children still run


def test_one_mapped_task_per_chunk_of_parents_and_a_failed_partition_fails_the_run_after_writing_the_rest(
    airflow_db, dags_folder
):
    with (
        FakeSentry(token=SENTRY_TOKEN, projects=5, issues_per_project=3) as sentry,
        FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel,
    ):
        opslevel.add_component_type(
            "sentry_issue",
            "Sentry Issue",
            properties={
                "project_slug": {"name": "Project Slug", "schema": {}},
                "substatus": {"name": "Substatus", "schema": {}},
                "url": {"name": "URL", "schema": {}},
            },
        )
        kept = [p for p in sentry.projects if "production" not in p["name"]]
        broken = kept[-1]
        # The fake answers 500 for one project's issues: that partition fails, the others sync.
        sentry.faults.append(
            lambda info: (
                (500, {}, b'{"detail": "boom"}') if f"/{broken['id']}/issues/" in info["path"] else None
            )
        )
        write_dag(
            dags_folder,
            "chunked",
            SEED / "extract.yaml",
            SEED / "transform.yaml",
            parents_per_task=2,
            rewrite_origins={"https://sentry.io": sentry.url},
        )
        with environment(**connections(opslevel.url, sentry_api_token=SENTRY_TOKEN)):
            run = run_dag(dags_folder, "chunked")
        mapped = [ti for ti in task_instances(run) if ti.task_id == "extract_sentry_issue"]
        assert len(mapped) == -(-len(kept) // 2)
        assert all(ti.state == "success" for ti in mapped)
        (transform,) = [ti for ti in task_instances(run) if ti.task_id == "transform"]
        assert transform.state == "failed" and run.state == "failed"
        written = {
            c["properties"]["project_slug"] for c in opslevel.components() if c["type"] == "sentry_issue"
        }
        assert written == {p["slug"] for p in kept if p is not broken}
        report = xcom(run, "transform", key="report")
        assert any(
            f"parent {broken['id']}" in problem and "HTTP 500" in problem for problem in report["problems"]
        )


def test_dag_file_loads_from_the_dags_folder(airflow_db, dags_folder):
    write_dag(dags_folder, "loads_fine", SEED / "extract.yaml", SEED / "transform.yaml")
    assert load_dag(dags_folder, "loads_fine").task_ids


def test_extract_options_shape_the_extract_tasks():
    dag = build_dag(
        "options",
        extract=SEED / "extract.yaml",
        transform=SEED / "transform.yaml",
        extract_options={
            "sentry_issue": {
                "concurrency": 8,
                "max_active_tis_per_dagrun": 2,
                "pool": "sentry",
                "max_body_bytes": 1000,
            }
        },
    )
    task = dag.get_task("extract_sentry_issue")
    assert task.max_active_tis_per_dagrun == 2 and task.pool == "sentry"
    assert task.partial_kwargs["concurrency"] == 8
    assert task.partial_kwargs["max_body_bytes"] == 1000


def test_extract_options_are_checked():
    with pytest.raises(ValueError, match="did you mean 'concurrency'"):
        build_dag(
            "bad_opt",
            extract=SEED / "extract.yaml",
            transform=SEED / "transform.yaml",
            extract_options={"sentry_issue": {"concurency": 2}},
        )
    with pytest.raises(ValueError, match="did you mean 'sentry_issue'"):
        build_dag(
            "bad_kind",
            extract=SEED / "extract.yaml",
            transform=SEED / "transform.yaml",
            extract_options={"sentry_issues": {}},
        )
