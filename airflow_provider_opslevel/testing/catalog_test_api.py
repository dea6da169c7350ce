"""The Python side of :class:`~.fake_opslevel.FakeOpsLevel`: seed its catalog and read it back in tests.

Seeding goes through the same :class:`~._catalog.Catalog` methods the GraphQL mutations use, so a
pre-seeded component is exactly what the API would have made; reads are the dicts of
:mod:`.catalog_export`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_opslevel.testing._catalog import Catalog
from airflow_provider_opslevel.testing._catalog_records import encode_value
from airflow_provider_opslevel.testing.catalog_export import (
    component_dict,
    component_type_dict,
    relationship_definition_dict,
    relationship_dict,
    snapshot,
)

__all__ = ["CatalogTestAPI"]

# add_component(**fields) keyword -> ServiceCreateInput key.
_COMPONENT_FIELDS = {
    "description": "description",
    "framework": "framework",
    "language": "language",
    "product": "product",
    "owner": "ownerAlias",
    "lifecycle": "lifecycleAlias",
    "tier": "tierAlias",
}


def _messages(errors: Iterable[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(e['path'])}: {e['message']}" for e in errors)


class CatalogTestAPI:
    """Seeding and reading methods over :attr:`catalog`; mixed into :class:`~.fake_opslevel.FakeOpsLevel`."""

    #: The in-memory catalog; prefer these methods to editing it in tests.
    catalog: Catalog

    def add_component_type(
        self,
        alias: str,
        name: str,
        properties: dict[str, dict[str, Any]] | None = None,
        *,
        description: str | None = None,
        id: str | None = None,
    ) -> dict[str, Any]:
        """Create a component type, or add/replace property definitions on an existing one.

        :param alias: type alias, e.g. ``"sentry_issue"`` (``"service"`` is the built-in default).
        :param name: display name.
        :param properties: definition alias -> ``{"name", "schema", "description"?,
            "lockedStatus"?, "propertyDisplayStatus"?, "allowedInConfigFiles"?, "id"?}``.
        :param description: type description.
        :param id: explicit id for a new type (to mirror recorded fixtures).
        :returns: the type as in :meth:`snapshot`.
        :raises ValueError: the catalog refused it.
        """
        cat = self.catalog
        with cat.lock:
            ctype = cat.find_type({"alias": alias})
            data: dict[str, Any] = {"alias": alias, "name": name}
            if description is not None:
                data["description"] = description
            if ctype is None:
                ctype, errors = cat.create_type(data, explicit_id=id)
            else:
                ctype, errors = cat.update_type({"id": ctype.id}, data)
            if ctype is None:
                raise ValueError(_messages(errors))
            for prop_alias, spec in (properties or {}).items():
                spec = {**spec}
                explicit_id = spec.pop("id", None)
                existing = cat.find_definition({"alias": prop_alias}, ctype.id)
                if existing is not None and existing.component_type_id == ctype.id:
                    _, errors = cat.update_definition({"id": existing.id}, spec)
                else:
                    _, errors = cat.create_definition(
                        spec, type_id=ctype.id, alias=prop_alias, explicit_id=explicit_id
                    )
                if errors:
                    raise ValueError(f"property {prop_alias}: {_messages(errors)}")
            return component_type_dict(self.catalog, ctype)

    def add_component(
        self,
        name: str,
        type: str = "service",
        aliases: Iterable[str] = (),
        properties: dict[str, Any] | None = None,
        *,
        tags: dict[str, str] | Iterable[Any] | None = None,
        locked_properties: Iterable[str] = (),
        note: str | None = None,
        parent: str | None = None,
        id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Pre-seed a component as a human (or another integration) would have made it.

        :param name: display name.
        :param type: component type alias.
        :param aliases: managed aliases to attach.
        :param properties: definition alias -> Python value (JSON-encoded by the fake).
        :param tags: ``{key: value}`` or an iterable of ``(key, value)`` / ``{"key", "value"}``.
        :param locked_properties: definition aliases whose values are marked locked.
        :param note: service note.
        :param parent: parent system alias.
        :param id: explicit component id (to mirror recorded fixtures).
        :param fields: ``description``, ``framework``, ``language``, ``product``, ``owner``,
            ``lifecycle``, ``tier``.
        :returns: the component as in :meth:`components`.
        :raises ValueError: unknown type or property, alias taken, invalid tag...
        :raises TypeError: unknown keyword in ``fields``.
        """
        unknown = set(fields) - set(_COMPONENT_FIELDS)
        if unknown:
            raise TypeError(f"add_component() got unexpected fields {sorted(unknown)}")
        cat = self.catalog
        with cat.lock:
            ctype = cat.find_type({"alias": type})
            if ctype is None:
                raise ValueError(f"unknown component type {type!r}")
            aliases = list(aliases)
            taken = [a for a in aliases if cat.component_by_alias(a) is not None]
            missing = [
                p
                for p in (properties or {})
                if getattr(cat.find_definition({"alias": p}, ctype.id), "component_type_id", None) != ctype.id
            ]
            if taken or missing:
                raise ValueError(f"aliases taken: {taken}; properties not defined on {type!r}: {missing}")
            data: dict[str, Any] = {"name": name, "type": {"id": ctype.id}}
            data.update({_COMPONENT_FIELDS[k]: v for k, v in fields.items()})
            if parent is not None:
                data["parent"] = {"alias": parent}
            component, errors = cat.create_component(data, explicit_id=id)
            if component is None:
                raise ValueError(_messages(errors))
            if note is not None:
                cat.update_note({"id": component.id}, note)
            for alias in aliases:
                cat.create_alias(alias, component.id)
            for prop_alias, value in (properties or {}).items():
                owner, definition = {"id": component.id}, {"alias": prop_alias}
                cat.assign_property({"owner": owner, "definition": definition, "value": encode_value(value)})
            for prop_alias in locked_properties:
                self.set_property_locked(component.id, prop_alias)
            if tags:
                items = tags.items() if isinstance(tags, dict) else tags
                pairs = [(t["key"], t["value"]) if isinstance(t, dict) else tuple(t) for t in items]
                _, errors = cat.assign_tags(
                    {"id": component.id, "tags": [{"key": k, "value": v} for k, v in pairs]}
                )
                if errors:
                    raise ValueError(_messages(errors))
            return component_dict(self.catalog, component)

    def add_relationship_definition(
        self,
        alias: str,
        name: str,
        component_type: str,
        *,
        description: str | None = None,
        allowed_types: Iterable[str] = (),
        management_rules: Iterable[dict[str, Any]] = (),
        id: str | None = None,
    ) -> dict[str, Any]:
        """Define a relationship on a component type; its management rules link components.

        :param alias: relationship alias, e.g. ``"sentry_issues"``.
        :param name: display name.
        :param component_type: alias of the type the relationship belongs to (the sources).
        :param description: description.
        :param allowed_types: component type aliases (or ``team``/``user``) it may target.
        :param management_rules: ``ManagementRuleInput``-shaped dicts, e.g. ``{"operator":
            "ARRAY_CONTAINS", "sourceProperty": "aliases", "sourcePropertyBuiltin": True,
            "targetProperty": "project_slug", "targetPropertyBuiltin": False, "targetType":
            "sentry_issue"}`` (see ``_rules.py``).
        :param id: explicit id (to mirror recorded fixtures or a snapshot).
        :returns: the definition as in :meth:`snapshot`.
        :raises ValueError: the catalog refused it.
        """
        data = {
            "alias": alias,
            "name": name,
            "componentType": {"alias": component_type},
            "description": description,
            "metadata": {"allowedTypes": list(allowed_types)},
            "managementRules": list(management_rules),
        }
        reldef, errors = self.catalog.create_relationship_definition(data, explicit_id=id)
        if reldef is None:
            raise ValueError(_messages(errors))
        return self.snapshot_relationship_definition(reldef.id)

    def set_property_locked(self, component: str, definition_alias: str, locked: bool = True) -> None:
        """Mark an assigned property value (not) locked.

        :param component: component id or alias.
        :param definition_alias: property definition alias.
        :raises KeyError: no such component or assigned value.
        """
        cat = self.catalog
        with cat.lock:
            found = cat.components.get(component) or cat.component_by_alias(component)
            definition = cat.find_definition({"alias": definition_alias}, found.type_id) if found else None
            stored = found.properties.get(definition.id) if found and definition else None
            if stored is None:
                raise KeyError(f"{component}/{definition_alias}")
            stored.locked = locked

    def relationships(self, definition_alias: str | None = None) -> list[dict[str, Any]]:
        """Relationships linked by management rules (not those made with ``relationshipCreate``).

        Ordered by definition, then source, then target creation order. Each is ``{"id",
        "definition": alias, "type": "related_to", "source", "target"}``, where a side is
        ``{"id", "alias", "name", "aliases"}`` and ``alias`` is the component's first managed
        alias (the one an integration sets), else its generated identifier.

        :param definition_alias: only this relationship definition's links.
        :raises KeyError: unknown ``definition_alias``.
        """
        cat = self.catalog
        with cat.lock:
            definition_id = None
            if definition_alias is not None:
                reldef = cat.find_relationship_definition({"alias": definition_alias})
                if reldef is None:
                    raise KeyError(f"no relationship definition {definition_alias!r}")
                definition_id = reldef.id
            return [relationship_dict(self.catalog, r) for r in cat.managed_relationships(definition_id)]

    def related(self, source_alias: str, definition_alias: str) -> list[dict[str, Any]]:
        """Components the management rules of one definition link ``source_alias`` to.

        :param source_alias: any alias (or the id) of the source component.
        :param definition_alias: relationship definition alias.
        :returns: target components as :meth:`components` returns them, in creation order.
        :raises KeyError: unknown source component or relationship definition.
        """
        cat = self.catalog
        with cat.lock:
            source = cat.find_component({"id": source_alias}) or cat.component_by_alias(source_alias)
            reldef = cat.find_relationship_definition({"alias": definition_alias})
            if source is None or reldef is None:
                missing = "component" if source is None else "relationship definition"
                raise KeyError(f"no {missing} {source_alias if source is None else definition_alias!r}")
            return [
                component_dict(self.catalog, cat.components[r.target_id])
                for r in cat.managed_relationships(reldef.id)
                if r.source_id == source.id
            ]

    def components(self) -> list[dict[str, Any]]:
        """Every component as a plain dict (see :meth:`component_by_alias`)."""
        with self.catalog.lock:
            return [component_dict(self.catalog, c) for c in self.catalog.components.values()]

    def component_by_alias(self, alias: str) -> dict[str, Any] | None:
        """One component as a plain dict, or ``None``.

        Keys: ``id``, ``name``, ``type`` (type alias), ``aliases``, ``managedAliases``,
        ``description``, ``framework``, ``language``, ``product``, ``note``, ``owner``,
        ``lifecycle``, ``tier``, ``parent`` (all unescaped), ``tags`` (list of ``{key, value}``),
        ``properties`` (definition alias -> decoded value), ``lockedProperties``,
        ``propertyErrors`` (alias -> validation errors, only when non-empty), ``htmlUrl``,
        ``createdAt``, ``updatedAt``.
        """
        with self.catalog.lock:
            component = self.catalog.component_by_alias(alias)
            return None if component is None else component_dict(self.catalog, component)

    def snapshot_relationship_definition(self, reldef_id: str) -> dict[str, Any]:
        """One relationship definition as in :meth:`snapshot`."""
        return relationship_definition_dict(self.catalog, reldef_id)

    def snapshot(self) -> dict[str, Any]:
        """The whole catalog as a JSON-able dict (the format :meth:`seed` accepts)."""
        return snapshot(self.catalog)

    def seed(self, data: dict[str, Any]) -> None:
        """Pre-seed from a dict shaped like :meth:`snapshot` (every key optional).

        ``componentTypes``: ``{alias, name, description?, id?, properties?}``;
        ``components``: ``{name, type?, managedAliases? or aliases?, properties?, tags?,
        lockedProperties?, id?, description?, framework?, …}``; ``relationshipDefinitions``:
        ``{alias, name, componentType, description?, managementRules?, metadata?}``;
        ``relationships``: ``{source, target, type, definition?}`` (component ids).
        ``managedRelationships`` is ignored: the definitions' rules derive them again.

        :raises ValueError: something the catalog refuses.
        """
        for t in data.get("componentTypes") or []:
            self.add_component_type(
                t["alias"], t["name"], t.get("properties"), description=t.get("description"), id=t.get("id")
            )
        for c in data.get("components") or []:
            extra = {k: c[k] for k in _COMPONENT_FIELDS if c.get(k) is not None}
            self.add_component(
                c["name"],
                c.get("type") or "service",
                c["managedAliases"] if "managedAliases" in c else c.get("aliases") or (),
                c.get("properties"),
                tags=c.get("tags"),
                locked_properties=c.get("lockedProperties") or (),
                note=c.get("note"),
                parent=c.get("parent"),
                id=c.get("id"),
                **extra,
            )
        for r in data.get("relationshipDefinitions") or []:
            metadata = r.get("metadata") or {}
            self.add_relationship_definition(
                r["alias"],
                r["name"],
                r["componentType"],
                description=r.get("description"),
                allowed_types=metadata.get("allowedTypes") or (),
                management_rules=r.get("managementRules") or (),
                id=r.get("id"),
            )
        for rel in data.get("relationships") or []:
            definition = {"alias": rel["definition"]} if rel.get("definition") else None
            _, errors = self.catalog.create_relationship(
                {
                    "source": {"id": rel["source"]},
                    "target": {"id": rel["target"]},
                    "type": rel["type"],
                    "relationshipDefinition": definition,
                }
            )
            if errors:
                raise ValueError(_messages(errors))
