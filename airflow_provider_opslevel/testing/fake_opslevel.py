"""A fake OpsLevel GraphQL API served over real HTTP.

``POST /graphql`` runs documents with graphql-core against the packaged ``schema.graphql``
(a subset reconstructed from opslevel-go) over an in-memory catalog; ``GET /__catalog``
returns :meth:`FakeOpsLevel.snapshot` so another process (a demo script) can print it.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from graphql import DocumentNode, GraphQLError, execute_sync, get_operation_ast, parse, validate
from graphql.execution.values import get_variable_values

from airflow_provider_opslevel.testing._catalog import (
    Catalog,
    Component,
    ComponentType,
    Relationship,
    encode_value,
)
from airflow_provider_opslevel.testing._graphql_api import build_root, load_schema, resolve_field
from airflow_provider_opslevel.testing._ratelimit import SlidingWindowLimiter, retry_after_header
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
    * ``GET /__catalog``: :meth:`snapshot` as JSON, no auth, never rate limited.

    Order of checks for a request to ``/graphql``: a failure queued with :meth:`fail_next`;
    the body must be a JSON object (else HTTP 400); :attr:`faults` hooks; the token (HTTP
    401); the rate limit (HTTP 429); then parse, validate and execute.

    Rate limit (off unless ``rate_limit`` is given; the real API allows 400 requests per
    minute per token): a sliding window per token. A request is admitted when fewer than
    ``rate_limit`` requests with that token were admitted in the last ``rate_limit_period``
    seconds; otherwise it gets HTTP 429, ``Retry-After: <s>`` (whole seconds until the window
    frees a slot, rounded up, at least 1) and ``{"errors": [{"message": "Rate limit exceeded
    ..."}]}``, executes nothing, is not counted against the window and is not logged in
    :attr:`requests` (see :attr:`throttled`, :attr:`received`). Both attributes may be changed
    while serving; :meth:`reset_rate_limit` empties the window.

    Semantics worth knowing (see ``_catalog.py`` for the rest): a component is a service with
    a component type (default ``service``); ``aliases`` = generated unique identifier (snake
    case of the name, suffixed ``_2``, ``_3``… when taken) + ``managedAliases``; aliases are
    unique across components. Property values are JSON text, stored canonically (compact
    JSON) and validated against the definition's JSON Schema into ``validationErrors``.
    ``description``, ``note`` and ``product`` come back HTML-escaped. Connections use
    ``first`` (default and maximum 500) and ``after`` (graphql-ruby style cursors).

    Rule-managed relationships: relationship definitions with management rules link
    components automatically (semantics in ``_rules.py``); see :meth:`relationships`,
    :meth:`related`, ``snapshot()["managedRelationships"]`` and ``account.relationship(id)``.

    Observability: :attr:`requests` (dicts with ``operation_name``, ``query``, ``variables``
    and, once answered, ``status``; requests answered by the rate limit or :meth:`fail_next`
    are not in it, those answered 401 or by :attr:`faults` hooks are), :attr:`request_count`,
    :attr:`received`, :attr:`throttled`, :attr:`injected`, :attr:`rejected`,
    :meth:`reset_log`. Faults: :meth:`fail_next`, and :attr:`faults`, callables ``(info) ->
    None | (status, headers, body)`` tried before authentication, where ``info`` is the
    request-log dict plus ``method``, ``path`` and ``headers``; the first response returned
    is sent as is.

    :param token: the accepted bearer token.
    :param port: port to bind on 127.0.0.1; ``0`` picks a free one.
    :param rate_limit: requests admitted per ``rate_limit_period`` and token; ``None``: no limit.
    :param rate_limit_period: length of the sliding window in seconds.
    """

    def __init__(
        self,
        *,
        token: str = "opslevel-test-token",
        port: int = 0,
        rate_limit: int | None = None,
        rate_limit_period: float = 60.0,
    ) -> None:
        super().__init__(port=port)
        if rate_limit is not None and rate_limit < 0:
            raise ValueError("rate_limit must be >= 0 or None")
        if rate_limit_period <= 0:
            raise ValueError("rate_limit_period must be > 0")
        self.token = token
        #: Requests admitted per :attr:`rate_limit_period` and token (``None``: unlimited).
        self.rate_limit = rate_limit
        #: Sliding-window length in seconds.
        self.rate_limit_period = rate_limit_period
        self._limiter = SlidingWindowLimiter()
        self._pending_failures: deque[tuple[int, int | None]] = deque()
        self._received = 0
        self._throttled = 0
        self._injected = 0
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

    @property
    def received(self) -> int:
        """Requests to ``/graphql`` received since :meth:`reset_log`, whatever their answer."""
        with self._log_lock:
            return self._received

    @property
    def throttled(self) -> int:
        """HTTP 429s answered since :meth:`reset_log` (rate limit, or :meth:`fail_next` with 429)."""
        with self._log_lock:
            return self._throttled

    @property
    def injected(self) -> int:
        """Requests answered by :meth:`fail_next` failures since :meth:`reset_log`."""
        with self._log_lock:
            return self._injected

    def reset_log(self) -> None:
        """Forget logged and rejected requests and zero the counters (not the rate-limit window)."""
        with self._log_lock:
            self._requests.clear()
            self._rejected.clear()
            self._received = self._throttled = self._injected = 0

    # -- faults ----------------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 502, retry_after: int | None = None) -> None:
        """Answer the next ``n`` requests to ``/graphql`` with HTTP ``status``, executing nothing.

        For retry tests: the body is ``{"errors": [{"message": ...}]}``; ``retry_after`` adds a
        ``Retry-After`` header (seconds). Such requests are counted in :attr:`received` and
        :attr:`injected` (and :attr:`throttled` for 429), not logged in :attr:`requests`, and do
        not count against the rate limit. Calls queue up: ``fail_next(2); fail_next(1, 503)``
        answers 502, 502, 503.

        :param n: number of requests to fail.
        :param status: HTTP status, e.g. 500, 502, 503, 504 or 429.
        :param retry_after: ``Retry-After`` header value in seconds, or ``None`` for none.
        :raises ValueError: ``n`` negative or ``status`` not an HTTP error status.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (4xx/5xx), got {status}")
        with self._log_lock:
            self._pending_failures.extend([(status, retry_after)] * n)

    @property
    def pending_failures(self) -> int:
        """Failures queued by :meth:`fail_next` and not yet answered."""
        with self._log_lock:
            return len(self._pending_failures)

    def reset_rate_limit(self) -> None:
        """Empty the rate-limit window (every token may send ``rate_limit`` requests again)."""
        self._limiter.reset()

    def _injected_failure(self) -> Response | None:
        with self._log_lock:
            self._received += 1
            if not self._pending_failures:
                return None
            status, retry_after = self._pending_failures.popleft()
            self._injected += 1
            self._throttled += status == 429
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        message = f"Injected failure: HTTP {status}"
        return json_response(status, {"errors": [{"message": message}]}, headers)

    def _rate_limited(self, token: str) -> Response | None:
        limit = self.rate_limit
        if limit is None:
            return None
        period = self.rate_limit_period
        wait = self._limiter.acquire(token, limit, period)
        if wait is None:
            return None
        with self._log_lock:
            self._throttled += 1
        retry_after = retry_after_header(wait)
        message = (
            f"Rate limit exceeded: {limit} requests per {period:g} seconds per API token. "
            f"Retry in {retry_after} seconds."
        )
        return json_response(429, {"errors": [{"message": message}]}, {"Retry-After": retry_after})

    # -- HTTP ------------------------------------------------------------------------------
    def _dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        path = urlsplit(raw_path).path
        if path == "/__catalog" and method in ("GET", "HEAD"):
            return json_response(200, self.snapshot())
        if path != "/graphql":
            return json_response(404, {"errors": [{"message": f"No route for {method} {path}"}]})
        injected = self._injected_failure()
        if injected is not None:
            return injected
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
        response = self._run_faults({**entry, "method": method, "path": path, "headers": headers})
        if response is None:
            token = bearer_token(headers)
            if token is None or token != self.token:
                response = json_response(401, {"errors": [{"message": "Invalid or missing API token"}]})
            else:
                throttled = self._rate_limited(token)
                if throttled is not None:
                    return throttled  # not executed, not logged
        self._record(entry)
        if response is None:
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
                field_resolver=resolve_field,
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
            return [self._export_relationship(r) for r in cat.managed_relationships(definition_id)]

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
                self._export_component(cat.components[r.target_id])
                for r in cat.managed_relationships(reldef.id)
                if r.source_id == source.id
            ]

    def _export_relationship(self, r: Relationship) -> dict[str, Any]:
        cat = self.catalog

        def side(component_id: str) -> dict[str, Any]:
            c = cat.components[component_id]
            return {
                "id": c.id,
                "alias": c.managed_aliases[0] if c.managed_aliases else c.identifier,
                "name": c.name,
                "aliases": c.aliases,
            }

        return {
            "id": r.id,
            "definition": cat.relationship_definitions[r.definition_id].alias if r.definition_id else None,
            "type": r.type,
            "source": side(r.source_id),
            "target": side(r.target_id),
        }

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
                        "managedRelationships": [
                            self._export_relationship(r) for r in cat.managed_relationships()
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
