"""GraphQL shapes an integration sends in bulk: big paged listings, batched aliased mutations and
lookups, component type / property / relationship definition round trips."""

from __future__ import annotations

import json
import time
from typing import Any

from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.testing._graphql_schema import load_schema
from airflow_provider_opslevel.testing.conformance import response_problems

LIST_BY_TYPE = """
query ComponentsOfType($typeId: String!, $after: String!) {
  account {
    services(first: 500, after: $after, filter: [{key: component_type_id, arg: $typeId, type: equals}]) {
      nodes {
        id name description aliases managedAliases
        type { id aliases } owner { id alias } lifecycle { alias } tier { alias }
        framework language product
        tags(first: 100) { nodes { id key value } pageInfo { hasNextPage endCursor } }
        properties(first: 100) { nodes { definition { id aliases } value locked } pageInfo { hasNextPage endCursor } }
      }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }
}"""
ISSUE_PROPERTIES = {
    "url": {"name": "URL", "schema": {"type": "string"}},
    "substatus": {"name": "Substatus", "schema": {"type": ["string", "null"]}},
    "project_slug": {"name": "Project Slug", "schema": {"type": "array", "items": {"type": "string"}}},
}
SERVICE_FIELDS = "{ id name aliases }"


def test_paged_listing_of_10000_components_of_one_type(opslevel: FakeOpsLevel, gql: Any) -> None:
    type_id = opslevel.add_component_type("sentry_issue", "Sentry Issue", ISSUE_PROPERTIES)["id"]
    opslevel.add_component("A plain service")  # another type: filtered out
    for n in range(10_000):
        opslevel.add_component(
            f"Issue {n}",
            "sentry_issue",
            [f"sentry-{n}"],
            {"url": f"https://sentry.example/{n}", "substatus": None, "project_slug": [f"p{n % 7}"]},
            locked_properties=["url"] if n % 2 else (),
            tags={"env": "prod"},
            owner="platform",
            lifecycle="beta",
            tier="tier_2",
        )
    after = ""
    timings: list[float] = []
    nodes: list[dict[str, Any]] = []
    while True:
        started = time.perf_counter()
        body = gql(LIST_BY_TYPE, {"typeId": type_id, "after": after})
        timings.append(time.perf_counter() - started)
        assert "errors" not in body, body["errors"][:3]
        page = body["data"]["account"]["services"]
        if not nodes:
            assert response_problems(load_schema(), LIST_BY_TYPE, body["data"]) == []
        assert page["totalCount"] == 10_000 and len(page["nodes"]) == 500
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    print(
        f"\n20 pages of 500: total {sum(timings):.2f}s, mean {sum(timings) / 20:.3f}s, max {max(timings):.3f}s"
    )
    assert len(timings) == 20 and max(timings) < 3.0
    assert len({n["id"] for n in nodes}) == 10_000
    assert [n["name"] for n in nodes[:2]] == ["Issue 0", "Issue 1"] and nodes[-1]["name"] == "Issue 9999"
    last = nodes[-1]
    assert last["aliases"] == ["issue_9999", "sentry-9999"] and last["managedAliases"] == ["sentry-9999"]
    assert last["type"] == {"id": type_id, "aliases": ["sentry_issue"]}
    assert last["owner"]["alias"] == "platform"
    assert (last["lifecycle"], last["tier"]) == ({"alias": "beta"}, {"alias": "tier_2"})
    assert [(t["key"], t["value"]) for t in last["tags"]["nodes"]] == [("env", "prod")]
    assert last["tags"]["pageInfo"]["hasNextPage"] is False
    properties = {p["definition"]["aliases"][0]: p for p in last["properties"]["nodes"]}
    assert {alias: json.loads(p["value"]) for alias, p in properties.items()} == {
        "url": "https://sentry.example/9999",
        "substatus": None,
        "project_slug": ["p3"],
    }
    assert properties["url"]["locked"] is True and properties["substatus"]["locked"] is False
    assert last["properties"]["pageInfo"] == {"hasNextPage": False, "endCursor": "Mw"}


def batch_document(fields: list[tuple[str, str, str]]) -> str:
    """``mutation Batch($input0: T0!, ...) { m0: field(input: $input0) {...} ... }``."""
    declarations = ", ".join(f"$input{n}: {type_}!" for n, (_, type_, _) in enumerate(fields))
    body = "\n".join(
        f"  m{n}: {field}(input: $input{n}) {selection}" for n, (field, _, selection) in enumerate(fields)
    )
    return f"mutation Batch({declarations}) {{\n{body}\n}}"


def test_batched_aliased_mutations_execute_independently(opslevel: FakeOpsLevel, gql: Any) -> None:
    opslevel.add_component_type("sentry_issue", "Sentry Issue", ISSUE_PROPERTIES)
    issues = [opslevel.add_component(f"Issue {n}", "sentry_issue") for n in range(50)]
    opslevel.add_component("Holder", aliases=["taken"])
    fields: list[tuple[str, str, str]] = []
    variables: dict[str, Any] = {}
    errors = "errors { message path }"
    for n in range(50):
        fields.append(("propertyAssign", "PropertyInput", f"{{ property {{ value }} {errors} }}"))
        definition = "nope" if n == 7 else "url"  # one unknown definition
        variables[f"input{len(fields) - 1}"] = {
            "owner": {"id": issues[n]["id"]},
            "definition": {"alias": definition},
            "value": json.dumps(f"https://sentry.example/{n}"),
        }
        fields.append(("aliasCreate", "AliasCreateInput", f"{{ aliases ownerId {errors} }}"))
        alias = "taken" if n == 3 else f"sentry-{n}"  # one alias held by another component
        variables[f"input{len(fields) - 1}"] = {"alias": alias, "ownerId": issues[n]["id"]}
        fields.append(("serviceCreate", "ServiceCreateInput", f"{{ service {SERVICE_FIELDS} {errors} }}"))
        name = "" if n == 5 else f"New {n}"  # one blank name
        variables[f"input{len(fields) - 1}"] = {"name": name, "type": {"alias": "sentry_issue"}}
    document = batch_document(fields)
    started = time.perf_counter()
    body = gql(document, variables)
    elapsed = time.perf_counter() - started
    assert "errors" not in body and response_problems(load_schema(), document, body["data"]) == []
    data = body["data"]
    assert len(data) == 150 and elapsed < 3.0
    failed = {key for key, payload in data.items() if payload["errors"]}
    assert failed == {f"m{7 * 3}", f"m{3 * 3 + 1}", f"m{5 * 3 + 2}"}
    assert data["m21"] == {
        "property": None,
        "errors": [{"message": "'nope' does not identify a property definition", "path": ["definition"]}],
    }
    assert data["m10"]["aliases"] is None and data["m10"]["errors"][0]["path"] == ["alias"]
    assert data["m17"]["service"] is None and data["m17"]["errors"][0]["path"] == ["name"]
    # the others took effect
    assert data["m0"] == {"property": {"value": '"https://sentry.example/0"'}, "errors": []}
    assert data["m1"]["aliases"] == ["issue_0", "sentry-0"]
    assert data["m2"]["service"]["name"] == "New 0"
    by_alias = {c["name"]: c for c in opslevel.components()}
    assert by_alias["Issue 8"]["properties"] == {"url": "https://sentry.example/8"}
    assert by_alias["Issue 7"]["properties"] == {} and by_alias["Issue 3"]["managedAliases"] == []
    assert len([name for name in by_alias if name.startswith("New ")]) == 49
    # A variable that does not coerce (value must be a JSON *string*) rejects the whole document:
    # GraphQL coerces every variable before executing any field.
    variables["input0"] = {**variables["input0"], "value": 42}
    rejected = gql(document, variables)
    assert "data" not in rejected and rejected["errors"]
    assert len(opslevel.components()) == 50 + 1 + 49


def test_many_aliased_lookups_in_one_document(opslevel: FakeOpsLevel, gql: Any) -> None:
    for n in range(200):
        opslevel.add_component(f"Service {n}", aliases=[f"svc-{n}"])
    wanted = [f"svc-{n}" for n in range(0, 400, 2)]  # half of them do not exist
    declarations = ", ".join(f"$a{n}: String!" for n in range(len(wanted)))
    lookups = "\n".join(
        f"    s{n}: service(alias: $a{n}) {{ id name aliases managedAliases type {{ aliases }} }}"
        for n in range(len(wanted))
    )
    # one field that raises: its error names its alias, the other fields are unaffected
    query = (
        f"query Lookups({declarations}) {{\n  account {{\n{lookups}\n"
        '    bad: services(after: "!!") { totalCount }\n  }\n}'
    )
    variables = {f"a{n}": alias for n, alias in enumerate(wanted)}
    started = time.perf_counter()
    body = gql(query, variables)
    elapsed = time.perf_counter() - started
    account = body["data"]["account"]
    assert len(account) == 201 and elapsed < 3.0
    assert [e["path"] for e in body["errors"]] == [["account", "bad"]]
    assert account["bad"] is None
    found = {key: value for key, value in account.items() if key != "bad" and value is not None}
    assert len(found) == 100
    assert account["s0"] == {
        "id": opslevel.component_by_alias("svc-0")["id"],  # type: ignore[index]
        "name": "Service 0",
        "aliases": ["service_0", "svc-0"],
        "managedAliases": ["svc-0"],
        "type": {"aliases": ["service"]},
    }
    assert account["s99"]["name"] == "Service 198" and account["s100"] is None


def test_component_type_properties_and_definitions_round_trip(opslevel: FakeOpsLevel, gql: Any) -> None:
    type_query = """
    query T($alias: String!) {
      account { componentType(input: {alias: $alias}) {
        id aliases name
        properties(first: 100) { nodes { id aliases name schema lockedStatus } pageInfo { hasNextPage endCursor } }
      } }
    }"""
    # propertyDefinitionCreate cannot name a component type (PropertyDefinitionInput has no such
    # field): it defines on the default type. lockedStatus round-trips.
    create = """
    mutation P($input: PropertyDefinitionInput!) {
      propertyDefinitionCreate(input: $input) { definition { id aliases name lockedStatus schema } errors { message path } }
    }"""
    body = gql(
        create,
        {
            "input": {
                "name": "Sentry Project",
                "schema": json.dumps({"type": "string"}),
                "lockedStatus": "ui_locked",
            }
        },
    )
    assert "errors" not in body and response_problems(load_schema(), create, body["data"]) == []
    definition = body["data"]["propertyDefinitionCreate"]["definition"]
    assert definition["lockedStatus"] == "ui_locked" and definition["aliases"] == ["sentry_project"]
    service = gql(type_query, {"alias": "service"})["data"]["account"]["componentType"]
    assert service["properties"]["nodes"] == [
        {
            "id": definition["id"],
            "aliases": ["sentry_project"],
            "name": "Sentry Project",
            "schema": {"type": "string"},
            "lockedStatus": "ui_locked",
        }
    ]
    # Binding definitions to a custom type goes through ComponentTypeInput.properties.
    type_create = """
    mutation C($input: ComponentTypeInput!) { componentTypeCreate(input: $input) { componentType { id } errors { message path } } }"""
    type_update = """
    mutation U($type: IdentifierInput!, $input: ComponentTypeInput!) {
      componentTypeUpdate(componentType: $type, input: $input) { componentType { id } errors { message path } }
    }"""

    def prop(alias: str, name: str, schema: dict[str, Any], locked: str) -> dict[str, Any]:
        return {
            "alias": alias,
            "name": name,
            "description": "",
            "allowedInConfigFiles": False,
            "propertyDisplayStatus": "visible",
            "lockedStatus": locked,
            "schema": json.dumps(schema),
        }

    created = gql(
        type_create,
        {
            "input": {
                "alias": "sentry_issue",
                "name": "Sentry Issue",
                "properties": [prop("url", "URL", {"type": "string"}, "ui_locked")],
            }
        },
    )["data"]["componentTypeCreate"]
    assert created["errors"] == []
    updated = gql(
        type_update,
        {
            "type": {"alias": "sentry_issue"},
            "input": {
                "properties": [
                    prop("url", "URL", {"type": "string", "format": "uri"}, "unlocked"),
                    prop(
                        "project_slug",
                        "Project Slug",
                        {"type": "array", "items": {"type": "string"}},
                        "ui_locked",
                    ),
                ]
            },
        },
    )["data"]["componentTypeUpdate"]
    assert updated == {"componentType": {"id": created["componentType"]["id"]}, "errors": []}
    issue = gql(type_query, {"alias": "sentry_issue"})
    assert response_problems(load_schema(), type_query, issue["data"]) == []
    nodes = issue["data"]["account"]["componentType"]["properties"]["nodes"]
    assert [(n["aliases"], n["lockedStatus"], n["schema"]) for n in nodes] == [
        (["url"], "unlocked", {"type": "string", "format": "uri"}),
        (["project_slug"], "ui_locked", {"type": "array", "items": {"type": "string"}}),
    ]
    # propertyDefinitionUpdate by id changes lockedStatus only
    definition_update = """
    mutation D($def: IdentifierInput!, $input: PropertyDefinitionInput!) {
      propertyDefinitionUpdate(propertyDefinition: $def, input: $input) { definition { lockedStatus name } errors { path } }
    }"""
    body = gql(definition_update, {"def": {"id": nodes[0]["id"]}, "input": {"lockedStatus": "ui_locked"}})
    assert body["data"]["propertyDefinitionUpdate"] == {
        "definition": {"lockedStatus": "ui_locked", "name": "URL"},
        "errors": [],
    }
    assert gql(type_query, {"alias": "nope"})["data"]["account"]["componentType"] is None


def test_relationship_definition_round_trip_with_management_rules(opslevel: FakeOpsLevel, gql: Any) -> None:
    opslevel.add_component_type("sentry_issue", "Sentry Issue", ISSUE_PROPERTIES)
    opslevel.add_component("Backend API", aliases=["backend-api"])
    opslevel.add_component("Issue 1", "sentry_issue", ["i1"], {"project_slug": ["backend-api"]})
    fields = """
      id alias name description
      componentType { aliases }
      metadata { allowedTypes allowedCategories minItems maxItems }
      managementRules { operator sourceProperty sourcePropertyBuiltin targetProperty targetPropertyBuiltin targetType targetCategory }
    """
    create = (
        "mutation C($input: RelationshipDefinitionInput!) {"
        f" relationshipDefinitionCreate(input: $input) {{ definition {{ {fields} }} errors {{ message path }} }} }}"
    )
    update = (
        "mutation U($ident: IdentifierInput!, $input: RelationshipDefinitionInput!) {"
        " relationshipDefinitionUpdate(relationshipDefinition: $ident, input: $input)"
        f" {{ definition {{ {fields} }} errors {{ message path }} }} }}"
    )
    get = f"query G($alias: String!) {{ account {{ relationshipDefinition(input: {{alias: $alias}}) {{ {fields} }} }} }}"
    rule = {
        "operator": "ARRAY_CONTAINS",
        "sourceProperty": "aliases",
        "sourcePropertyBuiltin": True,
        "targetProperty": "project_slug",
        "targetPropertyBuiltin": False,
        "targetType": "sentry_issue",
    }
    body = gql(
        create,
        {
            "input": {
                "alias": "sentry_issues",
                "name": "Sentry Issues",
                "description": "Issues reported for this service",
                "componentType": {"alias": "service"},
                "metadata": {"allowedTypes": ["sentry_issue"], "minItems": 0},
                "managementRules": [rule],
            }
        },
    )
    assert "errors" not in body and response_problems(load_schema(), create, body["data"]) == []
    created = body["data"]["relationshipDefinitionCreate"]
    assert created["errors"] == []
    expected = {
        "id": created["definition"]["id"],
        "alias": "sentry_issues",
        "name": "Sentry Issues",
        "description": "Issues reported for this service",
        "componentType": {"aliases": ["service"]},
        "metadata": {
            "allowedTypes": ["sentry_issue"],
            "allowedCategories": [],
            "minItems": 0,
            "maxItems": None,
        },
        "managementRules": [{**rule, "targetCategory": None}],
    }
    assert created["definition"] == expected
    assert gql(get, {"alias": "sentry_issues"})["data"]["account"]["relationshipDefinition"] == expected
    assert [(r["source"]["alias"], r["target"]["alias"]) for r in opslevel.relationships()] == [
        ("backend-api", "i1")
    ]
    # update: an EQUALS rule (operator defaults to EQUALS) on the name replaces the rules
    equals_rule = {
        "sourceProperty": "name",
        "sourcePropertyBuiltin": True,
        "targetProperty": "url",
        "targetPropertyBuiltin": False,
        "targetType": "sentry_issue",
    }
    body = gql(
        update,
        {"ident": {"alias": "sentry_issues"}, "input": {"managementRules": [equals_rule], "name": "Issues"}},
    )
    updated = body["data"]["relationshipDefinitionUpdate"]
    assert updated["errors"] == []
    assert updated["definition"]["managementRules"] == [
        {**equals_rule, "operator": "EQUALS", "targetCategory": None}
    ]
    assert (
        updated["definition"]["name"] == "Issues"
        and updated["definition"]["metadata"] == expected["metadata"]
    )
    assert (
        gql(get, {"alias": "sentry_issues"})["data"]["account"]["relationshipDefinition"]
        == updated["definition"]
    )
    assert opslevel.relationships() == []
    opslevel.add_component("Issue 2", "sentry_issue", ["i2"], {"url": "Backend API"})
    assert [(r["source"]["alias"], r["target"]["alias"]) for r in opslevel.relationships()] == [
        ("backend-api", "i2")
    ]
