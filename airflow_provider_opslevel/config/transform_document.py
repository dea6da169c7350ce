"""Build :class:`Transform` models from the transform document's YAML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from airflow_provider_opslevel.config.fields import ItemContext
from airflow_provider_opslevel.config.models import (
    DEFAULT_PROPERTY_KEYS,
    DefaultProperties,
    OnComponentNotFound,
    Transform,
)
from airflow_provider_opslevel.config.yaml_source import Position, YamlSequence
from airflow_provider_opslevel.errors import ConfigProblem
from airflow_provider_opslevel.expressions import JqExpression

__all__ = ["TRANSFORM_KEYS", "ParsedTransform", "parse_transform"]

TRANSFORM_KEYS = (
    "external_kind",
    "opslevel_kind",
    "opslevel_identifier",
    "on_component_not_found",
    "properties",
    "default_properties",
    "aliases",
)
REQUIRED_KEYS = ("external_kind", "opslevel_kind", "opslevel_identifier", "on_component_not_found")


@dataclass
class ParsedTransform:
    """A transform item as read; ``model`` is ``None`` when the item had problems."""

    index: int
    context: ItemContext
    model: Transform | None = None


def parse_transform(
    file: str, problems: list[ConfigProblem], index: int, item: Any, position: Position
) -> ParsedTransform:
    """Validate one ``transforms`` item and build its model.

    :param file: the transform file, as given.
    :param problems: where problems are recorded.
    :param index: the item's position in ``transforms``.
    :param item: the item's YAML value.
    :param position: the item's position in the list.
    """
    context = ItemContext(file, problems, "transforms", index)
    parsed = ParsedTransform(index, context)
    mapping = context.mapping(item, "", position)
    if mapping is None:
        return parsed
    context.external_kind = context.string(mapping, "external_kind", required=True)
    context.check_keys(mapping, "", TRANSFORM_KEYS, required=REQUIRED_KEYS)
    opslevel_kind = context.string(mapping, "opslevel_kind", required=True)
    identifier = context.jq(mapping, "opslevel_identifier", required=True)
    on_not_found = (
        context.choice(mapping, "on_component_not_found", "", ("create", "skip", "suggest"))
        if "on_component_not_found" in mapping
        else None
    )

    properties: dict[str, JqExpression] = {}
    found = context.get(mapping, "properties", "", required=False)
    if found is not None:
        values = context.mapping(found[0], "properties", found[1])
        if values is not None:
            for key in values:
                if not isinstance(key, str):
                    line = values.position(key).key_line
                    context.problem(f"properties.{key}", line, "property identifiers must be strings")
                    continue
                expression = context.jq(values, key, "properties.", required=True)
                if expression is not None:
                    properties[key] = expression

    defaults: dict[str, JqExpression] = {}
    found = context.get(mapping, "default_properties", "", required=False)
    if found is not None:
        values = context.mapping(found[0], "default_properties", found[1])
        if values is not None:
            context.check_keys(values, "default_properties.", DEFAULT_PROPERTY_KEYS)
            for key in DEFAULT_PROPERTY_KEYS:
                expression = context.jq(values, key, "default_properties.", required=True)
                if expression is not None:
                    defaults[key] = expression

    aliases: list[JqExpression] = []
    found = context.get(mapping, "aliases", "", required=False)
    if found is not None:
        value, alias_position = found
        if isinstance(value, YamlSequence):
            for number, (source, item_position) in enumerate(value.entries()):
                expression = context.jq_value(source, f"aliases[{number}]", item_position)
                if expression is not None:
                    aliases.append(expression)
        else:
            expression = context.jq_value(value, "aliases", alias_position)
            if expression is not None:
                aliases.append(expression)

    if context.ok and context.external_kind and opslevel_kind and identifier is not None and on_not_found:
        parsed.model = Transform(
            external_kind=context.external_kind,
            opslevel_kind=opslevel_kind,
            opslevel_identifier=identifier,
            on_component_not_found=cast(OnComponentNotFound, on_not_found),
            where=context.location(None, mapping.line),
            properties=properties,
            default_properties=DefaultProperties(**defaults),
            aliases=tuple(aliases),
            locations=context.final_locations(),
        )
    return parsed
