"""Replay the 128 requests opslevel-go's tests record against a pre-seeded FakeOpsLevel.

Every document must validate, every variables object must coerce, and every response must
execute without GraphQL errors and carry every selected field (non-null ones non-null).
Operations on things the fake does not model (teams, domains, unknown ids) must answer with
payload errors or ``null``, never with execution errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.testing._graphql_schema import load_schema
from airflow_provider_opslevel.testing.conformance import response_problems

RECORDED = Path(__file__).parent / "data" / "recorded-requests.jsonl"
# Ids the recordings use (base64 of gid://…).
GENERIC = "Z2lkOi8vMTIzNDU2Nzg5OTg3NjU0MzIx"  # gid://123456789987654321
DEFINITION = "Z2lkOi8vOTg3NjU0MzIxMTIzNDU2Nzg5"  # gid://987654321123456789
HTML_DESCRIPTION = 'Service with <em>emphasis</em> & "quotes"'


def seed(fake: FakeOpsLevel) -> None:
    """What the recordings reference, where that is cheap."""
    fake.add_component_type(
        "service",
        "Service",
        {
            "is_beta_feature": {"name": "Is Beta Feature", "schema": {"type": "boolean"}, "id": DEFINITION},
            "dropdown": {"name": "Dropdown", "schema": {"type": "string", "enum": ["red", "green", "blue"]}},
        },
    )
    fake.add_component_type("example1", "Example1", id=GENERIC)
    fake.add_component("MyCoolService", id="Z2lkOi8vb3BzbGV2ZWwvU2VydmljZS80MTc2")
    fake.add_component(
        "TestService",
        aliases=["monolith", "example", "one", "two", "alpha", "beta"],
        properties={"is_beta_feature": True, "dropdown": "orange"},
        description=HTML_DESCRIPTION,
        product="Product with & ampersand",
        note="Additional notes: <strong>important</strong> & critical",
        id=GENERIC,
    )
    fake.add_component("Tagged", tags={"prod": "false"}, id="Z2lkOi8vb3BzbGV2ZWwvU2VydmljZS85NjQ4")
    fake.add_component(
        "coredns",
        aliases=["coredns-kube-system"],
        language="go",
        lifecycle="alpha",
        owner="developers",
        product="MyProduct",
        id="Z2lkOi8vb3BzbGV2ZWwvU2VydmljZS81MzEx",
    )
    fake.add_component("db", id="Z2lkOi8vb3BzbGV2ZWwvU2VydmljZS82NzQ3")


def load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDED.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def replayed() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(recording, response body) for every line, replayed in file order against one fake."""
    results = []
    with FakeOpsLevel() as fake, requests.Session() as session:
        seed(fake)
        session.headers["Authorization"] = f"Bearer {fake.token}"
        for record in load():
            body = {
                "query": record["query"],
                "variables": record["variables"],
                "operationName": record["operation"],
            }
            response = session.post(fake.graphql_url, json=body, timeout=10)
            assert response.status_code == 200, (record["test"], response.text)
            results.append((record, response.json()))
        assert fake.rejected == []
        assert fake.internal_errors == []
    return results


def test_recording_is_complete() -> None:
    assert len(load()) == 128


def test_every_recorded_request_executes_and_conforms(
    replayed: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    schema = load_schema()
    failures = []
    for index, (record, body) in enumerate(replayed):
        problems = [f"errors: {body['errors']}"] if "errors" in body else []
        if body.get("data") is None:
            problems.append("no data")
        else:
            problems += response_problems(schema, record["query"], body["data"])
        if problems:
            failures.append(f"line {index} {record['test']}: {problems}")
    assert failures == []


def by_test(replayed: list[tuple[dict[str, Any], dict[str, Any]]], test: str) -> list[dict[str, Any]]:
    return [body["data"] for record, body in replayed if record["test"] == test]


def test_outcomes_match_the_recorded_semantics(replayed: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    created = by_test(replayed, "TestCreateAliases")[0]["aliasCreate"]
    assert created["errors"] == [] and created["aliases"] == ["mycoolservice", "MyAwesomeAlias"]
    # the next recording (TestCreateAliasesOwnerNotFound) re-adds the same alias: a no-op,
    # so TestDeleteServiceAlias then finds and deletes it
    assert by_test(replayed, "TestDeleteServiceAlias")[0]["aliasDelete"] == {
        "deletedAlias": "MyAwesomeAlias",
        "errors": [],
    }
    team = by_test(replayed, "TestDeleteAliasNotFound")[0]["aliasDelete"]
    assert team["deletedAlias"] is None and team["errors"][0]["path"] == ["alias"]

    prop = by_test(replayed, "TestGetProperty")[0]["account"]["property"]
    assert prop["value"] == "true" and prop["definition"]["id"] == DEFINITION
    errors = by_test(replayed, "TestGetPropertyHasErrors")[0]["account"]["property"]
    assert errors["value"] == '"orange"' and errors["validationErrors"]
    assert by_test(replayed, "TestAssignProperty")[0]["propertyAssign"]["errors"] == []

    html = by_test(replayed, "TestServiceGetWithHTMLEntities")[0]["account"]["service"]
    assert html["description"] == "Service with &lt;em&gt;emphasis&lt;/em&gt; &amp; &quot;quotes&quot;"
    assert html["product"] == "Product with &amp; ampersand"

    coredns = by_test(replayed, "TestGetServiceWithAlias")[0]["account"]["service"]
    assert coredns["lifecycle"]["index"] == 2 and coredns["owner"]["alias"] == "developers"
    assert by_test(replayed, "TestListServicesWithLanguage")[0]["account"]["services"]["nodes"] == []
    tagged = by_test(replayed, "TestServiceTags")[0]["account"]["service"]["tags"]["nodes"]
    assert [(t["key"], t["value"]) for t in tagged] == [("prod", "false")]

    deleted = by_test(replayed, "TestDeleteService")[0]["serviceDelete"]
    assert deleted["errors"] == [] and deleted["deletedServiceAlias"] == "db"
    assert by_test(replayed, "TestDeleteServicesWithAlias")[0]["serviceDelete"]["errors"][0]["path"] == [
        "alias"
    ]
    missing = by_test(replayed, "TestUpdateService")[0]["serviceUpdate"]  # id "123456789" is no id
    assert missing["service"] is None and missing["errors"]
    assert by_test(replayed, "TestComponentTypeCreate")[0]["componentTypeCreate"]["errors"] == []
    assert by_test(replayed, "TestComponentTypeGet")[0]["account"]["componentType"]["aliases"] == ["example1"]
    assert (
        by_test(replayed, "TestRelationshipDefinitionCreate")[0]["relationshipDefinitionCreate"]["errors"]
        == []
    )
