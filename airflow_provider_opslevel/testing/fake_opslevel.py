"""A fake OpsLevel GraphQL API served over real HTTP.

``POST /graphql`` runs documents with graphql-core against the packaged ``schema.graphql``
(a subset reconstructed from opslevel-go) over an in-memory catalog; ``GET /__catalog``
returns :meth:`FakeOpsLevel.snapshot` so another process (a demo script) can print it.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from graphql import DocumentNode, GraphQLError, execute_sync, get_operation_ast, parse, validate
from graphql.execution.values import get_variable_values

from airflow_provider_opslevel.testing._catalog import Catalog
from airflow_provider_opslevel.testing._graphql_api import build_root
from airflow_provider_opslevel.testing._graphql_schema import load_schema, resolve_field
from airflow_provider_opslevel.testing._ratelimit import ArrivalWindowLimiter, retry_after_header
from airflow_provider_opslevel.testing._server import FakeHTTPServer, Response, bearer_token, json_response
from airflow_provider_opslevel.testing.catalog_export import snapshot
from airflow_provider_opslevel.testing.catalog_test_api import CatalogTestAPI

_DOCUMENT_CACHE_SIZE = 512


class FakeOpsLevel(CatalogTestAPI, FakeHTTPServer):
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
        self._limiter = ArrivalWindowLimiter()
        self._pending_failures: deque[tuple[int, int | None]] = deque()
        self._received = 0
        self._throttled = 0
        self._injected = 0
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
            return json_response(200, snapshot(self.catalog))
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
