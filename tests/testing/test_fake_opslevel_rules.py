"""FakeOpsLevel: relationship definitions' management rules link components automatically."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from airflow_provider_opslevel.testing import FakeOpsLevel, _rules
from airflow_provider_opslevel.testing._graphql_schema import load_schema
from airflow_provider_opslevel.testing.conformance import response_problems

ISSUE_PROPERTIES = {
    "url": {"name": "URL", "schema": {"type": "string"}},
    "project": {"name": "Project", "schema": {"type": "string"}},
    "project_slug": {"name": "Project Slug", "schema": {"type": "array", "items": {"type": "string"}}},
}
# The seed's rule: a service is linked to the Sentry issues whose project_slug holds one of its aliases.
SLUG_RULE = {
    "operator": "ARRAY_CONTAINS",
    "sourceProperty": "aliases",
    "sourcePropertyBuiltin": True,
    "targetProperty": "project_slug",
    "targetPropertyBuiltin": False,
    "targetType": "sentry_issue",
}
RELDEF_CREATE = """
mutation R($input: RelationshipDefinitionInput!) {
  relationshipDefinitionCreate(input: $input) { definition { id alias } errors { message path } }
}"""
RELDEF_UPDATE = """
mutation U($ident: IdentifierInput!, $input: RelationshipDefinitionInput!) {
  relationshipDefinitionUpdate(relationshipDefinition: $ident, input: $input) { definition { id } errors { message path } }
}"""
RELDEF_DELETE = """
mutation D($ident: IdentifierInput!) {
  relationshipDefinitionDelete(resource: $ident) { deletedId errors { message path } }
}"""
ASSIGN = """
mutation A($input: PropertyInput!) { propertyAssign(input: $input) { errors { message path } } }"""
UNASSIGN = """
mutation U($owner: IdentifierInput!, $definition: IdentifierInput!) {
  propertyUnassign(owner: $owner, definition: $definition) { errors { message path } }
}"""
SERVICE_DELETE = """
mutation D($input: ServiceDeleteInput!) { serviceDelete(input: $input) { deletedServiceId errors { path } } }"""
SERVICE_UPDATE = """
mutation U($input: ServiceUpdateInput!) { serviceUpdate(input: $input) { service { id } errors { path } } }"""
ALIAS_CREATE = """
mutation A($input: AliasCreateInput!) { aliasCreate(input: $input) { aliases errors { path } } }"""
ALIAS_DELETE = """
mutation A($input: AliasDeleteInput!) { aliasDelete(input: $input) { deletedAlias errors { path } } }"""


def links(fake: FakeOpsLevel, definition: str | None = None) -> set[tuple[str, str]]:
    return {(r["source"]["alias"], r["target"]["alias"]) for r in fake.relationships(definition)}


def seed_scenario(fake: FakeOpsLevel) -> None:
    """The seed's example: two services, Sentry issues pointing at them by project slug."""
    fake.add_component_type("sentry_issue", "Sentry Issue", ISSUE_PROPERTIES)
    fake.add_component("Backend API", aliases=["backend-api"])
    fake.add_component("Frontend Web", aliases=["frontend-web"])
    slugs: dict[str, list[str] | None] = {
        "i1": ["backend-api"],
        "i2": ["frontend-web"],
        "i3": ["backend-api"],
        "i4": ["billing"],
        "i5": [],
        "i6": None,  # unset
    }
    for alias, slug in slugs.items():
        properties = {"project_slug": slug} if slug is not None else {}
        fake.add_component(f"Issue {alias}", "sentry_issue", [alias], properties)


def assign(gql: Any, owner: str, definition: str, value: Any) -> None:
    body = gql(
        ASSIGN,
        {
            "input": {
                "owner": {"alias": owner},
                "definition": {"alias": definition},
                "value": json.dumps(value),
            }
        },
    )
    assert body["data"]["propertyAssign"]["errors"] == [], body


def create_reldef(gql: Any, **input: Any) -> str:
    body = gql(RELDEF_CREATE, {"input": input})
    assert body["data"]["relationshipDefinitionCreate"]["errors"] == [], body
    return str(body["data"]["relationshipDefinitionCreate"]["definition"]["id"])


def test_seed_scenario_links_services_to_their_sentry_issues(opslevel: FakeOpsLevel, gql: Any) -> None:
    seed_scenario(opslevel)
    assert opslevel.relationships() == []  # components alone link nothing
    # The definition is created after the components: they are linked all the same.
    create_reldef(
        gql,
        alias="sentry_issues",
        name="Sentry Issues",
        componentType={"alias": "service"},
        metadata={"allowedTypes": ["sentry_issue"]},
        managementRules=[SLUG_RULE],
    )
    assert links(opslevel) == {("backend-api", "i1"), ("backend-api", "i3"), ("frontend-web", "i2")}
    relationships = opslevel.relationships("sentry_issues")
    assert [(r["source"]["alias"], r["target"]["alias"]) for r in relationships] == [
        ("backend-api", "i1"),
        ("backend-api", "i3"),
        ("frontend-web", "i2"),
    ]
    first = relationships[0]
    assert first["definition"] == "sentry_issues" and first["type"] == "related_to"
    assert first["source"]["name"] == "Backend API" and first["source"]["aliases"] == [
        "backend_api",
        "backend-api",
    ]
    backend = opslevel.component_by_alias("backend-api")
    assert first["source"]["id"] == backend["id"]  # type: ignore[index]
    related = opslevel.related("backend-api", "sentry_issues")
    assert [c["managedAliases"] for c in related] == [["i1"], ["i3"]]
    assert related[0] == opslevel.component_by_alias("i1")
    assert opslevel.related("backend_api", "sentry_issues") == related  # any alias, or the id
    assert opslevel.related(backend["id"], "sentry_issues") == related  # type: ignore[index]
    assert opslevel.related("i1", "sentry_issues") == []  # issues are targets, not sources
    with pytest.raises(KeyError):
        opslevel.related("nope", "sentry_issues")
    with pytest.raises(KeyError):
        opslevel.relationships("nope")


def test_links_follow_mutations(opslevel: FakeOpsLevel, gql: Any) -> None:
    seed_scenario(opslevel)
    opslevel.add_relationship_definition(
        "sentry_issues",
        "Sentry Issues",
        "service",
        allowed_types=["sentry_issue"],
        management_rules=[SLUG_RULE],
    )
    assert links(opslevel) == {("backend-api", "i1"), ("backend-api", "i3"), ("frontend-web", "i2")}
    # property reassigned to another slug: the link moves
    assign(gql, "i1", "project_slug", ["frontend-web"])
    assert links(opslevel) == {("frontend-web", "i1"), ("backend-api", "i3"), ("frontend-web", "i2")}
    # a list naming both services links to both
    assign(gql, "i2", "project_slug", ["backend-api", "frontend-web"])
    assert ("backend-api", "i2") in links(opslevel) and ("frontend-web", "i2") in links(opslevel)
    # component deleted: its links go
    assert gql(SERVICE_DELETE, {"input": {"alias": "i3"}})["data"]["serviceDelete"]["errors"] == []
    assert links(opslevel) == {("frontend-web", "i1"), ("backend-api", "i2"), ("frontend-web", "i2")}
    # property unassigned
    assert (
        gql(UNASSIGN, {"owner": {"alias": "i2"}, "definition": {"alias": "project_slug"}})["data"][
            "propertyUnassign"
        ]["errors"]
        == []
    )
    assert links(opslevel) == {("frontend-web", "i1")}
    # a new alias on a service (the source side) links the issues naming it; deleting it unlinks
    backend_id = opslevel.component_by_alias("backend-api")["id"]  # type: ignore[index]
    gql(ALIAS_CREATE, {"input": {"alias": "billing", "ownerId": backend_id}})
    assert links(opslevel) == {("frontend-web", "i1"), ("backend-api", "i4")}
    gql(ALIAS_DELETE, {"input": {"alias": "billing", "ownerType": "service"}})
    assert links(opslevel) == {("frontend-web", "i1")}
    # a new issue, created and filled over GraphQL
    created = gql(
        'mutation { serviceCreate(input: {name: "Issue 7", type: {alias: "sentry_issue"}}) { service { id } } }'
    )["data"]["serviceCreate"]["service"]
    gql(ALIAS_CREATE, {"input": {"alias": "i7", "ownerId": created["id"]}})
    assign(gql, "i7", "project_slug", ["backend-api"])
    assert links(opslevel) == {("frontend-web", "i1"), ("backend-api", "i7")}
    # the issue changes type: it is no longer a candidate target
    opslevel.add_component_type("other", "Other")
    gql(SERVICE_UPDATE, {"input": {"alias": "i7", "type": {"alias": "other"}}})
    assert links(opslevel) == {("frontend-web", "i1")}
    # the target type is renamed: the rule's targetType no longer names it
    gql(
        'mutation { componentTypeUpdate(componentType: {alias: "sentry_issue"}, input: {alias: "sentry_issue_v2"}) '
        "{ errors { path } } }"
    )
    assert links(opslevel) == set()


def test_definition_update_and_delete_relink(opslevel: FakeOpsLevel, gql: Any) -> None:
    seed_scenario(opslevel)
    reldef_id = create_reldef(
        gql,
        alias="sentry_issues",
        name="Sentry Issues",
        componentType={"alias": "service"},
        metadata={"allowedTypes": ["sentry_issue"]},
        managementRules=[SLUG_RULE],
    )
    assert len(opslevel.relationships()) == 3
    # A second rule AND-ed: only issues whose url also holds the service's id.
    assign(gql, "i1", "url", "backend_api")
    url_rule = {
        "operator": "EQUALS",
        "sourceProperty": "id",
        "sourcePropertyBuiltin": True,
        "targetProperty": "url",
        "targetPropertyBuiltin": False,
        "targetType": "sentry_issue",
    }
    backend_id = opslevel.component_by_alias("backend-api")["id"]  # type: ignore[index]
    assign(gql, "i3", "url", backend_id)
    body = gql(
        RELDEF_UPDATE, {"ident": {"id": reldef_id}, "input": {"managementRules": [SLUG_RULE, url_rule]}}
    )
    assert body["data"]["relationshipDefinitionUpdate"]["errors"] == []
    assert links(opslevel) == {("backend-api", "i3")}
    # no rules: nothing is managed
    gql(RELDEF_UPDATE, {"ident": {"alias": "sentry_issues"}, "input": {"managementRules": []}})
    assert opslevel.relationships() == []
    gql(RELDEF_UPDATE, {"ident": {"alias": "sentry_issues"}, "input": {"managementRules": [SLUG_RULE]}})
    assert len(opslevel.relationships()) == 3
    assert gql(RELDEF_DELETE, {"ident": {"alias": "sentry_issues"}})["data"][
        "relationshipDefinitionDelete"
    ] == {
        "deletedId": reldef_id,
        "errors": [],
    }
    assert opslevel.relationships() == []


def test_equals_on_custom_text_property(opslevel: FakeOpsLevel) -> None:
    opslevel.add_component_type("sentry_issue", "Sentry Issue", ISSUE_PROPERTIES)
    opslevel.add_component_type(
        "service", "Service", {"sentry_project": {"name": "Sentry Project", "schema": {"type": "string"}}}
    )
    opslevel.add_component("Backend", aliases=["backend"], properties={"sentry_project": "backend"})
    opslevel.add_component("Payments", aliases=["payments"], properties={"sentry_project": "Payments"})
    opslevel.add_component("Unset", aliases=["unset"])
    opslevel.add_component("Issue 1", "sentry_issue", ["i1"], {"project": "backend"})
    opslevel.add_component("Issue 2", "sentry_issue", ["i2"], {"project": "payments"})  # case differs
    opslevel.add_component("Issue 3", "sentry_issue", ["i3"], {"project_slug": ["backend"]})
    opslevel.add_component("Issue 4", "sentry_issue", ["i4"], {"project": "Payments"})
    opslevel.add_relationship_definition(
        "issues_by_project",
        "Issues by project",
        "service",
        allowed_types=["sentry_issue"],  # targetType null: allowedTypes decide the candidates
        management_rules=[
            {
                "operator": "EQUALS",
                "sourceProperty": "sentry_project",
                "sourcePropertyBuiltin": False,
                "targetProperty": "project",
                "targetPropertyBuiltin": False,
                "targetType": None,
            }
        ],
    )
    assert links(opslevel) == {("backend", "i1"), ("payments", "i4")}
    # EQUALS between a scalar and a one-element list matches; a longer list does not
    opslevel.add_relationship_definition(
        "issues_by_slug",
        "Issues by slug",
        "service",
        allowed_types=["sentry_issue"],
        management_rules=[
            {
                "operator": "EQUALS",
                "sourceProperty": "sentry_project",
                "sourcePropertyBuiltin": False,
                "targetProperty": "project_slug",
                "targetPropertyBuiltin": False,
            }
        ],
    )
    assert links(opslevel, "issues_by_slug") == {("backend", "i3")}
    opslevel.add_component("Issue 5", "sentry_issue", ["i5"], {"project_slug": ["backend", "payments"]})
    assert links(opslevel, "issues_by_slug") == {("backend", "i3")}


def test_builtin_equals_and_type_restrictions(opslevel: FakeOpsLevel) -> None:
    opslevel.add_component_type("sentry_issue", "Sentry Issue", ISSUE_PROPERTIES)
    opslevel.add_component_type("deployment", "Deployment")
    opslevel.add_component("Api", aliases=["api"], owner="team-a", language="python")
    opslevel.add_component("Web", aliases=["web"], owner="team-b")
    opslevel.add_component("Issue A", "sentry_issue", ["ia"], owner="team-a")
    opslevel.add_component("Deploy A", "deployment", ["da"], owner="team-a")
    rule = {
        "operator": "EQUALS",
        "sourceProperty": "owner",
        "sourcePropertyBuiltin": True,
        "targetProperty": "owner",
        "targetPropertyBuiltin": True,
    }
    # allowedTypes empty and targetType null: any component type, never the source itself
    opslevel.add_relationship_definition("same_owner", "Same owner", "service", management_rules=[rule])
    assert links(opslevel, "same_owner") == {("api", "ia"), ("api", "da")}
    opslevel.add_relationship_definition(
        "same_owner_deployments",
        "Same owner deployments",
        "service",
        management_rules=[{**rule, "targetType": "deployment"}],
    )
    assert links(opslevel, "same_owner_deployments") == {("api", "da")}
    # allowedTypes naming only team/user (not modelled) match nothing
    opslevel.add_relationship_definition(
        "owner_team", "Owner team", "service", allowed_types=["team"], management_rules=[rule]
    )
    assert links(opslevel, "owner_team") == set()
    # unknown built-ins and unset values never match
    opslevel.add_relationship_definition(
        "nonsense",
        "Nonsense",
        "service",
        management_rules=[{**rule, "sourceProperty": "nope", "targetProperty": "nope"}],
    )
    assert links(opslevel, "nonsense") == set()


def test_operator_semantics() -> None:
    assert _rules.matches("EQUALS", "a", "a") and not _rules.matches("EQUALS", "a", "A")
    assert _rules.matches("EQUALS", ["a", "b"], ["a", "b"]) and not _rules.matches(
        "EQUALS", ["a", "b"], ["b", "a"]
    )
    assert _rules.matches("EQUALS", "a", ["a"]) and _rules.matches("EQUALS", ["a"], "a")
    assert not _rules.matches("EQUALS", "a", ["a", "b"])
    assert not _rules.matches("EQUALS", 1, "1") and not _rules.matches("EQUALS", True, 1)
    assert _rules.matches("EQUALS", 1, 1.0) and _rules.matches("EQUALS", {"a": [1]}, {"a": [1]})
    assert not _rules.matches("EQUALS", None, None)
    assert _rules.matches("ARRAY_CONTAINS", ["x", "backend-api"], ["backend-api"])
    assert _rules.matches("ARRAY_CONTAINS", ["x", "backend-api"], "backend-api")
    assert _rules.matches("ARRAY_CONTAINS", ["x", "y"], ["z", "y"])
    assert not _rules.matches("ARRAY_CONTAINS", ["x"], [])
    assert not _rules.matches("ARRAY_CONTAINS", "backend-api", "backend-api")  # source must be a list
    assert not _rules.matches("ARRAY_CONTAINS", ["Backend-API"], "backend-api")


def test_managed_relationships_over_graphql_and_in_snapshots(opslevel: FakeOpsLevel, gql: Any) -> None:
    seed_scenario(opslevel)
    opslevel.add_relationship_definition(
        "sentry_issues",
        "Sentry Issues",
        "service",
        allowed_types=["sentry_issue"],
        management_rules=[SLUG_RULE],
    )
    managed = opslevel.relationships()
    query = """
    query G($id: ID!) {
      account { relationship(id: $id) { id type source { ... on Service { aliases } } target { ... on Service { aliases } } } }
    }"""
    body = gql(query, {"id": managed[0]["id"]})
    assert "errors" not in body and response_problems(load_schema(), query, body["data"]) == []
    assert body["data"]["account"]["relationship"] == {
        "id": managed[0]["id"],
        "type": "related_to",
        "source": {"aliases": ["backend_api", "backend-api"]},
        "target": {"aliases": ["issue_i1", "i1"]},
    }
    # ids are stable across recomputation, and managed relationships cannot be deleted by hand
    assign(gql, "i4", "project_slug", ["billing"])
    assert opslevel.relationships()[0]["id"] == managed[0]["id"]
    delete = (
        "mutation D($id: ID!) { relationshipDelete(input: {id: $id}) { deletedId errors { message path } } }"
    )
    refused = gql(delete, {"id": managed[0]["id"]})["data"]["relationshipDelete"]
    assert refused["deletedId"] is None and refused["errors"][0]["path"] == ["id"]
    assert opslevel.relationships() == managed
    # snapshot and the debug endpoint carry them; seeding derives them again
    snapshot = requests.get(f"{opslevel.url}/__catalog", timeout=10).json()
    assert snapshot["managedRelationships"] == managed == opslevel.snapshot()["managedRelationships"]
    assert snapshot["relationships"] == []  # only relationshipCreate ones, which seed() replays
    copy = FakeOpsLevel()
    copy.seed(snapshot)
    assert copy.relationships() == managed


def test_bulk_sync_evaluates_lazily_and_fast(opslevel: FakeOpsLevel, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    evaluate = _rules.evaluate

    def counting(cat: Any, reldef: Any) -> list[tuple[str, str]]:
        calls.append(reldef.alias)
        return evaluate(cat, reldef)

    monkeypatch.setattr(_rules, "evaluate", counting)
    opslevel.add_component_type("sentry_issue", "Sentry Issue", ISSUE_PROPERTIES)
    opslevel.add_relationship_definition(
        "sentry_issues",
        "Sentry Issues",
        "service",
        allowed_types=["sentry_issue"],
        management_rules=[SLUG_RULE],
    )
    for n in range(100):
        opslevel.add_component(f"Service {n}", aliases=[f"svc-{n}"])
    started = time.perf_counter()
    for n in range(10_000):
        opslevel.add_component(
            f"Issue {n}", "sentry_issue", [f"i{n}"], {"project_slug": [f"svc-{n % 100}", "x"]}
        )
    assert calls == []  # nothing read yet: nothing evaluated
    relationships = opslevel.relationships()
    elapsed = time.perf_counter() - started
    assert calls == ["sentry_issues"]
    assert len(relationships) == 10_000
    assert len(opslevel.related("svc-7", "sentry_issues")) == 100
    opslevel.relationships()
    assert calls == ["sentry_issues"]  # unchanged catalog: no re-evaluation
    started = time.perf_counter()
    opslevel.catalog.create_alias("x", opslevel.component_by_alias("svc-0")["id"])  # type: ignore[index]
    assert len(opslevel.relationships()) == 19_900  # every issue also names "x" (svc-0's own: once)
    recompute = time.perf_counter() - started
    assert calls == ["sentry_issues", "sentry_issues"]
    print(f"10,000 issues: seed + first evaluation {elapsed:.2f}s, re-evaluation {recompute:.3f}s")
    assert recompute < 2.0
