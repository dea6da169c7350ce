"""Every GraphQL document the client can send validates against the package's schema."""

from __future__ import annotations

from importlib.resources import files

import graphql
import pytest

from airflow_provider_opslevel.opslevel import documents

SCHEMA = graphql.build_schema(
    files("airflow_provider_opslevel.testing").joinpath("schema.graphql").read_text()
)


@pytest.mark.parametrize("name", sorted(documents.ALL_DOCUMENTS))
def test_document_validates_and_is_named_after_its_operation(name):
    document = graphql.parse(documents.ALL_DOCUMENTS[name])
    assert graphql.validate(SCHEMA, document) == []
    operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    assert [op.name.value for op in operations if op.name] == [name]


def test_every_document_constant_is_listed():
    constants = {
        value
        for key, value in vars(documents).items()
        if key.isupper() and isinstance(value, str) and "{" in value
    }
    constants.discard(documents.COMPONENT_FIELDS)
    assert constants == set(documents.ALL_DOCUMENTS.values())
