"""Declared component types as the transform's planner sees them (for dry runs before setup)."""

from __future__ import annotations

from airflow_provider_opslevel.catalog_setup.models import CatalogDocument
from airflow_provider_opslevel.opslevel.catalog import ComponentType, PropertyDefinition


def declared_component_types(document: CatalogDocument) -> dict[str, ComponentType]:
    """The types ``document`` declares, shaped like types read from OpsLevel (ids marked as new)."""
    types: dict[str, ComponentType] = {}
    for spec in document.component_types:
        component_type = ComponentType(id=f"(new {spec.alias})", aliases=[spec.alias], name=spec.name)
        for prop in spec.properties:
            definition = PropertyDefinition(
                id=f"(new {spec.alias}.{prop.alias})",
                aliases=[prop.alias],
                name=prop.name,
                schema=dict(prop.schema),
            )
            component_type.definitions[prop.alias] = definition
        types[spec.alias] = component_type
    return types
