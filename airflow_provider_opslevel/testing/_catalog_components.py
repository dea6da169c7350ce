"""``service*``, ``alias*``, ``tag*`` and ``property*``: components and what hangs off them."""

from __future__ import annotations

import json
import re

from airflow_provider_opslevel.testing import _jsonschema
from airflow_provider_opslevel.testing._catalog_data import CatalogData
from airflow_provider_opslevel.testing._catalog_records import (
    Error,
    Input,
    PropertyValue,
    StoredComponent,
    StoredComponentType,
    StoredPropertyDefinition,
    Tag,
    alias_from_name,
    encode_value,
    err,
    ident_text,
    locked,
    mutating,
    now,
)

# The client-side check opslevel-go applies (tags.go); the fake enforces it server-side.
_TAG_KEY = re.compile(r"\A[a-z][0-9a-z_\.\/\\-]*\Z")

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


class Components(CatalogData):
    """Create, update and delete components, their aliases, tags and property values."""

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

    def _check_component_input(self, data: Input, creating: bool) -> tuple[StoredComponentType | None, list[Error]]:
        errors = []
        if creating or "name" in data:
            if not (data.get("name") or "").strip():
                errors.append(err("Name can't be blank", "name"))
        ctype = None
        if data.get("type"):
            ctype = self.find_type(data["type"])
            if ctype is None:
                text = ident_text(data["type"])
                errors.append(err(f"'{text}' does not identify a component type on this account", "type"))
        return ctype, errors

    def _apply_component_fields(self, component: StoredComponent, data: Input, ctype: StoredComponentType | None) -> None:
        for key, attribute in _COMPONENT_TEXT.items():
            if key in data:
                setattr(component, attribute, data[key])
        if "ownerInput" in data:
            component.owner = ident_text(data["ownerInput"]) or None
        if "parent" in data:
            component.parent = ident_text(data["parent"]) or None
        if data.get("name"):
            component.name = data["name"].strip()
        if ctype is not None and ctype.id != component.type_id:
            self._components_by_type[component.type_id].pop(component.id, None)
            component.type_id = ctype.id
            self._components_by_type[ctype.id][component.id] = None
        component.updated_at = now()

    @mutating
    def create_component(
        self, data: Input, explicit_id: str | None = None
    ) -> tuple[StoredComponent | None, list[Error]]:
        """``serviceCreate``: ``data`` is a ``ServiceCreateInput`` (``type`` defaults to ``service``)."""
        ctype, errors = self._check_component_input(data, creating=True)
        if explicit_id and explicit_id in self.components:
            errors.append(err(f"id '{explicit_id}' is taken", "id"))
        if errors:
            return None, errors
        ctype = ctype or self.default_type
        component = StoredComponent(
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

    @mutating
    def update_component(self, data: Input) -> tuple[StoredComponent | None, list[Error]]:
        """``serviceUpdate``: found by ``id`` or ``alias``; only keys present in ``data`` change."""
        component = self.find_component({"id": data.get("id"), "alias": data.get("alias")})
        if component is None:
            return None, [_not_found(data)]
        ctype, errors = self._check_component_input(data, creating=False)
        if errors:
            return None, errors
        self._apply_component_fields(component, data, ctype)
        return component, []

    @locked
    def update_note(self, ident: Input, note: str | None) -> tuple[StoredComponent | None, list[Error]]:
        """``serviceNoteUpdate``."""
        component = self.find_component(ident)
        if component is None:
            return None, [
                err(f"'{ident_text(ident)}' does not identify a service on this account", "service")
            ]
        component.note = note
        component.updated_at = now()
        return component, []

    @mutating
    def delete_component(self, data: Input) -> tuple[StoredComponent | None, list[Error]]:
        """``serviceDelete`` by ``id`` or ``alias``; drops its aliases, tags and relationships."""
        component = self.find_component({"id": data.get("id"), "alias": data.get("alias")})
        if component is None:
            return None, [_not_found(data)]
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
    @mutating
    def create_alias(self, alias: str, owner_id: str) -> tuple[StoredComponent | None, list[Error]]:
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

    @mutating
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
    def _tag_owner(self, data: Input) -> tuple[StoredComponent | None, list[Error]]:
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

    def _add_tag(self, component: StoredComponent, key: str, value: str) -> Tag:
        tag = Tag(id=self._new_id("Tag", self.tags), key=key, value=value, owner_id=component.id)
        self.tags[tag.id] = tag
        component.tags[tag.id] = tag
        component.updated_at = now()
        return tag

    @staticmethod
    def _find_tag(component: StoredComponent, key: str, value: str) -> Tag | None:
        return next((t for t in component.tags.values() if t.key == key and t.value == value), None)

    @locked
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

    @locked
    def create_tag(self, data: Input) -> tuple[Tag | None, list[Error]]:
        """``tagCreate``: one tag; an identical key+value on the same resource is an error."""
        component, errors = self._tag_owner(data)
        errors += self._check_tag(data["key"], data["value"])
        if errors or component is None:
            return None, errors
        if self._find_tag(component, data["key"], data["value"]) is not None:
            return None, [err(f"Tag '{data['key']}:{data['value']}' already exists on this resource", "base")]
        return self._add_tag(component, data["key"], data["value"]), []

    @locked
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

    @locked
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
    ) -> tuple[StoredComponent | None, StoredPropertyDefinition | None, list[Error]]:
        component = self.find_component(owner) if owner_type in (None, "COMPONENT") else None
        if component is None:
            kind = "team" if owner_type == "TEAM" else "component"
            return (
                None,
                None,
                [err(f"'{ident_text(owner)}' does not identify a {kind} on this account", "owner")],
            )
        found = self.find_definition(definition, component.type_id)
        if found is None:
            return (
                None,
                None,
                [err(f"'{ident_text(definition)}' does not identify a property definition", "definition")],
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

    @mutating
    def assign_property(self, data: Input) -> tuple[tuple[StoredComponent, StoredPropertyDefinition] | None, list[Error]]:
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

    @mutating
    def unassign_property(
        self, owner: Input, definition: Input
    ) -> tuple[tuple[StoredComponent, StoredPropertyDefinition] | None, list[Error]]:
        """``propertyUnassign``; unassigning an unset property succeeds."""
        component, found, errors = self._property_target(owner, definition)
        if errors or component is None or found is None:
            return None, errors
        if component.properties.pop(found.id, None) is not None:
            component.updated_at = now()
        return (component, found), []

    @locked
    def get_property(self, owner: Input, definition: Input) -> tuple[StoredComponent, StoredPropertyDefinition] | None:
        """The (component, definition) pair for ``Account.property``, or ``None``."""
        component, found, errors = self._property_target(owner, definition)
        return None if errors or component is None or found is None else (component, found)


def _not_found(data: Input) -> Error:
    """OpsLevel's answer to an ``id`` or ``alias`` that names no service (update, delete)."""
    text = data.get("id") or data.get("alias") or ""
    return err(f"'{text}' does not identify a service on this account", "id" if data.get("id") else "alias")
