"""GraphQL wiring of the fake OpsLevel: root value and presenters (the schema is in ``_graphql_schema``).

Resolution uses graphql-core's default field resolver only: every object is presented as a
dict keyed by GraphQL field name, where fields that take arguments or are costly are
callables ``(info, **args)`` evaluated lazily. Union members carry ``__typename``. Presenters
fill every field the SDL declares non-null, so responses always satisfy the schema.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from graphql import GraphQLError

from airflow_provider_opslevel.testing._catalog import Catalog
from airflow_provider_opslevel.testing._catalog_records import (
    Error,
    Relationship,
    RelationshipDefinition,
    StoredComponent,
    StoredComponentType,
    StoredPropertyDefinition,
    Tag,
)
from airflow_provider_opslevel.testing._ids import LIFECYCLES, TIERS, is_id, make_id
from airflow_provider_opslevel.testing._jsonschema import display_types

#: Page size when ``first`` is absent, and the largest one honoured (opslevel-go pages by 500).
MAX_PAGE_SIZE = 500
Node = dict[str, Any]
_T = TypeVar("_T")
# Rails' ERB::Util.html_escape, which is what the API applies to description/note/product.
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})


# -- helpers ---------------------------------------------------------------------------------
def html_escape(text: str | None) -> str | None:
    """HTML-escape like the real API does for ``description``, ``note`` and ``product``."""
    return None if text is None else text.translate(_HTML_ESCAPES)


def encode_cursor(position: int) -> str:
    """graphql-ruby style cursor: unpadded base64 of the 1-based position (``"MQ"`` is 1)."""
    return base64.b64encode(str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """Position after which a page starts; ``None``/``""`` mean the beginning."""
    if not cursor:
        return 0
    try:
        position = int(base64.b64decode(cursor + "=" * (-len(cursor) % 4), validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise GraphQLError(f"Invalid cursor: {cursor!r}") from None
    if position < 0:
        raise GraphQLError(f"Invalid cursor: {cursor!r}")
    return position


def connection(
    items: Sequence[_T], after: str | None, first: int | None, present: Callable[[_T], Node]
) -> Node:
    """One page of ``items`` as ``{nodes, pageInfo, totalCount}`` (presenting only that page)."""
    if first is not None and first < 0:
        raise GraphQLError("Argument 'first' must be a non-negative integer")
    size = MAX_PAGE_SIZE if first is None else min(first, MAX_PAGE_SIZE)
    start = decode_cursor(after)
    page = items[start : start + size]
    end = start + len(page)
    return {
        "nodes": [present(item) for item in page],
        "pageInfo": {
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": encode_cursor(start + 1) if page else None,
            "endCursor": encode_cursor(end) if page else None,
        },
        "totalCount": len(items),
    }


def _empty_connection(_info: Any, **_args: Any) -> Node:
    return connection([], None, None, lambda item: item)


def _empty_edges(_info: Any, **_args: Any) -> Node:
    return {"edges": [], "pageInfo": connection([], None, None, lambda item: item)["pageInfo"]}


def _maybe(present: Callable[[_T], Node], item: _T | None) -> Node | None:
    return None if item is None else present(item)


# -- presenters ------------------------------------------------------------------------------
def _named(kind: str, alias: str | None, table: dict[str, tuple[str, int]]) -> Node | None:
    if alias is None:
        return None
    name, index = table.get(alias, (alias, None))
    return {
        "id": make_id(kind, index or alias),
        "alias": alias,
        "name": name,
        "index": index,
        "description": None,
    }


def team_node(owner: str | None) -> Node | None:
    """Owners are stored as the alias (or id) the client gave; teams are not modelled."""
    if owner is None:
        return None
    if is_id(owner):
        return {"__typename": "Team", "id": owner, "alias": None, "aliases": [], "name": owner}
    return {
        "__typename": "Team",
        "id": make_id("Team", owner),
        "alias": owner,
        "aliases": [owner],
        "name": owner,
    }


def system_node(cat: Catalog, parent: str | None) -> Node | None:
    if parent is None:
        return None
    system_id = parent if is_id(parent) else make_id("System", parent)
    aliases = [] if is_id(parent) else [parent]
    return {
        "__typename": "System",
        "id": system_id,
        "aliases": aliases,
        "managedAliases": aliases,
        "name": parent,
        "description": None,
        "htmlUrl": f"{cat.html_base}/catalog/systems/{parent}",
    }


def service_node(cat: Catalog, c: StoredComponent) -> Node:
    def properties(_info: Any, after: str | None = None, first: int | None = None) -> Node:
        return connection(
            list(c.properties), after, first, lambda d: property_node(cat, c, cat.definitions[d])
        )

    def one_property(_info: Any, definition: dict[str, Any]) -> Node | None:
        found = cat.get_property({"id": c.id}, definition)
        return None if found is None else property_node(cat, *found)

    return {
        "__typename": "Service",
        "id": c.id,
        "name": c.name,
        "aliases": c.aliases,
        "managedAliases": list(c.managed_aliases),
        "description": html_escape(c.description),
        "note": html_escape(c.note),
        "product": html_escape(c.product),
        "framework": c.framework,
        "language": c.language,
        "htmlUrl": f"{cat.html_base}/catalog/components/{c.identifier}",
        "lifecycle": _named("Lifecycle", c.lifecycle, LIFECYCLES),
        "tier": _named("Tier", c.tier, TIERS),
        "owner": team_node(c.owner),
        "parent": system_node(cat, c.parent),
        "locked": False,
        "apiDocumentPath": None,
        "defaultServiceRepository": None,
        "maturityReport": None,
        "preferredApiDocument": None,
        "preferredApiDocumentSource": None,
        "timestamps": {"createdAt": c.created_at, "updatedAt": c.updated_at},
        "type": lambda _info: type_node(cat, cat.types[c.type_id]),
        "tags": lambda _info, after=None, first=None: connection(
            list(c.tags.values()), after, first, tag_node
        ),
        "properties": properties,
        "property": one_property,
        "repos": _empty_edges,
        "tools": _empty_connection,
    }


def tag_node(tag: Tag) -> Node:
    return {"id": tag.id, "key": tag.key, "value": tag.value}


def type_node(cat: Catalog, t: StoredComponentType) -> Node:
    def properties(_info: Any, after: str | None = None, first: int | None = None) -> Node:
        return connection(list(t.definitions), after, first, lambda d: definition_node(cat.definitions[d]))

    return {
        "id": t.id,
        "aliases": [t.alias],
        "name": t.name,
        "description": t.description,
        "href": f"/catalog/component_types/{t.alias}",
        "icon": dict(t.icon),
        "isDefault": t.is_default,
        "ownerRelationship": {"managementRules": [dict(r) for r in t.owner_rules]},
        "systemRelationship": {"managementRules": [dict(r) for r in t.system_rules]},
        "timestamps": {"createdAt": t.created_at, "updatedAt": t.updated_at},
        "properties": properties,
    }


def definition_node(d: StoredPropertyDefinition) -> Node:
    return {
        "id": d.id,
        "aliases": [d.alias],
        "name": d.name,
        "description": d.description,
        "schema": d.schema,
        "allowedInConfigFiles": d.allowed_in_config_files,
        "displayType": lambda _info: display_types(d.schema)[0],
        "displaySubtype": lambda _info: display_types(d.schema)[1],
        "lockedStatus": d.locked_status,
        "propertyDisplayStatus": d.display_status,
    }


def property_node(cat: Catalog, c: StoredComponent, d: StoredPropertyDefinition) -> Node:
    stored = c.properties.get(d.id)
    return {
        "definition": lambda _info: definition_node(d),
        "owner": lambda _info: service_node(cat, c),
        "locked": stored.locked if stored else False,
        "validationErrors": [dict(e) for e in stored.validation_errors] if stored else [],
        "value": stored.value if stored else None,
    }


def relationship_definition_node(cat: Catalog, r: RelationshipDefinition) -> Node:
    return {
        "id": r.id,
        "alias": r.alias,
        "name": r.name,
        "description": r.description,
        "componentType": type_node(cat, cat.types[r.component_type_id]),
        "managementRules": [dict(rule) for rule in r.management_rules],
        "metadata": dict(r.metadata),
    }


def relationship_node(cat: Catalog, r: Relationship) -> Node:
    return {
        "id": r.id,
        "source": lambda _info: service_node(cat, cat.components[r.source_id]),
        "target": lambda _info: service_node(cat, cat.components[r.target_id]),
        "type": r.type,
    }


# -- root ------------------------------------------------------------------------------------
def _account(cat: Catalog) -> Node:
    def service(_info: Any, id: str | None = None, alias: str | None = None) -> Node | None:
        found = cat.components.get(id) if id else cat.component_by_alias(alias) if alias else None
        return _maybe(lambda c: service_node(cat, c), found)

    def component_types(_info: Any, after: str | None = None, first: int | None = None) -> Node:
        return connection(list(cat.types.values()), after, first, lambda t: type_node(cat, t))

    def definitions(_info: Any, after: str | None = None, first: int | None = None) -> Node:
        return connection(list(cat.definitions.values()), after, first, definition_node)

    def one_property(_info: Any, owner: dict[str, Any], definition: dict[str, Any]) -> Node | None:
        found = cat.get_property(owner, definition)
        return None if found is None else property_node(cat, *found)

    def relationship_definitions(
        _info: Any,
        after: str | None = None,
        first: int | None = None,
        componentType: dict[str, Any] | None = None,
        resource: str | None = None,
    ) -> Node:
        items = list(cat.relationship_definitions.values())
        type_ids = set()
        if componentType:
            ctype = cat.find_type(componentType)
            type_ids.add(ctype.id if ctype else "")
        if resource:
            component = cat.components.get(resource)
            type_ids.add(component.type_id if component else "")
        if type_ids:
            items = [r for r in items if r.component_type_id in type_ids]
        return connection(items, after, first, lambda r: relationship_definition_node(cat, r))

    return {
        "id": cat.account_id,
        "service": service,
        "services": lambda _info, **args: _services(cat, **args),
        "componentType": lambda _info, input: _maybe(lambda t: type_node(cat, t), cat.find_type(input)),
        "componentTypes": component_types,
        "propertyDefinition": lambda _info, input: _maybe(definition_node, cat.find_definition(input)),
        "propertyDefinitions": definitions,
        "property": one_property,
        "relationship": lambda _info, id: _maybe(
            lambda r: relationship_node(cat, r), cat.find_relationship(id)
        ),
        "relationshipDefinition": lambda _info, input: _maybe(
            lambda r: relationship_definition_node(cat, r), cat.find_relationship_definition(input)
        ),
        "relationshipDefinitions": relationship_definitions,
    }


def _services(cat: Catalog, after: str | None = None, first: int | None = None, **args: Any) -> Node:
    """``Account.services``: inline ``filter`` list plus the shorthand arguments, all AND-ed."""
    simple = {key: args.get(key) for key in ("framework", "language", "product")}
    named = {"lifecycleAlias": "lifecycle", "ownerAlias": "owner", "tierAlias": "tier"}
    tag = args.get("tag") or {}

    def match(c: StoredComponent) -> bool:
        for key, wanted in simple.items():
            if wanted is not None and (getattr(c, key) or "").lower() != wanted.lower():
                return False
        for key, attribute in named.items():
            if args.get(key) is not None and getattr(c, attribute) != args[key]:
                return False
        if tag and not any(
            t.key == tag.get("key", t.key) and t.value == tag.get("value", t.value) for t in c.tags.values()
        ):
            return False
        return True

    if args.get("filterIdentifier"):
        items: list[StoredComponent] = []  # saved filters do not exist in the fake
    else:
        try:
            items = cat.list_components(args.get("filter"), match)
        except ValueError as exc:
            raise GraphQLError(str(exc)) from None
    return connection(items, after, first, lambda c: service_node(cat, c))


def _payload(errors: list[Error], **fields: Any) -> Node:
    return {**fields, "errors": errors}


def build_root(cat: Catalog) -> Node:
    """Root value for queries and mutations against ``cat``."""

    def service_payload(result: tuple[StoredComponent | None, list[Error]]) -> Node:
        component, errors = result
        return _payload(errors, service=_maybe(lambda c: service_node(cat, c), component))

    def type_payload(result: tuple[StoredComponentType | None, list[Error]]) -> Node:
        ctype, errors = result
        return _payload(errors, componentType=_maybe(lambda t: type_node(cat, t), ctype))

    def definition_payload(result: tuple[StoredPropertyDefinition | None, list[Error]]) -> Node:
        definition, errors = result
        return _payload(errors, definition=_maybe(definition_node, definition))

    def reldef_payload(result: tuple[RelationshipDefinition | None, list[Error]]) -> Node:
        reldef, errors = result
        return _payload(errors, definition=_maybe(lambda r: relationship_definition_node(cat, r), reldef))

    def alias_create(_info: Any, input: Node) -> Node:
        component, errors = cat.create_alias(input["alias"], input["ownerId"])
        return _payload(
            errors,
            aliases=component.aliases if component else None,
            ownerId=component.id if component else None,
        )

    def alias_delete(_info: Any, input: Node) -> Node:
        deleted, errors = cat.delete_alias(input["alias"], input["ownerType"])
        return _payload(errors, deletedAlias=deleted)

    def property_assign(_info: Any, input: Node) -> Node:
        found, errors = cat.assign_property(input)
        return _payload(errors, property=None if found is None else property_node(cat, *found))

    def property_unassign(_info: Any, owner: Node, definition: Node) -> Node:
        found, errors = cat.unassign_property(owner, definition)
        return _payload(
            errors,
            owner=None if found is None else service_node(cat, found[0]),
            definition=None if found is None else definition_node(found[1]),
        )

    def service_delete(_info: Any, input: Node) -> Node:
        component, errors = cat.delete_component(input)
        return _payload(
            errors,
            deletedServiceId=component.id if component else None,
            deletedServiceAlias=component.identifier if component else None,
        )

    def relationship_create(_info: Any, relationshipDefinition: Node) -> Node:
        rel, errors = cat.create_relationship(relationshipDefinition)
        return _payload(errors, relationship=_maybe(lambda r: relationship_node(cat, r), rel))

    def tag_assign(_info: Any, input: Node) -> Node:
        tags, errors = cat.assign_tags(input)
        return _payload(errors, tags=None if tags is None else [tag_node(t) for t in tags])

    def tag_payload(result: tuple[Tag | None, list[Error]]) -> Node:
        tag, errors = result
        return _payload(errors, tag=_maybe(tag_node, tag))

    root: Node = {
        "account": lambda _info: _account(cat),
        "aliasCreate": alias_create,
        "aliasDelete": alias_delete,
        "componentTypeCreate": lambda _info, input: type_payload(cat.create_type(input)),
        "componentTypeUpdate": lambda _info, componentType, input: type_payload(
            cat.update_type(componentType, input)
        ),
        "componentTypeDelete": lambda _info, resource: _payload(cat.delete_type(resource)),
        "propertyAssign": property_assign,
        "propertyUnassign": property_unassign,
        "propertyDefinitionCreate": lambda _info, input: definition_payload(cat.create_definition(input)),
        "propertyDefinitionUpdate": lambda _info, propertyDefinition, input: definition_payload(
            cat.update_definition(propertyDefinition, input)
        ),
        "propertyDefinitionDelete": lambda _info, resource: _payload(cat.delete_definition(resource)),
        "relationshipCreate": relationship_create,
        "relationshipDelete": lambda _info, input: _deleted(cat.delete_relationship(input["id"])),
        "relationshipDefinitionCreate": lambda _info, input: reldef_payload(
            cat.create_relationship_definition(input)
        ),
        "relationshipDefinitionUpdate": lambda _info, relationshipDefinition, input: reldef_payload(
            cat.update_relationship_definition(relationshipDefinition, input)
        ),
        "relationshipDefinitionDelete": lambda _info, resource: _deleted(
            cat.delete_relationship_definition(resource)
        ),
        "serviceCreate": lambda _info, input: service_payload(cat.create_component(input)),
        "serviceUpdate": lambda _info, input: service_payload(cat.update_component(input)),
        "serviceNoteUpdate": lambda _info, input: service_payload(
            cat.update_note(input["service"], input.get("note"))
        ),
        "serviceDelete": service_delete,
        "tagAssign": tag_assign,
        "tagCreate": lambda _info, input: tag_payload(cat.create_tag(input)),
        "tagUpdate": lambda _info, input: tag_payload(cat.update_tag(input)),
        "tagDelete": lambda _info, input: _payload(cat.delete_tag(input["id"])),
    }
    return root


def _deleted(result: tuple[str | None, list[Error]]) -> Node:
    deleted_id, errors = result
    return _payload(errors, deletedId=deleted_id)
