"""Every GraphQL document catalog setup sends validates against the package's schema."""

from __future__ import annotations

from importlib.resources import files

import graphql
import pytest

from airflow_provider_opslevel.catalog_setup import documents

SCHEMA = graphql.build_schema(
    files("airflow_provider_opslevel.testing").joinpath("schema.graphql").read_text()
)


def operations(name: str) -> list[graphql.OperationDefinitionNode]:
    document = graphql.parse(documents.ALL_DOCUMENTS[name])
    return [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]


@pytest.mark.parametrize("name", sorted(documents.ALL_DOCUMENTS))
def test_document_validates_and_is_named_after_its_operation(name: str) -> None:
    document = graphql.parse(documents.ALL_DOCUMENTS[name])
    assert graphql.validate(SCHEMA, document) == []
    assert [op.name.value for op in operations(name) if op.name] == [name]


@pytest.mark.parametrize("name", sorted(documents.ALL_DOCUMENTS))
def test_mutations_are_listed_as_such(name: str) -> None:
    (operation,) = operations(name)
    is_mutation = operation.operation == graphql.OperationType.MUTATION
    assert is_mutation == (name in documents.MUTATIONS)


def test_every_document_constant_is_listed() -> None:
    constants = {
        value
        for key, value in vars(documents).items()
        if key.isupper()
        and not key.startswith("_")
        and isinstance(value, str)
        and "{" in value
        and not key.endswith("_FIELDS")
    }
    assert constants == set(documents.ALL_DOCUMENTS.values())


@pytest.mark.parametrize(
    "name", ["ComponentTypeList", "ComponentTypeProperties", "RelationshipDefinitionList"]
)
def test_lists_page_with_after_and_first(name: str) -> None:
    (operation,) = operations(name)
    declared = {v.variable.name.value: graphql.print_ast(v.type) for v in operation.variable_definitions}
    assert declared["after"] == "String!" and declared["first"] == "Int!"
    assert "pageInfo { hasNextPage endCursor }" in documents.ALL_DOCUMENTS[name]
