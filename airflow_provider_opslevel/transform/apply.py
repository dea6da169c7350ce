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


def _create_operation(item: ComponentPlan) -> Any:
    fields = dict(item.fields)
    fields.setdefault("name", item.desired.alias)
    payload = {**component_input(fields), "type": {"alias": item.desired.kind}}
    return mutation("serviceCreate", input=payload, tag=item, idempotent=False)


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


# Components whose writes are built and sent together: operations for a whole plan at once
# (five or so per component) held hundreds of MB at 100,000 components.
GROUP = 2_000


class _Writes:
    """Write operations sent in full batches as they come; the last, partial batch at :meth:`flush`,
    so streaming costs no request over sending them all at once."""

    def __init__(self, batcher: Any) -> None:
        self.batcher = batcher
        self.pending: list[Any] = []
        self.failed_alias: set[int] = set()

    def add(self, operations: list[Any]) -> None:
        self.pending += operations
        full = len(self.pending) - len(self.pending) % max(1, self.batcher.batch_size)
        if full:
            self._send(self.pending[:full])
            del self.pending[:full]

    def flush(self) -> None:
        self._send(self.pending)
        self.pending = []

    def _send(self, operations: list[Any]) -> None:
        for result in self.batcher.mutate("ComponentWrite", operations):
            _record(result)
            item, what = result.operation.tag
            if result.error and what == f"alias:{item.desired.alias}":
                self.failed_alias.add(id(item))


def apply_plan(catalog: OpsLevelCatalog, plan: Plan) -> None:
    """Apply every ``create``, ``update`` and ``delete``; failures turn their component into an ``error`` item.

    Creates go first, :data:`GROUP` components at a time (a multiple of the batch size, so no
    request is added), each group's writes right after; writes of components that exist already
    follow. Batches stay full across groups.
    """
    batcher = catalog.batcher
    writes = _Writes(batcher)
    created: list[ComponentPlan] = []
    creates = plan.of("create")
    group = max(batcher.batch_size, GROUP - GROUP % max(1, batcher.batch_size))
    for start in range(0, len(creates), group):
        made: list[ComponentPlan] = []
        for result in batcher.mutate("ComponentCreate", [_create_operation(i) for i in creates[start : start + group]]):
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
            made.append(item)
        for item in made:
            writes.add(_write_operations(item, True))
        created += made
    for item in plan.components:
        if item.action == "update" and item.current is not None:
            writes.add(_write_operations(item, False))
    writes.flush()

    orphans = [item for item in created if id(item) in writes.failed_alias]
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
