"""A small GraphQL-over-HTTP client for OpsLevel's API."""

from __future__ import annotations

import json
from typing import Any

import requests

from airflow_provider_opslevel import __version__
from airflow_provider_opslevel.errors import OpsLevelIntegrationError

DEFAULT_BASE_URL = "https://app.opslevel.com"
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)


class OpsLevelApiError(OpsLevelIntegrationError):
    """OpsLevel refused a request: an HTTP error, or GraphQL ``errors`` at the top level."""

    def __init__(self, message: str, *, status: int | None = None, errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []


def format_errors(errors: list[dict[str, Any]]) -> str:
    """``message (at account.service)`` for each GraphQL error, joined with ``; ``."""
    parts = []
    for error in errors:
        path = error.get("path") or []
        where = f" (at {'.'.join(str(p) for p in path)})" if path else ""
        parts.append(f"{error.get('message', 'unknown error')}{where}")
    return "; ".join(parts)


class OpsLevelClient:
    """POST GraphQL documents to ``{base_url}/graphql`` with a Bearer token.

    The token goes only to ``base_url``'s host: redirects are not followed.

    :param base_url: API origin, e.g. ``https://app.opslevel.com``.
    :param token: API token.
    :param timeout: ``(connect, read)`` seconds.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        if not token:
            raise OpsLevelIntegrationError("the OpsLevel API token is empty (set the connection's password)")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.graphql_url = f"{self.base_url}/graphql"
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "GraphQL-Visibility": "public",
                "User-Agent": f"airflow-provider-opslevel/{__version__}",
            }
        )
        self.requests_sent = 0

    def execute(
        self, query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None
    ) -> dict[str, Any]:
        """Send one document; return its ``data``.

        :raises OpsLevelApiError: on HTTP >= 400, an unreadable body, or top-level GraphQL errors.
        """
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        self.requests_sent += 1
        label = operation_name or "GraphQL request"
        try:
            response = self.session.post(
                self.graphql_url, data=json.dumps(body), timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise OpsLevelApiError(
                f"{label} to {self.graphql_url} failed: {type(exc).__name__}: {exc}"
            ) from None
        if response.status_code >= 400 or 300 <= response.status_code < 400:
            hint = " (check the connection's API token)" if response.status_code in (401, 403) else ""
            raise OpsLevelApiError(
                f"{label} to {self.graphql_url} answered HTTP {response.status_code}{hint}: "
                f"{response.text[:300]}",
                status=response.status_code,
            )
        try:
            payload = response.json()
        except ValueError:
            raise OpsLevelApiError(
                f"{label} to {self.graphql_url} answered with a body that is not JSON: {response.text[:200]!r}",
                status=response.status_code,
            ) from None
        errors = payload.get("errors")
        if errors:
            raise OpsLevelApiError(f"{label} failed: {format_errors(errors)}", errors=errors)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise OpsLevelApiError(f"{label} answered without data: {json.dumps(payload)[:200]}")
        return data

    def close(self) -> None:
        self.session.close()
