"""Compare desired components with what OpsLevel holds and decide what to write."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_opslevel.opslevel.catalog import Component
from airflow_provider_opslevel.transform.mapping import DesiredComponent

ACTIONS = ("create", "update", "unchanged", "skip", "suggest", "conflict", "error")


@dataclass
class Change:
    """One field-level difference. ``field`` is a built-in field, ``alias``, ``tag`` or ``properties.X``."""

    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass
class ComponentPlan:
    action: str
    desired: DesiredComponent
    current: Component | None = None
    changes: list[Change] = field(default_factory=list)
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
        return data


def diff(desired: DesiredComponent, current: Component | None) -> list[Change]:
    """Every difference between ``desired`` and ``current`` (everything, when it does not exist)."""
    fields = current.fields if current else {}
    aliases = current.aliases if current else []
    tags = current.tags if current else []
    properties = current.properties if current else {}
    changes = [
        Change(name, fields.get(name), value)
        for name, value in desired.fields.items()
        if fields.get(name) != value
    ]
    if current is None and "name" not in desired.fields:
        changes.insert(0, Change("name", None, desired.alias))
    changes += [
        Change("alias", None, alias) for alias in [desired.alias, *desired.aliases] if alias not in aliases
    ]
    changes += [Change("tag", None, f"{t['key']}:{t['value']}") for t in desired.tags if t not in tags]
    for name, value in desired.properties.items():
        old = properties.get(name)
        if old != value:
            changes.append(Change(f"properties.{name}", old, value))
    return changes


def plan_component(desired: DesiredComponent, current: Component | None) -> ComponentPlan:
    if current is None:
        if desired.on_not_found == "create":
            return ComponentPlan("create", desired, None, diff(desired, None))
        return ComponentPlan(desired.on_not_found, desired)  # skip / suggest
    if not current.is_kind(desired.kind):
        return ComponentPlan(
            "conflict",
            desired,
            current,
            message=(
                f"alias {desired.alias!r} is held by {current.name!r} ({current.id}), a {current.kind!r} "
                f"component, not a {desired.kind!r}; left untouched"
            ),
        )
    changes = diff(desired, current)
    return ComponentPlan("update" if changes else "unchanged", desired, current, changes)


@dataclass
class Plan:
    components: list[ComponentPlan] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{opslevel_kind: {action: n}}`` with every action present."""
        per_kind: dict[str, Counter[str]] = {}
        for item in self.components:
            per_kind.setdefault(item.desired.kind, Counter())[item.action] += 1
        return {kind: {action: counter[action] for action in ACTIONS} for kind, counter in per_kind.items()}

    def of(self, action: str) -> list[ComponentPlan]:
        return [item for item in self.components if item.action == action]
