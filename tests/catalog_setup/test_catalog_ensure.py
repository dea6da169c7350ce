"""``ensure_catalog`` over real HTTP against the fake OpsLevel: create, no-op, update, keep, dry run."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from catalog_setup_helpers import SHIPPED, mutations, relationship, sentry_type

from airflow_provider_opslevel.catalog_setup import (
    CatalogSetupError,
    EnsureReport,
    ensure_catalog,
    load_catalog,
)
from airflow_provider_opslevel.opslevel import documents
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.opslevel.errors import GraphQLPagingError
from airflow_provider_opslevel.testing import FakeOpsLevel

Write = Callable[..., Path]

ARRAY_OF_STRINGS = {"type": "array", "items": {"type": "string"}}
RULE = {
    "operator": "ARRAY_CONTAINS",
    "sourceProperty": "aliases",
    "sourcePropertyBuiltin": True,
    "targetCategory": None,
    "targetProperty": "project_slug",
    "targetPropertyBuiltin": False,
    "targetType": "sentry_issue",
}


def operations(fake: FakeOpsLevel) -> list[str]:
    return [r["operation_name"] for r in mutations(fake)]


def actions(report: EnsureReport) -> dict[str, str]:
    return {item.label: item.action for item in report.items}


# --------------------------------------------------------------------------- the seed, end to end


def test_first_ensure_creates_everything(fake: FakeOpsLevel, client: OpsLevelClient) -> None:
    report = ensure_catalog(load_catalog(SHIPPED), client)

    assert report.summary() == {"create": 5, "update": 0, "unchanged": 0}
    assert actions(report) == {
        "component type sentry_issue": "create",
        "property definition sentry_issue.project_slug": "create",
        "property definition sentry_issue.substatus": "create",
        "property definition sentry_issue.url": "create",
        "relationship definition sentry_issues (on service)": "create",
    }
    assert report.mutations == 2 and not report.dry_run
    assert operations(fake) == ["ComponentTypeCreate", "RelationshipDefinitionCreate"]

    ctype = sentry_type(fake)
    assert (ctype["name"], ctype["description"]) == (
        "Sentry Issue",
        "Used to track Sentry issues related to services",
    )
    assert report.items[0].id == ctype["id"]
    assert {
        alias: (d["name"], d["schema"], d["lockedStatus"], d["propertyDisplayStatus"])
        for alias, d in ctype["properties"].items()
    } == {
        "project_slug": ("Project Slug", ARRAY_OF_STRINGS, "ui_locked", "visible"),
        "substatus": ("Substatus", {"type": "string"}, "ui_locked", "visible"),
        "url": ("URL", {"type": "string"}, "ui_locked", "visible"),
    }
    assert not any(d["allowedInConfigFiles"] for d in ctype["properties"].values())

    reldef = relationship(fake, "sentry_issues")
    assert (reldef["name"], reldef["componentType"]) == ("Sentry Issues", "service")
    assert reldef["metadata"]["allowedTypes"] == ["sentry_issue"]
    assert reldef["managementRules"] == [RULE]
    assert report.items[-1].id == reldef["id"]

    # JSONSchema travels as a JSON-encoded string (opslevel-go's JSONSchema.MarshalJSON).
    sent = mutations(fake)[0]["variables"]["input"]["properties"][0]
    assert sent["schema"] == json.dumps(ARRAY_OF_STRINGS, separators=(",", ":"))


def test_second_ensure_sends_no_mutation(fake: FakeOpsLevel, client: OpsLevelClient) -> None:
    document = load_catalog(SHIPPED)
    ensure_catalog(document, client)
    before = fake.snapshot()
    fake.reset_log()

    report = ensure_catalog(document, client)

    assert mutations(fake) == [] and report.mutations == 0
    assert report.summary() == {"create": 0, "update": 0, "unchanged": 5}
    assert {r["operation_name"] for r in fake.requests} == {
        "ComponentTypeList",
        "ComponentTypeProperties",
        "RelationshipDefinitionList",
    }
    assert report.requests == len(fake.requests) == 3
    assert fake.snapshot() == before
    assert all(item.id for item in report.items)


def test_dry_run_writes_nothing(fake: FakeOpsLevel, client: OpsLevelClient, write: Write) -> None:
    before = fake.snapshot()
    report = ensure_catalog(load_catalog(SHIPPED), client, dry_run=True)

    assert report.dry_run and report.mutations == 0 and mutations(fake) == []
    assert fake.snapshot() == before
    assert report.summary() == {"create": 5, "update": 0, "unchanged": 0}
    assert all(item.id is None for item in report.created)
    assert (
        report.to_text()
        .splitlines()[0]
        .startswith("Catalog setup (dry run, nothing written): 5 would create")
    )

    # Against an existing catalog, a dry run shows the updates without making them.
    ensure_catalog(load_catalog(SHIPPED), client)
    before = fake.snapshot()
    fake.reset_log()
    changed = write(SHIPPED.read_text().replace("name: URL", "name: Permalink"))
    report = ensure_catalog(load_catalog(changed), client, dry_run=True)
    assert [(i.label, i.action, [c.to_dict() for c in i.changes]) for i in report.updated] == [
        (
            "property definition sentry_issue.url",
            "update",
            [{"field": "name", "before": "URL", "after": "Permalink"}],
        )
    ]
    assert "would update  property definition sentry_issue.url" in report.to_text()
    assert mutations(fake) == [] and fake.snapshot() == before


# ------------------------------------------------------------------------------------ updates


def test_changed_schema_and_names_are_updated_in_place(
    fake: FakeOpsLevel, client: OpsLevelClient, write: Write
) -> None:
    ensure_catalog(load_catalog(SHIPPED), client)
    ids = {alias: d["id"] for alias, d in sentry_type(fake)["properties"].items()}
    fake.reset_log()
    text = (
        SHIPPED.read_text()
        .replace("name: Sentry Issue\n", "name: Sentry Issue (Sentry)\n")
        .replace(
            "    schema: {type: string}\n  - alias: url",
            "    schema: {type: string, enum: [ongoing, new]}\n  - alias: url",
        )
        .replace("    name: URL\n", "    name: Permalink\n    locked: false\n")
        .replace("  name: Sentry Issues\n", "  name: Issues in Sentry\n")
    )
    report = ensure_catalog(load_catalog(write(text)), client)

    assert actions(report) == {
        "component type sentry_issue": "update",
        "property definition sentry_issue.project_slug": "unchanged",
        "property definition sentry_issue.substatus": "update",
        "property definition sentry_issue.url": "update",
        "relationship definition sentry_issues (on service)": "update",
    }
    changes = {item.alias: [c.to_dict() for c in item.changes] for item in report.updated}
    assert changes == {
        "sentry_issue": [{"field": "name", "before": "Sentry Issue", "after": "Sentry Issue (Sentry)"}],
        "substatus": [
            {
                "field": "schema",
                "before": {"type": "string"},
                "after": {"type": "string", "enum": ["ongoing", "new"]},
            }
        ],
        "url": [
            {"field": "name", "before": "URL", "after": "Permalink"},
            {"field": "locked", "before": True, "after": False},
        ],
        "sentry_issues": [{"field": "name", "before": "Sentry Issues", "after": "Issues in Sentry"}],
    }
    assert operations(fake) == [
        "ComponentTypeUpdate",
        "PropertyDefinitionUpdate",
        "PropertyDefinitionUpdate",
        "RelationshipDefinitionUpdate",
    ]
    assert "properties" not in mutations(fake)[0]["variables"]["input"]  # a rename touches no definition

    ctype = sentry_type(fake)
    assert ctype["name"] == "Sentry Issue (Sentry)"
    assert ctype["properties"]["substatus"]["schema"] == {"type": "string", "enum": ["ongoing", "new"]}
    assert (ctype["properties"]["url"]["name"], ctype["properties"]["url"]["lockedStatus"]) == (
        "Permalink",
        "unlocked",
    )
    assert {alias: d["id"] for alias, d in ctype["properties"].items()} == ids  # updated, not recreated
    assert relationship(fake, "sentry_issues")["name"] == "Issues in Sentry"

    fake.reset_log()
    assert ensure_catalog(load_catalog(write(text, "again.yaml")), client).mutations == 0
    assert mutations(fake) == []


def test_relationship_rules_and_metadata_are_updated_unmanaged_fields_kept(
    fake: FakeOpsLevel, client: OpsLevelClient
) -> None:
    fake.add_component_type(
        "sentry_issue", "Sentry Issue", {"project_slug": {"name": "Project Slug", "schema": ARRAY_OF_STRINGS}}
    )
    fake.add_relationship_definition(
        "sentry_issues",
        "Sentry Issues",
        "service",
        description="Made by hand",
        allowed_types=["sentry_issue", "service"],
        management_rules=[
            {
                "operator": "EQUALS",
                "sourceProperty": "name",
                "sourcePropertyBuiltin": True,
                "targetProperty": "name",
                "targetPropertyBuiltin": True,
                "targetType": "sentry_issue",
            }
        ],
    )
    report = ensure_catalog(load_catalog(SHIPPED), client)

    (item,) = [i for i in report.items if i.kind == "relationship_definition"]
    assert item.action == "update"
    assert [c.field for c in item.changes] == ["allowed_types", "management_rules"]
    assert item.changes[1].before == [
        {
            "operator": "EQUALS",
            "source_property": "name",
            "source_property_builtin": True,
            "target_property": "name",
            "target_property_builtin": True,
            "target_type": "sentry_issue",
        }
    ]
    reldef = relationship(fake, "sentry_issues")
    assert reldef["description"] == "Made by hand"  # the document does not manage it
    assert reldef["metadata"]["allowedTypes"] == ["sentry_issue"]
    assert reldef["managementRules"] == [RULE]


def test_hand_made_type_keeps_its_extra_property(fake: FakeOpsLevel, client: OpsLevelClient) -> None:
    fake.add_component_type(
        "sentry_issue",
        "Sentry Issue",
        {
            "project_slug": {"name": "Project Slug", "schema": {"type": "string"}},
            "team_notes": {"name": "Team notes", "schema": {"type": "string"}, "description": "Kept as is"},
        },
        description="Used to track Sentry issues related to services",
    )
    fake.add_component("Some issue", type="sentry_issue", properties={"team_notes": "hello"})
    extra_before = sentry_type(fake)["properties"]["team_notes"]

    report = ensure_catalog(load_catalog(SHIPPED), client)

    assert actions(report) == {
        "component type sentry_issue": "unchanged",
        "property definition sentry_issue.project_slug": "update",
        "property definition sentry_issue.substatus": "create",
        "property definition sentry_issue.url": "create",
        "relationship definition sentry_issues (on service)": "create",
    }
    assert [c.field for c in report.items[1].changes] == ["schema", "locked"]
    # One componentTypeUpdate lists every definition: nothing is lost even if OpsLevel replaces the set.
    assert operations(fake) == ["ComponentTypeUpdate", "RelationshipDefinitionCreate"]
    sent = mutations(fake)[0]["variables"]["input"]["properties"]
    assert [p["alias"] for p in sent] == ["team_notes", "project_slug", "substatus", "url"]

    ctype = sentry_type(fake)
    assert ctype["properties"]["team_notes"] == extra_before
    assert ctype["properties"]["project_slug"]["schema"] == ARRAY_OF_STRINGS
    assert ctype["properties"]["project_slug"]["lockedStatus"] == "ui_locked"
    assert ctype["properties"]["project_slug"]["allowedInConfigFiles"] is True  # not managed: left as made
    assert set(ctype["properties"]) == {"team_notes", "project_slug", "substatus", "url"}
    assert fake.component_by_alias("some_issue")["properties"] == {"team_notes": "hello"}

    fake.reset_log()
    assert ensure_catalog(load_catalog(SHIPPED), client).mutations == 0
    assert mutations(fake) == []


def test_unmanaged_description_and_overrides(
    fake: FakeOpsLevel, client: OpsLevelClient, write: Write
) -> None:
    fake.add_component_type(
        "sentry_issue",
        "Sentry Issue",
        {
            "url": {
                "name": "URL",
                "schema": {"type": "string"},
                "description": "Link",
                "lockedStatus": "ui_locked",
            }
        },
    )
    text = """\
    component_types:
    - alias: sentry_issue
      name: Sentry Issue
      properties:
      - alias: url
        name: URL
        schema: {type: string}
      - alias: level
        name: Level
        schema: {type: string, enum: [error, warning]}
        description: Sentry's level
        locked: false
        display_status: hidden
        allowed_in_config_files: true
    """
    report = ensure_catalog(load_catalog(write(text)), client)
    assert actions(report) == {
        "component type sentry_issue": "unchanged",
        "property definition sentry_issue.url": "unchanged",
        "property definition sentry_issue.level": "create",
    }
    properties = sentry_type(fake)["properties"]
    assert properties["url"]["description"] == "Link"
    level = properties["level"]
    assert (
        level["description"],
        level["lockedStatus"],
        level["propertyDisplayStatus"],
        level["allowedInConfigFiles"],
    ) == (
        "Sentry's level",
        "unlocked",
        "hidden",
        True,
    )
    fake.reset_log()
    assert ensure_catalog(load_catalog(write(text, "again.yaml")), client).mutations == 0


def test_properties_can_be_added_to_the_default_service_type(
    fake: FakeOpsLevel, client: OpsLevelClient, write: Write
) -> None:
    fake.add_component_type(
        "service", "Service", {"tier_note": {"name": "Tier note", "schema": {"type": "string"}}}
    )
    text = """\
    component_types:
    - alias: service
      name: Service
      properties:
      - alias: sentry_project
        name: Sentry project
        schema: {type: string}
    relationship_definitions:
    - alias: sentry_issues
      name: Sentry Issues
      component_type: service
      allowed_types: [incident]
      management_rules:
      - operator: EQUALS
        source_property: sentry_project
        target_property: name
    """
    fake.add_component_type("incident", "Incident")  # exists only in OpsLevel: fine
    report = ensure_catalog(load_catalog(write(text)), client)
    assert actions(report) == {
        "component type service": "unchanged",
        "property definition service.sentry_project": "create",
        "relationship definition sentry_issues (on service)": "create",
    }
    service = next(t for t in fake.snapshot()["componentTypes"] if t["alias"] == "service")
    assert set(service["properties"]) == {"tier_note", "sentry_project"}
    rule = relationship(fake, "sentry_issues")["managementRules"][0]
    assert (rule["sourceProperty"], rule["sourcePropertyBuiltin"], rule["targetPropertyBuiltin"]) == (
        "sentry_project",
        False,
        True,
    )


# ------------------------------------------------------------------------- checks before writing


def test_unknown_types_fail_before_anything_is_written(
    fake: FakeOpsLevel, client: OpsLevelClient, write: Write
) -> None:
    fake.add_component_type("incident", "Incident")
    text = SHIPPED.read_text().replace(
        "allowed_types: [sentry_issue]", "allowed_types: [sentry_issue, incidnet]"
    )
    text = text.replace("  component_type: service\n", "  component_type: servce\n")
    with pytest.raises(CatalogSetupError) as info:
        ensure_catalog(load_catalog(write(text)), client)

    assert mutations(fake) == []
    assert info.value.report is None
    messages = info.value.problems
    assert len(messages) == 2
    assert messages[0].endswith(
        "relationship_definitions[0] (sentry_issues) component_type: component_type 'servce' is neither declared "
        "in this document nor a component type in OpsLevel; did you mean 'service'?"
    )
    assert "catalog.yaml:" in messages[0]
    assert messages[1].endswith(
        "allowed_types[1]: allowed type 'incidnet' is neither declared in this document nor a component type in "
        "OpsLevel; did you mean 'incident'?"
    )
    assert "sentry_issue" not in {t["alias"] for t in fake.snapshot()["componentTypes"]}


def test_custom_property_of_an_undeclared_type_is_checked_in_opslevel(
    fake: FakeOpsLevel, client: OpsLevelClient, write: Write
) -> None:
    text = SHIPPED.read_text().replace("source_property: aliases ", "source_property: sentry_project ")
    with pytest.raises(
        CatalogSetupError,
        match=r"management_rules\[0\]\.source_property: component type 'service' has no property definition 'sentry_project' in OpsLevel",
    ):
        ensure_catalog(load_catalog(write(text)), client)
    assert mutations(fake) == []

    fake.add_component_type(
        "service", "Service", {"sentry_project": {"name": "Sentry project", "schema": {"type": "string"}}}
    )
    report = ensure_catalog(load_catalog(write(text, "again.yaml")), client)
    assert report.summary()["create"] == 5


def test_collisions_with_other_objects_fail_before_writing(
    fake: FakeOpsLevel, client: OpsLevelClient
) -> None:
    fake.add_component_type("issue", "Sentry Issue")
    fake.add_relationship_definition("sentry_issues", "Sentry Issues", "issue", allowed_types=["service"])
    with pytest.raises(CatalogSetupError) as info:
        ensure_catalog(load_catalog(SHIPPED), client)
    text = str(info.value)
    assert (
        "component_types[0] (sentry_issue) name: the name 'Sentry Issue' is already used by component type 'issue'"
        in text
    )
    assert (
        "relationship_definitions[0] (sentry_issues) alias: relationship definition 'sentry_issues' already exists "
        "on component type 'issue', not 'service'"
    ) in text
    assert mutations(fake) == []
    copy = pickle.loads(pickle.dumps(info.value))
    assert copy.problems == info.value.problems


def test_a_refused_write_reports_what_was_done(fake: FakeOpsLevel, client: OpsLevelClient) -> None:
    def refuse(info: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
        if info.get("operation_name") != "RelationshipDefinitionCreate":
            return None
        payload = {"definition": None, "errors": [{"message": "Not allowed today", "path": ["base"]}]}
        body = json.dumps({"data": {"relationshipDefinitionCreate": payload}}).encode()
        return 200, {"Content-Type": "application/json"}, body

    fake.faults.append(refuse)
    with pytest.raises(CatalogSetupError) as info:
        ensure_catalog(load_catalog(SHIPPED), client)
    assert str(info.value) == (
        "RelationshipDefinitionCreate failed: relationshipDefinitionCreate: Not allowed today (at base); "
        "not done (or not confirmed): relationship definition sentry_issues (on service)"
    )
    report = info.value.report
    assert report is not None and report.summary() == {"create": 4, "update": 0, "unchanged": 0}
    assert report.items[0].id == sentry_type(fake)["id"]
    assert sentry_type(fake)["properties"].keys() == {"project_slug", "substatus", "url"}
    assert pickle.loads(pickle.dumps(info.value)).report == report


# ------------------------------------------------------------------------------ paging, report


def test_reads_are_paged(fake: FakeOpsLevel, client: OpsLevelClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "SETUP_PAGE_SIZE", 2)
    for number in range(5):
        fake.add_component_type(f"other_{number}", f"Other {number}")
    for number in range(3):
        fake.add_relationship_definition(
            f"rel_{number}", f"Rel {number}", "service", allowed_types=["service"]
        )
    fake.add_component_type(
        "sentry_issue",
        "Sentry Issue",
        {alias: {"name": alias, "schema": {"type": "string"}} for alias in ("a", "b", "c", "url")},
        description="Used to track Sentry issues related to services",
    )
    fake.reset_log()
    report = ensure_catalog(load_catalog(SHIPPED), client)

    reads = [
        (r["operation_name"], r["variables"]["after"])
        for r in fake.requests
        if r["operation_name"].endswith(("List", "Properties"))
    ]
    assert next(after for name, after in reads if name == "ComponentTypeList") == ""
    assert sum(name == "ComponentTypeList" for name, _ in reads) == 4  # 7 types, 2 per page
    assert sum(name == "ComponentTypeProperties" for name, _ in reads) == 2  # 4 definitions
    assert sum(name == "RelationshipDefinitionList" for name, _ in reads) == 2  # 3 definitions
    assert all(r["variables"]["first"] == 2 for r in fake.requests if "first" in r["variables"])
    assert actions(report)["property definition sentry_issue.url"] == "update"  # found on page 2
    assert [p["alias"] for p in mutations(fake)[0]["variables"]["input"]["properties"]] == [
        "a",
        "b",
        "c",
        "project_slug",
        "substatus",
        "url",
    ]
    assert set(sentry_type(fake)["properties"]) == {"a", "b", "c", "url", "project_slug", "substatus"}


def test_a_repeated_cursor_stops_before_anything_is_written(
    fake: FakeOpsLevel, client: OpsLevelClient
) -> None:
    def same_cursor(info: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
        if info.get("operation_name") != "ComponentTypeList":
            return None
        page = {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": "Mg"}}
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"data": {"account": {"componentTypes": page}}}).encode(),
        )

    fake.faults.append(same_cursor)
    with pytest.raises(GraphQLPagingError, match="ComponentTypeList: page 2 answered endCursor 'Mg'"):
        ensure_catalog(load_catalog(SHIPPED), client)
    assert [r["variables"]["after"] for r in fake.requests] == ["", "Mg"]
    assert mutations(fake) == []


def test_report_serialises_for_xcom_and_log(fake: FakeOpsLevel, client: OpsLevelClient, write: Write) -> None:
    ensure_catalog(load_catalog(SHIPPED), client)
    report = ensure_catalog(
        load_catalog(write(SHIPPED.read_text().replace("name: URL", "name: Link"))), client
    )

    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["summary"] == {"create": 0, "update": 1, "unchanged": 4}
    assert data["dry_run"] is False and data["mutations"] == 1
    url = next(item for item in data["items"] if item["alias"] == "url")
    assert url == {
        "kind": "property_definition",
        "alias": "url",
        "component_type": "sentry_issue",
        "action": "update",
        "id": sentry_type(fake)["properties"]["url"]["id"],
        "changes": [{"field": "name", "before": "URL", "after": "Link"}],
    }
    assert EnsureReport.from_dict(data) == report
    text = report.to_text()
    assert (
        text.splitlines()[0] == "Catalog setup: 0 created, 1 updated, 4 unchanged (4 requests, 1 mutations)"
    )
    assert "  updated    property definition sentry_issue.url\n" in text
    assert '               name: "URL" -> "Link"' in text
    assert str(report) == text
    assert (
        [i.alias for i in report.updated] == ["url"] and len(report.unchanged) == 4 and report.created == ()
    )
    assert report.changed
