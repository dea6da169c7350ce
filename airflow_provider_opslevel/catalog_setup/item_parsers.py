"""Reading each item of a catalog document (a component type with its properties, a relationship
definition with its rules) into typed values, recording every problem in its
:class:`~airflow_provider_opslevel.config.fields.ItemContext`.

Built-in flags of rules and properties of declared types are settled later, across items
(:mod:`.cross_checks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from airflow_provider_opslevel.catalog_setup.models import ComponentTypeSpec, DisplayStatus, PropertySpec
from airflow_provider_opslevel.catalog_setup.schema_checks import read_schema
from airflow_provider_opslevel.config.fields import ItemContext, type_name
from airflow_provider_opslevel.config.yaml_source import Position, YamlMapping, YamlSequence
from airflow_provider_opslevel.errors import ConfigProblem, did_you_mean

__all__ = ["ParsedRelationship", "ParsedRule", "ParsedType", "parse_relationship", "parse_type"]

TYPE_KEYS = ("alias", "name", "description", "properties")
PROPERTY_KEYS = (
    "alias",
    "name",
    "description",
    "schema",
    "locked",
    "display_status",
    "allowed_in_config_files",
)
RELATIONSHIP_KEYS = (
    "alias",
    "name",
    "description",
    "component_type",
    "allowed_types",
    "management_rules",
    "min_items",
    "max_items",
)
RULE_KEYS = (
    "operator",
    "source_property",
    "source_property_builtin",
    "target_property",
    "target_property_builtin",
    "target_type",
)
OPERATORS = ("ARRAY_CONTAINS", "EQUALS")
DISPLAY_STATUSES = ("visible", "hidden")

_PROPERTY_HINTS = {
    "type": "; did you mean 'schema'? (a property's type is a JSON Schema: schema: {type: string})",
    "locked_status": "; did you mean 'locked'? (true = ui_locked, false = unlocked)",
    "lockedStatus": "; did you mean 'locked'? (true = ui_locked, false = unlocked)",
}


@dataclass
class ParsedType:
    """A ``component_types[]`` item as read; ``model`` is set when the item itself is valid."""

    context: ItemContext
    alias: str | None = None
    name: str | None = None
    property_aliases: dict[str, int] = field(default_factory=dict)  # alias -> line
    model: ComponentTypeSpec | None = None


@dataclass
class ParsedRule:
    """A ``management_rules[]`` item as read; built-in flags are settled across items."""

    prefix: str
    line: int
    operator: str
    source_property: str | None
    source_builtin: bool | None
    target_property: str | None
    target_builtin: bool | None
    target_type: str | None
    lines: dict[str, int]


@dataclass
class ParsedRelationship:
    """A ``relationship_definitions[]`` item as read."""

    context: ItemContext
    line: int
    alias: str | None = None
    name: str | None = None
    description: str | None = None
    component_type: str | None = None
    allowed_types: list[str] = field(default_factory=list)
    rules: list[ParsedRule] | None = None
    min_items: int | None = None
    max_items: int | None = None


def _alias(context: ItemContext, mapping: YamlMapping, prefix: str = "") -> str | None:
    alias = context.string(mapping, "alias", prefix, required=True)
    if alias is not None and any(char.isspace() for char in alias):
        line = mapping.position("alias").value_line
        context.problem(f"{prefix}alias", line, f"alias '{alias}' must not contain whitespace")
        return None
    return alias


def _boolean(context: ItemContext, mapping: YamlMapping, key: str, prefix: str = "") -> bool | None:
    found = context.get(mapping, key, prefix, required=False)
    if found is None:
        return None
    value, position = found
    if not isinstance(value, bool):
        context.problem(
            f"{prefix}{key}", position.value_line, f"expected true or false, got {type_name(value)}"
        )
        return None
    return value


def _count(context: ItemContext, mapping: YamlMapping, key: str) -> int | None:
    found = context.get(mapping, key, "", required=False)
    if found is None:
        return None
    value, position = found
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        got = f"{value}" if isinstance(value, int) and not isinstance(value, bool) else type_name(value)
        context.problem(key, position.value_line, f"'{key}' must be an integer >= 0, got {got}")
        return None
    return value


def _strings(context: ItemContext, mapping: YamlMapping, key: str) -> list[tuple[str, int]] | None:
    """A list of non-empty strings (a single string counts as a one-item list)."""
    found = context.get(mapping, key, "", required=True)
    if found is None:
        return None
    value, position = found
    entries = value.entries() if isinstance(value, YamlSequence) else [(value, position)]
    out: list[tuple[str, int]] = []
    for number, (item, item_position) in enumerate(entries):
        path = f"{key}[{number}]" if isinstance(value, YamlSequence) else key
        text = context.text(item, path, item_position)
        if text is None:
            continue
        if not text.strip():
            context.problem(path, item_position.value_line, f"'{key}' entries must not be empty")
            continue
        out.append((text.strip(), item_position.value_line))
    if isinstance(value, YamlSequence) and not value:
        context.problem(key, position.value_line, f"'{key}' must list at least one component type")
    return out


def parse_type(
    file: str, problems: list[ConfigProblem], index: int, item: Any, position: Position
) -> ParsedType:
    context = ItemContext(file, problems, "component_types", index)
    parsed = ParsedType(context)
    mapping = context.mapping(item, "", position)
    if mapping is None:
        return parsed
    parsed.alias = context.external_kind = _alias(context, mapping)
    context.check_keys(mapping, "", TYPE_KEYS, required=("alias", "name"))
    parsed.name = context.string(mapping, "name", required=True)
    description = _description(context, mapping, "")
    properties: list[PropertySpec] = []
    found = context.get(mapping, "properties", "", required=False)
    if found is not None:
        entries = context.sequence(found[0], "properties", found[1])
        for number, (value, item_position) in enumerate(entries.entries() if entries is not None else []):
            spec = _parse_property(context, number, value, item_position, parsed.property_aliases)
            if spec is not None:
                properties.append(spec)
    if context.ok and parsed.alias and parsed.name:
        parsed.model = ComponentTypeSpec(
            alias=parsed.alias,
            name=parsed.name,
            description=description,
            properties=tuple(properties),
            where=context.location(None, mapping.line),
        )
    return parsed


def _description(context: ItemContext, mapping: YamlMapping, prefix: str) -> str | None:
    found = context.get(mapping, "description", prefix, required=False)
    return None if found is None else context.text(found[0], f"{prefix}description", found[1])


def _parse_property(
    context: ItemContext, number: int, item: Any, position: Position, seen: dict[str, int]
) -> PropertySpec | None:
    prefix = f"properties[{number}]."
    mapping = context.mapping(item, f"properties[{number}]", position)
    if mapping is None:
        return None
    problems_before = len(context.problems)
    alias = _alias(context, mapping, prefix)
    context.check_keys(
        mapping, prefix, PROPERTY_KEYS, required=("alias", "name", "schema"), hints=_PROPERTY_HINTS
    )
    name = context.string(mapping, "name", prefix, required=True)
    description = _description(context, mapping, prefix)
    locked = _boolean(context, mapping, "locked", prefix)
    in_config = _boolean(context, mapping, "allowed_in_config_files", prefix)
    display: str | None = "visible"
    if "display_status" in mapping:
        display = context.choice(mapping, "display_status", prefix, DISPLAY_STATUSES)
    schema = read_schema(context, mapping, prefix)
    if alias is not None:
        line = mapping.position("alias").value_line
        if alias in seen:
            context.problem(
                f"{prefix}alias",
                line,
                f"duplicate property alias '{alias}'; this component type already declares it "
                f"at line {seen[alias]}",
            )
        else:
            seen[alias] = line
    if len(context.problems) != problems_before or alias is None or name is None or schema is None:
        return None
    return PropertySpec(
        alias=alias,
        name=name,
        schema=schema,
        description=description,
        locked=True if locked is None else locked,
        display_status=cast(DisplayStatus, display),
        allowed_in_config_files=in_config,
        where=context.location(f"properties[{number}]", mapping.line),
    )


def parse_relationship(
    file: str, problems: list[ConfigProblem], index: int, item: Any, position: Position
) -> ParsedRelationship:
    context = ItemContext(file, problems, "relationship_definitions", index)
    parsed = ParsedRelationship(context, position.value_line)
    mapping = context.mapping(item, "", position)
    if mapping is None:
        return parsed
    parsed.line = mapping.line
    parsed.alias = context.external_kind = _alias(context, mapping)
    context.check_keys(
        mapping, "", RELATIONSHIP_KEYS, required=("alias", "name", "component_type", "allowed_types")
    )
    parsed.name = context.string(mapping, "name", required=True)
    parsed.description = _description(context, mapping, "")
    parsed.component_type = context.string(mapping, "component_type", required=True)
    allowed = _strings(context, mapping, "allowed_types") or []
    seen: set[str] = set()
    for number, (alias, line) in enumerate(allowed):
        if alias in seen:
            context.problem(f"allowed_types[{number}]", line, f"'{alias}' is listed twice")
        seen.add(alias)
    parsed.allowed_types = [alias for alias, _ in allowed]
    parsed.min_items = _count(context, mapping, "min_items")
    parsed.max_items = _count(context, mapping, "max_items")
    if parsed.min_items is not None and parsed.max_items is not None and parsed.min_items > parsed.max_items:
        context.problem(
            "max_items",
            mapping.position("max_items").value_line,
            f"max_items ({parsed.max_items}) is less than min_items ({parsed.min_items})",
        )
    found = context.get(mapping, "management_rules", "", required=False)
    if found is not None:
        entries = context.sequence(found[0], "management_rules", found[1])
        if entries is not None:
            parsed.rules = []
            for number, (value, item_position) in enumerate(entries.entries()):
                rule = _parse_rule(context, number, value, item_position, parsed.allowed_types)
                if rule is not None:
                    parsed.rules.append(rule)
    return parsed


def _parse_rule(
    context: ItemContext, number: int, item: Any, position: Position, allowed_types: list[str]
) -> ParsedRule | None:
    prefix = f"management_rules[{number}]."
    mapping = context.mapping(item, f"management_rules[{number}]", position)
    if mapping is None:
        return None
    context.check_keys(mapping, prefix, RULE_KEYS, required=("source_property", "target_property"))
    operator: str | None = "EQUALS"
    if "operator" in mapping:
        operator = context.choice(mapping, "operator", prefix, OPERATORS, upper=True)
    source = context.string(mapping, "source_property", prefix, required=True)
    target = context.string(mapping, "target_property", prefix, required=True)
    source_builtin = _boolean(context, mapping, "source_property_builtin", prefix)
    target_builtin = _boolean(context, mapping, "target_property_builtin", prefix)
    target_type = context.string(mapping, "target_type", prefix)
    if target_type is not None and allowed_types and target_type not in allowed_types:
        context.problem(
            f"{prefix}target_type",
            mapping.position("target_type").value_line,
            f"target_type '{target_type}' is not in allowed_types ({', '.join(allowed_types)})"
            f"{did_you_mean(target_type, allowed_types)}",
        )
        target_type = None
    elif target_type is None and "target_type" not in mapping:
        if len(allowed_types) == 1:
            target_type = allowed_types[0]
        elif len(allowed_types) > 1:
            context.problem(
                f"{prefix}target_type",
                mapping.line,
                "missing required key 'target_type' (allowed_types lists more than one type)",
            )
    if operator is None:
        return None
    lines = {key: mapping.position(key).value_line for key in RULE_KEYS if key in mapping}
    return ParsedRule(
        prefix, mapping.line, operator, source, source_builtin, target, target_builtin, target_type, lines
    )
