"""Several GraphQL fields in one request (aliased ``f0``, ``f1``, ...), each with its own outcome.

OpsLevel counts requests, not fields, against its rate limit, so a sync sends its mutations
(and its look-ups) in batches. A field that fails (payload ``errors``, or a top-level error whose
``path`` names it) fails alone; only a request that fails as a whole fails its whole batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.opslevel.client import OpsLevelClient, format_errors
from airflow_provider_opslevel.opslevel.documents import MUTATIONS

DEFAULT_BATCH_SIZE = 50
DEFAULT_LOOKUP_BATCH_SIZE = 100


@dataclass
class Operation:
    """One field of a batch.

    :param field: the root field, e.g. ``propertyAssign`` (or ``service`` under ``account``).
    :param args: argument name → ``(GraphQL type, value)``, e.g. ``{"input": ("PropertyInput!", {...})}``.
    :param selection: the selection set, braces included.
    :param tag: anything the caller wants back with the result.
    :param idempotent: safe to send twice (decides whether a 500/504 may be retried).
    """

    field: str
    args: dict[str, tuple[str, Any]]
    selection: str
    tag: Any = None
    idempotent: bool = True


@dataclass
class OperationResult:
    operation: Operation
    data: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Batcher:
    """Sends :class:`Operation` lists in batches.

    :param client: the GraphQL client (pacing and retries live there).
    :param batch_size: fields per mutation request.
    :param lookup_batch_size: fields per query request.
    """

    client: OpsLevelClient
    batch_size: int = DEFAULT_BATCH_SIZE
    lookup_batch_size: int = DEFAULT_LOOKUP_BATCH_SIZE
    requests: int = field(default=0)

    def mutate(self, name: str, operations: Sequence[Operation]) -> list[OperationResult]:
        return self._run(name, operations, "mutation", None, self.batch_size)

    def query(self, name: str, operations: Sequence[Operation]) -> list[OperationResult]:
        """Fields under ``account`` (``service(alias:)`` look-ups)."""
        return self._run(name, operations, "query", "account", self.lookup_batch_size)

    def _run(
        self, name: str, operations: Sequence[Operation], kind: str, wrap: str | None, size: int
    ) -> list[OperationResult]:
        results: list[OperationResult] = []
        for start in range(0, len(operations), max(1, size)):
            results += self._send(name, operations[start : start + size], kind, wrap)
        return results

    def _send(
        self, name: str, operations: Sequence[Operation], kind: str, wrap: str | None
    ) -> list[OperationResult]:
        document, variables = render(name, operations, kind, wrap)
        idempotent = all(operation.idempotent for operation in operations)
        self.requests += 1
        try:
            payload = self.client.execute_raw(document, variables, name, idempotent=idempotent)
        except OpsLevelIntegrationError as exc:
            return [OperationResult(operation, error=str(exc)) for operation in operations]
        return split(operations, payload, wrap)


def render(
    name: str, operations: Iterable[Operation], kind: str, wrap: str | None
) -> tuple[str, dict[str, Any]]:
    """The document and variables for one batch."""
    declarations: list[str] = []
    fields: list[str] = []
    variables: dict[str, Any] = {}
    for index, operation in enumerate(operations):
        arguments = []
        for arg, (graphql_type, value) in operation.args.items():
            variable = f"{arg}{index}"
            declarations.append(f"${variable}: {graphql_type}")
            arguments.append(f"{arg}: ${variable}")
            variables[variable] = value
        call = f"({', '.join(arguments)})" if arguments else ""
        fields.append(f"  f{index}: {operation.field}{call} {operation.selection}")
    body = "\n".join(fields)
    if wrap:
        body = f"  {wrap} {{\n{body}\n  }}"
    signature = f"({', '.join(declarations)})" if declarations else ""
    return f"{kind} {name}{signature} {{\n{body}\n}}", variables


def split(
    operations: Sequence[Operation], payload: dict[str, Any], wrap: str | None
) -> list[OperationResult]:
    """One result per operation from a batch answer."""
    data = payload.get("data") or {}
    if wrap:
        data = data.get(wrap) or {}
    field_errors: dict[int, list[dict[str, Any]]] = {}
    general: list[dict[str, Any]] = []
    for error in payload.get("errors") or []:
        index = _field_index(error.get("path") or [], wrap)
        if index is None or index >= len(operations):
            general.append(error)
        else:
            field_errors.setdefault(index, []).append(error)
    results = []
    for index, operation in enumerate(operations):
        result = OperationResult(operation, data=data.get(f"f{index}"))
        errors = field_errors.get(index) or general
        payload_errors = result.data.get("errors") if isinstance(result.data, dict) else None
        if errors:
            result.error = format_errors(errors)
        elif payload_errors:
            result.error = format_errors(payload_errors)
        results.append(result)
    return results


def _field_index(path: list[Any], wrap: str | None) -> int | None:
    if wrap and path and path[0] == wrap:
        path = path[1:]
    if path and isinstance(path[0], str) and path[0].startswith("f") and path[0][1:].isdigit():
        return int(path[0][1:])
    return None


def mutation(field_name: str, *, tag: Any = None, idempotent: bool = True, **values: Any) -> Operation:
    """A batched mutation from :data:`~airflow_provider_opslevel.opslevel.documents.MUTATIONS`."""
    types, selection = MUTATIONS[field_name]
    return Operation(
        field_name,
        {arg: (types[arg], values[arg]) for arg in types},
        selection,
        tag=tag,
        idempotent=idempotent,
    )
