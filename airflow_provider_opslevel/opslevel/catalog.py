"""Typed catalog operations over :class:`OpsLevelClient`: read, create and update components."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_opslevel.opslevel import documents
from airflow_provider_opslevel.opslevel.batch import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LOOKUP_BATCH_SIZE,
    Batcher,
    Operation,
)
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.opslevel.errors import OpsLevelApiError
from airflow_provider_opslevel.opslevel.pagination import collect_nodes, connection_at

# Built-in component fields a transform may set, and how each is written in Service*Input.
TEXT_FIELDS = ("name", "description", "framework", "language", "product")
ALIAS_FIELDS = {"lifecycle": "lifecycleAlias", "tier": "tierAlias"}
BUILTIN_FIELDS = (*TEXT_FIELDS, "owner", "lifecycle", "tier")
# OpsLevel returns these HTML-escaped (opslevel-go's Service.Hydrate unescapes them).
ESCAPED_FIELDS = ("description", "product")


@dataclass
class Component:
    """A component as OpsLevel holds it, decoded (properties are JSON values, text unescaped)."""

    id: str
    name: str
    type_aliases: list[str]
    aliases: list[str]
    managed_aliases: list[str]
    fields: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    """Values keyed by every alias (and the id) of their definition."""
    locked: set[str] = field(default_factory=set)

    def is_kind(self, kind: str) -> bool:
        # A component with no type is a plain service.
        return kind in self.type_aliases or (not self.type_aliases and kind == "service")

    @property
    def kind(self) -> str:
        return self.type_aliases[0] if self.type_aliases else "service"

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> Component:
        fields: dict[str, Any] = {name: node.get(name) for name in TEXT_FIELDS}
        for name in ESCAPED_FIELDS:
            if isinstance(fields[name], str):
                fields[name] = html.unescape(fields[name])
        fields["owner"] = (node.get("owner") or {}).get("alias")
        fields["lifecycle"] = (node.get("lifecycle") or {}).get("alias")
        fields["tier"] = (node.get("tier") or {}).get("alias")
        component = cls(
            id=node["id"],
            name=node["name"],
            type_aliases=list((node.get("type") or {}).get("aliases") or []),
            aliases=list(node.get("aliases") or []),
            managed_aliases=list(node.get("managedAliases") or []),
            fields=fields,
            tags=[
                {"id": t["id"], "key": t["key"], "value": t["value"]}
                for t in (node.get("tags") or {}).get("nodes") or []
                if t
            ],
        )
        component.add_properties((node.get("properties") or {}).get("nodes") or [])
        return component

    def add_properties(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            if not node:
                continue
            raw = node.get("value")
            value = json.loads(raw) if raw is not None else None
            definition = node["definition"]
            for key in [definition["id"], *definition.get("aliases", [])]:
                self.properties[key] = value
                if node.get("locked"):
                    self.locked.add(key)


def component_input(fields: dict[str, Any]) -> dict[str, Any]:
    """``ServiceCreateInput`` / ``ServiceUpdateInput`` fields for built-in component fields."""
    data: dict[str, Any] = {}
    for name, value in fields.items():
        if name in TEXT_FIELDS:
            data[name] = value
        elif name in ALIAS_FIELDS:
            data[ALIAS_FIELDS[name]] = value
        elif name == "owner":
            data["ownerInput"] = {"alias": value} if value is not None else None
        else:
            raise ValueError(f"{name!r} is not a built-in component field")
    return data


@dataclass
class PropertyDefinition:
    id: str
    aliases: list[str]
    name: str
    schema: dict[str, Any]


@dataclass
class ComponentType:
    """A component type and its property definitions, keyed by every alias and the id."""

    id: str
    aliases: list[str]
    name: str
    definitions: dict[str, PropertyDefinition] = field(default_factory=dict)

    def add_definitions(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            if not node:
                continue
            schema = node.get("schema")
            definition = PropertyDefinition(
                id=node["id"],
                aliases=list(node.get("aliases") or []),
                name=node.get("name") or "",
                # JSONSchema comes back as an object; tolerate a JSON string too.
                schema=json.loads(schema) if isinstance(schema, str) else dict(schema or {}),
            )
            for key in [definition.id, *definition.aliases]:
                self.definitions[key] = definition

    @property
    def property_aliases(self) -> list[str]:
        return sorted({d.aliases[0] if d.aliases else d.id for d in self.definitions.values()})


# Look-up requests whose operations are built at once (memory, not requests: each is full).
_LOOKUP_SLICE = 20


class OpsLevelCatalog:
    """Reads the catalog in as few requests as the API allows; writes go through :attr:`batcher`.

    :param client: the GraphQL client (from :class:`~airflow_provider_opslevel.hooks.opslevel.OpsLevelHook`).
    :param batch_size: mutations per request.
    :param lookup_batch_size: alias look-ups per request.
    """

    def __init__(
        self,
        client: OpsLevelClient,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lookup_batch_size: int = DEFAULT_LOOKUP_BATCH_SIZE,
    ) -> None:
        self.client = client
        self.batcher = Batcher(client, batch_size=batch_size, lookup_batch_size=lookup_batch_size)

    def _pages(self, document: str, operation: str, variables: dict[str, Any], path: list[str]) -> list[dict]:
        """Every node of the connection at ``path``, following ``pageInfo``."""

        def fetch(after: str) -> Mapping[str, Any] | None:
            return connection_at(
                self.client.execute(document, {**variables, "after": after}, operation), path
            )

        return collect_nodes(fetch, label=operation)

    def account_id(self) -> str:
        return self.client.execute(documents.ACCOUNT_ID, {}, "AccountId")["account"]["id"]

    def component_type(self, alias: str) -> ComponentType | None:
        """The type with its property definitions, or ``None`` when OpsLevel has no such type."""
        data = self.client.execute(documents.COMPONENT_TYPE_GET, {"alias": alias}, "ComponentTypeGet")
        node = data["account"]["componentType"]
        if node is None:
            return None
        component_type = ComponentType(
            id=node["id"], aliases=list(node.get("aliases") or []), name=node["name"]
        )
        connection = node.get("properties") or {}
        component_type.add_definitions(connection.get("nodes") or [])
        page_info = connection.get("pageInfo") or {}
        if page_info.get("hasNextPage"):
            rest = self._pages(
                documents.COMPONENT_TYPE_PROPERTIES_PAGE,
                "ComponentTypePropertiesPage",
                {"id": component_type.id, "first": documents.NESTED_PAGE_SIZE},
                ["account", "componentType", "properties"],
            )
            component_type.add_definitions(rest)
        return component_type

    def components_of_type(self, type_id: str) -> list[Component]:
        """Every component of one type, 500 per request, properties and tags included."""
        nodes = self._pages(
            documents.COMPONENTS_OF_TYPE,
            "ComponentsOfType",
            {"typeId": type_id, "first": documents.PAGE_SIZE},
            ["account", "services"],
        )
        return [self._complete(node) for node in nodes]

    def lookup(self, aliases: list[str]) -> dict[str, Component]:
        """The components that hold some of ``aliases`` (an alias nobody holds is left out),
        :attr:`lookup_batch_size` aliases per request.

        Operations are built a slice at a time: a million look-ups built at once held ~1 GB.
        """
        found: dict[str, Component] = {}
        step = max(1, self.batcher.lookup_batch_size) * _LOOKUP_SLICE
        for start in range(0, len(aliases), step):
            operations = [
                Operation("service", {"alias": ("String", alias)}, documents.COMPONENT_SELECTION, tag=alias)
                for alias in aliases[start : start + step]
            ]
            for result in self.batcher.query("ComponentLookup", operations):
                if result.error:
                    raise OpsLevelApiError(f"looking up alias {result.operation.tag!r} failed: {result.error}")
                if result.data:
                    found[result.operation.tag] = self._complete(result.data)
        return found

    def _complete(self, node: dict[str, Any]) -> Component:
        """A component from a node, fetching nested pages beyond the first 100 properties or tags."""
        component = Component.from_node(node)
        if ((node.get("properties") or {}).get("pageInfo") or {}).get("hasNextPage"):
            component.properties.clear()
            component.add_properties(
                self._pages(
                    documents.COMPONENT_PROPERTIES_PAGE,
                    "ComponentPropertiesPage",
                    {"id": component.id, "first": documents.NESTED_PAGE_SIZE},
                    ["account", "service", "properties"],
                )
            )
        if ((node.get("tags") or {}).get("pageInfo") or {}).get("hasNextPage"):
            tags = self._pages(
                documents.COMPONENT_TAGS_PAGE,
                "ComponentTagsPage",
                {"id": component.id, "first": documents.NESTED_PAGE_SIZE},
                ["account", "service", "tags"],
            )
            component.tags = [{"id": t["id"], "key": t["key"], "value": t["value"]} for t in tags]
        return component
