"""The fake OpsLevel catalog's state: records, the indexes that keep lookups O(1), and the lookups."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

from airflow_provider_opslevel.testing._catalog_records import (
    Input,
    Relationship,
    RelationshipDefinition,
    StoredComponent,
    StoredComponentType,
    StoredPropertyDefinition,
    Tag,
    locked,
)
from airflow_provider_opslevel.testing._filters import component_matches
from airflow_provider_opslevel.testing._ids import make_id


class CatalogData:
    """Component types, property definitions, components, tags, relationships, and their lookups.

    Indexes keep every lookup O(1): aliases -> component id, type alias -> type id,
    (definition alias, type id) -> definition id, components per type.
    """

    #: The built-in ``service`` type, set by :class:`~._catalog.Catalog`.
    default_type: StoredComponentType

    def __init__(self) -> None:
        self.lock = threading.RLock()
        #: Base of ``htmlUrl`` values; the fake sets it to its own URL when it starts.
        self.html_base = "https://app.opslevel.com"
        self.account_id = make_id("Account", 1)
        self.types: dict[str, StoredComponentType] = {}
        self.definitions: dict[str, StoredPropertyDefinition] = {}
        self.components: dict[str, StoredComponent] = {}
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

    def _new_id(self, kind: str, taken: dict[str, Any]) -> str:
        counter = self._counters.setdefault(kind, itertools.count(1))
        while True:
            candidate = make_id(kind, next(counter))
            if candidate not in taken:
                return candidate

    # -- lookups ---------------------------------------------------------------------------
    @locked
    def find_type(self, ident: Input | None) -> StoredComponentType | None:
        """Component type by ``{id}`` or ``{alias}``."""
        if not ident:
            return None
        if ident.get("id"):
            return self.types.get(ident["id"])
        type_id = self._type_by_alias.get(ident.get("alias") or "")
        return self.types.get(type_id) if type_id else None

    @locked
    def find_component(self, ident: Input | None) -> StoredComponent | None:
        """Component by ``{id}`` or ``{alias}``."""
        if not ident:
            return None
        if ident.get("id"):
            return self.components.get(ident["id"])
        return self.component_by_alias(ident.get("alias") or "")

    @locked
    def component_by_alias(self, alias: str) -> StoredComponent | None:
        component_id = self._component_by_alias.get(alias)
        return self.components.get(component_id) if component_id else None

    @locked
    def find_definition(self, ident: Input | None, type_id: str | None = None) -> StoredPropertyDefinition | None:
        """Property definition by ``{id}`` or ``{alias}``; an alias prefers ``type_id``'s definition."""
        if not ident:
            return None
        if ident.get("id"):
            return self.definitions.get(ident["id"])
        by_type = self._definition_by_alias.get(ident.get("alias") or "") or {}
        definition_id = by_type.get(type_id or "") or next(iter(by_type.values()), None)
        return self.definitions.get(definition_id) if definition_id else None

    @locked
    def find_relationship_definition(self, ident: Input | None) -> RelationshipDefinition | None:
        if not ident:
            return None
        if ident.get("id"):
            return self.relationship_definitions.get(ident["id"])
        reldef_id = self._reldef_by_alias.get(ident.get("alias") or "")
        return self.relationship_definitions.get(reldef_id) if reldef_id else None

    @locked
    def list_components(
        self, filters: list[Input] | None = None, match: Callable[[StoredComponent], bool] | None = None
    ) -> list[StoredComponent]:
        """Components in creation order, AND-ing ``filters`` (``ServiceFilterInput``) and ``match``.

        :raises ValueError: a filter key or operator the fake does not support.
        """
        candidates: Iterable[StoredComponent] = self.components.values()
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
