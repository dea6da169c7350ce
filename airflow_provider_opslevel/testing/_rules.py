"""Evaluation of relationship-definition management rules (rule-managed relationships).

OpsLevel links components automatically when a relationship definition on a component type
carries management rules (``EQUALS`` / ``ARRAY_CONTAINS`` between a source and a target
property, built-in or custom). The fake implements it like this:

* **Source**: every component of the definition's component type.
* **Target candidates**: components whose type alias is the rule's ``targetType``; when
  ``targetType`` is null, components whose type alias is in the definition's
  ``metadata.allowedTypes`` (``team``/``user`` are not modelled and never match); when that
  is empty too, components of any type. With several rules, a target must satisfy each
  rule's type restriction. ``targetCategory`` is ignored (categories are not modelled).
  A component is never linked to itself.
* **Property values** (``sourceProperty``/``targetProperty``): with ``...PropertyBuiltin``
  true, one of :data:`BUILTINS` (``aliases`` is the list of all aliases, the generated
  identifier first; ``owner``/``lifecycle``/``tier`` are the alias, or id, stored on the
  component; text fields are the raw, unescaped text). Otherwise the custom property whose
  definition alias (or id) is that name on the component's type: its decoded JSON value.
  Unknown names, unset properties and JSON ``null`` never match.
* **EQUALS**: the values are equal. Strings compare case-sensitively; JSON types are not
  mixed (``"1"`` ≠ ``1``, ``true`` ≠ ``1``); two lists are equal element-wise in order; a
  scalar equals a one-element list holding it.
* **ARRAY_CONTAINS**: the *source* value is a list and contains the target value, or, when
  the target value is itself a list, any of its elements (``Service.aliases``
  ARRAY_CONTAINS ``sentry_issue.project_slug = ["backend-api"]`` links the service that has
  the alias ``backend-api``). A scalar source value never matches.
* A definition without rules manages nothing; with several rules, every rule must match.

Evaluation indexes the targets by the first rule's comparison keys, so a definition costs
O(sources + targets + links), not O(sources * targets); the other rules are checked on the
candidate pairs only.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_opslevel.testing._catalog_data import CatalogData
    from airflow_provider_opslevel.testing._catalog_records import RelationshipDefinition, StoredComponent

#: Built-in property names a rule may use (``...PropertyBuiltin: true``).
BUILTINS = (
    "aliases",
    "id",
    "name",
    "description",
    "framework",
    "language",
    "product",
    "lifecycle",
    "tier",
    "owner",
)


def property_value(cat: CatalogData, component: StoredComponent, name: str, builtin: bool) -> Any:
    """The value a rule compares: built-in field or decoded custom property; ``None`` if unset."""
    if builtin:
        if name == "aliases":
            return component.aliases
        if name in BUILTINS:
            return getattr(component, name)
        return None
    by_type = cat._definition_by_alias.get(name)
    definition_id = by_type.get(component.type_id) if by_type else None
    if definition_id is None and name in cat.definitions:
        definition_id = name
    stored = component.properties.get(definition_id) if definition_id else None
    return None if stored is None else json.loads(stored.value)


def key(value: Any) -> Hashable:
    """A hashable comparison key that keeps JSON types apart (``True`` vs ``1``, ``"1"`` vs ``1``)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("l", tuple(key(item) for item in value))
    if isinstance(value, dict):
        return ("o", tuple(sorted((k, key(v)) for k, v in value.items())))
    return ("z", None)


def target_keys(operator: str, value: Any) -> list[Hashable]:
    """Keys under which a target with ``value`` is indexed."""
    if value is None:
        return []
    if operator == "ARRAY_CONTAINS":
        return [key(item) for item in value] if isinstance(value, list) else [key(value)]
    if isinstance(value, list):
        return [key(value), key(value[0])] if len(value) == 1 else [key(value)]
    return [key(value)]


def source_keys(operator: str, value: Any) -> list[Hashable]:
    """Keys a source with ``value`` looks up; matching keys mean the rule matches."""
    if value is None:
        return []
    if operator == "ARRAY_CONTAINS":
        return [key(item) for item in value] if isinstance(value, list) else []
    return target_keys(operator, value)


def matches(operator: str, source: Any, target: Any) -> bool:
    """Whether one rule holds between a source value and a target value."""
    wanted = set(source_keys(operator, source))
    return any(k in wanted for k in target_keys(operator, target))


def _target_type_ids(cat: CatalogData, reldef: RelationshipDefinition) -> set[str] | None:
    """Type ids targets may have (``None``: any type)."""
    allowed_types = [a for a in reldef.metadata.get("allowedTypes") or [] if a not in ("team", "user")]
    restriction: set[str] | None = None
    for rule in reldef.management_rules:
        aliases = [rule["targetType"]] if rule.get("targetType") else allowed_types
        if not aliases and not reldef.metadata.get("allowedTypes"):
            continue  # unrestricted
        ids = {cat._type_by_alias[a] for a in aliases if a in cat._type_by_alias}
        restriction = ids if restriction is None else restriction & ids
    return restriction


def evaluate(cat: CatalogData, reldef: RelationshipDefinition) -> list[tuple[str, str]]:
    """``(source id, target id)`` pairs the definition's rules link, by source then target creation order."""
    rules = reldef.management_rules
    if not rules:
        return []
    type_ids = _target_type_ids(cat, reldef)
    targets: Iterable[str] = (
        cat.components
        if type_ids is None
        else (i for t in type_ids for i in cat._components_by_type.get(t, {}))
    )
    first, rest = rules[0], rules[1:]
    operator = first["operator"]
    index: dict[Hashable, list[str]] = {}
    for target_id in targets:
        value = property_value(
            cat, cat.components[target_id], first["targetProperty"], first["targetPropertyBuiltin"]
        )
        for k in dict.fromkeys(target_keys(operator, value)):
            index.setdefault(k, []).append(target_id)
    if not index:
        return []
    order = {component_id: n for n, component_id in enumerate(cat.components)}
    sources = sorted(cat._components_by_type.get(reldef.component_type_id, {}), key=order.__getitem__)
    links: list[tuple[str, str]] = []
    for source_id in sources:
        source = cat.components[source_id]
        value = property_value(cat, source, first["sourceProperty"], first["sourcePropertyBuiltin"])
        candidates = {t for k in source_keys(operator, value) for t in index.get(k, ())}
        candidates.discard(source_id)
        for target_id in sorted(candidates, key=order.__getitem__):
            target = cat.components[target_id]
            if all(
                matches(
                    rule["operator"],
                    property_value(cat, source, rule["sourceProperty"], rule["sourcePropertyBuiltin"]),
                    property_value(cat, target, rule["targetProperty"], rule["targetPropertyBuiltin"]),
                )
                for rule in rest
            ):
                links.append((source_id, target_id))
    return links
