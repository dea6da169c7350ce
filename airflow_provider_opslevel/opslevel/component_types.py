"""Reading and writing component types, their property definitions and relationship definitions.

What catalog setup needs from OpsLevel (:mod:`~airflow_provider_opslevel.catalog_setup` decides
what to write). Nodes come back as OpsLevel answers them (see the fragments in :mod:`.documents`);
every read is paged through :func:`~airflow_provider_opslevel.opslevel.pagination.collect_nodes`.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from airflow_provider_opslevel.opslevel import documents
from airflow_provider_opslevel.opslevel.client import OpsLevelClient, format_errors
from airflow_provider_opslevel.opslevel.errors import MutationPayloadError
from airflow_provider_opslevel.opslevel.pagination import collect_nodes, connection_at

__all__ = ["ComponentTypesApi", "Node", "SetupWrite"]

Node = dict[str, Any]
SetupWrite = Literal[
    "ComponentTypeCreate",
    "ComponentTypeUpdate",
    "PropertyDefinitionUpdate",
    "RelationshipDefinitionCreate",
    "RelationshipDefinitionUpdate",
]

# Creating twice is not harmless: the client must not resend these after a timeout.
_NOT_IDEMPOTENT = frozenset({"ComponentTypeCreate", "RelationshipDefinitionCreate"})


class ComponentTypesApi:
    """Reads and writes through one client, counting what it sends.

    :param client: the GraphQL client (pacing and retries live there).
    :ivar requests: GraphQL requests sent (reads and writes).
    :ivar mutations: of which writes.
    """

    def __init__(self, client: OpsLevelClient) -> None:
        self.client = client
        self.requests = 0
        self.mutations = 0

    # ------------------------------------------------------------------------------- reads

    def component_types(self) -> list[Node]:
        """Every component type: ``id aliases name description isDefault``."""
        return self._pages("ComponentTypeList", {}, ["account", "componentTypes"])

    def property_definitions(self, type_id: str) -> list[Node]:
        """The property definitions of one type, in OpsLevel's order (``CatalogDefinitionFields``)."""
        return self._pages(
            "ComponentTypeProperties", {"id": type_id}, ["account", "componentType", "properties"]
        )

    def relationship_definitions(self, type_id: str) -> list[Node]:
        """The relationship definitions on one type (``CatalogRelationshipDefinitionFields``)."""
        return self._pages(
            "RelationshipDefinitionList",
            {"componentType": {"id": type_id}},
            ["account", "relationshipDefinitions"],
        )

    def relationship_definition(self, alias: str) -> Node | None:
        """The relationship definition ``alias`` on whichever type holds it, or ``None``."""
        data = self._execute("RelationshipDefinitionGet", {"alias": alias})
        return cast(Node | None, (data.get("account") or {}).get("relationshipDefinition"))

    # ------------------------------------------------------------------------------ writes

    def write(self, operation: SetupWrite, variables: dict[str, Any]) -> Node:
        """Send one of :data:`~airflow_provider_opslevel.opslevel.documents.SETUP_WRITES`; its payload.

        :param variables: as the document declares them (``input``, and the target's identifier).
        :raises MutationPayloadError: the payload holds ``errors`` or is missing.
        :raises OpsLevelApiError: the request failed.
        """
        field = documents.SETUP_WRITES[operation]
        payload = self._execute(operation, variables).get(field)
        if payload is None:
            raise MutationPayloadError(f"{field}: no payload returned")
        if payload.get("errors"):
            raise MutationPayloadError(f"{field}: {format_errors(payload['errors'])}")
        return cast(Node, payload)

    # ----------------------------------------------------------------------------- sending

    def _execute(self, operation: str, variables: dict[str, Any]) -> Node:
        self.requests += 1
        if operation in documents.SETUP_WRITES:
            self.mutations += 1
        idempotent = operation not in _NOT_IDEMPOTENT
        document = documents.ALL_DOCUMENTS[operation]
        return self.client.execute(document, variables, operation, idempotent=idempotent)

    def _pages(self, operation: str, variables: dict[str, Any], path: list[str]) -> list[Node]:
        # Read at call time: tests shrink the page size to exercise paging.
        first = documents.SETUP_PAGE_SIZE

        def fetch(after: str) -> Node | None:
            data = self._execute(operation, {**variables, "after": after, "first": first})
            return cast(Node | None, connection_at(data, path))

        return collect_nodes(fetch, label=operation)
