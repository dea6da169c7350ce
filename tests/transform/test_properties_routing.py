"""A ``properties:`` key the component type defines is a custom property, even named like a built-in field.

Every sync here runs against the fake OpsLevel over real HTTP; after each apply the fake's catalog
is read back and compared with the plan, change by change.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_opslevel import cli
from airflow_provider_opslevel.catalog_setup import load_catalog
from airflow_provider_opslevel.catalog_setup.planning import declared_component_types
from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.opslevel.catalog import BUILTIN_FIELDS, OpsLevelCatalog
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry
from airflow_provider_opslevel.transform.plan import BUILTIN, CUSTOM, route
from airflow_provider_opslevel.transform.report import SyncReport
from airflow_provider_opslevel.transform.sync import SyncOptions, run_sync

TOKEN = "t0ken"
STRING = {"schema": {"type": "string"}}


@pytest.fixture
def opslevel():
    with FakeOpsLevel(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def catalog(opslevel: FakeOpsLevel) -> OpsLevelCatalog:
    return OpsLevelCatalog(OpsLevelClient(opslevel.url, TOKEN, requests_per_minute=None))


def transforms(tmp_path: Path, body: str) -> Any:
    extract = tmp_path / "extract.yaml"
    extract.write_text("extractors:\n- external_kind: rec\n  external_id: .id\n")
    transform = tmp_path / "transform.yaml"
    transform.write_text(textwrap.dedent(body))
    return load_integration(extract, transform).transforms


def chunk(*items: dict[str, Any]) -> list:
    records = [{"external_id": str(item["id"]), "data": item} for item in items]
    partition = {"parent": None, "complete": True, "pages": 1, "records": len(records), "error": None}
    return [{"external_kind": "rec", "records": records, "partitions": [partition]}]


# -- every field, applied and read back ------------------------------------------------------------

EVERYTHING = """
    transforms:
    - external_kind: rec
      on_component_not_found: create
      opslevel_kind: widget
      opslevel_identifier: .id
      default_properties:
        owner: .team
        lifecycle: .lifecycle
        tier: .tier_builtin
        tags: '[{key: "level", value: .level}]'
      properties:
        name: .title
        description: .text
        framework: .framework
        language: .language
        product: .product
        tier: .tier_custom
        colour: .colour
        size: .size
      aliases: ['"w-" + .id', .extra]
"""


def record(**changes: Any) -> dict[str, Any]:
    base = {
        "id": "1",
        "title": "Widget one",
        "text": "first <b>",
        "team": "platform",
        "lifecycle": "beta",
        "tier_builtin": "tier_2",
        "tier_custom": "gold",
        "framework": "django",
        "language": "python",
        "product": "shop & co",
        "colour": "red",
        "size": 3,
        "level": "info",
        "extra": None,
    }
    return {**base, **changes}


def holds(change_field: str, old: Any, new: Any, component: dict[str, Any]) -> bool:
    """Whether the fake's component shows one planned change."""
    if change_field in BUILTIN_FIELDS:
        return component[change_field] == new
    if change_field == "alias":
        return new in component["aliases"]
    if change_field == "tag":
        pairs = {f"{t['key']}:{t['value']}" for t in component["tags"]}
        return (new in pairs) if new is not None else (old not in pairs)
    name = change_field.removeprefix("properties.")
    if new is None:
        return name not in component["properties"]
    return component["properties"].get(name) == new


def operation_of(change_field: str, new: Any) -> str:
    """How :mod:`~airflow_provider_opslevel.transform.apply` names the write of one change in a problem."""
    if change_field in BUILTIN_FIELDS:
        return "(fields)"
    if change_field == "alias":
        return f"(alias:{new})"
    if change_field == "tag":
        return "(tags)"
    return f"(property:{change_field.removeprefix('properties.')})"


def landed_or_listed(report: SyncReport, opslevel: FakeOpsLevel) -> tuple[list[str], list[str]]:
    """Every planned change is in the fake's catalog or named in the report's problems."""
    landed, listed = [], []
    problems = report.problems()
    for item in report.plan.components:
        if item.action not in ("create", "update", "error") or not item.changes:
            continue
        component = opslevel.component_by_alias(item.desired.alias)
        assert component is not None, item.desired.alias
        for change in item.changes:
            label = f"{change.field}={change.new!r}"
            if holds(change.field, change.old, change.new, component):
                landed.append(label)
                continue
            named = [
                p
                for p in problems
                if p.startswith(f"{item.desired.kind} {item.desired.alias}: ")
                and operation_of(change.field, change.new) in p
            ]
            assert named, f"{label} neither landed nor listed: {problems}"
            listed.append(label)
    return landed, listed


def widget_type(opslevel: FakeOpsLevel) -> None:
    opslevel.add_component_type(
        "widget",
        "Widget",
        properties={
            "tier": {"name": "Tier", **STRING},  # named like the built-in field
            "colour": {"name": "Colour", "schema": {"type": ["string", "null"]}},
            "size": {"name": "Size", "schema": {"type": "integer"}},
        },
    )


def test_every_kind_of_planned_change_lands_in_opslevel(tmp_path, opslevel, catalog):
    widget_type(opslevel)
    config = transforms(tmp_path, EVERYTHING)

    first = run_sync(config, [chunk(record())], catalog, dry_run=False)
    assert first.problems() == []
    landed, listed = landed_or_listed(first, opslevel)
    assert listed == []
    assert {label.split("=")[0] for label in landed} == {
        "name", "description", "owner", "lifecycle", "tier", "framework", "language", "product",
        "alias", "tag", "properties.tier", "properties.colour", "properties.size",
    }  # fmt: skip
    component = opslevel.component_by_alias("1")
    assert component["tier"] == "tier_2"  # the built-in field, from default_properties
    assert component["properties"] == {"tier": "gold", "colour": "red", "size": 3}  # custom tier wins
    assert component["product"] == "shop & co" and component["description"] == "first <b>"

    changed = record(
        title="Widget 1",
        text="second",
        team="payments",
        lifecycle="ga",
        tier_builtin="tier_1",
        tier_custom="silver",
        framework="flask",
        language="go",
        product="store",
        colour=None,  # unassign
        size="4",  # coerced to an integer
        level="warn",
        extra="widget-one",
    )
    second = run_sync(config, [chunk(changed)], catalog, dry_run=False)
    assert second.problems() == []
    (item,) = second.plan.components
    assert item.action == "update"
    assert {c.field for c in item.changes} == {
        "name", "description", "owner", "lifecycle", "tier", "framework", "language", "product",
        "alias", "tag", "properties.tier", "properties.colour", "properties.size",
    }  # fmt: skip
    assert ("properties.colour", "red", None) in [(c.field, c.old, c.new) for c in item.changes]
    landed, listed = landed_or_listed(second, opslevel)
    assert listed == [] and len(landed) == len(item.changes)
    component = opslevel.component_by_alias("1")
    assert "colour" not in component["properties"] and component["properties"]["tier"] == "silver"
    assert component["tier"] == "tier_1" and component["tags"] == [{"key": "level", "value": "warn"}]

    third = run_sync(config, [chunk(changed)], catalog, dry_run=False)
    assert third.plan.counts()["widget"]["unchanged"] == 1


def test_a_change_that_cannot_land_is_listed_as_a_problem(tmp_path, opslevel, catalog):
    widget_type(opslevel)
    opslevel.add_component("Someone else", type="service", aliases=["taken"])
    config = transforms(tmp_path, EVERYTHING)
    report = run_sync(config, [chunk(record(extra="taken"))], catalog, dry_run=False)
    landed, listed = landed_or_listed(report, opslevel)
    assert listed == ["alias='taken'"]
    assert "properties.tier='gold'" in landed
    (problem,) = report.problems()
    assert problem.startswith("widget 1: aliasCreate (alias:taken) failed: ")
    assert "already been taken" in problem


# -- routing -----------------------------------------------------------------------------------------

ROUTED = """
    transforms:
    - external_kind: rec
      on_component_not_found: create
      opslevel_kind: widget
      opslevel_identifier: .id
      properties:
        {key}: .value
"""


@pytest.mark.parametrize("key", BUILTIN_FIELDS)
def test_a_defined_property_named_like_a_builtin_field_is_written_as_the_property(
    tmp_path, opslevel, catalog, key
):
    opslevel.add_component_type("widget", "Widget", properties={key: {"name": key.title(), **STRING}})
    report = run_sync(
        transforms(tmp_path, ROUTED.format(key=key)),
        [chunk({"id": "1", "value": "v"})],
        catalog,
        dry_run=False,
    )
    assert report.problems() == []
    (item,) = report.plan.components
    assert f"properties.{key}" in {c.field for c in item.changes} and key not in item.fields
    component = opslevel.component_by_alias("1")
    assert component["properties"] == {key: "v"}
    if key != "name":  # a new component is named after its alias when nothing names it
        assert component[key] is None
    assert report.property_keys == [
        {
            "transform": "transforms[0] (rec)",
            "opslevel_kind": "widget",
            "key": key,
            "writes": CUSTOM,
            "why": f"'widget' defines property '{key}', which wins over the built-in field '{key}'",
        }
    ]


def test_without_a_definition_the_key_goes_to_the_builtin_field(tmp_path, opslevel, catalog):
    opslevel.add_component_type("widget", "Widget", properties={"colour": {"name": "Colour", **STRING}})
    report = run_sync(
        transforms(tmp_path, ROUTED.format(key="tier")),
        [chunk({"id": "1", "value": "tier_1"})],
        catalog,
        dry_run=False,
    )
    assert report.problems() == []
    component = opslevel.component_by_alias("1")
    assert component["tier"] == "tier_1" and component["properties"] == {}
    assert report.property_keys[0]["writes"] == BUILTIN
    assert "properties keys:" in report.describe()
    rows = report.describe().split("properties keys:\n")[1].splitlines()
    assert rows[2].split(None, 3) == [
        "transforms[0]",
        "(rec)",
        "tier",
        "built-in field  'widget' defines no property 'tier'",
    ]


def test_route_is_decided_by_the_type_not_by_the_name():
    assert route("tier", None) == BUILTIN and route("colour", None) == CUSTOM


CATALOG = """
component_types:
- alias: widget
  name: Widget
  properties:
  - {alias: owner, name: Owner, schema: {type: string}}
  - {alias: lifecycle, name: Lifecycle, schema: {type: string}}
"""


def test_a_dry_run_uses_the_catalog_documents_declared_properties(tmp_path, opslevel, catalog):
    """The type exists only in catalog.yaml: its declared ``owner`` is a custom property."""
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    declared = declared_component_types(load_catalog(tmp_path / "catalog.yaml"))
    config = transforms(tmp_path, ROUTED.format(key="owner"))
    report = run_sync(
        config,
        [chunk({"id": "1", "value": "me"})],
        catalog,
        dry_run=True,
        options=SyncOptions(declared=declared),
    )
    (item,) = report.plan.components
    assert item.action == "create" and report.problems() == []
    assert [(c.field, c.new) for c in item.changes] == [
        ("name", "1"),
        ("alias", "1"),
        ("properties.owner", "me"),
    ]
    assert "owner" not in item.fields and report.property_keys[0]["writes"] == CUSTOM
    assert opslevel.component_by_alias("1") is None


def test_a_dry_run_adds_declared_definitions_opslevel_does_not_have_yet(tmp_path, opslevel, catalog):
    """The type exists, but the ``lifecycle`` property is only declared: ensure_catalog will add it."""
    opslevel.add_component_type("widget", "Widget", properties={"owner": {"name": "Owner", **STRING}})
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    declared = declared_component_types(load_catalog(tmp_path / "catalog.yaml"))
    config = transforms(tmp_path, ROUTED.format(key="lifecycle"))
    dry = run_sync(
        config,
        [chunk({"id": "1", "value": "x"})],
        catalog,
        dry_run=True,
        options=SyncOptions(declared=declared),
    )
    (item,) = dry.plan.components
    assert item.properties == {"lifecycle": "x"} and item.fields == {}
    # A real run trusts only OpsLevel: without the definition the key is the built-in field.
    real = run_sync(
        config,
        [chunk({"id": "1", "value": "x"})],
        catalog,
        dry_run=False,
        options=SyncOptions(declared=declared),
    )
    assert real.problems() == [] and opslevel.component_by_alias("1")["lifecycle"] == "x"


def test_a_builtin_routed_value_that_is_not_text_is_a_problem_for_that_component(tmp_path, opslevel, catalog):
    opslevel.add_component_type("widget", "Widget")
    report = run_sync(
        transforms(tmp_path, ROUTED.format(key="description")),
        [chunk({"id": "1", "value": {"a": 1}})],
        catalog,
        dry_run=False,
    )
    assert report.problems() == [
        "widget 1: properties.description (the built-in field 'description') must be a string or a number, "
        'got {"a": 1}'
    ]
    assert opslevel.component_by_alias("1")["description"] is None


def test_validate_lists_where_each_properties_key_goes(tmp_path, capsys):
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    (tmp_path / "extract.yaml").write_text("extractors:\n- external_kind: rec\n  external_id: .id\n")
    (tmp_path / "transform.yaml").write_text(
        textwrap.dedent(
            """
            transforms:
            - external_kind: rec
              on_component_not_found: create
              opslevel_kind: widget
              opslevel_identifier: .id
              properties: {owner: .o, tier: .t, colour: .c}
            """
        )
    )
    files = [str(tmp_path / name) for name in ("extract.yaml", "transform.yaml")]
    assert cli.main(["validate", *files, "--catalog", str(tmp_path / "catalog.yaml")]) == 0
    text = capsys.readouterr().out
    assert "properties keys (OpsLevel's definitions of the component type decide at run time):" in text
    rows = [line.split() for line in text.splitlines() if line.startswith("  transforms[0] (rec)")]
    assert [(r[2], " ".join(r[3:])) for r in rows] == [
        ("owner", "custom property 'widget' defines property 'owner', which wins over the built-in field 'owner'"),
        ("tier", "built-in field 'widget' defines no property 'tier'"),
        ("colour", "custom property 'widget' does not define property 'colour': every value is reported, none written"),
    ]  # fmt: skip

    assert cli.main(["validate", *files, "--json"]) == 0
    keys = json.loads(capsys.readouterr().out)["property_keys"]
    assert [(k["key"], k["writes"]) for k in keys] == [
        ("owner", BUILTIN),
        ("tier", BUILTIN),
        ("colour", CUSTOM),
    ]
    assert (
        keys[0]["why"]
        == "component type 'widget' not known here; a property 'owner' defined on it would take the key"
    )


def test_run_test_lists_where_each_properties_key_goes(capsys):
    """``opslevel-integration test``: from OpsLevel's definitions, or offline from catalog.yaml."""
    from airflow_helpers import OPSLEVEL_TOKEN, SENTRY_TOKEN, connections, environment

    seed = Path(__file__).resolve().parents[2] / "dags" / "sentry_issues"
    with (
        FakeSentry(token=SENTRY_TOKEN, projects=1, issues_per_project=1) as sentry,
        FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel,
    ):
        opslevel.add_component_type(
            "sentry_issue",
            "Sentry Issue",
            properties={"name": {"name": "Name", **STRING}, "url": {"name": "URL", **STRING}},
        )
        argv = ["test", str(seed / "extract.yaml"), str(seed / "transform.yaml")]
        argv += ["--rewrite-origin", f"https://sentry.io={sentry.url}"]
        with environment(**connections(opslevel.url, sentry_api_token=SENTRY_TOKEN)):
            assert cli.main(argv) == 1  # substatus and project_slug are not defined in OpsLevel
            online = capsys.readouterr().out
            assert cli.main([*argv, "--no-opslevel", "--catalog", str(seed / "catalog.yaml")]) == 0
            offline = capsys.readouterr().out

    def rows(text: str) -> list[tuple[str, str]]:
        found = [
            line.split() for line in text.splitlines() if line.startswith("  transforms[0] (sentry_issue)")
        ]
        return [(r[2], " ".join(r[3:5])) for r in found]

    # OpsLevel's type defines "name": the custom property wins; substatus is not defined there.
    assert "properties keys:" in online
    assert rows(online) == [
        ("name", "custom property"),
        ("url", "custom property"),
        ("substatus", "custom property"),
        ("project_slug", "custom property"),
    ]
    assert "'sentry_issue' defines property 'name', which wins over the built-in field 'name'" in online
    assert "'sentry_issue' does not define property 'substatus'" in online
    # Offline, the catalog document declares no "name": the built-in field.
    assert rows(offline)[0] == ("name", "built-in field")
