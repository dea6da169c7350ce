"""Check that a GraphQL response's ``data`` conforms to the query and schema.

graphql-core already guarantees this for results it produces; this walks the JSON a client
actually received, so tests can assert on the wire format (every selected field present,
non-null fields non-null, leaf values of the right kind, no unexpected keys).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    SelectionSetNode,
    get_operation_ast,
    is_abstract_type,
    parse,
)

_SCALARS = {
    "String": lambda v: isinstance(v, str),
    "ID": lambda v: isinstance(v, str),
    "Int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
    "JsonString": lambda v: isinstance(v, str),
    "JSONSchema": lambda v: isinstance(v, dict),
    "ISO8601DateTime": lambda v: isinstance(v, str),
}


def response_problems(
    schema: GraphQLSchema, query: str | DocumentNode, data: Any, operation_name: str | None = None
) -> list[str]:
    """Describe every way ``data`` violates the selection of ``query``; empty when it conforms.

    :param schema: the schema the query was validated against.
    :param query: the document (text or parsed).
    :param data: the ``data`` member of the response.
    :param operation_name: operation to check when the document has several.
    """
    document = parse(query) if isinstance(query, str) else query
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return ["no such operation"]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return ["schema has no root type for the operation"]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    checker = _Checker(schema, fragments)
    checker.object(root, operation.selection_set, data, "data")
    return checker.problems


class _Checker:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.problems: list[str] = []

    def value(
        self, type_: GraphQLOutputType, selection: SelectionSetNode | None, value: Any, path: str
    ) -> None:
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                self.problems.append(f"{path}: null for non-null {type_}")
                return
            type_ = type_.of_type
        if value is None:
            return
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                self.problems.append(f"{path}: expected a list, got {type(value).__name__}")
                return
            for index, item in enumerate(value):
                self.value(type_.of_type, selection, item, f"{path}[{index}]")
        elif isinstance(type_, GraphQLEnumType):
            if value not in type_.values:
                self.problems.append(f"{path}: {value!r} is not a {type_.name}")
        elif isinstance(type_, GraphQLScalarType):
            if not _SCALARS.get(type_.name, lambda _v: True)(value):
                self.problems.append(f"{path}: {value!r} is not a valid {type_.name}")
        elif selection is not None:
            self.composite(type_, selection, value, path)

    def composite(self, type_: Any, selection: SelectionSetNode, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.problems.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        if not is_abstract_type(type_):
            self.object(type_, selection, value, path)
            return
        candidates = self.schema.get_possible_types(type_)
        if isinstance(value.get("__typename"), str):
            candidates = [t for t in candidates if t.name == value["__typename"]]
        # Without __typename the runtime type is unknown: accept any type the data fits.
        best: list[str] | None = None
        for candidate in candidates:
            trial = _Checker(self.schema, self.fragments)
            trial.object(candidate, selection, value, path)
            if not trial.problems:
                return
            best = trial.problems if best is None else best
        self.problems.extend(best or [f"{path}: no possible type of {type_.name}"])

    def object(self, type_: GraphQLObjectType, selection: SelectionSetNode, value: Any, path: str) -> None:
        expected: set[str] = set()
        self._fields(type_, selection, value, path, expected)
        for key in set(value) - expected:
            self.problems.append(f"{path}.{key}: not selected")

    def _fields(
        self, type_: GraphQLObjectType, selection: SelectionSetNode, value: Any, path: str, seen: set[str]
    ) -> None:
        for node in selection.selections:
            if isinstance(node, FieldNode):
                key = node.alias.value if node.alias else node.name.value
                seen.add(key)
                if key not in value:
                    self.problems.append(f"{path}.{key}: missing")
                elif node.name.value == "__typename":
                    if value[key] != type_.name:
                        self.problems.append(f"{path}.{key}: {value[key]!r} is not {type_.name}")
                else:
                    self.value(
                        type_.fields[node.name.value].type, node.selection_set, value[key], f"{path}.{key}"
                    )
            else:
                condition: NamedTypeNode | None
                if isinstance(node, FragmentSpreadNode):
                    fragment = self.fragments[node.name.value]
                    condition, inner = fragment.type_condition, fragment.selection_set
                else:
                    assert isinstance(node, InlineFragmentNode)
                    condition, inner = node.type_condition, node.selection_set
                if condition is None or self._applies(condition.name.value, type_):
                    self._fields(type_, inner, value, path, seen)

    def _applies(self, condition: str, type_: GraphQLObjectType) -> bool:
        conditional = self.schema.get_type(condition)
        if conditional is None:
            return False
        if conditional is type_:
            return True
        return is_abstract_type(conditional) and self.schema.is_sub_type(conditional, type_)  # type: ignore[arg-type]
