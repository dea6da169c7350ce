"""Records → plan → writes against the fake OpsLevel over real HTTP (no Airflow)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from opslevel_helpers import add_sentry_issue_type, sent_fields
from opslevel_helpers import mutations as sent_mutations

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.opslevel.catalog import OpsLevelCatalog
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.transform.sync import run_sync

TOKEN = "t0ken"
MUTATIONS = (
    "ComponentCreate",
    "ComponentUpdate",
    "AliasCreate",
    "PropertyAssign",
    "PropertyUnassign",
    "TagAssign",
)


@pytest.fixture
def opslevel():
    with FakeOpsLevel(token=TOKEN) as fake:
        add_sentry_issue_type(fake)
        yield fake


@pytest.fixture
def catalog(opslevel: FakeOpsLevel) -> OpsLevelCatalog:
    return OpsLevelCatalog(OpsLevelClient(opslevel.url, TOKEN))


def transforms(tmp_path: Path, body: str, kind: str = "issue") -> Any:
    extract = tmp_path / "extract.yaml"
    extract.write_text(
        f"extractors:\n- external_kind: {kind}\n  external_id: .id\n  http_polling:\n    url: https://example.com/\n"
    )
    transform = tmp_path / "transform.yaml"
    transform.write_text(textwrap.dedent(body))
    return load_integration(extract, transform).transforms


def chunk(
    *items: dict[str, Any], kind: str = "issue", complete: bool = True, error: str | None = None
) -> list:
    records = [{"external_id": str(item["id"]), "data": item} for item in items]
    partition = {"parent": None, "complete": complete, "pages": 1, "records": len(records), "error": error}
    return [{"external_kind": kind, "records": records, "partitions": [partition]}]


SEED_LIKE = """
    transforms:
    - external_kind: issue
      on_component_not_found: create
      opslevel_kind: sentry_issue
      opslevel_identifier: .id
      properties:
        name: .title
        description: .culprit
        url: .permalink
        substatus: .substatus
        count: .count | tonumber
"""


def issue(n: int, **fields: Any) -> dict[str, Any]:
    base = {"id": str(n), "title": f"Issue {n}", "culprit": f"app <{n}> & co", "permalink": f"https://s/{n}"}
    return {**base, "substatus": "new", "count": str(n * 10), **fields}


def mutations(opslevel: FakeOpsLevel) -> list[str]:
    return sent_mutations(opslevel.requests)


def test_creates_components_with_fields_alias_and_json_encoded_properties(tmp_path, opslevel, catalog):
    report = run_sync(transforms(tmp_path, SEED_LIKE), [chunk(issue(1), issue(2))], catalog, dry_run=False)
    assert report.problems() == []
    assert report.plan.counts()["sentry_issue"]["create"] == 2
    component = opslevel.component_by_alias("1")
    assert component["type"] == "sentry_issue" and component["name"] == "Issue 1"
    assert component["description"] == "app <1> & co"  # escaped by the API, compared unescaped
    assert component["properties"] == {"url": "https://s/1", "substatus": "new", "count": 10}
    assert "1" in component["managedAliases"]
    assigns = [args["input"] for name, args in sent_fields(opslevel.requests) if name == "propertyAssign"]
    assert {a["value"] for a in assigns} >= {'"https://s/1"', "10"}


def test_second_sync_of_the_same_data_writes_nothing(tmp_path, opslevel, catalog):
    config = transforms(tmp_path, SEED_LIKE)
    run_sync(config, [chunk(issue(1), issue(2))], catalog, dry_run=False)
    opslevel.reset_log()
    report = run_sync(config, [chunk(issue(1), issue(2))], catalog, dry_run=False)
    assert mutations(opslevel) == []
    assert report.plan.counts()["sentry_issue"]["unchanged"] == 2


def test_changed_source_updates_only_what_changed(tmp_path, opslevel, catalog):
    config = transforms(tmp_path, SEED_LIKE)
    run_sync(config, [chunk(issue(1))], catalog, dry_run=False)
    opslevel.reset_log()
    report = run_sync(config, [chunk(issue(1, substatus=None, title="Renamed"))], catalog, dry_run=False)
    (item,) = report.plan.components
    assert item.action == "update"
    assert {c.field for c in item.changes} == {"name", "properties.substatus"}
    assert sorted(mutations(opslevel)) == ["propertyUnassign", "serviceUpdate"]
    component = opslevel.component_by_alias("1")
    assert component["name"] == "Renamed" and "substatus" not in component["properties"]


def test_dry_run_plans_without_writing(tmp_path, opslevel, catalog):
    report = run_sync(transforms(tmp_path, SEED_LIKE), [chunk(issue(1))], catalog, dry_run=True)
    assert report.plan.counts()["sentry_issue"]["create"] == 1
    assert mutations(opslevel) == [] and opslevel.component_by_alias("1") is None
    described = report.describe()
    assert "create (1):" in described and 'properties.url: "https://s/1"' in described


def test_skip_only_updates_existing_components(tmp_path, opslevel, catalog):
    opslevel.add_component("Existing", type="sentry_issue", aliases=["1"])
    config = transforms(tmp_path, SEED_LIKE.replace("create", "skip"))
    report = run_sync(config, [chunk(issue(1), issue(2))], catalog, dry_run=False)
    counts = report.plan.counts()["sentry_issue"]
    assert counts["update"] == 1 and counts["skip"] == 1 and counts["create"] == 0
    assert opslevel.component_by_alias("2") is None
    assert opslevel.component_by_alias("1")["name"] == "Issue 1"


def test_suggest_never_creates_and_lists_the_items(tmp_path, opslevel, catalog):
    config = transforms(tmp_path, SEED_LIKE.replace("create", "suggest"))
    report = run_sync(config, [chunk(issue(7))], catalog, dry_run=False)
    assert opslevel.component_by_alias("7") is None and mutations(opslevel) == []
    assert report.to_dict()["suggested"] == [
        {"kind": "sentry_issue", "alias": "7", "fields": {"name": "Issue 7", "description": "app <7> & co"}}
    ]


def test_an_alias_held_by_another_type_is_a_conflict_and_left_alone(tmp_path, opslevel, catalog):
    human = opslevel.add_component("Payments", type="service", aliases=["1"], description="made by a person")
    report = run_sync(transforms(tmp_path, SEED_LIKE), [chunk(issue(1), issue(2))], catalog, dry_run=False)
    conflict = report.plan.of("conflict")
    assert [c.desired.alias for c in conflict] == ["1"]
    assert "held by 'Payments'" in conflict[0].message and "service" in conflict[0].message
    assert opslevel.component_by_alias("1") == {
        **human,
        "updatedAt": opslevel.component_by_alias("1")["updatedAt"],
    }
    assert opslevel.component_by_alias("2")["type"] == "sentry_issue"  # the rest still synced
    assert any("held by 'Payments'" in problem for problem in report.problems())


def test_values_are_coerced_to_their_definitions(tmp_path, opslevel, catalog):
    config = transforms(tmp_path, SEED_LIKE.replace(".count | tonumber", ".count"))  # "10" for an integer
    report = run_sync(config, [chunk(issue(1))], catalog, dry_run=False)
    assert report.problems() == [] and opslevel.component_by_alias("1")["properties"]["count"] == 10


def test_a_value_that_cannot_fit_is_reported_for_that_component_and_the_rest_is_written(
    tmp_path, opslevel, catalog
):
    config = transforms(tmp_path, SEED_LIKE.replace(".count | tonumber", ".title"))  # text for an integer
    report = run_sync(config, [chunk(issue(1))], catalog, dry_run=False)
    (item,) = report.plan.components
    assert item.action == "create"
    assert item.problems == ["property 'count': 'Issue 1' is not of type 'integer'"]
    assert report.problems() == ["sentry_issue 1: property 'count': 'Issue 1' is not of type 'integer'"]
    assert opslevel.component_by_alias("1")["properties"] == {"url": "https://s/1", "substatus": "new"}


def test_a_property_the_type_does_not_define_is_reported(tmp_path, opslevel, catalog):
    config = transforms(tmp_path, SEED_LIKE.replace("count: .count | tonumber", "colour: .id"))
    report = run_sync(config, [chunk(issue(1))], catalog, dry_run=False)
    (problem,) = report.problems()
    assert "property 'colour' is not defined on component type 'sentry_issue'" in problem
    assert "count, substatus, url" in problem


def test_mapping_errors_are_reported_and_do_not_stop_the_others(tmp_path, opslevel, catalog):
    config = transforms(tmp_path, SEED_LIKE)
    report = run_sync(config, [chunk(issue(1), issue(2, count="n/a"))], catalog, dry_run=False)
    assert opslevel.component_by_alias("1") is not None and opslevel.component_by_alias("2") is None
    (problem,) = report.problems()
    assert problem.startswith("transform issue:2: ") and "transform.yaml" in problem and "count" in problem


def test_default_properties_tags_and_extra_aliases(tmp_path, opslevel, catalog):
    config = transforms(
        tmp_path,
        """
        transforms:
        - external_kind: issue
          on_component_not_found: create
          opslevel_kind: sentry_issue
          opslevel_identifier: .id
          default_properties:
            name: .title
            tags: '[{key: "source", value: "sentry"}, {key: "level", value: .level}]'
          aliases: ['"sentry-" + .id']
        """,
    )
    run_sync(config, [chunk(issue(3, level="error"))], catalog, dry_run=False)
    component = opslevel.component_by_alias("sentry-3")
    assert component is not None and component == opslevel.component_by_alias("3")
    assert {(t["key"], t["value"]) for t in component["tags"]} == {("source", "sentry"), ("level", "error")}


def test_extraction_failures_are_problems_but_what_was_read_is_written(tmp_path, opslevel, catalog):
    values = [chunk(issue(1), complete=False, error="HTTP 500 on page 2")]
    report = run_sync(transforms(tmp_path, SEED_LIKE), values, catalog, dry_run=False)
    assert opslevel.component_by_alias("1") is not None
    assert report.problems() == ["extract issue: HTTP 500 on page 2"]


def test_owner_lifecycle_tier_from_default_properties_and_tag_values_reconciled(tmp_path, opslevel, catalog):
    config = transforms(
        tmp_path,
        """
        transforms:
        - external_kind: issue
          on_component_not_found: create
          opslevel_kind: sentry_issue
          opslevel_identifier: .id
          default_properties:
            name: .title
            owner: .team
            lifecycle: '"generally_available"'
            tier: '"tier_1"'
            tags: '{key: "level", value: .level}'
        """,
    )
    run_sync(config, [chunk(issue(4, level="error", team="platform"))], catalog, dry_run=False)
    component = opslevel.component_by_alias("4")
    assert (component["owner"], component["lifecycle"], component["tier"]) == (
        "platform",
        "generally_available",
        "tier_1",
    )
    assert component["tags"] == [{"key": "level", "value": "error"}]

    opslevel.reset_log()
    report = run_sync(config, [chunk(issue(4, level="warning", team="platform"))], catalog, dry_run=False)
    assert report.problems() == []
    (item,) = report.plan.components
    assert [(c.field, c.old, c.new) for c in item.changes] == [
        ("tag", "level:error", None),
        ("tag", None, "level:warning"),
    ]
    assert opslevel.component_by_alias("4")["tags"] == [{"key": "level", "value": "warning"}]
    assert sorted(sent_mutations(opslevel.requests)) == ["tagAssign", "tagDelete"]
    opslevel.reset_log()
    run_sync(config, [chunk(issue(4, level="warning", team="platform"))], catalog, dry_run=False)
    assert sent_mutations(opslevel.requests) == []


def test_html_escaped_text_round_trips_without_spurious_updates(tmp_path, opslevel, catalog):
    config = transforms(tmp_path, SEED_LIKE)
    run_sync(config, [chunk(issue(5, culprit="a < b && c > \"d\" 'e'"))], catalog, dry_run=False)
    raw = [r for r in opslevel.requests if "ComponentsOfType" == r["operation_name"]]
    assert raw  # read by type
    opslevel.reset_log()
    report = run_sync(config, [chunk(issue(5, culprit="a < b && c > \"d\" 'e'"))], catalog, dry_run=False)
    assert report.plan.counts()["sentry_issue"]["unchanged"] == 1 and sent_mutations(opslevel.requests) == []


def test_reads_are_paged_by_type_and_lookups_are_batched(tmp_path, opslevel, catalog):
    config = transforms(tmp_path, SEED_LIKE)
    issues = [issue(n) for n in range(1, 121)]
    run_sync(config, [chunk(*issues)], catalog, dry_run=False)
    opslevel.reset_log()
    report = run_sync(config, [chunk(*issues)], catalog, dry_run=False)
    assert report.plan.counts()["sentry_issue"]["unchanged"] == 120
    assert [r["operation_name"] for r in opslevel.requests] == ["ComponentTypeGet", "ComponentsOfType"]
