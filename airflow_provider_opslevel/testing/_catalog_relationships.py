"""``relationshipDefinition*`` and ``relationship*``: links between components, by hand or by rules."""

from __future__ import annotations

import hashlib

from airflow_provider_opslevel.testing import _rules
from airflow_provider_opslevel.testing._catalog_data import CatalogData
from airflow_provider_opslevel.testing._catalog_records import (
    Error,
    Input,
    Relationship,
    RelationshipDefinition,
    StoredComponentType,
    alias_from_name,
    err,
    ident_text,
    locked,
    management_rule,
    mutating,
)
from airflow_provider_opslevel.testing._ids import make_id

_RELATIONSHIP_TARGET_BUILTINS = ("team", "user")


class Relationships(CatalogData):
    """Relationship definitions, relationships made with ``relationshipCreate`` and rule-managed ones."""

    # -- relationships ---------------------------------------------------------------------
    def _check_reldef(
        self, data: Input, current: RelationshipDefinition | None
    ) -> tuple[StoredComponentType | None, list[Error]]:
        errors: list[Error] = []
        ctype = None
        if "componentType" in data or current is None:
            ctype = self.find_type(data.get("componentType"))
            if ctype is None:
                errors.append(
                    err(
                        f"'{ident_text(data.get('componentType'))}' does not identify a component type",
                        "componentType",
                    )
                )
        if current is None and not (data.get("name") or "").strip():
            errors.append(err("Name can't be blank", "name"))
        alias = data.get("alias") or (alias_from_name(data.get("name") or "") if current is None else None)
        holder = self._reldef_by_alias.get(alias) if alias else None
        if holder is not None and (current is None or holder != current.id):
            errors.append(err(f"Alias '{alias}' has already been taken", "alias"))
        for allowed in ((data.get("metadata") or {}).get("allowedTypes")) or []:
            if allowed not in self._type_by_alias and allowed not in _RELATIONSHIP_TARGET_BUILTINS:
                errors.append(
                    err(
                        f"'{allowed}' is not a component type alias, 'team' or 'user'",
                        "metadata",
                        "allowedTypes",
                    )
                )
        return ctype, errors

    def _apply_reldef_fields(
        self, reldef: RelationshipDefinition, data: Input, ctype: StoredComponentType | None
    ) -> None:
        if ctype is not None:
            reldef.component_type_id = ctype.id
        if data.get("name"):
            reldef.name = data["name"].strip()
        if "description" in data:
            reldef.description = data["description"]
        if "managementRules" in data:
            reldef.management_rules = [management_rule(r) for r in data["managementRules"] or []]
        if "metadata" in data:
            meta = data["metadata"] or {}
            reldef.metadata = {
                "allowedCategories": list(meta.get("allowedCategories") or []),
                "allowedTypes": list(meta.get("allowedTypes") or []),
                "maxItems": meta.get("maxItems"),
                "minItems": meta.get("minItems"),
            }
        if data.get("alias") and data["alias"] != reldef.alias:
            self._reldef_by_alias.pop(reldef.alias, None)
            reldef.alias = data["alias"]
            self._reldef_by_alias[reldef.alias] = reldef.id

    @mutating
    def create_relationship_definition(
        self, data: Input, explicit_id: str | None = None
    ) -> tuple[RelationshipDefinition | None, list[Error]]:
        """``relationshipDefinitionCreate``: ``componentType`` and ``name`` are required."""
        ctype, errors = self._check_reldef(data, None)
        if explicit_id and explicit_id in self.relationship_definitions:
            errors.append(err(f"id '{explicit_id}' is taken", "id"))
        if errors or ctype is None:
            return None, errors
        alias = data.get("alias") or alias_from_name(data["name"])
        reldef = RelationshipDefinition(
            id=explicit_id or self._new_id("RelationshipDefinition", self.relationship_definitions),
            alias=alias,
            name=data["name"].strip(),
            component_type_id=ctype.id,
            metadata={"allowedCategories": [], "allowedTypes": [], "maxItems": None, "minItems": None},
        )
        self.relationship_definitions[reldef.id] = reldef
        self._reldef_by_alias[alias] = reldef.id
        self._apply_reldef_fields(reldef, data, None)
        return reldef, []

    @mutating
    def update_relationship_definition(
        self, ident: Input, data: Input
    ) -> tuple[RelationshipDefinition | None, list[Error]]:
        """``relationshipDefinitionUpdate``: only keys present in ``data`` change."""
        reldef = self.find_relationship_definition(ident)
        if reldef is None:
            return None, [err(f"'{ident_text(ident)}' does not identify a relationship definition", "base")]
        ctype, errors = self._check_reldef(data, reldef)
        if errors:
            return None, errors
        self._apply_reldef_fields(reldef, data, ctype)
        return reldef, []

    @mutating
    def delete_relationship_definition(self, ident: Input) -> tuple[str | None, list[Error]]:
        """``relationshipDefinitionDelete``; relationships created with it go too."""
        reldef = self.find_relationship_definition(ident)
        if reldef is None:
            return None, [err(f"'{ident_text(ident)}' does not identify a relationship definition", "base")]
        del self.relationship_definitions[reldef.id]
        self._reldef_by_alias.pop(reldef.alias, None)
        for rel in list(self.relationships.values()):
            if rel.definition_id == reldef.id:
                del self.relationships[rel.id]
        return reldef.id, []

    @locked
    def create_relationship(self, data: Input) -> tuple[Relationship | None, list[Error]]:
        """``relationshipCreate`` between two components; an identical one is returned as is."""
        errors = []
        source = self.find_component(data["source"])
        target = self.find_component(data["target"])
        if source is None:
            errors.append(err(f"'{ident_text(data['source'])}' does not identify a resource", "source"))
        if target is None:
            errors.append(err(f"'{ident_text(data['target'])}' does not identify a resource", "target"))
        reldef = None
        if data.get("relationshipDefinition"):
            reldef = self.find_relationship_definition(data["relationshipDefinition"])
            if reldef is None:
                text = ident_text(data["relationshipDefinition"])
                errors.append(
                    err(f"'{text}' does not identify a relationship definition", "relationshipDefinition")
                )
        if errors or source is None or target is None:
            return None, errors
        key = (source.id, target.id, data["type"], reldef.id if reldef else None)
        for rel in self.relationships.values():
            if (rel.source_id, rel.target_id, rel.type, rel.definition_id) == key:
                return rel, []
        rel = Relationship(
            id=self._new_id("Relationship", self.relationships),
            source_id=source.id,
            target_id=target.id,
            type=data["type"],
            definition_id=reldef.id if reldef else None,
        )
        self.relationships[rel.id] = rel
        return rel, []

    @locked
    def delete_relationship(self, relationship_id: str) -> tuple[str | None, list[Error]]:
        """``relationshipDelete``; rule-managed relationships cannot be deleted by hand."""
        if self.relationships.pop(relationship_id, None) is None:
            if self.find_relationship(relationship_id) is not None:
                return None, [
                    err(
                        f"Relationship '{relationship_id}' is managed by its relationship definition's "
                        "management rules and cannot be deleted",
                        "id",
                    )
                ]
            return None, [err(f"'{relationship_id}' does not identify a relationship", "id")]
        return relationship_id, []

    @locked
    def find_relationship(self, relationship_id: str) -> Relationship | None:
        """A relationship created with ``relationshipCreate`` or managed by rules, by id."""
        found = self.relationships.get(relationship_id)
        if found is None:
            self._refresh_managed()
            found = self._managed.get(relationship_id)
        return found

    @locked
    def managed_relationships(self, definition_id: str | None = None) -> list[Relationship]:
        """Relationships the definitions' management rules link (all, or one definition's).

        Ordered by definition, then source, then target creation order; recomputed here when a
        mutation marked them stale (see ``_rules`` for the semantics).
        """
        self._refresh_managed()
        return [
            r for r in self._managed.values() if definition_id is None or r.definition_id == definition_id
        ]

    def _refresh_managed(self) -> None:
        if not self._managed_stale:
            return
        # Ids derive from (definition, source, target): a link keeps its id while it exists,
        # and a copy of the catalog (seeded from a snapshot) gives it the same one.
        previous = {(r.definition_id, r.source_id, r.target_id): r for r in self._managed.values()}
        managed: dict[str, Relationship] = {}
        for reldef in self.relationship_definitions.values():
            for source_id, target_id in _rules.evaluate(self, reldef):
                rel = previous.get((reldef.id, source_id, target_id))
                if rel is None:
                    text = f"{reldef.id}|{source_id}|{target_id}".encode()
                    digest = hashlib.blake2b(text, digest_size=8).hexdigest()
                    rel = Relationship(
                        id=make_id("Relationship", f"managed-{digest}"),
                        source_id=source_id,
                        target_id=target_id,
                        type="related_to",
                        definition_id=reldef.id,
                        managed=True,
                    )
                managed[rel.id] = rel
        self._managed = managed
        self._managed_stale = False
