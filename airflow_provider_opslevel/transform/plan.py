"""Compare desired components with what OpsLevel holds and decide what to write."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_opslevel.opslevel.catalog import BUILTIN_FIELDS, Component, ComponentType
from airflow_provider_opslevel.transform.coerce import coerce, problems
from airflow_provider_opslevel.transform.deletion import is_managed, ownership_tags
from airflow_provider_opslevel.transform.errors import MappingError
from airflow_provider_opslevel.transform.mapping import DesiredComponent, as_text

CUSTOM = "custom property"
BUILTIN = "built-in field"

ACTIONS = ("create", "update", "unchanged", "delete", "skip", "suggest", "conflict", "error")


@dataclass(slots=True)
class Change:
    """One field-level difference. ``field`` is a built-in field, ``alias``, ``tag`` or ``properties.X``."""

    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(slots=True)
class ComponentPlan:
    action: str
    desired: DesiredComponent
    current: Component | None = None
    changes: list[Change] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    """The desired built-in fields: ``default_properties`` and the ``properties`` routed to one."""
    properties: dict[str, Any] = field(default_factory=dict)
    """The desired custom properties, coerced to their definitions; invalid ones left out."""
    stale_tags: list[dict[str, str]] = field(default_factory=list)
    """Tags with a key this component's transform manages but a value it no longer gives."""
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Reported but not failing the run: records that merged into it and disagreed on a key."""
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.action,
            "kind": self.desired.kind,
            "alias": self.desired.alias,
            "sources": self.desired.sources,
            "changes": [change.to_dict() for change in self.changes],
        }
        if self.current is not None:
            data["id"] = self.current.id
        if self.message:
            data["message"] = self.message
        if self.problems:
            data["problems"] = self.problems
        if self.warnings:
            data["warnings"] = self.warnings
        return data


def tag_pair(tag: dict[str, str]) -> tuple[str, str]:
    return (tag["key"], tag["value"])


def route(name: str, component_type: ComponentType | None) -> str:
    """Where a ``properties:`` key is written: :data:`CUSTOM` or :data:`BUILTIN`.

    A property definition of the component type wins, even one named like a built-in field
    (``tier``, ``owner``...); only a key the type does not define goes to the built-in field of
    that name. Any other key is a custom property (reported when the type does not define it).
    """
    if component_type is not None and name in component_type.definitions:
        return CUSTOM
    return BUILTIN if name in BUILTIN_FIELDS else CUSTOM


def fit_properties(
    desired: DesiredComponent, component_type: ComponentType
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Route each ``properties:`` key (see :func:`route`) and fit its value.

    :returns: the built-in fields (``default_properties`` overridden by routed keys), the custom
        properties coerced to their definitions, and why the others cannot be written.
    """
    fields = dict(desired.fields)
    fitted: dict[str, Any] = {}
    issues: list[str] = []
    for name, value in desired.properties.items():
        if route(name, component_type) == BUILTIN:
            if value is None:
                continue  # a null built-in field leaves OpsLevel's value alone
            try:
                fields[name] = as_text(value, f"properties.{name} (the built-in field {name!r})")
            except MappingError as exc:
                issues.append(exc.detail)
            continue
        definition = component_type.definitions.get(name)
        if definition is None:
            issues.append(
                f"property {name!r} is not defined on component type {component_type.aliases[0]!r} "
                f"(defined: {', '.join(component_type.property_aliases) or 'none'})"
            )
            continue
        value = coerce(value, definition.schema)
        reasons = problems(value, definition.schema) if value is not None else []
        if reasons:
            issues.append(f"property {name!r}: {'; '.join(reasons)}")
            continue
        fitted[name] = value
    return fields, fitted, issues


def diff(item: ComponentPlan) -> list[Change]:
    """Every difference between what the item wants and what OpsLevel holds."""
    desired, current = item.desired, item.current
    fields = current.fields if current else {}
    aliases = current.aliases if current else []
    properties = current.properties if current else {}
    changes = [
        Change(name, fields.get(name), value)
        for name, value in item.fields.items()
        if fields.get(name) != value
    ]
    if current is None and "name" not in item.fields:
        changes.insert(0, Change("name", None, desired.alias))
    changes += [
        Change("alias", None, alias) for alias in [desired.alias, *desired.aliases] if alias not in aliases
    ]
    held = {tag_pair(tag) for tag in current.tags} if current else set()
    wanted = {tag_pair(tag) for tag in desired.tags}
    managed_keys = {key for key, _ in wanted}
    item.stale_tags = [
        tag
        for tag in (current.tags if current else [])
        if tag["key"] in managed_keys and tag_pair(tag) not in wanted
    ]
    changes += [Change("tag", f"{tag['key']}:{tag['value']}", None) for tag in item.stale_tags]
    changes += [
        Change("tag", None, _tag_text(key, value))
        for key, value in desired.tags_pairs()
        if (key, value) not in held
    ]
    for name, value in item.properties.items():
        old = properties.get(name)
        if old != value:
            changes.append(Change(_property_field(name), old, value))
    return changes


@functools.lru_cache(maxsize=1024)
def _property_field(name: str) -> str:
    # One string per property, not one per change: a 100,000-component plan has ~300,000 changes.
    return f"properties.{name}"


@functools.lru_cache(maxsize=4096)
def _tag_text(key: str, value: str) -> str:
    return f"{key}:{value}"  # ownership tags repeat on every component


def plan_component(
    desired: DesiredComponent,
    current: Component | None,
    component_type: ComponentType | None,
    integration_id: str | None = None,
    last_seen: str | None = None,
) -> ComponentPlan:
    """Decide what to do about one component.

    :param integration_id: mark what this integration creates (and keep the marks current on what
        it created before) with ownership tags, which deletion relies on.
    :param last_seen: push integrations: stamp managed components with this day.
    """
    item = ComponentPlan("unchanged", desired, current, fields=desired.fields)
    if current is not None and not current.is_kind(desired.kind):
        held = (
            f"alias {desired.alias!r} is held by {current.name!r} ({current.id}), a {current.kind!r} "
            f"component, not a {desired.kind!r}"
        )
        if desired.on_not_found == "create":
            item.action = "conflict"
            item.message = f"{held}; left untouched"
        else:  # no component of this kind has the alias: exactly what skip and suggest skip
            item.action = "skip"
            item.message = f"{held}; skipped (on_component_not_found: {desired.on_not_found})"
        return item
    if component_type is None:
        item.action = "error"
        item.message = (
            f"component type {desired.kind!r} does not exist in OpsLevel: create it (Settings > Component "
            "Types) or declare it in the integration's catalog document"
        )
        return item
    item.fields, item.properties, item.problems = fit_properties(desired, component_type)
    # Source data the user cannot fix (two records, one identifier): reported, not failing every run.
    item.warnings = [f"records disagree on {note}" for note in desired.disagreements]
    creating = current is None and desired.on_not_found == "create"
    if integration_id and (creating or (current is not None and is_managed(current, integration_id))):
        marks = ownership_tags(integration_id, desired.partition, last_seen)
        keys = {mark["key"] for mark in marks}
        desired.tags = [tag for tag in desired.tags if tag["key"] not in keys] + marks
    if current is None:
        item.action = "create" if desired.on_not_found == "create" else desired.on_not_found
        item.changes = diff(item) if item.action == "create" else []
        if item.action == "skip":
            item.message = (
                f"no {desired.kind!r} component has this alias; skipped (on_component_not_found: skip)"
            )
        return item
    item.changes = diff(item)
    item.action = "update" if item.changes else "unchanged"
    return item


@dataclass
class Plan:
    """The components to write, and what was only counted.

    :ivar components: every item, except those :meth:`add` only counted.
    :ivar counted: ``(opslevel_kind, action) -> n`` of the items :meth:`add` did not keep.
    """

    components: list[ComponentPlan] = field(default_factory=list)
    counted: Counter[tuple[str, str]] = field(default_factory=Counter)
    _kept: dict[tuple[str, str], int] = field(default_factory=dict, repr=False, compare=False)

    def add(self, item: ComponentPlan, keep: int | None = None) -> None:
        """Add ``item``; with ``keep``, an item with nothing to report (no message, problem or
        warning) beyond the first ``keep`` of its kind and action is counted, not kept.

        A dry run keeps what its report shows: a million ``create`` items would otherwise be
        held just to be counted.
        """
        key = (item.desired.kind, item.action)
        if keep is not None and not (item.message or item.problems or item.warnings) and item.action != "suggest":
            self._kept[key] = self._kept.get(key, 0) + 1
            if self._kept[key] > keep:
                self.counted[key] += 1
                return
        self.components.append(item)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{opslevel_kind: {action: n}}`` with every action present."""
        per_kind: dict[str, Counter[str]] = {}
        for item in self.components:
            per_kind.setdefault(item.desired.kind, Counter())[item.action] += 1
        for (kind, action), count in self.counted.items():
            per_kind.setdefault(kind, Counter())[action] += count
        return {kind: {action: counter[action] for action in ACTIONS} for kind, counter in per_kind.items()}

    def total(self, action: str) -> int:
        """How many items of ``action`` the plan has, kept or only counted."""
        kept = sum(1 for item in self.components if item.action == action)
        return kept + sum(count for (_, each), count in self.counted.items() if each == action)

    def of(self, action: str) -> list[ComponentPlan]:
        return [item for item in self.components if item.action == action]
