"""Carry out a :class:`Plan` with batched mutations, in as few requests as dependencies allow.

1. ``serviceCreate`` for every new component (their ids are needed next);
2. everything else at once: ``serviceUpdate``, ``aliasCreate``, ``tagDelete``/``tagAssign``,
   ``propertyAssign``/``propertyUnassign`` (owners addressed by id);
3. a new component whose identifying alias could not be added is deleted again: left alone it
   would be invisible to the next sync, which would create it a second time.

A failed operation is recorded on its component; the others in its batch go on.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow_provider_opslevel.opslevel.batch import OperationResult, mutation
from airflow_provider_opslevel.opslevel.catalog import Component, OpsLevelCatalog, component_input
from airflow_provider_opslevel.transform.plan import ComponentPlan, Plan

log = logging.getLogger(__name__)


def _fail(item: ComponentPlan, message: str) -> None:
    item.problems.append(message)
    item.action = "error"


def _create_operations(plan: Plan) -> list[Any]:
    operations = []
    for item in plan.of("create"):
        fields = dict(item.fields)
        fields.setdefault("name", item.desired.alias)
        payload = {**component_input(fields), "type": {"alias": item.desired.kind}}
        operations.append(mutation("serviceCreate", input=payload, tag=item, idempotent=False))
    return operations


def _write_operations(item: ComponentPlan, created: bool) -> list[Any]:
    """Every write one component needs once it has an id."""
    assert item.current is not None
    owner = item.current.id
    changed = {change.field for change in item.changes}
    operations = []
    fields = {name: value for name, value in item.fields.items() if name in changed}
    if fields and not created:
        operations.append(
            mutation("serviceUpdate", input={**component_input(fields), "id": owner}, tag=(item, "fields"))
        )
    for alias in [item.desired.alias, *item.desired.aliases]:
        if alias not in item.current.aliases:
            operations.append(
                mutation(
                    "aliasCreate", input={"alias": alias, "ownerId": owner}, tag=(item, f"alias:{alias}")
                )
            )
    for tag in item.stale_tags:
        operations.append(mutation("tagDelete", input={"id": tag["id"]}, tag=(item, "tags")))
    held = {(tag["key"], tag["value"]) for tag in item.current.tags}
    missing = [
        {"key": key, "value": value} for key, value in item.desired.tags_pairs() if (key, value) not in held
    ]
    if missing:
        operations.append(
            mutation("tagAssign", input={"id": owner, "tags": missing}, tag=(item, "tags"), idempotent=False)
        )
    for name, value in item.properties.items():
        if f"properties.{name}" not in changed:
            continue
        if value is None:  # the source has no value any more: clear it rather than write "null"
            operations.append(
                mutation(
                    "propertyUnassign",
                    owner={"id": owner},
                    definition={"alias": name},
                    tag=(item, f"property:{name}"),
                )
            )
        else:
            payload = {"owner": {"id": owner}, "definition": {"alias": name}, "value": json.dumps(value)}
            operations.append(mutation("propertyAssign", input=payload, tag=(item, f"property:{name}")))
    return operations


def _record(result: OperationResult) -> None:
    item, what = result.operation.tag
    if result.error:
        _fail(item, f"{result.operation.field} ({what}) failed: {result.error}")
        return
    prop = (result.data or {}).get("property") or {}
    for error in prop.get("validationErrors") or []:
        item.problems.append(f"{what}: OpsLevel says {error.get('message')}")


def apply_plan(catalog: OpsLevelCatalog, plan: Plan) -> None:
    """Apply every ``create``, ``update`` and ``delete``; failures turn their component into an ``error`` item."""
    batcher = catalog.batcher
    created: list[ComponentPlan] = []
    for result in batcher.mutate("ComponentCreate", _create_operations(plan)):
        item = result.operation.tag
        service = (result.data or {}).get("service")
        if result.error or not service:
            _fail(item, f"serviceCreate failed: {result.error or 'no component returned'}")
            continue
        item.current = Component(
            id=service["id"],
            name=service["name"],
            type_aliases=[item.desired.kind],
            aliases=list(service["aliases"]),
            managed_aliases=[],
        )
        created.append(item)

    created_ids = {id(item) for item in created}
    operations = []
    for item in plan.components:
        if item.action in ("create", "update") and item.current is not None:
            operations += _write_operations(item, id(item) in created_ids)
    results = batcher.mutate("ComponentWrite", operations)
    for result in results:
        _record(result)

    failed_alias = {
        id(result.operation.tag[0])
        for result in results
        if result.error and result.operation.tag[1] == f"alias:{result.operation.tag[0].desired.alias}"
    }
    orphans = [item for item in created if id(item) in failed_alias]
    undo = [
        mutation("serviceDelete", input={"id": item.current.id}, tag=item) for item in orphans if item.current
    ]
    for result in batcher.mutate("ComponentCreateUndo", undo):
        item = result.operation.tag
        if result.error:
            item.problems.append(
                f"created {item.current.id} but could not add its alias nor delete it: {result.error}"
            )
        else:
            item.problems.append("the new component was deleted again because its alias could not be added")
    deletes = [
        mutation("serviceDelete", input={"id": item.current.id}, tag=item)
        for item in plan.of("delete")
        if item.current
    ]
    for result in batcher.mutate("ComponentDelete", deletes):
        if result.error:
            _fail(result.operation.tag, f"serviceDelete failed: {result.error}")
    for item in plan.components:
        if item.action == "error" and item.problems:
            log.error("%s %s: %s", item.desired.kind, item.desired.alias, "; ".join(item.problems))
