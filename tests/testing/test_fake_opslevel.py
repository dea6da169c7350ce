"""FakeOpsLevel over real HTTP: auth, validation, component upsert semantics, pagination."""

from __future__ import annotations

import json
import threading
from typing import Any

import requests

from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.testing._graphql_schema import load_schema
from airflow_provider_opslevel.testing.conformance import response_problems

SERVICE_CREATE = """
mutation Create($input: ServiceCreateInput!) {
  serviceCreate(input: $input) {
    service { id name aliases managedAliases description type { id aliases isDefault } }
    errors { message path }
  }
}
"""
ALIAS_CREATE = """
mutation AliasCreate($input: AliasCreateInput!) {
  aliasCreate(input: $input) { aliases ownerId errors { message path } }
}
"""
PROPERTY_ASSIGN = """
mutation Assign($input: PropertyInput!) {
  propertyAssign(input: $input) {
    property { definition { id aliases } value locked validationErrors { message path } owner { __typename ... on Service { id } } }
    errors { message path }
  }
}
"""
COMPONENT_GET = """
query Get($alias: String!) {
  account {
    service(alias: $alias) {
      id name aliases managedAliases description product
      type { id aliases }
      tags { nodes { id key value } }
      properties(first: 100) { nodes { definition { aliases } value locked } pageInfo { hasNextPage endCursor } }
      url: property(definition: {alias: "url"}) { value }
    }
  }
}
"""
SERVICES_BY_TYPE = """
query List($type: String!, $after: String!, $first: Int!) {
  account {
    services(filter: [{key: component_type_id, arg: $type, type: equals}], after: $after, first: $first) {
      nodes { id name }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount
    }
  }
}
"""

SENTRY_ISSUE_PROPERTIES = {
    "url": {"name": "URL", "schema": {"type": "string"}},
    "substatus": {"name": "Substatus", "schema": {"type": ["string", "null"]}},
    "project_slug": {"name": "Project Slug", "schema": {"type": "array", "items": {"type": "string"}}},
}


def add_sentry_issue_type(fake: FakeOpsLevel) -> str:
    return fake.add_component_type("sentry_issue", "Sentry Issue", SENTRY_ISSUE_PROPERTIES)["id"]


def conforms(query: str, body: dict[str, Any]) -> None:
    assert "errors" not in body, body
    assert response_problems(load_schema(), query, body["data"]) == []


def test_requests_without_the_token_get_401(opslevel: FakeOpsLevel) -> None:
    body = {"query": SERVICE_CREATE, "variables": {"input": {"name": "x"}}}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = requests.post(opslevel.graphql_url, json=body, headers=headers, timeout=10)
        assert response.status_code == 401
    assert opslevel.components() == []
    assert [r["status"] for r in opslevel.requests] == [401, 401]


def test_invalid_documents_are_rejected_and_change_nothing(opslevel: FakeOpsLevel, gql: Any) -> None:
    bad_field = 'mutation { serviceCreate(input: {name: "x"}) { service { id nope } errors { message } } }'
    body = gql(bad_field)
    assert "data" not in body
    assert "nope" in body["errors"][0]["message"] and body["errors"][0]["locations"]
    assert "errors" in gql("query { account { id ")  # syntax error
    # variables must coerce: value must be a JSON-encoded *string*, the type must exist
    add_sentry_issue_type(opslevel)
    opslevel.add_component("Issue", "sentry_issue")
    assign = {"owner": {"alias": "issue"}, "definition": {"alias": "url"}, "value": True}
    assert "errors" in gql(PROPERTY_ASSIGN, {"input": assign})
    assert "errors" in gql(PROPERTY_ASSIGN, {"input": {**assign, "value": "not json"}})
    assert "errors" in gql(SERVICE_CREATE, {"input": {"description": "no name"}})
    assert len(opslevel.rejected) == 5
    assert [c["name"] for c in opslevel.components()] == ["Issue"]
    assert opslevel.component_by_alias("issue")["properties"] == {}  # type: ignore[index]


def test_create_component_alias_and_properties(opslevel: FakeOpsLevel, gql: Any) -> None:
    type_id = add_sentry_issue_type(opslevel)
    created = gql(SERVICE_CREATE, {"input": {"name": "TypeError: boom", "type": {"alias": "sentry_issue"}}})
    conforms(SERVICE_CREATE, created)
    service = created["data"]["serviceCreate"]["service"]
    assert service["type"] == {"id": type_id, "aliases": ["sentry_issue"], "isDefault": False}
    assert service["aliases"] == ["typeerror_boom"] and service["managedAliases"] == []

    aliased = gql(ALIAS_CREATE, {"input": {"alias": "sentry-6500000001", "ownerId": service["id"]}})
    assert aliased["data"]["aliasCreate"] == {
        "aliases": ["typeerror_boom", "sentry-6500000001"],
        "ownerId": service["id"],
        "errors": [],
    }
    for alias, value in (
        ("url", "https://sentry.example/1"),
        ("project_slug", ["backend-api"]),
        ("substatus", None),
    ):
        owner = {"alias": "sentry-6500000001"}
        payload = gql(
            PROPERTY_ASSIGN,
            {"input": {"owner": owner, "definition": {"alias": alias}, "value": json.dumps(value)}},
        )
        conforms(PROPERTY_ASSIGN, payload)
        assigned = payload["data"]["propertyAssign"]
        assert assigned["errors"] == [] and assigned["property"]["validationErrors"] == []
        assert json.loads(assigned["property"]["value"]) == value
        assert assigned["property"]["owner"] == {"__typename": "Service", "id": service["id"]}

    got = gql(COMPONENT_GET, {"alias": "sentry-6500000001"})
    conforms(COMPONENT_GET, got)
    read = got["data"]["account"]["service"]
    assert {n["definition"]["aliases"][0]: json.loads(n["value"]) for n in read["properties"]["nodes"]} == {
        "url": "https://sentry.example/1",
        "project_slug": ["backend-api"],
        "substatus": None,
    }
    assert read["url"] == {"value": '"https://sentry.example/1"'}
    component = opslevel.component_by_alias("typeerror_boom")
    assert component is not None
    assert component["type"] == "sentry_issue"
    assert component["managedAliases"] == ["sentry-6500000001"]
    assert component["properties"]["project_slug"] == ["backend-api"]
    assert gql(COMPONENT_GET, {"alias": "missing"})["data"]["account"]["service"] is None


def test_property_errors_and_validation(opslevel: FakeOpsLevel, gql: Any) -> None:
    add_sentry_issue_type(opslevel)
    opslevel.add_component("Issue", "sentry_issue", aliases=["i1"])
    wrong_type = gql(
        PROPERTY_ASSIGN, {"input": {"owner": {"alias": "i1"}, "definition": {"alias": "url"}, "value": "42"}}
    )
    assigned = wrong_type["data"]["propertyAssign"]
    assert assigned["errors"] == []  # schema violations are not payload errors...
    assert assigned["property"]["value"] == "42"
    assert assigned["property"]["validationErrors"][0]["message"]  # ...they are stored with the value
    assert opslevel.component_by_alias("i1")["propertyErrors"]["url"]  # type: ignore[index]
    items = gql(
        PROPERTY_ASSIGN,
        {"input": {"owner": {"alias": "i1"}, "definition": {"alias": "project_slug"}, "value": "[1]"}},
    )
    assert items["data"]["propertyAssign"]["property"]["validationErrors"][0]["path"] == ["0"]
    unknown_def = gql(
        PROPERTY_ASSIGN, {"input": {"owner": {"alias": "i1"}, "definition": {"alias": "nope"}, "value": "1"}}
    )
    assert unknown_def["data"]["propertyAssign"] == {
        "property": None,
        "errors": [{"message": "'nope' does not identify a property definition", "path": ["definition"]}],
    }
    unknown_owner = gql(
        PROPERTY_ASSIGN, {"input": {"owner": {"alias": "i2"}, "definition": {"alias": "url"}, "value": "1"}}
    )
    assert unknown_owner["data"]["propertyAssign"]["errors"][0]["path"] == ["owner"]
    # a definition of another type is not assignable
    opslevel.add_component("Plain service", aliases=["svc"])
    other = gql(
        PROPERTY_ASSIGN,
        {"input": {"owner": {"alias": "svc"}, "definition": {"alias": "url"}, "value": '"x"'}},
    )
    assert other["data"]["propertyAssign"]["errors"][0]["path"] == ["definition"]


def test_locked_property_can_be_overwritten_by_the_integration(opslevel: FakeOpsLevel, gql: Any) -> None:
    add_sentry_issue_type(opslevel)
    opslevel.add_component("Issue", "sentry_issue", ["i1"], {"url": "old"}, locked_properties=["url"])
    payload = gql(
        PROPERTY_ASSIGN,
        {"input": {"owner": {"alias": "i1"}, "definition": {"alias": "url"}, "value": '"new"'}},
    )
    assert payload["data"]["propertyAssign"]["property"]["locked"] is True
    assert opslevel.component_by_alias("i1")["properties"] == {"url": "new"}  # type: ignore[index]


def test_alias_conflicts_are_payload_errors(opslevel: FakeOpsLevel, gql: Any) -> None:
    first = opslevel.add_component("First", aliases=["shared"])
    second = opslevel.add_component("Second")
    body = gql(ALIAS_CREATE, {"input": {"alias": "shared", "ownerId": second["id"]}})
    conflict = body["data"]["aliasCreate"]
    assert conflict["aliases"] is None and conflict["ownerId"] is None
    assert conflict["errors"][0]["path"] == ["alias"]
    # generated identifiers are aliases too
    taken = gql(ALIAS_CREATE, {"input": {"alias": "first", "ownerId": second["id"]}})["data"]["aliasCreate"]
    assert taken["errors"][0]["path"] == ["alias"]
    assert opslevel.component_by_alias("shared")["id"] == first["id"]  # type: ignore[index]
    unknown = gql(ALIAS_CREATE, {"input": {"alias": "x", "ownerId": "Z2lkOi8vb3BzbGV2ZWwvU2VydmljZS80MTc2"}})
    assert unknown["data"]["aliasCreate"]["errors"][0]["path"] == ["ownerId"]


def test_generated_identifiers_are_unique(opslevel: FakeOpsLevel) -> None:
    aliases = [opslevel.add_component("Foo Bar")["aliases"] for _ in range(3)]
    assert aliases == [["foo_bar"], ["foo_bar_2"], ["foo_bar_3"]]


def test_services_paginate_and_filter_by_component_type(opslevel: FakeOpsLevel, gql: Any) -> None:
    type_id = add_sentry_issue_type(opslevel)
    for n in range(7):
        opslevel.add_component(f"Issue {n}", "sentry_issue")
        if n % 2:
            opslevel.add_component(f"Service {n}")
    names, after, pages = [], "", 0
    while True:
        body = gql(SERVICES_BY_TYPE, {"type": type_id, "after": after, "first": 3})
        conforms(SERVICES_BY_TYPE, body)
        services = body["data"]["account"]["services"]
        assert services["totalCount"] == 7
        names += [n["name"] for n in services["nodes"]]
        pages += 1
        if not services["pageInfo"]["hasNextPage"]:
            break
        after = services["pageInfo"]["endCursor"]
    assert pages == 3 and names == [f"Issue {n}" for n in range(7)]
    everything = gql("{ account { services { totalCount nodes { name } } } }")["data"]["account"]["services"]
    assert everything["totalCount"] == 10
    bad_cursor = gql(SERVICES_BY_TYPE, {"type": type_id, "after": "!!", "first": 3})
    assert bad_cursor["errors"][0]["path"] == ["account", "services"]


def test_text_fields_come_back_html_escaped(opslevel: FakeOpsLevel, gql: Any) -> None:
    raw = 'Use <em>care</em> & "quotes" isn\'t it'
    opslevel.add_component("Escaped", aliases=["esc"], description=raw, product="A & B")
    service = gql(COMPONENT_GET, {"alias": "esc"})["data"]["account"]["service"]
    assert service["description"] == "Use &lt;em&gt;care&lt;/em&gt; &amp; &quot;quotes&quot; isn&#39;t it"
    assert service["product"] == "A &amp; B"
    assert opslevel.component_by_alias("esc")["description"] == raw  # type: ignore[index]


def test_service_update_changes_only_given_fields(opslevel: FakeOpsLevel, gql: Any) -> None:
    add_sentry_issue_type(opslevel)
    created = opslevel.add_component(
        "Api", aliases=["api"], description="old", language="python", tier="tier_1"
    )
    update = """
    mutation U($input: ServiceUpdateInput!) {
      serviceUpdate(input: $input) { service { name description language tier { alias index } type { aliases } } errors { path } }
    }"""
    body = gql(update, {"input": {"alias": "api", "description": "new", "type": {"alias": "sentry_issue"}}})
    conforms(update, body)
    assert body["data"]["serviceUpdate"]["service"] == {
        "name": "Api",
        "description": "new",
        "language": "python",
        "tier": {"alias": "tier_1", "index": 1},
        "type": {"aliases": ["sentry_issue"]},
    }
    missing = gql(update, {"input": {"id": "Z2lkOi8vb3BzbGV2ZWwvU2VydmljZS85OTk", "name": "x"}})
    assert missing["data"]["serviceUpdate"] == {"service": None, "errors": [{"path": ["id"]}]}
    unknown_type = gql(SERVICE_CREATE, {"input": {"name": "x", "type": {"alias": "nope"}}})
    assert unknown_type["data"]["serviceCreate"]["errors"][0]["path"] == ["type"]
    assert opslevel.component_by_alias("api")["id"] == created["id"]  # type: ignore[index]


def test_tags(opslevel: FakeOpsLevel, gql: Any) -> None:
    opslevel.add_component("Api", aliases=["api"], tags={"env": "prod"})
    assign = "mutation A($input: TagAssignInput!) { tagAssign(input: $input) { tags { id key value } errors { message path } } }"
    body = gql(
        assign,
        {
            "input": {
                "alias": "api",
                "tags": [{"key": "env", "value": "prod"}, {"key": "team", "value": "core"}],
            }
        },
    )
    tags = body["data"]["tagAssign"]["tags"]
    assert [(t["key"], t["value"]) for t in tags] == [("env", "prod"), ("team", "core")]
    create = "mutation C($input: TagCreateInput!) { tagCreate(input: $input) { tag { id } errors { message path } } }"
    duplicate = gql(create, {"input": {"alias": "api", "key": "env", "value": "prod"}})
    assert duplicate["data"]["tagCreate"]["errors"]
    bad_key = gql(create, {"input": {"alias": "api", "key": "Bad Key", "value": "v"}})
    assert bad_key["data"]["tagCreate"]["errors"][0]["path"] == ["key"]
    delete = "mutation D($input: TagDeleteInput!) { tagDelete(input: $input) { errors { message path } } }"
    assert gql(delete, {"input": {"id": tags[0]["id"]}})["data"]["tagDelete"]["errors"] == []
    assert opslevel.component_by_alias("api")["tags"] == [{"key": "team", "value": "core"}]  # type: ignore[index]


def test_delete_frees_aliases(opslevel: FakeOpsLevel, gql: Any) -> None:
    created = opslevel.add_component("Api", aliases=["api-svc"])
    delete = """
    mutation D($input: ServiceDeleteInput!) {
      serviceDelete(input: $input) { deletedServiceId deletedServiceAlias errors { path } }
    }"""
    body = gql(delete, {"input": {"alias": "api-svc"}})
    assert body["data"]["serviceDelete"] == {
        "deletedServiceId": created["id"],
        "deletedServiceAlias": "api",
        "errors": [],
    }
    assert opslevel.components() == []
    assert opslevel.add_component("Api", aliases=["api-svc"])["aliases"] == ["api", "api-svc"]
    assert gql(delete, {"input": {"alias": "gone"}})["data"]["serviceDelete"]["errors"] == [
        {"path": ["alias"]}
    ]


def test_definitions_and_component_types_round_trip(opslevel: FakeOpsLevel, gql: Any) -> None:
    create = """
    mutation P($input: PropertyDefinitionInput!) {
      propertyDefinitionCreate(input: $input) { definition { id aliases name schema displayType } errors { message path } }
    }"""
    schema = {"type": "string", "enum": ["red", "green"]}
    body = gql(create, {"input": {"name": "My Color", "schema": json.dumps(schema)}})
    conforms(create, body)
    definition = body["data"]["propertyDefinitionCreate"]["definition"]
    assert definition["aliases"] == ["my_color"] and definition["schema"] == schema
    assert definition["displayType"] == "DROPDOWN"
    types = """
    { account { componentTypes { nodes { aliases isDefault properties { nodes { aliases } } } }
                propertyDefinitions { nodes { aliases } } } }"""
    account = gql(types)["data"]["account"]
    assert account["componentTypes"]["nodes"] == [
        {"aliases": ["service"], "isDefault": True, "properties": {"nodes": [{"aliases": ["my_color"]}]}}
    ]
    assert account["propertyDefinitions"]["nodes"] == [{"aliases": ["my_color"]}]
    type_create = """
    mutation T($input: ComponentTypeInput!) {
      componentTypeCreate(input: $input) { componentType { id aliases properties { nodes { aliases schema } } } errors { path } }
    }"""
    body = gql(
        type_create,
        {
            "input": {
                "name": "Sentry Issue",
                "properties": [
                    {
                        "alias": "url",
                        "name": "URL",
                        "description": "",
                        "allowedInConfigFiles": True,
                        "propertyDisplayStatus": "visible",
                        "schema": '{"type": "string"}',
                    }
                ],
            }
        },
    )
    conforms(type_create, body)
    created = body["data"]["componentTypeCreate"]["componentType"]
    assert created["aliases"] == ["sentry_issue"]
    assert created["properties"]["nodes"] == [{"aliases": ["url"], "schema": {"type": "string"}}]
    body = gql(type_create, {"input": {"name": "Other", "alias": "sentry_issue"}})
    again = body["data"]["componentTypeCreate"]
    assert again["componentType"] is None and again["errors"] == [{"path": ["alias"]}]


def test_relationship_definitions_are_stored(opslevel: FakeOpsLevel, gql: Any) -> None:
    add_sentry_issue_type(opslevel)
    create = """
    mutation R($input: RelationshipDefinitionInput!) {
      relationshipDefinitionCreate(input: $input) {
        definition { alias componentType { aliases } managementRules { operator sourceProperty targetType } metadata { allowedTypes } }
        errors { message path }
      }
    }"""
    rule = {
        "operator": "ARRAY_CONTAINS",
        "sourceProperty": "project_slug",
        "sourcePropertyBuiltin": False,
        "targetProperty": "aliases",
        "targetPropertyBuiltin": True,
        "targetType": "service",
    }
    body = gql(
        create,
        {
            "input": {
                "alias": "sentry_issues",
                "name": "Sentry Issues",
                "componentType": {"alias": "service"},
                "metadata": {"allowedTypes": ["sentry_issue"]},
                "managementRules": [rule],
            }
        },
    )
    conforms(create, body)
    assert body["data"]["relationshipDefinitionCreate"]["definition"]["managementRules"] == [
        {"operator": "ARRAY_CONTAINS", "sourceProperty": "project_slug", "targetType": "service"}
    ]
    snapshot = opslevel.snapshot()["relationshipDefinitions"]
    assert snapshot[0]["alias"] == "sentry_issues" and snapshot[0]["componentType"] == "service"
    bad = gql(
        create,
        {
            "input": {
                "name": "Bad",
                "componentType": {"alias": "service"},
                "metadata": {"allowedTypes": ["nope"]},
            }
        },
    )
    assert bad["data"]["relationshipDefinitionCreate"]["errors"][0]["path"] == ["metadata", "allowedTypes"]


def test_catalog_endpoint_and_seed_round_trip(opslevel: FakeOpsLevel) -> None:
    add_sentry_issue_type(opslevel)
    opslevel.add_component(
        "Issue 1", "sentry_issue", ["s-1"], {"url": "u", "project_slug": ["a"]}, tags={"k": "v"}
    )
    opslevel.add_relationship_definition(
        "sentry_issues", "Sentry Issues", "service", allowed_types=["sentry_issue"]
    )
    response = requests.get(f"{opslevel.url}/__catalog", timeout=10)
    assert response.status_code == 200
    snapshot = response.json()
    assert snapshot == opslevel.snapshot()
    copy = FakeOpsLevel()
    copy.seed(snapshot)

    def stable(snap: dict[str, Any]) -> dict[str, Any]:
        for component in snap["components"]:
            for key in ("createdAt", "updatedAt", "htmlUrl"):
                component.pop(key)
        return snap

    assert stable(copy.snapshot()) == stable(snapshot)


def test_concurrent_upserts_are_consistent(opslevel: FakeOpsLevel) -> None:
    def worker(n: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = "Bearer opslevel-test-token"
            for i in range(15):
                body = {"query": SERVICE_CREATE, "variables": {"input": {"name": "Same Name"}}}
                created = session.post(opslevel.graphql_url, json=body, timeout=10).json()
                service_id = created["data"]["serviceCreate"]["service"]["id"]
                alias = {"input": {"alias": f"w{n}-{i}", "ownerId": service_id}}
                assert session.post(
                    opslevel.graphql_url, json={"query": ALIAS_CREATE, "variables": alias}, timeout=10
                ).ok

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    components = opslevel.components()
    assert len(components) == 120
    all_aliases = [a for c in components for a in c["aliases"]]
    assert len(all_aliases) == len(set(all_aliases)) == 240


def test_relationships_and_notes(opslevel: FakeOpsLevel, gql: Any) -> None:
    source = opslevel.add_component("Issue", aliases=["issue"])
    target = opslevel.add_component("Backend", aliases=["backend"])
    create = """
    mutation R($input: RelationshipDefinition!) {
      relationshipCreate(relationshipDefinition: $input) {
        relationship { id type source { __typename ... on Service { id } } target { ... on Service { id } } }
        errors { message path }
      }
    }"""
    body = gql(
        create,
        {"input": {"source": {"alias": "issue"}, "target": {"alias": "backend"}, "type": "related_to"}},
    )
    conforms(create, body)
    rel = body["data"]["relationshipCreate"]["relationship"]
    assert (
        rel["source"] == {"__typename": "Service", "id": source["id"]} and rel["target"]["id"] == target["id"]
    )
    get = "query G($id: ID!) { account { relationship(id: $id) { id type } } }"
    assert gql(get, {"id": rel["id"]})["data"]["account"]["relationship"] == {
        "id": rel["id"],
        "type": "related_to",
    }
    delete = (
        "mutation D($input: DeleteInput!) { relationshipDelete(input: $input) { deletedId errors { path } } }"
    )
    assert gql(delete, {"input": {"id": rel["id"]}})["data"]["relationshipDelete"] == {
        "deletedId": rel["id"],
        "errors": [],
    }
    assert gql(get, {"id": rel["id"]})["data"]["account"]["relationship"] is None
    note = """
    mutation N($input: ServiceNoteUpdateInput!) { serviceNoteUpdate(input: $input) { service { note } errors { path } } }"""
    body = gql(note, {"input": {"service": {"alias": "issue"}, "note": "a <b> note"}})
    assert body["data"]["serviceNoteUpdate"] == {"service": {"note": "a &lt;b&gt; note"}, "errors": []}


def test_stopped_fake_stops_answering_kept_alive_connections() -> None:
    fake = FakeOpsLevel()
    fake.start()
    with requests.Session() as session:
        assert session.get(f"{fake.url}/__catalog", timeout=10).ok
        fake.stop()
        try:
            session.get(f"{fake.url}/__catalog", timeout=2)
        except requests.ConnectionError:
            pass
        else:
            raise AssertionError("a stopped fake answered")
