"""``ensure_catalog``: create or update a catalog document's objects in OpsLevel, never deleting.

Steps (OpsLevel is read and written through
:class:`~airflow_provider_opslevel.opslevel.component_types.ComponentTypesApi`):

1. **Read** what the document is about (:mod:`.state`).
2. **Check** before writing anything (:mod:`.opslevel_checks`): every problem is raised at once in
   :class:`~airflow_provider_opslevel.catalog_setup.errors.CatalogSetupError`, each naming the
   YAML item.
3. **Plan** per object ``create``, ``update`` (with field-level changes) or ``unchanged``, and the
   writes that get there (:mod:`.plan_writes`).
4. **Write** (unless ``dry_run``) in order, stopping at the first refusal. Nothing is ever
   deleted; a second run sends no mutation.
"""

from __future__ import annotations

from dataclasses import replace

from airflow_provider_opslevel.catalog_setup.errors import CatalogSetupError
from airflow_provider_opslevel.catalog_setup.models import CatalogDocument
from airflow_provider_opslevel.catalog_setup.opslevel_checks import check_against_opslevel
from airflow_provider_opslevel.catalog_setup.plan_writes import (
    PlannedItem,
    PlannedWrite,
    plan_component_type,
    plan_relationship_definition,
)
from airflow_provider_opslevel.catalog_setup.report import EnsureItem, EnsureReport
from airflow_provider_opslevel.catalog_setup.state import read_state
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.opslevel.component_types import ComponentTypesApi
from airflow_provider_opslevel.opslevel.errors import OpsLevelApiError

__all__ = ["ensure_catalog"]


def ensure_catalog(
    document: CatalogDocument, client: OpsLevelClient, *, dry_run: bool = False
) -> EnsureReport:
    """Create or update the document's component types, property definitions and relationship
    definitions in OpsLevel; never delete anything. A second run sends no mutation.

    :param document: from :func:`~airflow_provider_opslevel.catalog_setup.load_catalog`.
    :param client: the OpsLevel GraphQL client (``OpsLevelHook.get_client()`` in a task).
    :param dry_run: read and plan only; the report says what a real run would do.
    :returns: one item per declared object, with field-level changes for updates.
    :raises CatalogSetupError: a check failed before anything was written (every problem listed),
        or OpsLevel refused a write (``.report`` holds what was done before it).
    :raises OpsLevelApiError: a read failed (HTTP error, top-level GraphQL errors, endless pages).
    """
    api = ComponentTypesApi(client)
    state = read_state(document, api)
    problems = check_against_opslevel(document, state)
    if problems:
        raise CatalogSetupError(problems)
    entries: list[PlannedItem] = []
    writes: list[PlannedWrite] = []
    for spec in document.component_types:
        plan_component_type(spec, state, entries, writes)
    for relationship in document.relationship_definitions:
        plan_relationship_definition(relationship, state, entries, writes)

    if dry_run:
        return EnsureReport(tuple(e.item for e in entries), True, api.requests, api.mutations)

    created_ids: dict[int, str | None] = {}
    for index, write in enumerate(writes):
        try:
            payload = api.write(write.operation, write.variables)
        except OpsLevelApiError as error:  # MutationPayloadError included
            done = [e for e in entries if e.write is None or e.write < index]
            pending = [e.item.label for e in entries if e.write is not None and e.write >= index]
            report = EnsureReport(_items(done, created_ids), False, api.requests, api.mutations)
            raise CatalogSetupError(
                f"{write.operation} failed: {error}; not done (or not confirmed): {', '.join(pending)}",
                report,
            ) from error
        if write.result_id is not None:
            created_ids[index] = write.result_id(payload)
    return EnsureReport(_items(entries, created_ids), False, api.requests, api.mutations)


def _items(entries: list[PlannedItem], created_ids: dict[int, str | None]) -> tuple[EnsureItem, ...]:
    """The entries' items, with the ids of the types and relationships that were created."""
    items = []
    for entry in entries:
        item = entry.item
        if entry.write is not None and entry.write in created_ids and item.kind != "property_definition":
            item = replace(item, id=created_ids[entry.write])
        items.append(item)
    return tuple(items)
