"""Typed catalog operations over :class:`OpsLevelClient`: read, create and update components."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.opslevel import documents
from airflow_provider_opslevel.opslevel.client import OpsLevelClient, format_errors

# Built-in component fields a transform may set, and how each is written in Service*Input.
TEXT_FIELDS = ("name", "description", "framework", "language", "product")
ALIAS_FIELDS = {"lifecycle": "lifecycleAlias", "tier": "tierAlias"}
BUILTIN_FIELDS = (*TEXT_FIELDS, "owner", "lifecycle", "tier")
# OpsLevel returns these HTML-escaped (opslevel-go's Service.Hydrate unescapes them).
ESCAPED_FIELDS = ("description", "product")


class MutationError(OpsLevelIntegrationError):
    """A mutation answered with payload ``errors``."""

    def __init__(self, operation: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{operation}: {format_errors(errors)}")
        self.operation = operation
        self.errors = errors


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
                {"key": t["key"], "value": t["value"]}
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


class OpsLevelCatalog:
    """Component reads and writes, one GraphQL document each.

    :param client: the GraphQL client (from :class:`~airflow_provider_opslevel.hooks.opslevel.OpsLevelHook`).
    """

    def __init__(self, client: OpsLevelClient) -> None:
        self.client = client

    def _mutate(self, document: str, operation: str, field_name: str, variables: dict[str, Any]) -> dict:
        payload = self.client.execute(document, variables, operation)[field_name]
        if payload is None:
            raise MutationError(field_name, [{"message": "no payload returned", "path": []}])
        if payload.get("errors"):
            raise MutationError(field_name, payload["errors"])
        return payload

    def get_component(self, alias: str) -> Component | None:
        data = self.client.execute(documents.COMPONENT_GET, {"alias": alias}, "ComponentGet")
        node = data["account"]["service"]
        return self._complete(node) if node else None

    def _complete(self, node: dict[str, Any]) -> Component:
        component = Component.from_node(node)
        page_info = (node.get("properties") or {}).get("pageInfo") or {}
        while page_info.get("hasNextPage"):
            data = self.client.execute(
                documents.COMPONENT_PROPERTIES_PAGE,
                {"id": component.id, "after": page_info["endCursor"], "first": documents.PROPERTY_PAGE_SIZE},
                "ComponentPropertiesPage",
            )
            connection = data["account"]["service"]["properties"]
            component.add_properties(connection.get("nodes") or [])
            page_info = connection.get("pageInfo") or {}
        return component

    def create_component(self, kind: str, fields: dict[str, Any]) -> Component:
        variables = {"input": {**component_input(fields), "type": {"alias": kind}}}
        payload = self._mutate(documents.COMPONENT_CREATE, "ComponentCreate", "serviceCreate", variables)
        return self._complete(payload["service"])

    def update_component(self, component_id: str, fields: dict[str, Any]) -> Component:
        variables = {"input": {**component_input(fields), "id": component_id}}
        payload = self._mutate(documents.COMPONENT_UPDATE, "ComponentUpdate", "serviceUpdate", variables)
        return self._complete(payload["service"])

    def add_alias(self, component_id: str, alias: str) -> list[str]:
        variables = {"input": {"alias": alias, "ownerId": component_id}}
        payload = self._mutate(documents.ALIAS_CREATE, "AliasCreate", "aliasCreate", variables)
        return list(payload.get("aliases") or [])

    def assign_property(self, component_id: str, definition: str, value: Any) -> list[str]:
        """Set one custom property; returns the definition's validation errors (empty when valid)."""
        variables = {
            "input": {
                "owner": {"id": component_id},
                "definition": {"alias": definition},
                "value": json.dumps(value),
            }
        }
        payload = self._mutate(documents.PROPERTY_ASSIGN, "PropertyAssign", "propertyAssign", variables)
        prop = payload.get("property") or {}
        return [error["message"] for error in prop.get("validationErrors") or []]

    def unassign_property(self, component_id: str, definition: str) -> None:
        variables = {"owner": {"id": component_id}, "definition": {"alias": definition}}
        self._mutate(documents.PROPERTY_UNASSIGN, "PropertyUnassign", "propertyUnassign", variables)

    def assign_tags(self, component_id: str, tags: list[dict[str, str]]) -> None:
        variables = {"input": {"id": component_id, "tags": tags}}
        self._mutate(documents.TAG_ASSIGN, "TagAssign", "tagAssign", variables)

    def account_id(self) -> str:
        return self.client.execute(documents.ACCOUNT_ID, {}, "AccountId")["account"]["id"]
