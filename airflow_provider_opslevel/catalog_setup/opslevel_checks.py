"""Checks against OpsLevel before anything is written.

Relationship ``component_type``, ``allowed_types`` and rule ``target_type`` must name a declared
type, an existing one, ``team`` or ``user``; custom rule properties of undeclared types must exist;
no name or alias may collide with another object. Every problem is reported at once.
"""

from __future__ import annotations

from airflow_provider_opslevel.catalog_setup.models import RELATIONSHIP_TARGET_BUILTINS, CatalogDocument
from airflow_provider_opslevel.catalog_setup.state import OpsLevelState, first_alias
from airflow_provider_opslevel.errors import Location, did_you_mean

__all__ = ["check_against_opslevel"]


def check_against_opslevel(document: CatalogDocument, state: OpsLevelState) -> list[str]:
    """Every problem found before writing anything, each naming the YAML item (empty: go ahead)."""
    problems: list[str] = []
    declared = {spec.alias for spec in document.component_types}
    existing = set(state.types)
    known_types = sorted(declared | existing)

    def missing_type(alias: str, where: Location, what: str, allow_builtins: bool) -> None:
        if (
            alias in declared
            or alias in existing
            or (allow_builtins and alias in RELATIONSHIP_TARGET_BUILTINS)
        ):
            return
        candidates = [*known_types, *(RELATIONSHIP_TARGET_BUILTINS if allow_builtins else ())]
        problems.append(
            f"{where}: {what} '{alias}' is neither declared in this document nor a component type in "
            f"OpsLevel{did_you_mean(alias, candidates)}"
        )

    names = {node["name"]: node for node in state.types.values()}
    for spec in document.component_types:
        node = state.type_node(spec.alias)
        holder = names.get(spec.name)
        if holder is not None and (node is None or holder["id"] != node["id"]):
            problems.append(
                f"{spec.where.with_key('name')}: the name '{spec.name}' is already used by component "
                f"type '{first_alias(holder)}' in OpsLevel (type names are unique)"
            )

    for relationship in document.relationship_definitions:
        where = relationship.where
        missing_type(relationship.component_type, where.with_key("component_type"), "component_type", False)
        for number, alias in enumerate(relationship.allowed_types):
            missing_type(alias, where.with_key(f"allowed_types[{number}]"), "allowed type", True)
        other = state.elsewhere.get(relationship.alias)
        if other is not None:
            owner = first_alias(other.get("componentType") or {})
            problems.append(
                f"{where.with_key('alias')}: relationship definition '{relationship.alias}' already exists on "
                f"component type '{owner}', not '{relationship.component_type}' (ensure never moves it)"
            )
        for number, rule in enumerate(relationship.management_rules or ()):
            prefix = f"management_rules[{number}]."
            missing_type(rule.target_type, where.with_key(f"{prefix}target_type"), "target_type", True)
            for side, type_alias, prop, builtin in (
                ("source", relationship.component_type, rule.source_property, rule.source_property_builtin),
                ("target", rule.target_type, rule.target_property, rule.target_property_builtin),
            ):
                node = state.type_node(type_alias)
                if builtin or document.declares(type_alias) or node is None:
                    continue
                definitions = state.definitions.get(node["id"], {})
                if prop not in definitions:
                    problems.append(
                        f"{rule.where.with_key(f'{prefix}{side}_property')}: component type '{type_alias}' has "
                        f"no property definition '{prop}' in OpsLevel{did_you_mean(prop, definitions)} "
                        f"(set {side}_property_builtin: true for a built-in field)"
                    )
    return problems
