"""Read what a client sent to the fake OpsLevel: which mutations, with which arguments."""

from __future__ import annotations

from typing import Any

import graphql


def sent_fields(requests: list[dict[str, Any]], kind: str = "mutation") -> list[tuple[str, dict[str, Any]]]:
    """``(field name, {argument: value})`` for every root field of every ``kind`` operation sent."""
    fields: list[tuple[str, dict[str, Any]]] = []
    for request in requests:
        document = graphql.parse(request["query"])
        variables = request.get("variables") or {}
        for definition in document.definitions:
            if (
                not isinstance(definition, graphql.OperationDefinitionNode)
                or definition.operation.value != kind
            ):
                continue
            for selection in definition.selection_set.selections:
                assert isinstance(selection, graphql.FieldNode)
                arguments = {
                    argument.name.value: graphql.value_from_ast_untyped(argument.value, variables)
                    for argument in selection.arguments
                }
                fields.append((selection.name.value, arguments))
    return fields


def mutations(requests: list[dict[str, Any]]) -> list[str]:
    """Names of every mutation field sent, in order."""
    return [name for name, _ in sent_fields(requests)]


def mutation_requests(requests: list[dict[str, Any]]) -> int:
    return sum(
        1
        for request in requests
        if graphql.parse(request["query"]).definitions[0].operation.value == "mutation"
    )  # type: ignore[attr-defined]


def add_sentry_issue_type(fake: Any) -> None:
    """Declare on a FakeOpsLevel the ``sentry_issue`` component type the seed-like transforms map to."""
    fake.add_component_type(
        "sentry_issue",
        "Sentry Issue",
        properties={
            "url": {"name": "URL", "schema": {"type": "string"}},
            "substatus": {"name": "Substatus", "schema": {"type": ["string", "null"]}},
            "count": {"name": "Count", "schema": {"type": "integer"}},
        },
    )
