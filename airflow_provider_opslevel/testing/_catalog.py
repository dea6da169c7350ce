"""The in-memory OpsLevel catalog behind :class:`~.fake_opslevel.FakeOpsLevel`.

Plain Python, no GraphQL: the resolvers in ``_graphql_api`` translate GraphQL arguments
(coerced input dicts with the SDL's camelCase keys) into calls on :class:`Catalog`, and
the Python test API uses the same methods, so both paths share one implementation.

Mutating methods return ``(result, errors)`` where ``errors`` is a list of OpsLevel
payload errors ``{"message": str, "path": [str, ...]}`` (``path`` names the input field,
``["base"]`` the whole object) and nothing changes when it is non-empty.

Every public method takes :attr:`Catalog.lock` (re-entrant); the GraphQL layer holds it for
a whole execution, so one request never observes another half-done.

Rule-managed relationships (see ``_rules``) are derived data: every mutation that can change
them marks them stale, and :meth:`Catalog.managed_relationships` recomputes them on the next
read, so a bulk sync of thousands of components pays for one evaluation, not one per call.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from airflow_provider_opslevel.testing import _jsonschema, _rules
from airflow_provider_opslevel.testing._filters import component_matches
from airflow_provider_opslevel.testing._ids import make_id

Error = dict[str, Any]
Input = dict[str, Any]
_F = TypeVar("_F", bound=Callable[..., Any])

# The client-side check opslevel-go applies (tags.go); the fake enforces it server-side.
_TAG_KEY = re.compile(r"\A[a-z][0-9a-z_\.\/\\-]*\Z")
_RELATIONSHIP_TARGET_BUILTINS = ("team", "user")


def alias_from_name(name: str) -> str:
    """The snake_case identifier OpsLevel derives from a display name (``"My Prop"`` -> ``my_prop``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def now() -> str:
    """Current UTC time, ISO 8601 with microseconds and ``Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_value(value: Any) -> str:
    """Canonical compact JSON, the form property values are stored and returned in."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def err(message: str, *path: str) -> Error:
    """An OpsLevel payload error."""
    return {"message": message, "path": list(path) or ["base"]}


def _locked(method: _F) -> _F:
    @functools.wraps(method)
    def wrapper(self: Catalog, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _mutating(method: _F) -> _F:
    """Like :func:`_locked`, and marks rule-managed relationships stale afterwards."""

    @functools.wraps(method)
    def wrapper(self: Catalog, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            try:
                return method(self, *args, **kwargs)
            finally:
                self._managed_stale = True

    return wrapper  # type: ignore[return-value]


@dataclass
class ComponentType:
    id: str
    alias: str
    name: str
    description: str | None = None
    icon: dict[str, Any] = field(default_factory=lambda: {"color": "#6E56CF", "name": "PhCube"})
    is_default: bool = False
    owner_rules: list[dict[str, Any]] = field(default_factory=list)
    system_rules: list[dict[str, Any]] = field(default_factory=list)
    definitions: dict[str, None] = field(default_factory=dict)  # ordered set of definition ids
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)


@dataclass
class PropertyDefinition:
    id: str
    alias: str
    name: str
    component_type_id: str
    schema: dict[str, Any]
    description: str | None = None
    allowed_in_config_files: bool = True
    display_status: str = "visible"
    locked_status: str = "unlocked"
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)


@dataclass
class PropertyValue:
    value: str  # canonical JSON text
    locked: bool = False
    validation_errors: list[Error] = field(default_factory=list)


@dataclass
class Tag:
    id: str
    key: str
    value: str
    owner_id: str


@dataclass
class Component:
    """A service/component. ``identifier`` is the alias OpsLevel generated from the name."""

    id: str
    name: str
    type_id: str
    identifier: str
    managed_aliases: list[str] = field(default_factory=list)
    description: str | None = None
    framework: str | None = None
    language: str | None = None
    product: str | None = None
    note: str | None = None
    lifecycle: str | None = None
    tier: str | None = None
    owner: str | None = None
    parent: str | None = None
    tags: dict[str, Tag] = field(default_factory=dict)
    properties: dict[str, PropertyValue] = field(default_factory=dict)  # definition id -> value
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)

    @property
    def aliases(self) -> list[str]:
        return [self.identifier, *self.managed_aliases]


@dataclass
class RelationshipDefinition:
    """A relationship on a component type; its management rules link components (``_rules``)."""

    id: str
    alias: str
    name: str
    component_type_id: str
    description: str | None = None
    management_rules: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Relationship:
    """A relationship; ``managed`` ones are derived from a definition's management rules."""

    id: str
    source_id: str
    target_id: str
    type: str
    definition_id: str | None = None
    managed: bool = False


# Input keys of ServiceCreateInput/ServiceUpdateInput stored verbatim -> Component attribute.
_COMPONENT_TEXT = {
    "description": "description",
    "framework": "framework",
    "language": "language",
    "product": "product",
    "lifecycleAlias": "lifecycle",
    "tierAlias": "tier",
    "ownerAlias": "owner",
    "note": "note",
}


def _ident_text(ident: Input | None) -> str:
    ident = ident or {}
    return str(ident.get("id") or ident.get("alias") or "")


def _rule(rule: Input) -> dict[str, Any]:
    return {
        "operator": rule.get("operator") or "EQUALS",
        "sourceProperty": rule.get("sourceProperty") or "",
        "sourcePropertyBuiltin": bool(rule.get("sourcePropertyBuiltin")),
        "targetCategory": rule.get("targetCategory"),
        "targetProperty": rule.get("targetProperty") or "",
        "targetPropertyBuiltin": bool(rule.get("targetPropertyBuiltin")),
        "targetType": rule.get("targetType"),
    }


class Catalog:
    """Component types, property definitions, components, tags, relationships.

    Indexes keep every lookup O(1): aliases -> component id, type alias -> type id,
    (definition alias, type id) -> definition id, components per type.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        #: Base of ``htmlUrl`` values; the fake sets it to its own URL when it starts.
        self.html_base = "https://app.opslevel.com"
        self.account_id = make_id("Account", 1)
        self.types: dict[str, ComponentType] = {}
        self.definitions: dict[str, PropertyDefinition] = {}
        self.components: dict[str, Component] = {}
        self.tags: dict[str, Tag] = {}
        self.relationship_definitions: dict[str, RelationshipDefinition] = {}
        self.relationships: dict[str, Relationship] = {}
        self._type_by_alias: dict[str, str] = {}
        self._definition_by_alias: dict[str, dict[str, str]] = {}  # alias -> {type id: definition id}
        self._component_by_alias: dict[str, str] = {}
        self._components_by_type: dict[str, dict[str, None]] = {}
        self._reldef_by_alias: dict[str, str] = {}
        self._counters: dict[str, itertools.count[int]] = {}
        self._identifier_next: dict[str, int] = {}
        self._managed: dict[str, Relationship] = {}  # rule-managed relationships by id
        self._managed_stale = False
        service, _ = self.create_type({"alias": "service", "name": "Service"})
        assert service is not None
        service.is_default = True
        service.description = "Services are software deployed in your infrastructure"
        self.default_type = service

    def _new_id(self, kind: str, taken: dict[str, Any]) -> str:
        counter = self._counters.setdefault(kind, itertools.count(1))
        while True:
            candidate = make_id(kind, next(counter))
            if candidate not in taken:
                return candidate

    # -- lookups ---------------------------------------------------------------------------
    @_locked
    def find_type(self, ident: Input | None) -> ComponentType | None:
        """Component type by ``{id}`` or ``{alias}``."""
        if not ident:
            return None
        if ident.get("id"):
            return self.types.get(ident["id"])
        type_id = self._type_by_alias.get(ident.get("alias") or "")
        return self.types.get(type_id) if type_id else None

    @_locked
    def find_component(self, ident: Input | None) -> Component | None:
        """Component by ``{id}`` or ``{alias}``."""
        if not ident:
            return None
        if ident.get("id"):
            return self.components.get(ident["id"])
        return self.component_by_alias(ident.get("alias") or "")

    @_locked
    def component_by_alias(self, alias: str) -> Component | None:
        component_id = self._component_by_alias.get(alias)
        return self.components.get(component_id) if component_id else None

    @_locked
    def find_definition(self, ident: Input | None, type_id: str | None = None) -> PropertyDefinition | None:
        """Property definition by ``{id}`` or ``{alias}``; an alias prefers ``type_id``'s definition."""
        if not ident:
            return None
        if ident.get("id"):
            return self.definitions.get(ident["id"])
        by_type = self._definition_by_alias.get(ident.get("alias") or "") or {}
        definition_id = by_type.get(type_id or "") or next(iter(by_type.values()), None)
        return self.definitions.get(definition_id) if definition_id else None

    @_locked
    def find_relationship_definition(self, ident: Input | None) -> RelationshipDefinition | None:
        if not ident:
            return None
        if ident.get("id"):
            return self.relationship_definitions.get(ident["id"])
        reldef_id = self._reldef_by_alias.get(ident.get("alias") or "")
        return self.relationship_definitions.get(reldef_id) if reldef_id else None

    @_locked
    def list_components(
        self, filters: list[Input] | None = None, match: Callable[[Component], bool] | None = None
    ) -> list[Component]:
        """Components in creation order, AND-ing ``filters`` (``ServiceFilterInput``) and ``match``.

        :raises ValueError: a filter key or operator the fake does not support.
        """
        candidates: Iterable[Component] = self.components.values()
        filters = list(filters or [])
        # Fast path for the engine's listing by component type.
        for index, item in enumerate(filters):
            if item.get("key") == "component_type_id" and item.get("type", "equals") == "equals":
                ids = self._components_by_type.get(str(item.get("arg")), {})
                candidates = (self.components[i] for i in ids)
                del filters[index]
                break
        return [
            c
            for c in candidates
            if all(component_matches(self, c, f) for f in filters) and (match is None or match(c))
        ]

    # -- component types -------------------------------------------------------------------
    @_locked
    def create_type(
        self, data: Input, explicit_id: str | None = None
    ) -> tuple[ComponentType | None, list[Error]]:
        """``componentTypeCreate``: ``data`` is a ``ComponentTypeInput``."""
        name = (data.get("name") or "").strip()
        alias = data.get("alias") or alias_from_name(name)
        errors = []
        if not name:
            errors.append(err("Name can't be blank", "name"))
        if not alias:
            errors.append(err("Alias can't be blank", "alias"))
        elif alias in self._type_by_alias:
            errors.append(err(f"Alias '{alias}' has already been taken", "alias"))
        if any(t.name == name for t in self.types.values()):
            errors.append(err(f"Name '{name}' has already been taken", "name"))
        errors += self._check_type_properties(data.get("properties") or [])
        if explicit_id and explicit_id in self.types:
            errors.append(err(f"id '{explicit_id}' is taken", "id"))
        if errors:
            return None, errors
        ctype = ComponentType(
            id=explicit_id or self._new_id("ComponentType", self.types), alias=alias, name=name
        )
        self.types[ctype.id] = ctype
        self._type_by_alias[alias] = ctype.id
        self._components_by_type[ctype.id] = {}
        self._apply_type_fields(ctype, data)
        return ctype, []

    @staticmethod
    def _check_type_properties(properties: list[Input]) -> list[Error]:
        errors: list[Error] = []
        seen: set[str] = set()
        for item in properties:
            alias = str(item.get("alias"))
            if alias in seen:
                errors.append(err(f"Alias '{alias}' is listed twice", "properties"))
            seen.add(alias)
            if not isinstance(item.get("schema"), dict):
                errors.append(err("Schema must be a JSON object", "properties", "schema"))
        return errors

    def _apply_type_fields(self, ctype: ComponentType, data: Input) -> None:
        if "description" in data:
            ctype.description = data["description"]
        if data.get("icon"):
            ctype.icon = {"color": data["icon"].get("color"), "name": data["icon"].get("name")}
        if "ownerRelationship" in data:
            ctype.owner_rules = [
                _rule(r) for r in (data["ownerRelationship"] or {}).get("managementRules") or []
            ]
        if "systemRelationship" in data:
            ctype.system_rules = [
                _rule(r) for r in (data["systemRelationship"] or {}).get("managementRules") or []
            ]
        for item in data.get("properties") or []:
            existing = self.find_definition({"alias": item["alias"]}, ctype.id)
            if existing is not None and existing.component_type_id == ctype.id:
                self.update_definition({"id": existing.id}, item)
            else:
                self.create_definition(item, type_id=ctype.id, alias=item["alias"])
        ctype.updated_at = now()

    @_mutating
    def update_type(self, ident: Input, data: Input) -> tuple[ComponentType | None, list[Error]]:
        """``componentTypeUpdate``: only keys present in ``data`` change."""
        ctype = self.find_type(ident)
        if ctype is None:
            return None, [
                err(f"'{_ident_text(ident)}' does not identify a component type on this account", "base")
            ]
        errors = []
        if "name" in data:
            name = (data["name"] or "").strip()
            if not name:
                errors.append(err("Name can't be blank", "name"))
            elif any(t.name == name and t is not ctype for t in self.types.values()):
                errors.append(err(f"Name '{name}' has already been taken", "name"))
        alias = data.get("alias")
        if alias and alias != ctype.alias and alias in self._type_by_alias:
            errors.append(err(f"Alias '{alias}' has already been taken", "alias"))
        errors += self._check_type_properties(data.get("properties") or [])
        if errors:
            return None, errors
        if data.get("name"):
            ctype.name = data["name"].strip()
        if alias and alias != ctype.alias:
            del self._type_by_alias[ctype.alias]
            ctype.alias = alias
            self._type_by_alias[alias] = ctype.id
        self._apply_type_fields(ctype, data)
        return ctype, []

    @_mutating
    def delete_type(self, ident: Input) -> list[Error]:
        """``componentTypeDelete``: refuses the default type and types still in use."""
        ctype = self.find_type(ident)
        if ctype is None:
            return [err(f"'{_ident_text(ident)}' does not identify a component type on this account", "base")]
        if ctype.is_default:
            return [err("The default component type cannot be deleted", "base")]
        in_use = len(self._components_by_type.get(ctype.id, {}))
        if in_use:
            return [err(f"Component type '{ctype.alias}' still has {in_use} components", "base")]
        for definition_id in list(ctype.definitions):
            self.delete_definition({"id": definition_id})
        for reldef in list(self.relationship_definitions.values()):
            if reldef.component_type_id == ctype.id:
                self.delete_relationship_definition({"id": reldef.id})
        del self.types[ctype.id]
        del self._type_by_alias[ctype.alias]
        del self._components_by_type[ctype.id]
        return []

    # -- property definitions --------------------------------------------------------------
    @_locked
    def create_definition(
        self,
        data: Input,
        type_id: str | None = None,
        alias: str | None = None,
        explicit_id: str | None = None,
    ) -> tuple[PropertyDefinition | None, list[Error]]:
        """``propertyDefinitionCreate`` (on the default type unless ``type_id``)."""
        ctype = self.types.get(type_id) if type_id else self.default_type
        name = (data.get("name") or "").strip()
        alias = alias or alias_from_name(name)
        errors = []
        if ctype is None:
            errors.append(err("Unknown component type", "componentType"))
        if not name:
            errors.append(err("Name can't be blank", "name"))
        if not isinstance(data.get("schema"), dict):
            errors.append(err("Schema must be a JSON object", "schema"))
        if ctype is not None and ctype.id in (self._definition_by_alias.get(alias) or {}):
            errors.append(err(f"Alias '{alias}' has already been taken", "alias"))
        if explicit_id and explicit_id in self.definitions:
            errors.append(err(f"id '{explicit_id}' is taken", "id"))
        if errors or ctype is None:
            return None, errors
        definition = PropertyDefinition(
            id=explicit_id or self._new_id("PropertyDefinition", self.definitions),
            alias=alias,
            name=name,
            component_type_id=ctype.id,
            schema=data["schema"],
        )
        self._apply_definition_fields(definition, data)
        self.definitions[definition.id] = definition
        self._definition_by_alias.setdefault(alias, {})[ctype.id] = definition.id
        ctype.definitions[definition.id] = None
        return definition, []

    def _apply_definition_fields(self, definition: PropertyDefinition, data: Input) -> None:
        if "description" in data:
            definition.description = data["description"]
        if data.get("allowedInConfigFiles") is not None:
            definition.allowed_in_config_files = bool(data["allowedInConfigFiles"])
        if data.get("propertyDisplayStatus"):
            definition.display_status = data["propertyDisplayStatus"]
        if data.get("lockedStatus"):
            definition.locked_status = data["lockedStatus"]
        definition.updated_at = now()

    @_locked
    def update_definition(self, ident: Input, data: Input) -> tuple[PropertyDefinition | None, list[Error]]:
        """``propertyDefinitionUpdate``: only keys present in ``data`` change; values are re-validated."""
        definition = self.find_definition(ident)
        if definition is None:
            return None, [err(f"'{_ident_text(ident)}' does not identify a property definition", "base")]
        if "name" in data and not (data["name"] or "").strip():
            return None, [err("Name can't be blank", "name")]
        if "schema" in data and not isinstance(data["schema"], dict):
            return None, [err("Schema must be a JSON object", "schema")]
        if data.get("name"):
            definition.name = data["name"].strip()
        self._apply_definition_fields(definition, data)
        if "schema" in data:
            definition.schema = data["schema"]
            for component_id in self._components_by_type.get(definition.component_type_id, {}):
                stored = self.components[component_id].properties.get(definition.id)
                if stored is not None:
                    stored.validation_errors = _jsonschema.validate(
                        json.loads(stored.value), definition.schema
                    )
        return definition, []

    @_mutating
    def delete_definition(self, ident: Input) -> list[Error]:
        """``propertyDefinitionDelete``: also drops the values assigned with it."""
        definition = self.find_definition(ident)
        if definition is None:
            return [err(f"'{_ident_text(ident)}' does not identify a property definition", "base")]
        for component_id in self._components_by_type.get(definition.component_type_id, {}):
            self.components[component_id].properties.pop(definition.id, None)
        del self.definitions[definition.id]
        by_type = self._definition_by_alias[definition.alias]
        del by_type[definition.component_type_id]
        if not by_type:
            del self._definition_by_alias[definition.alias]
        ctype = self.types.get(definition.component_type_id)
        if ctype is not None:
            ctype.definitions.pop(definition.id, None)
        return []

    # -- components ------------------------------------------------------------------------
    def _unique_identifier(self, name: str) -> str:
        base = alias_from_name(name) or "component"
        if base not in self._component_by_alias:
            return base
        # Remember the next free suffix so 10,000 equal names do not cost O(n^2).
        n = self._identifier_next.get(base, 2)
        while f"{base}_{n}" in self._component_by_alias:
            n += 1
        self._identifier_next[base] = n + 1
        return f"{base}_{n}"

    def _check_component_input(self, data: Input, creating: bool) -> tuple[ComponentType | None, list[Error]]:
        errors = []
        if creating or "name" in data:
            if not (data.get("name") or "").strip():
                errors.append(err("Name can't be blank", "name"))
        ctype = None
        if data.get("type"):
            ctype = self.find_type(data["type"])
            if ctype is None:
                text = _ident_text(data["type"])
                errors.append(err(f"'{text}' does not identify a component type on this account", "type"))
        return ctype, errors

    def _apply_component_fields(self, component: Component, data: Input, ctype: ComponentType | None) -> None:
        for key, attribute in _COMPONENT_TEXT.items():
            if key in data:
                setattr(component, attribute, data[key])
        if "ownerInput" in data:
            component.owner = _ident_text(data["ownerInput"]) or None
        if "parent" in data:
            component.parent = _ident_text(data["parent"]) or None
        if data.get("name"):
            component.name = data["name"].strip()
        if ctype is not None and ctype.id != component.type_id:
            self._components_by_type[component.type_id].pop(component.id, None)
            component.type_id = ctype.id
            self._components_by_type[ctype.id][component.id] = None
        component.updated_at = now()

    @_mutating
    def create_component(
        self, data: Input, explicit_id: str | None = None
    ) -> tuple[Component | None, list[Error]]:
        """``serviceCreate``: ``data`` is a ``ServiceCreateInput`` (``type`` defaults to ``service``)."""
        ctype, errors = self._check_component_input(data, creating=True)
        if explicit_id and explicit_id in self.components:
            errors.append(err(f"id '{explicit_id}' is taken", "id"))
        if errors:
            return None, errors
        ctype = ctype or self.default_type
        component = Component(
            id=explicit_id or self._new_id("Service", self.components),
            name=data["name"].strip(),
            type_id=ctype.id,
            identifier=self._unique_identifier(data["name"]),
        )
        self.components[component.id] = component
        self._component_by_alias[component.identifier] = component.id
        self._components_by_type[ctype.id][component.id] = None
        self._apply_component_fields(component, data, None)
        return component, []

    @_mutating
    def update_component(self, data: Input) -> tuple[Component | None, list[Error]]:
        """``serviceUpdate``: found by ``id`` or ``alias``; only keys present in ``data`` change."""
        component = self.find_component({"id": data.get("id"), "alias": data.get("alias")})
        if component is None:
            text = data.get("id") or data.get("alias") or ""
            return None, [
                err(
                    f"'{text}' does not identify a service on this account",
                    "id" if data.get("id") else "alias",
                )
            ]
        ctype, errors = self._check_component_input(data, creating=False)
        if errors:
            return None, errors
        self._apply_component_fields(component, data, ctype)
        return component, []

    @_locked
    def update_note(self, ident: Input, note: str | None) -> tuple[Component | None, list[Error]]:
        """``serviceNoteUpdate``."""
        component = self.find_component(ident)
        if component is None:
            return None, [
                err(f"'{_ident_text(ident)}' does not identify a service on this account", "service")
            ]
        component.note = note
        component.updated_at = now()
        return component, []

    @_mutating
    def delete_component(self, data: Input) -> tuple[Component | None, list[Error]]:
        """``serviceDelete`` by ``id`` or ``alias``; drops its aliases, tags and relationships."""
        component = self.find_component({"id": data.get("id"), "alias": data.get("alias")})
        if component is None:
            text = data.get("id") or data.get("alias") or ""
            return None, [
                err(
                    f"'{text}' does not identify a service on this account",
                    "id" if data.get("id") else "alias",
                )
            ]
        for alias in component.aliases:
            self._component_by_alias.pop(alias, None)
        for tag_id in component.tags:
            self.tags.pop(tag_id, None)
        for rel in list(self.relationships.values()):
            if component.id in (rel.source_id, rel.target_id):
                del self.relationships[rel.id]
        self._components_by_type[component.type_id].pop(component.id, None)
        del self.components[component.id]
        return component, []

    # -- aliases ---------------------------------------------------------------------------
    @_mutating
    def create_alias(self, alias: str, owner_id: str) -> tuple[Component | None, list[Error]]:
        """``aliasCreate``: aliases are unique across all components.

        Re-adding an alias the owner already has is a no-op.
        """
        component = self.components.get(owner_id)
        if component is None:
            return None, [err(f"'{owner_id}' does not identify any record on this account", "ownerId")]
        alias = alias.strip()
        if not alias:
            return None, [err("Alias can't be blank", "alias")]
        holder = self._component_by_alias.get(alias)
        if holder is not None and holder != component.id:
            return None, [err(f"Alias '{alias}' has already been taken by another resource", "alias")]
        if holder is None:
            component.managed_aliases.append(alias)
            self._component_by_alias[alias] = component.id
            component.updated_at = now()
        return component, []

    @_mutating
    def delete_alias(self, alias: str, owner_type: str) -> tuple[str | None, list[Error]]:
        """``aliasDelete``: only service (component) aliases exist here."""
        component = self.component_by_alias(alias) if owner_type == "service" else None
        if component is None:
            kind = owner_type.replace("_", " ")
            return None, [err(f"'{alias}' does not identify a {kind} on this account", "alias")]
        if alias == component.identifier:
            return None, [
                err(f"'{alias}' is the unique identifier of the service and cannot be deleted", "alias")
            ]
        component.managed_aliases.remove(alias)
        del self._component_by_alias[alias]
        component.updated_at = now()
        return alias, []

    # -- tags ------------------------------------------------------------------------------
    def _tag_owner(self, data: Input) -> tuple[Component | None, list[Error]]:
        if data.get("id"):
            component = self.components.get(data["id"])
            if component is None:
                return None, [err(f"'{data['id']}' does not identify any record on this account", "id")]
            return component, []
        if data.get("alias"):
            kind = data.get("type") or "Service"
            component = self.component_by_alias(data["alias"]) if kind == "Service" else None
            if component is None:
                return None, [err(f"'{data['alias']}' does not identify a {kind} on this account", "alias")]
            return component, []
        return None, [err("Either id or alias is required", "base")]

    @staticmethod
    def _check_tag(key: str, value: str) -> list[Error]:
        errors = []
        if not _TAG_KEY.match(key or ""):
            errors.append(
                err(
                    "Key must start with a lowercase letter and contain only lowercase letters, "
                    "numbers, and _ . / \\ -",
                    "key",
                )
            )
        if not value:
            errors.append(err("Value can't be blank", "value"))
        return errors

    def _add_tag(self, component: Component, key: str, value: str) -> Tag:
        tag = Tag(id=self._new_id("Tag", self.tags), key=key, value=value, owner_id=component.id)
        self.tags[tag.id] = tag
        component.tags[tag.id] = tag
        component.updated_at = now()
        return tag

    @staticmethod
    def _find_tag(component: Component, key: str, value: str) -> Tag | None:
        return next((t for t in component.tags.values() if t.key == key and t.value == value), None)

    @_locked
    def assign_tags(self, data: Input) -> tuple[list[Tag] | None, list[Error]]:
        """``tagAssign``: adds tags, keeping existing ones (an existing key+value is reused)."""
        component, errors = self._tag_owner(data)
        for item in data.get("tags") or []:
            errors += self._check_tag(item["key"], item["value"])
        if errors or component is None:
            return None, errors
        assigned = []
        for item in data["tags"]:
            tag = self._find_tag(component, item["key"], item["value"])
            assigned.append(tag or self._add_tag(component, item["key"], item["value"]))
        return assigned, []

    @_locked
    def create_tag(self, data: Input) -> tuple[Tag | None, list[Error]]:
        """``tagCreate``: one tag; an identical key+value on the same resource is an error."""
        component, errors = self._tag_owner(data)
        errors += self._check_tag(data["key"], data["value"])
        if errors or component is None:
            return None, errors
        if self._find_tag(component, data["key"], data["value"]) is not None:
            return None, [err(f"Tag '{data['key']}:{data['value']}' already exists on this resource", "base")]
        return self._add_tag(component, data["key"], data["value"]), []

    @_locked
    def update_tag(self, data: Input) -> tuple[Tag | None, list[Error]]:
        """``tagUpdate``: key and/or value of one tag."""
        tag = self.tags.get(data["id"])
        if tag is None:
            return None, [err(f"'{data['id']}' does not identify a tag on this account", "id")]
        key = data.get("key") or tag.key
        value = data.get("value") or tag.value
        errors = self._check_tag(key, value)
        if errors:
            return None, errors
        tag.key, tag.value = key, value
        self.components[tag.owner_id].updated_at = now()
        return tag, []

    @_locked
    def delete_tag(self, tag_id: str) -> list[Error]:
        """``tagDelete``."""
        tag = self.tags.pop(tag_id, None)
        if tag is None:
            return [err(f"'{tag_id}' does not identify a tag on this account", "id")]
        owner = self.components[tag.owner_id]
        del owner.tags[tag_id]
        owner.updated_at = now()
        return []

    # -- properties ------------------------------------------------------------------------
    def _property_target(
        self, owner: Input, definition: Input, owner_type: str | None = None
    ) -> tuple[Component | None, PropertyDefinition | None, list[Error]]:
        component = self.find_component(owner) if owner_type in (None, "COMPONENT") else None
        if component is None:
            kind = "team" if owner_type == "TEAM" else "component"
            return (
                None,
                None,
                [err(f"'{_ident_text(owner)}' does not identify a {kind} on this account", "owner")],
            )
        found = self.find_definition(definition, component.type_id)
        if found is None:
            return (
                None,
                None,
                [err(f"'{_ident_text(definition)}' does not identify a property definition", "definition")],
            )
        if found.component_type_id != component.type_id:
            ctype = self.types[component.type_id]
            return (
                None,
                None,
                [
                    err(
                        f"Property '{found.alias}' is not defined on component type '{ctype.alias}'",
                        "definition",
                    )
                ],
            )
        return component, found, []

    @_mutating
    def assign_property(self, data: Input) -> tuple[tuple[Component, PropertyDefinition] | None, list[Error]]:
        """``propertyAssign``: ``data["value"]`` is JSON text; schema violations are stored in
        ``validationErrors`` (not payload errors). Locked values may be overwritten (the API
        caller is the integration that owns them)."""
        component, definition, errors = self._property_target(
            data["owner"], data["definition"], data.get("ownerType")
        )
        try:
            decoded = json.loads(data["value"])
        except (TypeError, ValueError):
            errors.append(err("Value is not valid JSON", "value"))
        if errors or component is None or definition is None:
            return None, errors
        validation = (
            _jsonschema.validate(decoded, definition.schema) if data.get("runValidation", True) else []
        )
        previous = component.properties.get(definition.id)
        component.properties[definition.id] = PropertyValue(
            value=encode_value(decoded),
            locked=previous.locked if previous else False,
            validation_errors=validation,
        )
        component.updated_at = now()
        return (component, definition), []

    @_mutating
    def unassign_property(
        self, owner: Input, definition: Input
    ) -> tuple[tuple[Component, PropertyDefinition] | None, list[Error]]:
        """``propertyUnassign``; unassigning an unset property succeeds."""
        component, found, errors = self._property_target(owner, definition)
        if errors or component is None or found is None:
            return None, errors
        if component.properties.pop(found.id, None) is not None:
            component.updated_at = now()
        return (component, found), []

    @_locked
    def get_property(self, owner: Input, definition: Input) -> tuple[Component, PropertyDefinition] | None:
        """The (component, definition) pair for ``Account.property``, or ``None``."""
        component, found, errors = self._property_target(owner, definition)
        return None if errors or component is None or found is None else (component, found)

    # -- relationships ---------------------------------------------------------------------
    def _check_reldef(
        self, data: Input, current: RelationshipDefinition | None
    ) -> tuple[ComponentType | None, list[Error]]:
        errors: list[Error] = []
        ctype = None
        if "componentType" in data or current is None:
            ctype = self.find_type(data.get("componentType"))
            if ctype is None:
                errors.append(
                    err(
                        f"'{_ident_text(data.get('componentType'))}' does not identify a component type",
                        "componentType",
                    )
                )
        if current is None and not (data.get("name") or "").strip():
            errors.append(err("Name can't be blank", "name"))
        alias = data.get("alias") or (alias_from_name(data.get("name") or "") if current is None else None)
        holder = self._reldef_by_alias.get(alias) if alias else None
        if holder is not None and (current is None or holder != current.id):
            errors.append(err(f"Alias '{alias}' has already been taken", "alias"))
        for allowed in ((data.get("metadata") or {}).get("allowedTypes")) or []:
            if allowed not in self._type_by_alias and allowed not in _RELATIONSHIP_TARGET_BUILTINS:
                errors.append(
                    err(
                        f"'{allowed}' is not a component type alias, 'team' or 'user'",
                        "metadata",
                        "allowedTypes",
                    )
                )
        return ctype, errors

    def _apply_reldef_fields(
        self, reldef: RelationshipDefinition, data: Input, ctype: ComponentType | None
    ) -> None:
        if ctype is not None:
            reldef.component_type_id = ctype.id
        if data.get("name"):
            reldef.name = data["name"].strip()
        if "description" in data:
            reldef.description = data["description"]
        if "managementRules" in data:
            reldef.management_rules = [_rule(r) for r in data["managementRules"] or []]
        if "metadata" in data:
            meta = data["metadata"] or {}
            reldef.metadata = {
                "allowedCategories": list(meta.get("allowedCategories") or []),
                "allowedTypes": list(meta.get("allowedTypes") or []),
                "maxItems": meta.get("maxItems"),
                "minItems": meta.get("minItems"),
            }
        if data.get("alias") and data["alias"] != reldef.alias:
            self._reldef_by_alias.pop(reldef.alias, None)
            reldef.alias = data["alias"]
            self._reldef_by_alias[reldef.alias] = reldef.id

    @_mutating
    def create_relationship_definition(
        self, data: Input, explicit_id: str | None = None
    ) -> tuple[RelationshipDefinition | None, list[Error]]:
        """``relationshipDefinitionCreate``: ``componentType`` and ``name`` are required."""
        ctype, errors = self._check_reldef(data, None)
        if explicit_id and explicit_id in self.relationship_definitions:
            errors.append(err(f"id '{explicit_id}' is taken", "id"))
        if errors or ctype is None:
            return None, errors
        alias = data.get("alias") or alias_from_name(data["name"])
        reldef = RelationshipDefinition(
            id=explicit_id or self._new_id("RelationshipDefinition", self.relationship_definitions),
            alias=alias,
            name=data["name"].strip(),
            component_type_id=ctype.id,
            metadata={"allowedCategories": [], "allowedTypes": [], "maxItems": None, "minItems": None},
        )
        self.relationship_definitions[reldef.id] = reldef
        self._reldef_by_alias[alias] = reldef.id
        self._apply_reldef_fields(reldef, data, None)
        return reldef, []

    @_mutating
    def update_relationship_definition(
        self, ident: Input, data: Input
    ) -> tuple[RelationshipDefinition | None, list[Error]]:
        """``relationshipDefinitionUpdate``: only keys present in ``data`` change."""
        reldef = self.find_relationship_definition(ident)
        if reldef is None:
            return None, [err(f"'{_ident_text(ident)}' does not identify a relationship definition", "base")]
        ctype, errors = self._check_reldef(data, reldef)
        if errors:
            return None, errors
        self._apply_reldef_fields(reldef, data, ctype)
        return reldef, []

    @_mutating
    def delete_relationship_definition(self, ident: Input) -> tuple[str | None, list[Error]]:
        """``relationshipDefinitionDelete``; relationships created with it go too."""
        reldef = self.find_relationship_definition(ident)
        if reldef is None:
            return None, [err(f"'{_ident_text(ident)}' does not identify a relationship definition", "base")]
        del self.relationship_definitions[reldef.id]
        self._reldef_by_alias.pop(reldef.alias, None)
        for rel in list(self.relationships.values()):
            if rel.definition_id == reldef.id:
                del self.relationships[rel.id]
        return reldef.id, []

    @_locked
    def create_relationship(self, data: Input) -> tuple[Relationship | None, list[Error]]:
        """``relationshipCreate`` between two components; an identical one is returned as is."""
        errors = []
        source = self.find_component(data["source"])
        target = self.find_component(data["target"])
        if source is None:
            errors.append(err(f"'{_ident_text(data['source'])}' does not identify a resource", "source"))
        if target is None:
            errors.append(err(f"'{_ident_text(data['target'])}' does not identify a resource", "target"))
        reldef = None
        if data.get("relationshipDefinition"):
            reldef = self.find_relationship_definition(data["relationshipDefinition"])
            if reldef is None:
                text = _ident_text(data["relationshipDefinition"])
                errors.append(
                    err(f"'{text}' does not identify a relationship definition", "relationshipDefinition")
                )
        if errors or source is None or target is None:
            return None, errors
        key = (source.id, target.id, data["type"], reldef.id if reldef else None)
        for rel in self.relationships.values():
            if (rel.source_id, rel.target_id, rel.type, rel.definition_id) == key:
                return rel, []
        rel = Relationship(
            id=self._new_id("Relationship", self.relationships),
            source_id=source.id,
            target_id=target.id,
            type=data["type"],
            definition_id=reldef.id if reldef else None,
        )
        self.relationships[rel.id] = rel
        return rel, []

    @_locked
    def delete_relationship(self, relationship_id: str) -> tuple[str | None, list[Error]]:
        """``relationshipDelete``; rule-managed relationships cannot be deleted by hand."""
        if self.relationships.pop(relationship_id, None) is None:
            if self.find_relationship(relationship_id) is not None:
                return None, [
                    err(
                        f"Relationship '{relationship_id}' is managed by its relationship definition's "
                        "management rules and cannot be deleted",
                        "id",
                    )
                ]
            return None, [err(f"'{relationship_id}' does not identify a relationship", "id")]
        return relationship_id, []

    @_locked
    def find_relationship(self, relationship_id: str) -> Relationship | None:
        """A relationship created with ``relationshipCreate`` or managed by rules, by id."""
        found = self.relationships.get(relationship_id)
        if found is None:
            self._refresh_managed()
            found = self._managed.get(relationship_id)
        return found

    @_locked
    def managed_relationships(self, definition_id: str | None = None) -> list[Relationship]:
        """Relationships the definitions' management rules link (all, or one definition's).

        Ordered by definition, then source, then target creation order; recomputed here when a
        mutation marked them stale (see ``_rules`` for the semantics).
        """
        self._refresh_managed()
        return [
            r for r in self._managed.values() if definition_id is None or r.definition_id == definition_id
        ]

    def _refresh_managed(self) -> None:
        if not self._managed_stale:
            return
        # Ids derive from (definition, source, target): a link keeps its id while it exists,
        # and a copy of the catalog (seeded from a snapshot) gives it the same one.
        previous = {(r.definition_id, r.source_id, r.target_id): r for r in self._managed.values()}
        managed: dict[str, Relationship] = {}
        for reldef in self.relationship_definitions.values():
            for source_id, target_id in _rules.evaluate(self, reldef):
                rel = previous.get((reldef.id, source_id, target_id))
                if rel is None:
                    text = f"{reldef.id}|{source_id}|{target_id}".encode()
                    digest = hashlib.blake2b(text, digest_size=8).hexdigest()
                    rel = Relationship(
                        id=make_id("Relationship", f"managed-{digest}"),
                        source_id=source_id,
                        target_id=target_id,
                        type="related_to",
                        definition_id=reldef.id,
                        managed=True,
                    )
                managed[rel.id] = rel
        self._managed = managed
        self._managed_stale = False
