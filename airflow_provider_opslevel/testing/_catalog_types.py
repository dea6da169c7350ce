"""``componentType*`` and ``propertyDefinition*``: the types components have and their property definitions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

from airflow_provider_opslevel.testing import _jsonschema
from airflow_provider_opslevel.testing._catalog_data import CatalogData
from airflow_provider_opslevel.testing._catalog_records import (
    Error,
    Input,
    StoredComponentType,
    StoredPropertyDefinition,
    alias_from_name,
    err,
    ident_text,
    locked,
    management_rule,
    mutating,
    now,
)

if TYPE_CHECKING:
    from airflow_provider_opslevel.testing._catalog import Catalog


class ComponentTypes(CatalogData):
    """Create, update and delete component types and property definitions."""

    @locked
    def create_type(
        self, data: Input, explicit_id: str | None = None
    ) -> tuple[StoredComponentType | None, list[Error]]:
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
        ctype = StoredComponentType(
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

    def _apply_type_fields(self, ctype: StoredComponentType, data: Input) -> None:
        if "description" in data:
            ctype.description = data["description"]
        if data.get("icon"):
            ctype.icon = {"color": data["icon"].get("color"), "name": data["icon"].get("name")}
        if "ownerRelationship" in data:
            ctype.owner_rules = [
                management_rule(r) for r in (data["ownerRelationship"] or {}).get("managementRules") or []
            ]
        if "systemRelationship" in data:
            ctype.system_rules = [
                management_rule(r) for r in (data["systemRelationship"] or {}).get("managementRules") or []
            ]
        for item in data.get("properties") or []:
            existing = self.find_definition({"alias": item["alias"]}, ctype.id)
            if existing is not None and existing.component_type_id == ctype.id:
                self.update_definition({"id": existing.id}, item)
            else:
                self.create_definition(item, type_id=ctype.id, alias=item["alias"])
        ctype.updated_at = now()

    @mutating
    def update_type(self, ident: Input, data: Input) -> tuple[StoredComponentType | None, list[Error]]:
        """``componentTypeUpdate``: only keys present in ``data`` change."""
        ctype = self.find_type(ident)
        if ctype is None:
            return None, [
                err(f"'{ident_text(ident)}' does not identify a component type on this account", "base")
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

    @mutating
    def delete_type(self, ident: Input) -> list[Error]:
        """``componentTypeDelete``: refuses the default type and types still in use."""
        ctype = self.find_type(ident)
        if ctype is None:
            return [err(f"'{ident_text(ident)}' does not identify a component type on this account", "base")]
        if ctype.is_default:
            return [err("The default component type cannot be deleted", "base")]
        in_use = len(self._components_by_type.get(ctype.id, {}))
        if in_use:
            return [err(f"Component type '{ctype.alias}' still has {in_use} components", "base")]
        for definition_id in list(ctype.definitions):
            self.delete_definition({"id": definition_id})
        for reldef in list(self.relationship_definitions.values()):
            if reldef.component_type_id == ctype.id:
                # Relationships are another part of the Catalog this mixes into.
                cast("Catalog", self).delete_relationship_definition({"id": reldef.id})
        del self.types[ctype.id]
        del self._type_by_alias[ctype.alias]
        del self._components_by_type[ctype.id]
        return []

    # -- property definitions --------------------------------------------------------------
    @locked
    def create_definition(
        self,
        data: Input,
        type_id: str | None = None,
        alias: str | None = None,
        explicit_id: str | None = None,
    ) -> tuple[StoredPropertyDefinition | None, list[Error]]:
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
        definition = StoredPropertyDefinition(
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

    def _apply_definition_fields(self, definition: StoredPropertyDefinition, data: Input) -> None:
        if "description" in data:
            definition.description = data["description"]
        if data.get("allowedInConfigFiles") is not None:
            definition.allowed_in_config_files = bool(data["allowedInConfigFiles"])
        if data.get("propertyDisplayStatus"):
            definition.display_status = data["propertyDisplayStatus"]
        if data.get("lockedStatus"):
            definition.locked_status = data["lockedStatus"]
        definition.updated_at = now()

    @locked
    def update_definition(self, ident: Input, data: Input) -> tuple[StoredPropertyDefinition | None, list[Error]]:
        """``propertyDefinitionUpdate``: only keys present in ``data`` change; values are re-validated."""
        definition = self.find_definition(ident)
        if definition is None:
            return None, [err(f"'{ident_text(ident)}' does not identify a property definition", "base")]
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

    @mutating
    def delete_definition(self, ident: Input) -> list[Error]:
        """``propertyDefinitionDelete``: also drops the values assigned with it."""
        definition = self.find_definition(ident)
        if definition is None:
            return [err(f"'{ident_text(ident)}' does not identify a property definition", "base")]
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
