"""The fake OpsLevel catalog as plain JSON-able dicts: what tests read and ``GET /__catalog`` serves."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_opslevel.testing._catalog import Catalog
from airflow_provider_opslevel.testing._catalog_records import (
    Relationship,
    StoredComponent,
    StoredComponentType,
)

__all__ = [
    "component_dict",
    "component_type_dict",
    "relationship_definition_dict",
    "relationship_dict",
    "snapshot",
]


def relationship_dict(cat: Catalog, r: Relationship) -> dict[str, Any]:
    """A rule-managed relationship as ``FakeOpsLevel.relationships()`` returns it."""

    def side(component_id: str) -> dict[str, Any]:
        c = cat.components[component_id]
        return {
            "id": c.id,
            "alias": c.managed_aliases[0] if c.managed_aliases else c.identifier,
            "name": c.name,
            "aliases": c.aliases,
        }

    return {
        "id": r.id,
        "definition": cat.relationship_definitions[r.definition_id].alias if r.definition_id else None,
        "type": r.type,
        "source": side(r.source_id),
        "target": side(r.target_id),
    }


def component_dict(cat: Catalog, c: StoredComponent) -> dict[str, Any]:
    """A component as ``FakeOpsLevel.component_by_alias()`` returns it."""
    values = {cat.definitions[d].alias: v for d, v in c.properties.items()}
    return {
        "id": c.id,
        "name": c.name,
        "type": cat.types[c.type_id].alias,
        "aliases": c.aliases,
        "managedAliases": list(c.managed_aliases),
        "description": c.description,
        "framework": c.framework,
        "language": c.language,
        "product": c.product,
        "note": c.note,
        "owner": c.owner,
        "lifecycle": c.lifecycle,
        "tier": c.tier,
        "parent": c.parent,
        "tags": [{"key": t.key, "value": t.value} for t in c.tags.values()],
        "properties": {alias: json.loads(v.value) for alias, v in values.items()},
        "lockedProperties": sorted(alias for alias, v in values.items() if v.locked),
        "propertyErrors": {alias: v.validation_errors for alias, v in values.items() if v.validation_errors},
        "htmlUrl": f"{cat.html_base}/catalog/components/{c.identifier}",
        "createdAt": c.created_at,
        "updatedAt": c.updated_at,
    }


def component_type_dict(cat: Catalog, t: StoredComponentType) -> dict[str, Any]:
    """A component type with its property definitions, as in :func:`snapshot`."""
    definitions = [cat.definitions[d] for d in t.definitions]
    return {
        "id": t.id,
        "alias": t.alias,
        "name": t.name,
        "description": t.description,
        "isDefault": t.is_default,
        "icon": dict(t.icon),
        "ownerRelationship": {"managementRules": t.owner_rules},
        "systemRelationship": {"managementRules": t.system_rules},
        "properties": {
            d.alias: {
                "id": d.id,
                "name": d.name,
                "description": d.description,
                "schema": d.schema,
                "lockedStatus": d.locked_status,
                "propertyDisplayStatus": d.display_status,
                "allowedInConfigFiles": d.allowed_in_config_files,
            }
            for d in definitions
        },
    }


def relationship_definition_dict(cat: Catalog, reldef_id: str) -> dict[str, Any]:
    """One relationship definition as in :func:`snapshot`."""
    with cat.lock:
        r = cat.relationship_definitions[reldef_id]
        return {
            "id": r.id,
            "alias": r.alias,
            "name": r.name,
            "description": r.description,
            "componentType": cat.types[r.component_type_id].alias,
            "managementRules": [dict(rule) for rule in r.management_rules],
            "metadata": dict(r.metadata),
        }


def snapshot(cat: Catalog) -> dict[str, Any]:
    """The whole catalog as a JSON-able dict (the format ``FakeOpsLevel.seed()`` accepts)."""
    with cat.lock:
        return json.loads(
            json.dumps(
                {
                    "account": {"id": cat.account_id},
                    "componentTypes": [component_type_dict(cat, t) for t in cat.types.values()],
                    "components": [component_dict(cat, c) for c in cat.components.values()],
                    "relationshipDefinitions": [
                        relationship_definition_dict(cat, r) for r in cat.relationship_definitions
                    ],
                    "relationships": [
                        {
                            "id": r.id,
                            "source": r.source_id,
                            "target": r.target_id,
                            "type": r.type,
                            "definition": cat.relationship_definitions[r.definition_id].alias
                            if r.definition_id
                            else None,
                        }
                        for r in cat.relationships.values()
                    ],
                    "managedRelationships": [relationship_dict(cat, r) for r in cat.managed_relationships()],
                }
            )
        )
