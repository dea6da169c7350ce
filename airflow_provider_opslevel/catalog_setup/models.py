"""Typed, immutable models of the catalog document (see the package docstring for the YAML).

Attribute names follow the YAML keys. Every model has ``where`` (its own location, excluded from
equality) so run-time errors can point back at the YAML. Instances are shared through the
loader's cache: never mutate them (``schema`` is a plain ``dict`` for easy JSON encoding).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from airflow_provider_opslevel.errors import Location, did_you_mean

__all__ = [
    "BUILTIN_RULE_PROPERTIES",
    "DEFAULT_COMPONENT_TYPE",
    "RELATIONSHIP_TARGET_BUILTINS",
    "CatalogDocument",
    "ComponentTypeSpec",
    "DisplayStatus",
    "ManagementRuleSpec",
    "Operator",
    "PropertySpec",
    "RelationshipDefinitionSpec",
]

Operator = Literal["ARRAY_CONTAINS", "EQUALS"]
DisplayStatus = Literal["visible", "hidden"]

#: OpsLevel's default component type; it always exists, so documents may name it undeclared.
DEFAULT_COMPONENT_TYPE = "service"
#: Relationship targets that are not component types (``metadata.allowedTypes``, ``targetType``).
RELATIONSHIP_TARGET_BUILTINS = ("team", "user")
#: Rule properties taken to be built-in fields of a component when ``*_property_builtin`` is absent.
BUILTIN_RULE_PROPERTIES = (
    "aliases",
    "name",
    "id",
    "description",
    "framework",
    "language",
    "product",
    "lifecycle",
    "tier",
    "owner",
)


def _no_location() -> Location:
    return Location("<catalog>")


@dataclass(frozen=True)
class PropertySpec:
    """One property definition on a component type (``component_types[].properties[]``).

    :ivar alias: the definition's identifier (what transforms write under ``properties:``).
    :ivar name: display name.
    :ivar schema: JSON Schema of the values (checked with ``jsonschema`` at load time).
    :ivar description: text; ``None`` = not managed (sent as ``""`` when the definition is created).
    :ivar locked: ``True`` (default) = ``lockedStatus: ui_locked``, as OpsLevel does for
        integration-written properties; ``False`` = ``unlocked``.
    :ivar display_status: ``"visible"`` (default) or ``"hidden"``.
    :ivar allowed_in_config_files: whether ``opslevel.yml`` may set it; ``None`` = not managed
        (``False`` when the definition is created).
    """

    alias: str
    name: str
    schema: Mapping[str, Any]
    description: str | None = None
    locked: bool = True
    display_status: DisplayStatus = "visible"
    allowed_in_config_files: bool | None = None
    where: Location = field(default_factory=_no_location, compare=False, repr=False)

    @property
    def locked_status(self) -> str:
        """``PropertyLockedStatusEnum`` value: ``"ui_locked"`` or ``"unlocked"``."""
        return "ui_locked" if self.locked else "unlocked"


@dataclass(frozen=True)
class ComponentTypeSpec:
    """A component type (``component_types[]``) and the property definitions it must have.

    :ivar alias: the type's identifier (``opslevel_kind`` in transforms).
    :ivar name: display name (unique across the account in OpsLevel).
    :ivar description: text; ``None`` = not managed.
    :ivar properties: in file order. Definitions that exist in OpsLevel but are not listed are
        left alone.
    """

    alias: str
    name: str
    description: str | None = None
    properties: tuple[PropertySpec, ...] = ()
    where: Location = field(default_factory=_no_location, compare=False, repr=False)

    def property(self, alias: str) -> PropertySpec:
        """The declared property ``alias``.

        :raises KeyError: not declared (the message suggests the nearest alias).
        """
        for spec in self.properties:
            if spec.alias == alias:
                return spec
        aliases = [p.alias for p in self.properties]
        raise KeyError(
            f"component type '{self.alias}' declares no property '{alias}'{did_you_mean(alias, aliases)}"
        )


@dataclass(frozen=True)
class ManagementRuleSpec:
    """A management rule: OpsLevel links a source component to every target whose properties match.

    :ivar operator: ``"EQUALS"`` or ``"ARRAY_CONTAINS"`` (the source array contains the target value).
    :ivar source_property: field or property alias on the relationship's component type.
    :ivar source_property_builtin: inferred from :data:`BUILTIN_RULE_PROPERTIES` unless given.
    :ivar target_property: field or property alias on ``target_type``.
    :ivar target_property_builtin: inferred likewise.
    :ivar target_type: component type alias (or ``team``/``user``) of the targets.
    """

    operator: Operator
    source_property: str
    source_property_builtin: bool
    target_property: str
    target_property_builtin: bool
    target_type: str
    where: Location = field(default_factory=_no_location, compare=False, repr=False)

    def as_input(self) -> dict[str, Any]:
        """The rule as a ``ManagementRuleInput``."""
        return {
            "operator": self.operator,
            "sourceProperty": self.source_property,
            "sourcePropertyBuiltin": self.source_property_builtin,
            "targetProperty": self.target_property,
            "targetPropertyBuiltin": self.target_property_builtin,
            "targetType": self.target_type,
        }


@dataclass(frozen=True)
class RelationshipDefinitionSpec:
    """A relationship definition (``relationship_definitions[]``) on a component type.

    :ivar alias: identifier (unique across the account).
    :ivar name: display name.
    :ivar component_type: alias of the type the relationship belongs to (the rules' source side).
    :ivar allowed_types: aliases of the types it may target (``metadata.allowedTypes``).
    :ivar description: text; ``None`` = not managed.
    :ivar management_rules: the complete rule set, or ``None`` = not managed (created without rules).
    :ivar min_items: ``metadata.minItems``; ``None`` = not managed.
    :ivar max_items: ``metadata.maxItems``; ``None`` = not managed.
    """

    alias: str
    name: str
    component_type: str
    allowed_types: tuple[str, ...]
    description: str | None = None
    management_rules: tuple[ManagementRuleSpec, ...] | None = None
    min_items: int | None = None
    max_items: int | None = None
    where: Location = field(default_factory=_no_location, compare=False, repr=False)


@dataclass(frozen=True)
class CatalogDocument:
    """A loaded catalog document.

    :ivar path: the file, as given to :func:`~airflow_provider_opslevel.catalog_setup.load_catalog`.
    :ivar component_types: in file order.
    :ivar relationship_definitions: in file order.
    """

    path: Path
    component_types: tuple[ComponentTypeSpec, ...] = ()
    relationship_definitions: tuple[RelationshipDefinitionSpec, ...] = ()

    def component_type(self, alias: str) -> ComponentTypeSpec:
        """The declared component type ``alias``.

        :raises KeyError: not declared (the message suggests the nearest alias).
        """
        for spec in self.component_types:
            if spec.alias == alias:
                return spec
        aliases = [t.alias for t in self.component_types]
        raise KeyError(f"no component type '{alias}' in {self.path}{did_you_mean(alias, aliases)}")

    def declares(self, type_alias: str) -> bool:
        """Whether the document declares component type ``type_alias``."""
        return any(spec.alias == type_alias for spec in self.component_types)
