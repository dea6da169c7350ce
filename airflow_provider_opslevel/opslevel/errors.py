"""Every exception the OpsLevel layer raises.

All pickle round-trip (Airflow may pickle a task's exception): a class whose ``__init__`` takes
keyword-only arguments says how to rebuild itself in ``__reduce__``.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_opslevel.errors import OpsLevelIntegrationError

__all__ = ["GraphQLPagingError", "MutationPayloadError", "OpsLevelApiError"]


class OpsLevelApiError(OpsLevelIntegrationError):
    """OpsLevel refused a request: an HTTP error, or GraphQL ``errors`` at the top level.

    :param message: what failed, naming the operation.
    :param status: the HTTP status, when there was an answer.
    :param errors: the GraphQL ``errors`` as answered.
    """

    def __init__(self, message: str, *, status: int | None = None, errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []

    def __reduce__(self) -> tuple[Any, ...]:
        # Positional args rebuild the message; the keyword-only attributes come back as state.
        return (type(self), self.args, {"status": self.status, "errors": self.errors})


class GraphQLPagingError(OpsLevelApiError):
    """A connection's pages do not end: a cursor came back again, a page said there is more but
    gave no cursor, or there were more pages than the cap."""


class MutationPayloadError(OpsLevelApiError):
    """A mutation answered with payload ``errors`` (or with no payload at all)."""
