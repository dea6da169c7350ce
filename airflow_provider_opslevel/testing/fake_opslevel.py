"""A fake OpsLevel GraphQL API served over real HTTP.

``POST /graphql`` runs documents with graphql-core against the packaged ``schema.graphql``
(a subset reconstructed from opslevel-go) over an in-memory catalog; ``GET /__catalog``
returns :meth:`FakeOpsLevel.snapshot` so another process (a demo script) can print it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from graphql import DocumentNode, GraphQLError, execute_sync, get_operation_ast, parse, validate
from graphql.execution.values import get_variable_values

from airflow_provider_opslevel.testing._catalog import Catalog, Component, ComponentType, encode_value
from airflow_provider_opslevel.testing._graphql_api import build_root, load_schema
from airflow_provider_opslevel.testing._server import FakeHTTPServer, Response, bearer_token, json_response

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
_DOCUMENT_CACHE_SIZE = 512


def _messages(errors: Iterable[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(e['path'])}: {e['message']}" for e in errors)


class FakeOpsLevel(FakeHTTPServer):
    """Fake OpsLevel: GraphQL over HTTP with real semantics for component upserts.

    HTTP:

    * ``POST /graphql`` with ``{"query", "variables", "operationName"}`` and
      ``Authorization: Bearer <token>`` (else HTTP 401). A document that does not parse or
      validate against the schema, or whose variables do not coerce to their declared types,
      gets HTTP 200 ``{"errors": [...]}``, executes nothing and is appended to
      :attr:`rejected`. Otherwise the result is ``{"data": ..., "errors"?: [...]}``.
    * ``GET /__catalog``: :meth:`snapshot` as JSON, no auth.

    Semantics worth knowing (see ``_catalog.py`` for the rest): a component is a service with
    a component type (default ``service``); ``aliases`` = generated unique identifier (snake
    case of the name, suffixed ``_2``, ``_3``… when taken) + ``managedAliases``; aliases are
    unique across components. Property values are JSON text, stored canonically (compact
    JSON) and validated against the definition's JSON Schema into ``validationErrors``.
    ``description``, ``note`` and ``product`` come back HTML-escaped. Connections use
    ``first`` (default and maximum 500) and ``after`` (graphql-ruby style cursors).

    Observability: :attr:`requests` (dicts with ``operation_name``, ``query``, ``variables``
    and, once answered, ``status``), :attr:`request_count`, :attr:`rejected`,
    :meth:`reset_log`. Faults: :attr:`faults`, callables ``(info) -> None | (status,
    headers, body)`` tried before authentication, where ``info`` is the request-log dict plus
    ``method``, ``path`` and ``headers``; the first response returned is sent as is.

    :param token: the accepted bearer token.
    :param port: port to bind on 127.0.0.1; ``0`` picks a free one.
    """

    def __init__(self, *, token: str = "opslevel-test-token", port: int = 0) -> None:
        super().__init__(port=port)
        self.token = token
        #: The in-memory catalog; prefer the helper methods below in tests.
        self.catalog = Catalog()
        self._schema = load_schema()
        self._root = build_root(self.catalog)
        self._rejected: list[dict[str, Any]] = []
        self._documents: dict[str, tuple[DocumentNode | None, list[GraphQLError]]] = {}
        self._documents_lock = threading.Lock()

    @property
    def graphql_url(self) -> str:
        """``{url}/graphql``."""
        return f"{self.url}/graphql"

    def _on_start(self) -> None:
        self.catalog.html_base = self.url

    # -- observability ---------------------------------------------------------------------
    @property
    def rejected(self) -> list[dict[str, Any]]:
        """Requests refused before execution: ``operation_name``, ``query``, ``variables``, ``errors``."""
        with self._log_lock:
            return list(self._rejected)

    def reset_log(self) -> None:
        """Forget logged and rejected requests."""
        with self._log_lock:
            self._requests.clear()
            self._rejected.clear()

    # -- HTTP ------------------------------------------------------------------------------
    def _dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        path = urlsplit(raw_path).path
        if path == "/__catalog" and method in ("GET", "HEAD"):
            return json_response(200, self.snapshot())
        if path != "/graphql":
            return json_response(404, {"errors": [{"message": f"No route for {method} {path}"}]})
        if method != "POST":
            return json_response(405, {"errors": [{"message": "Use POST for /graphql"}]})
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return json_response(400, {"errors": [{"message": "The request body must be a JSON object"}]})
        entry: dict[str, Any] = {
            "operation_name": payload.get("operationName"),
            "query": payload.get("query"),
            "variables": payload.get("variables") or {},
        }
        self._record(entry)
        response = self._run_faults({**entry, "method": method, "path": path, "headers": headers})
        if response is None:
            if bearer_token(headers) != self.token:
                response = json_response(401, {"errors": [{"message": "Invalid or missing API token"}]})
            else:
                response = self._graphql(entry)
        entry["status"] = response[0]
        return response

    def _document(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """Parse and validate, cached by query text (the engine repeats a handful of documents)."""
        with self._documents_lock:
            cached = self._documents.get(query)
        if cached is None:
            try:
                document: DocumentNode | None = parse(query)
                errors = list(validate(self._schema, document)) if document is not None else []
            except GraphQLError as exc:
                document, errors = None, [exc]
            cached = (document, errors)
            with self._documents_lock:
                if len(self._documents) >= _DOCUMENT_CACHE_SIZE:
                    self._documents.clear()
                self._documents[query] = cached
        return cached

    def _reject(self, entry: dict[str, Any], errors: list[GraphQLError]) -> Response:
        formatted = [e.formatted for e in errors]
        with self._log_lock:
            self._rejected.append({**entry, "errors": formatted})
        return json_response(200, {"errors": formatted})

    def _graphql(self, entry: dict[str, Any]) -> Response:
        query, variables = entry["query"], entry["variables"]
        if not isinstance(query, str) or not isinstance(variables, dict):
            return json_response(
                400, {"errors": [{"message": "'query' must be a string, 'variables' an object"}]}
            )
        document, errors = self._document(query)
        if errors or document is None:
            return self._reject(entry, errors)
        operation = get_operation_ast(document, entry["operation_name"])
        if operation is None:
            return self._reject(
                entry, [GraphQLError(f"Unknown or ambiguous operation {entry['operation_name']!r}")]
            )
        if entry["operation_name"] is None and operation.name is not None:
            entry["operation_name"] = operation.name.value
        coerced = get_variable_values(self._schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return self._reject(entry, coerced)
        with self.catalog.lock:  # one execution sees (and leaves) a consistent catalog
            result = execute_sync(
                self._schema,
                document,
                root_value=self._root,
                context_value=self.catalog,
                variable_values=variables,
                operation_name=entry["operation_name"],
            )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
            for error in result.errors:
                if error.original_error is not None and not isinstance(error.original_error, GraphQLError):
                    self._internal_errors.append(f"{error.path}: {error.original_error!r}")
        return json_response(200, out)

    # -- Python API for tests --------------------------------------------------------------
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
            return self._export_type(ctype)

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
            return self._export_component(component)

    def add_relationship_definition(
        self,
        alias: str,
        name: str,
        component_type: str,
        *,
        description: str | None = None,
        allowed_types: Iterable[str] = (),
        management_rules: Iterable[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """Define a relationship on a component type (rules are stored, not evaluated).

        :param alias: relationship alias, e.g. ``"sentry_issues"``.
        :param name: display name.
        :param component_type: alias of the type the relationship belongs to.
        :param description: description.
        :param allowed_types: component type aliases (or ``team``/``user``) it may target.
        :param management_rules: ``ManagementRuleInput``-shaped dicts.
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
        reldef, errors = self.catalog.create_relationship_definition(data)
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

    def components(self) -> list[dict[str, Any]]:
        """Every component as a plain dict (see :meth:`component_by_alias`)."""
        with self.catalog.lock:
            return [self._export_component(c) for c in self.catalog.components.values()]

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
            return None if component is None else self._export_component(component)

    def _export_component(self, c: Component) -> dict[str, Any]:
        cat = self.catalog
        values = {cat.definitions[d].alias: v for d, v in c.properties.items()}
        return {
            "id": c.id,
            "name": c.name,
            "type": cat.types[c.type_id].alias,
            "aliases": c.aliases,
            "managedAliases": list(c.managed_aliases),
            "description": c.description,
            "framework": c.framework,
            "language": c.language,
            "product": c.product,
            "note": c.note,
            "owner": c.owner,
            "lifecycle": c.lifecycle,
            "tier": c.tier,
            "parent": c.parent,
            "tags": [{"key": t.key, "value": t.value} for t in c.tags.values()],
            "properties": {alias: json.loads(v.value) for alias, v in values.items()},
            "lockedProperties": sorted(alias for alias, v in values.items() if v.locked),
            "propertyErrors": {
                alias: v.validation_errors for alias, v in values.items() if v.validation_errors
            },
            "htmlUrl": f"{cat.html_base}/catalog/components/{c.identifier}",
            "createdAt": c.created_at,
            "updatedAt": c.updated_at,
        }

    def _export_type(self, t: ComponentType) -> dict[str, Any]:
        definitions = [self.catalog.definitions[d] for d in t.definitions]
        return {
            "id": t.id,
            "alias": t.alias,
            "name": t.name,
            "description": t.description,
            "isDefault": t.is_default,
            "icon": dict(t.icon),
            "ownerRelationship": {"managementRules": t.owner_rules},
            "systemRelationship": {"managementRules": t.system_rules},
            "properties": {
                d.alias: {
                    "id": d.id,
                    "name": d.name,
                    "description": d.description,
                    "schema": d.schema,
                    "lockedStatus": d.locked_status,
                    "propertyDisplayStatus": d.display_status,
                    "allowedInConfigFiles": d.allowed_in_config_files,
                }
                for d in definitions
            },
        }

    def snapshot_relationship_definition(self, reldef_id: str) -> dict[str, Any]:
        """One relationship definition as in :meth:`snapshot`."""
        cat = self.catalog
        with cat.lock:
            r = cat.relationship_definitions[reldef_id]
            return {
                "id": r.id,
                "alias": r.alias,
                "name": r.name,
                "description": r.description,
                "componentType": cat.types[r.component_type_id].alias,
                "managementRules": [dict(rule) for rule in r.management_rules],
                "metadata": dict(r.metadata),
            }

    def snapshot(self) -> dict[str, Any]:
        """The whole catalog as a JSON-able dict (the format :meth:`seed` accepts)."""
        cat = self.catalog
        with cat.lock:
            return json.loads(
                json.dumps(
                    {
                        "account": {"id": cat.account_id},
                        "componentTypes": [self._export_type(t) for t in cat.types.values()],
                        "components": [self._export_component(c) for c in cat.components.values()],
                        "relationshipDefinitions": [
                            self.snapshot_relationship_definition(r) for r in cat.relationship_definitions
                        ],
                        "relationships": [
                            {
                                "id": r.id,
                                "source": r.source_id,
                                "target": r.target_id,
                                "type": r.type,
                                "definition": cat.relationship_definitions[r.definition_id].alias
                                if r.definition_id
                                else None,
                            }
                            for r in cat.relationships.values()
                        ],
                    }
                )
            )

    def seed(self, data: dict[str, Any]) -> None:
        """Pre-seed from a dict shaped like :meth:`snapshot` (every key optional).

        ``componentTypes``: ``{alias, name, description?, id?, properties?}``;
        ``components``: ``{name, type?, managedAliases? or aliases?, properties?, tags?,
        lockedProperties?, id?, description?, framework?, …}``; ``relationshipDefinitions``:
        ``{alias, name, componentType, description?, managementRules?, metadata?}``;
        ``relationships``: ``{source, target, type, definition?}`` (component ids).

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
