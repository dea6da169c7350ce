"""Every GraphQL document the client can send validates against the package's schema."""

from __future__ import annotations

from importlib.resources import files

import graphql
import pytest

from airflow_provider_opslevel.opslevel import documents
from airflow_provider_opslevel.opslevel.batch import Operation, render

SCHEMA = graphql.build_schema(
    files("airflow_provider_opslevel.testing").joinpath("schema.graphql").read_text()
)


def assert_valid(document: str, variables: dict | None = None) -> graphql.DocumentNode:
    parsed = graphql.parse(document)
    assert graphql.validate(SCHEMA, parsed) == []
    if variables is not None:
        (operation,) = parsed.definitions
        coerced = graphql.execution.values.get_variable_values(
            SCHEMA, operation.variable_definitions, variables
        )
        assert not isinstance(coerced, list), coerced  # a list holds coercion errors
    return parsed


@pytest.mark.parametrize("name", sorted(documents.ALL_DOCUMENTS))
def test_document_validates_and_is_named_after_its_operation(name):
    document = assert_valid(documents.ALL_DOCUMENTS[name])
    operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    assert [op.name.value for op in operations if op.name] == [name]


SAMPLE_ARGUMENTS = {
    "ServiceCreateInput!": {"name": "n", "type": {"alias": "t"}},
    "ServiceUpdateInput!": {"id": "Z2lkOi8v", "name": "n"},
    "ServiceDeleteInput!": {"id": "Z2lkOi8v"},
    "AliasCreateInput!": {"alias": "a", "ownerId": "Z2lkOi8v"},
    "PropertyInput!": {"owner": {"id": "x"}, "definition": {"alias": "p"}, "value": '"v"'},
    "IdentifierInput!": {"alias": "a"},
    "TagAssignInput!": {"id": "x", "tags": [{"key": "k", "value": "v"}]},
    "TagDeleteInput!": {"id": "x"},
    "String": "alias",
}


@pytest.mark.parametrize("field", sorted(documents.MUTATIONS))
def test_batched_mutations_validate(field):
    types, selection = documents.MUTATIONS[field]
    operations = [
        Operation(
            field,
            {arg: (graphql_type, SAMPLE_ARGUMENTS[graphql_type]) for arg, graphql_type in types.items()},
            selection,
        )
        for _ in range(3)
    ]
    document, variables = render("Batch", operations, "mutation", None)
    assert_valid(document, variables)
    assert document.count(f": {field}(") == 3


def test_batched_lookups_validate():
    selection = documents.COMPONENT_SELECTION
    operations = [Operation("service", {"alias": ("String", f"a{i}")}, selection) for i in range(3)]
    document, variables = render("ComponentLookup", operations, "query", "account")
    assert_valid(document, variables)


def test_every_document_constant_is_listed():
    documents_found = {
        value
        for key, value in vars(documents).items()
        if key.isupper() and isinstance(value, str) and value.lstrip().startswith(("query", "mutation"))
    }
    assert documents_found == set(documents.ALL_DOCUMENTS.values())


# ------------------------------------------------------------- catalog setup (component types)


@pytest.mark.parametrize("name", sorted(documents.ALL_DOCUMENTS))
def test_mutations_are_listed_as_setup_writes(name: str) -> None:
    (operation,) = [
        d
        for d in graphql.parse(documents.ALL_DOCUMENTS[name]).definitions
        if isinstance(d, graphql.OperationDefinitionNode)
    ]
    is_mutation = operation.operation == graphql.OperationType.MUTATION
    assert is_mutation == (name in documents.SETUP_WRITES)


@pytest.mark.parametrize("name", sorted(documents.SETUP_WRITES))
def test_setup_writes_answer_under_their_field(name: str) -> None:
    field = documents.SETUP_WRITES[name]
    assert field[0].lower() + field[1:] == field and field.lower() == name.lower()
    assert f"  {field}(" in documents.ALL_DOCUMENTS[name]


@pytest.mark.parametrize(
    "name", ["ComponentTypeList", "ComponentTypeProperties", "RelationshipDefinitionList"]
)
def test_setup_lists_page_with_after_and_first(name: str) -> None:
    (operation,) = [
        d
        for d in graphql.parse(documents.ALL_DOCUMENTS[name]).definitions
        if isinstance(d, graphql.OperationDefinitionNode)
    ]
    declared = {v.variable.name.value: graphql.print_ast(v.type) for v in operation.variable_definitions}
    assert declared["after"] == "String!" and declared["first"] == "Int!"
    assert "pageInfo { hasNextPage endCursor }" in documents.ALL_DOCUMENTS[name]
