"""What OpsLevel holds that a catalog document is about, read through the ``opslevel`` layer.

Read (every list paged): every component type; the property definitions of each declared type
that exists, and of undeclared types a rule reads a custom property of; the relationship
definitions of each relationship's component type; and, for a declared relationship not found
there, whether its alias is held on another type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_provider_opslevel.catalog_setup.models import CatalogDocument
from airflow_provider_opslevel.opslevel.component_types import ComponentTypesApi, Node

__all__ = ["OpsLevelState", "first_alias", "read_state"]


@dataclass
class OpsLevelState:
    """OpsLevel's objects as read, keyed for planning."""

    types: dict[str, Node] = field(default_factory=dict)  # every alias -> type node
    definitions: dict[str, dict[str, Node]] = field(default_factory=dict)  # type id -> alias -> definition
    definition_lists: dict[str, list[Node]] = field(default_factory=dict)  # type id -> definitions in order
    relationships: dict[str, Node] = field(default_factory=dict)  # alias -> node, on the expected type
    elsewhere: dict[str, Node] = field(default_factory=dict)  # alias -> node held on another type

    def type_node(self, alias: str) -> Node | None:
        return self.types.get(alias)


def first_alias(node: Node) -> str:
    """How reports and errors name an object: its first alias, else its id."""
    aliases = node.get("aliases") or []
    return str(aliases[0]) if aliases else str(node.get("id"))


def _read_definitions(api: ComponentTypesApi, state: OpsLevelState, type_id: str) -> None:
    if type_id in state.definition_lists:
        return
    nodes = api.property_definitions(type_id)
    state.definition_lists[type_id] = nodes
    state.definitions[type_id] = {alias: node for node in nodes for alias in node.get("aliases") or []}


def read_state(document: CatalogDocument, api: ComponentTypesApi) -> OpsLevelState:
    """Read what ``document`` needs compared (see the module docstring)."""
    state = OpsLevelState()
    for node in api.component_types():
        for alias in node.get("aliases") or []:
            state.types.setdefault(alias, node)

    for spec in document.component_types:
        declared = state.type_node(spec.alias)
        if declared is not None:
            _read_definitions(api, state, declared["id"])
    # Custom rule properties of types this document does not declare are checked against OpsLevel.
    for relationship in document.relationship_definitions:
        for rule in relationship.management_rules or ():
            for type_alias, builtin in (
                (relationship.component_type, rule.source_property_builtin),
                (rule.target_type, rule.target_property_builtin),
            ):
                other = state.type_node(type_alias)
                if not builtin and other is not None and not document.declares(type_alias):
                    _read_definitions(api, state, other["id"])

    listed: set[str] = set()
    for relationship in document.relationship_definitions:
        owner = state.type_node(relationship.component_type)
        if owner is None or owner["id"] in listed:
            continue
        listed.add(owner["id"])
        for definition in api.relationship_definitions(owner["id"]):
            state.relationships.setdefault(definition["alias"], definition)
    for relationship in document.relationship_definitions:
        found = state.relationships.get(relationship.alias)
        owner = state.type_node(relationship.component_type)
        if found is not None and owner is not None and found["componentType"]["id"] == owner["id"]:
            continue
        state.relationships.pop(relationship.alias, None)
        held = api.relationship_definition(relationship.alias)
        if held is not None:
            state.elsewhere[relationship.alias] = held
    return state
