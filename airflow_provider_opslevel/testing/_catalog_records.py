"""The fake OpsLevel catalog's records (component types, definitions, components, tags,
relationships) and the helpers every part of :class:`~._catalog.Catalog` shares."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from airflow_provider_opslevel.testing._catalog_data import CatalogData

Error = dict[str, Any]
Input = dict[str, Any]
_F = TypeVar("_F", bound=Callable[..., Any])


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


def locked(method: _F) -> _F:
    """Run the method holding the catalog's lock."""

    @functools.wraps(method)
    def wrapper(self: CatalogData, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def mutating(method: _F) -> _F:
    """Like :func:`locked`, and marks rule-managed relationships stale afterwards."""

    @functools.wraps(method)
    def wrapper(self: CatalogData, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            try:
                return method(self, *args, **kwargs)
            finally:
                self._managed_stale = True

    return wrapper  # type: ignore[return-value]


@dataclass
class StoredComponentType:
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
class StoredPropertyDefinition:
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
class StoredComponent:
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


def ident_text(ident: Input | None) -> str:
    """How an ``{id}``/``{alias}`` input is quoted in errors."""
    ident = ident or {}
    return str(ident.get("id") or ident.get("alias") or "")


def management_rule(rule: Input) -> dict[str, Any]:
    """A ``ManagementRuleInput`` with every key present (defaults filled in)."""
    return {
        "operator": rule.get("operator") or "EQUALS",
        "sourceProperty": rule.get("sourceProperty") or "",
        "sourcePropertyBuiltin": bool(rule.get("sourcePropertyBuiltin")),
        "targetCategory": rule.get("targetCategory"),
        "targetProperty": rule.get("targetProperty") or "",
        "targetPropertyBuiltin": bool(rule.get("targetPropertyBuiltin")),
        "targetType": rule.get("targetType"),
    }
