"""What catalog setup did, or in a dry run would do: one :class:`EnsureItem` per declared object.

:class:`EnsureReport` travels through XCom as :meth:`~EnsureReport.to_dict` and is printed in the
task log as :meth:`~EnsureReport.to_text`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Action", "EnsureItem", "EnsureReport", "Kind", "SetupChange"]

Kind = Literal["component_type", "property_definition", "relationship_definition"]
Action = Literal["create", "update", "unchanged"]

_KIND_LABELS = {
    "component_type": "component type",
    "property_definition": "property definition",
    "relationship_definition": "relationship definition",
}
_DONE = {"create": "created", "update": "updated", "unchanged": "unchanged"}
_PLANNED = {"create": "would create", "update": "would update", "unchanged": "unchanged"}


@dataclass(frozen=True)
class SetupChange:
    """One field that differs: ``before`` as OpsLevel holds it, ``after`` as the document wants it."""

    field: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class EnsureItem:
    """What ensure did (or, in a dry run, would do) to one object.

    :ivar kind: ``component_type``, ``property_definition`` or ``relationship_definition``.
    :ivar alias: the object's alias.
    :ivar action: ``create``, ``update`` or ``unchanged``.
    :ivar component_type: the type a definition belongs to (``None`` for component types).
    :ivar id: OpsLevel id, when known (``None`` for objects a dry run would create).
    :ivar changes: for ``update``, the fields that differ.
    """

    kind: Kind
    alias: str
    action: Action
    component_type: str | None = None
    id: str | None = None
    changes: tuple[SetupChange, ...] = ()

    @property
    def label(self) -> str:
        """``component type sentry_issue``, ``property definition sentry_issue.url``, ..."""
        if self.kind == "property_definition":
            return f"{_KIND_LABELS[self.kind]} {self.component_type}.{self.alias}"
        if self.kind == "relationship_definition":
            return f"{_KIND_LABELS[self.kind]} {self.alias} (on {self.component_type})"
        return f"{_KIND_LABELS[self.kind]} {self.alias}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "alias": self.alias,
            "component_type": self.component_type,
            "action": self.action,
            "id": self.id,
            "changes": [change.to_dict() for change in self.changes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnsureItem:
        return cls(
            kind=data["kind"],
            alias=data["alias"],
            action=data["action"],
            component_type=data.get("component_type"),
            id=data.get("id"),
            changes=tuple(
                SetupChange(c["field"], c["before"], c["after"]) for c in data.get("changes") or []
            ),
        )


@dataclass(frozen=True)
class EnsureReport:
    """The outcome of :func:`ensure_catalog`: one :class:`EnsureItem` per declared object.

    :ivar items: component types (each followed by its declared definitions), then relationship
        definitions, in document order.
    :ivar dry_run: nothing was written; actions are what a real run would do.
    :ivar requests: GraphQL requests sent (reads and writes).
    :ivar mutations: mutations sent (0 in a dry run and on a run with nothing to change).
    """

    items: tuple[EnsureItem, ...]
    dry_run: bool = False
    requests: int = 0
    mutations: int = 0

    def _with(self, action: Action) -> tuple[EnsureItem, ...]:
        return tuple(item for item in self.items if item.action == action)

    @property
    def created(self) -> tuple[EnsureItem, ...]:
        """Items with action ``create``."""
        return self._with("create")

    @property
    def updated(self) -> tuple[EnsureItem, ...]:
        """Items with action ``update``."""
        return self._with("update")

    @property
    def unchanged(self) -> tuple[EnsureItem, ...]:
        """Items with action ``unchanged``."""
        return self._with("unchanged")

    @property
    def changed(self) -> bool:
        """Whether anything was (or, in a dry run, would be) created or updated."""
        return any(item.action != "unchanged" for item in self.items)

    def summary(self) -> dict[str, int]:
        """``{"create": n, "update": n, "unchanged": n}``."""
        return {action: len(self._with(action)) for action in ("create", "update", "unchanged")}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (for XCom); :meth:`from_dict` reads it back."""
        return {
            "dry_run": self.dry_run,
            "summary": self.summary(),
            "requests": self.requests,
            "mutations": self.mutations,
            "items": [item.to_dict() for item in self.items],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnsureReport:
        return cls(
            items=tuple(EnsureItem.from_dict(item) for item in data.get("items") or []),
            dry_run=bool(data.get("dry_run")),
            requests=int(data.get("requests") or 0),
            mutations=int(data.get("mutations") or 0),
        )

    def to_text(self) -> str:
        """A readable multi-line summary for the task log."""
        verbs = _PLANNED if self.dry_run else _DONE
        counts = self.summary()
        head = "Catalog setup (dry run, nothing written)" if self.dry_run else "Catalog setup"
        lines = [
            f"{head}: {counts['create']} {verbs['create']}, {counts['update']} {verbs['update']}, "
            f"{counts['unchanged']} unchanged ({self.requests} requests, {self.mutations} mutations)"
        ]
        width = max((len(verbs[item.action]) for item in self.items), default=0)
        for item in self.items:
            lines.append(f"  {verbs[item.action]:<{width}}  {item.label}")
            for change in item.changes:
                lines.append(
                    f"  {'':<{width}}    {change.field}: {_show(change.before)} -> {_show(change.after)}"
                )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
