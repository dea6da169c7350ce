"""Load-time checks across the items of one catalog document: duplicate aliases and names, and the
built-in flags and custom properties of management rules on types the document declares.

Types only OpsLevel knows are checked when the catalog is ensured (:mod:`.opslevel_checks`).
"""

from __future__ import annotations

from typing import cast

from airflow_provider_opslevel.catalog_setup.item_parsers import ParsedRelationship, ParsedRule, ParsedType
from airflow_provider_opslevel.catalog_setup.models import (
    BUILTIN_RULE_PROPERTIES,
    ManagementRuleSpec,
    Operator,
    RelationshipDefinitionSpec,
)
from airflow_provider_opslevel.config.fields import ItemContext
from airflow_provider_opslevel.errors import did_you_mean

__all__ = ["check_duplicates", "finish_rules", "relationship_model"]


def check_duplicates(types: list[ParsedType], relationships: list[ParsedRelationship]) -> None:
    first_alias: dict[str, ParsedType] = {}
    first_name: dict[str, ParsedType] = {}
    for parsed in types:
        context = parsed.context
        if parsed.alias is not None:
            first = first_alias.setdefault(parsed.alias, parsed)
            if first is not parsed:
                context.problem(
                    "alias",
                    _line(context, "alias"),
                    f"duplicate component type alias '{parsed.alias}'; "
                    f"component_types[{first.context.index}] (line {_line(first.context, 'alias')}) already has it",
                )
        if parsed.name is not None:
            first = first_name.setdefault(parsed.name, parsed)
            if first is not parsed:
                context.problem(
                    "name",
                    _line(context, "name"),
                    f"duplicate component type name '{parsed.name}' (OpsLevel requires unique names); "
                    f"component_types[{first.context.index}] (line {_line(first.context, 'name')}) already has it",
                )
    first_relationship: dict[str, ParsedRelationship] = {}
    for relationship in relationships:
        if relationship.alias is None:
            continue
        earlier = first_relationship.setdefault(relationship.alias, relationship)
        if earlier is not relationship:
            relationship.context.problem(
                "alias",
                _line(relationship.context, "alias"),
                f"duplicate relationship definition alias '{relationship.alias}'; "
                f"relationship_definitions[{earlier.context.index}] "
                f"(line {_line(earlier.context, 'alias')}) already has it",
            )


def _line(context: ItemContext, key: str) -> int | None:
    location = context.locations.get(key)
    return location.line if location is not None else None


def finish_rules(
    relationship: ParsedRelationship, declared: dict[str, ParsedType]
) -> tuple[ManagementRuleSpec, ...] | None:
    """Infer built-in flags and check custom properties of types this document declares."""
    if relationship.rules is None:
        return None
    out = []
    for rule in relationship.rules:
        source = _side(
            relationship,
            rule,
            "source",
            rule.source_property,
            rule.source_builtin,
            relationship.component_type,
            declared,
        )
        target = _side(
            relationship,
            rule,
            "target",
            rule.target_property,
            rule.target_builtin,
            rule.target_type,
            declared,
        )
        if (
            source is None
            or target is None
            or rule.source_property is None
            or rule.target_property is None
            or rule.target_type is None
        ):
            continue
        out.append(
            ManagementRuleSpec(
                operator=cast(Operator, rule.operator),
                source_property=rule.source_property,
                source_property_builtin=source,
                target_property=rule.target_property,
                target_property_builtin=target,
                target_type=rule.target_type,
                where=relationship.context.location(rule.prefix.rstrip("."), rule.line),
            )
        )
    return tuple(out)


def _side(
    relationship: ParsedRelationship,
    rule: ParsedRule,
    side: str,
    prop: str | None,
    explicit: bool | None,
    type_alias: str | None,
    declared: dict[str, ParsedType],
) -> bool | None:
    """Whether ``prop`` is built-in; records a problem (returning ``None``) when it cannot be."""
    if prop is None:
        return None
    builtin = prop in BUILTIN_RULE_PROPERTIES if explicit is None else explicit
    parsed_type = declared.get(type_alias or "")
    if parsed_type is None or parsed_type.model is None:
        return builtin  # a type that only OpsLevel knows: checked when the catalog is ensured
    custom = parsed_type.property_aliases
    key = f"{rule.prefix}{side}_property"
    line = rule.lines.get(f"{side}_property", rule.line)
    if explicit is None and builtin and prop in custom:
        relationship.context.problem(
            key,
            line,
            f"'{prop}' is both a built-in field and a property of component type '{type_alias}'; "
            f"set {side}_property_builtin to true or false",
        )
        return None
    if not builtin and prop not in custom:
        candidates = [*custom, *BUILTIN_RULE_PROPERTIES]
        relationship.context.problem(
            key,
            line,
            f"component type '{type_alias}' declares no property '{prop}' in this document"
            f"{did_you_mean(prop, candidates)}",
        )
        return None
    return builtin


def relationship_model(
    parsed: ParsedRelationship, rules: tuple[ManagementRuleSpec, ...] | None
) -> RelationshipDefinitionSpec:
    # Only called when the whole document is free of problems.
    assert parsed.alias is not None and parsed.name is not None and parsed.component_type is not None
    return RelationshipDefinitionSpec(
        alias=parsed.alias,
        name=parsed.name,
        component_type=parsed.component_type,
        allowed_types=tuple(parsed.allowed_types),
        description=parsed.description,
        management_rules=rules,
        min_items=parsed.min_items,
        max_items=parsed.max_items,
        where=parsed.context.location(None, parsed.line),
    )
