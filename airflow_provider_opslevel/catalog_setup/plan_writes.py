"""Planning: per declared object ``create``, ``update`` (with field-level changes) or ``unchanged``,
and the writes that get there.

Compared: a type's ``name`` and (when given) ``description``; a definition's ``name``, ``schema``,
``locked``, ``display_status`` and (when given) ``description`` and ``allowed_in_config_files``; a
relationship's ``name``, ``allowed_types``, and (when given) ``description``, ``min_items``,
``max_items`` and ``management_rules`` (compared as a set). Text read back is HTML-unescaped
before comparing; a null ``lockedStatus`` counts as ``unlocked``, a null display status as
``visible``.

Writes: a missing type is one ``ComponentTypeCreate`` carrying its definitions. On an existing
type, missing definitions are added with one ``ComponentTypeUpdate`` whose ``properties`` lists
*every* definition the type has — the undeclared ones re-sent as read — so nothing is lost whether
OpsLevel merges or replaces that list; changed definitions otherwise go through
``PropertyDefinitionUpdate`` (by id), and a changed name/description through
``ComponentTypeUpdate`` without ``properties``. Then ``RelationshipDefinitionCreate`` /
``RelationshipDefinitionUpdate`` (the update re-sends the metadata fields the document does not
manage, as read). Nothing is ever deleted.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_opslevel.catalog_setup.models import (
    ComponentTypeSpec,
    PropertySpec,
    RelationshipDefinitionSpec,
)
from airflow_provider_opslevel.catalog_setup.report import Action, EnsureItem, SetupChange
from airflow_provider_opslevel.catalog_setup.state import OpsLevelState, first_alias
from airflow_provider_opslevel.opslevel.component_types import Node, SetupWrite

__all__ = ["PlannedItem", "PlannedWrite", "plan_component_type", "plan_relationship_definition"]


@dataclass
class PlannedItem:
    """The report line for one declared object, and the write (if any) that realises it."""

    item: EnsureItem
    write: int | None = None  # index of the write that realises it


@dataclass
class PlannedWrite:
    """One mutation to send, in order."""

    operation: SetupWrite
    variables: dict[str, Any]
    result_id: Callable[[Node], str | None] | None = None  # id of a created object, from the payload


def _text(value: Any) -> str | None:
    return html.unescape(value) if isinstance(value, str) else value


def _same_text(before: Any, after: str | None) -> bool:
    return (before or "") == (after or "") or (_text(before) or "") == (after or "")


def _schema_of(node: Node) -> Any:
    schema = node.get("schema")
    if isinstance(schema, str):
        try:
            return json.loads(schema)
        except ValueError:
            return schema
    return schema


def _encode_schema(schema: Any) -> str:
    # JSONSchema travels as a JSON-encoded string (opslevel-go JSONSchema.MarshalJSON).
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


def _property_input(spec: PropertySpec, existing: Node | None) -> dict[str, Any]:
    description = spec.description
    if description is None:  # not managed: keep what OpsLevel has
        description = _text((existing or {}).get("description")) or ""
    in_config = spec.allowed_in_config_files
    if in_config is None:  # not managed; always sent, as the API defaults an absent value to true
        in_config = bool((existing or {}).get("allowedInConfigFiles", False))
    return {
        "alias": spec.alias,
        "name": spec.name,
        "description": description,
        "schema": _encode_schema(spec.schema),
        "lockedStatus": spec.locked_status,
        "propertyDisplayStatus": spec.display_status,
        "allowedInConfigFiles": in_config,
    }


def _resend_input(node: Node) -> dict[str, Any]:
    """A definition the document does not declare, re-sent exactly as read."""
    data = {
        "alias": first_alias(node),
        "name": node["name"],
        "description": _text(node.get("description")) or "",
        "schema": _encode_schema(_schema_of(node)),
        "propertyDisplayStatus": node.get("propertyDisplayStatus") or "visible",
        "allowedInConfigFiles": bool(node.get("allowedInConfigFiles")),
    }
    if node.get("lockedStatus"):
        data["lockedStatus"] = node["lockedStatus"]
    return data


def _name_and_description(
    spec: ComponentTypeSpec | PropertySpec | RelationshipDefinitionSpec, node: Node
) -> tuple[list[SetupChange], dict[str, Any]]:
    """What differs in the two fields every declared object has, and the input that fixes it
    (an absent ``description`` is not managed)."""
    changes: list[SetupChange] = []
    update: dict[str, Any] = {}
    if node.get("name") != spec.name:
        changes.append(SetupChange("name", node.get("name"), spec.name))
        update["name"] = spec.name
    if spec.description is not None and not _same_text(node.get("description"), spec.description):
        changes.append(SetupChange("description", _text(node.get("description")), spec.description))
        update["description"] = spec.description
    return changes, update


def _property_changes(spec: PropertySpec, node: Node) -> list[SetupChange]:
    changes, _ = _name_and_description(spec, node)
    schema = _schema_of(node)
    if schema != spec.schema:
        changes.append(SetupChange("schema", schema, dict(spec.schema)))
    locked = (node.get("lockedStatus") or "unlocked") == "ui_locked"
    if locked != spec.locked:
        changes.append(SetupChange("locked", locked, spec.locked))
    display = node.get("propertyDisplayStatus") or "visible"
    if display != spec.display_status:
        changes.append(SetupChange("display_status", display, spec.display_status))
    in_config = bool(node.get("allowedInConfigFiles"))
    if spec.allowed_in_config_files is not None and in_config != spec.allowed_in_config_files:
        changes.append(SetupChange("allowed_in_config_files", in_config, spec.allowed_in_config_files))
    return changes


def _payload_id(key: str) -> Callable[[Node], str | None]:
    return lambda payload: (payload.get(key) or {}).get("id")


def plan_component_type(
    spec: ComponentTypeSpec, state: OpsLevelState, entries: list[PlannedItem], writes: list[PlannedWrite]
) -> None:
    node = state.type_node(spec.alias)
    if node is None:
        data: dict[str, Any] = {"alias": spec.alias, "name": spec.name}
        if spec.description is not None:
            data["description"] = spec.description
        data["properties"] = [_property_input(p, None) for p in spec.properties]
        writes.append(PlannedWrite("ComponentTypeCreate", {"input": data}, _payload_id("componentType")))
        index = len(writes) - 1
        entries.append(PlannedItem(EnsureItem("component_type", spec.alias, "create"), index))
        for prop in spec.properties:
            entries.append(
                PlannedItem(EnsureItem("property_definition", prop.alias, "create", spec.alias), index)
            )
        return

    type_id = node["id"]
    type_changes, type_input = _name_and_description(spec, node)
    type_entry = PlannedItem(
        EnsureItem(
            "component_type",
            spec.alias,
            "update" if type_changes else "unchanged",
            id=type_id,
            changes=tuple(type_changes),
        )
    )
    entries.append(type_entry)

    existing = state.definitions.get(type_id, {})
    property_entries: list[tuple[PropertySpec, PlannedItem, Node | None]] = []
    for prop in spec.properties:
        definition = existing.get(prop.alias)
        if definition is None:
            item = EnsureItem("property_definition", prop.alias, "create", spec.alias)
        else:
            changes = _property_changes(prop, definition)
            action: Action = "update" if changes else "unchanged"
            item = EnsureItem(
                "property_definition", prop.alias, action, spec.alias, definition["id"], tuple(changes)
            )
        entry = PlannedItem(item)
        entries.append(entry)
        property_entries.append((prop, entry, definition))

    if any(entry.item.action == "create" for _, entry, _ in property_entries):
        # One update carrying every definition: declared ones as wanted, the others as they are.
        declared = {prop.alias for prop in spec.properties}
        properties = [
            _resend_input(definition)
            for definition in state.definition_lists.get(type_id, [])
            if not declared.intersection(definition.get("aliases") or [])
        ]
        properties += [_property_input(prop, definition) for prop, _, definition in property_entries]
        writes.append(
            PlannedWrite(
                "ComponentTypeUpdate",
                {"componentType": {"id": type_id}, "input": {**type_input, "properties": properties}},
            )
        )
        for entry in [type_entry, *(entry for _, entry, _ in property_entries)]:
            if entry.item.action != "unchanged":
                entry.write = len(writes) - 1
        return

    if type_changes:
        writes.append(
            PlannedWrite(
                "ComponentTypeUpdate",
                {"componentType": {"id": type_id}, "input": type_input},
            )
        )
        type_entry.write = len(writes) - 1
    for prop, entry, definition in property_entries:
        if entry.item.action != "update" or definition is None:
            continue
        data = _property_input(prop, definition)
        del data["alias"]
        writes.append(
            PlannedWrite(
                "PropertyDefinitionUpdate",
                {"propertyDefinition": {"id": definition["id"]}, "input": data},
            )
        )
        entry.write = len(writes) - 1


def _rule_dict(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule (input or read back) in the document's key names, for comparing and reporting."""
    out = {
        "operator": rule.get("operator") or "EQUALS",
        "source_property": rule.get("sourceProperty"),
        "source_property_builtin": bool(rule.get("sourcePropertyBuiltin")),
        "target_property": rule.get("targetProperty"),
        "target_property_builtin": bool(rule.get("targetPropertyBuiltin")),
        "target_type": rule.get("targetType"),
    }
    if rule.get("targetCategory"):
        out["target_category"] = rule["targetCategory"]
    return out


def _rules_key(rules: Iterable[Mapping[str, Any]]) -> list[str]:
    return sorted(json.dumps(rule, sort_keys=True) for rule in rules)


def plan_relationship_definition(
    spec: RelationshipDefinitionSpec,
    state: OpsLevelState,
    entries: list[PlannedItem],
    writes: list[PlannedWrite],
) -> None:
    wanted_rules = (
        None if spec.management_rules is None else [rule.as_input() for rule in spec.management_rules]
    )
    node = state.relationships.get(spec.alias)
    if node is None:
        metadata: dict[str, Any] = {"allowedTypes": list(spec.allowed_types)}
        if spec.min_items is not None:
            metadata["minItems"] = spec.min_items
        if spec.max_items is not None:
            metadata["maxItems"] = spec.max_items
        data: dict[str, Any] = {
            "alias": spec.alias,
            "name": spec.name,
            "componentType": {"alias": spec.component_type},
            "metadata": metadata,
        }
        if spec.description is not None:
            data["description"] = spec.description
        if wanted_rules is not None:
            data["managementRules"] = wanted_rules
        writes.append(
            PlannedWrite(
                "RelationshipDefinitionCreate",
                {"input": data},
                _payload_id("definition"),
            )
        )
        item = EnsureItem("relationship_definition", spec.alias, "create", spec.component_type)
        entries.append(PlannedItem(item, len(writes) - 1))
        return

    changes, update = _name_and_description(spec, node)
    read_metadata = node.get("metadata") or {}
    metadata = {
        "allowedTypes": list(read_metadata.get("allowedTypes") or []),
        "allowedCategories": list(read_metadata.get("allowedCategories") or []),
        "minItems": read_metadata.get("minItems"),
        "maxItems": read_metadata.get("maxItems"),
    }
    metadata_changed = False
    if sorted(metadata["allowedTypes"]) != sorted(spec.allowed_types):
        changes.append(SetupChange("allowed_types", metadata["allowedTypes"], list(spec.allowed_types)))
        metadata["allowedTypes"] = list(spec.allowed_types)
        metadata_changed = True
    for key, name, wanted in (
        ("minItems", "min_items", spec.min_items),
        ("maxItems", "max_items", spec.max_items),
    ):
        if wanted is not None and metadata[key] != wanted:
            changes.append(SetupChange(name, metadata[key], wanted))
            metadata[key] = wanted
            metadata_changed = True
    if metadata_changed:
        update["metadata"] = metadata
    if wanted_rules is not None:
        before = [_rule_dict(rule) for rule in node.get("managementRules") or []]
        after = [_rule_dict(rule) for rule in wanted_rules]
        if _rules_key(before) != _rules_key(after):
            changes.append(SetupChange("management_rules", before, after))
            update["managementRules"] = wanted_rules
    entry = PlannedItem(
        EnsureItem(
            "relationship_definition",
            spec.alias,
            "update" if changes else "unchanged",
            spec.component_type,
            node["id"],
            tuple(changes),
        )
    )
    if changes:
        writes.append(
            PlannedWrite(
                "RelationshipDefinitionUpdate",
                {"relationshipDefinition": {"id": node["id"]}, "input": update},
            )
        )
        entry.write = len(writes) - 1
    entries.append(entry)
