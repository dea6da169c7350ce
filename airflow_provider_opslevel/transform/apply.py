"""Carry out a :class:`Plan` against OpsLevel, one component at a time.

A failed write is recorded on its component (``action`` becomes ``error``) and the others go on:
one bad record never costs the rest of the sync.
"""

from __future__ import annotations

import logging

from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.opslevel.catalog import OpsLevelCatalog
from airflow_provider_opslevel.transform.plan import ComponentPlan, Plan

log = logging.getLogger(__name__)


def _write(catalog: OpsLevelCatalog, item: ComponentPlan) -> list[str]:
    """Write one component's changes; return property validation warnings."""
    desired = item.desired
    changed = {change.field for change in item.changes}
    fields = {name: value for name, value in desired.fields.items() if name in changed}
    if item.current is None:
        fields.setdefault("name", desired.alias)
        current = catalog.create_component(desired.kind, fields)
        item.current = current
    elif fields:
        current = catalog.update_component(item.current.id, fields)
    else:
        current = item.current
    for alias in [desired.alias, *desired.aliases]:
        if alias not in current.aliases:
            current.aliases = catalog.add_alias(current.id, alias) or [*current.aliases, alias]
    missing_tags = [tag for tag in desired.tags if tag not in current.tags]
    if missing_tags:
        catalog.assign_tags(current.id, missing_tags)
    warnings = []
    for name, value in desired.properties.items():
        if f"properties.{name}" not in changed:
            continue
        if value is None:  # the source has no value any more: clear it rather than write "null"
            catalog.unassign_property(current.id, name)
            continue
        for message in catalog.assign_property(current.id, name, value):
            warnings.append(f"property {name}: {message}")
    return warnings


def apply_plan(catalog: OpsLevelCatalog, plan: Plan) -> None:
    """Apply every ``create`` and ``update``; failures become ``error`` items with their message."""
    for item in plan.components:
        if item.action not in ("create", "update"):
            continue
        try:
            warnings = _write(catalog, item)
        except OpsLevelIntegrationError as exc:
            item.message = f"{item.action} failed: {exc}"
            item.action = "error"
            log.error("%s %s: %s", item.desired.kind, item.desired.alias, item.message)
            continue
        if warnings:
            item.message = "; ".join(warnings)
            log.warning("%s %s: %s", item.desired.kind, item.desired.alias, item.message)
