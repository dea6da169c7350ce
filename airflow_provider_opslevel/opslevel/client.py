"""A small GraphQL-over-HTTP client for OpsLevel's API."""

from __future__ import annotations

import json
import logging
from typing import Any

import requests

from airflow_provider_opslevel import __version__
from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.opslevel.errors import OpsLevelApiError  # re-exported: tests import it here
from airflow_provider_opslevel.opslevel.ratelimit import DEFAULT_REQUESTS_PER_MINUTE, SlidingWindowLimiter
from airflow_provider_opslevel.redaction import Redactor
from airflow_provider_opslevel.retry_policy import AttemptBudget, full_jitter_backoff, parse_retry_after

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://app.opslevel.com"
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
DEFAULT_MAX_ATTEMPTS = 8
# Never executed by the server, so always safe to send again.
RETRY_ALWAYS = frozenset({429, 502, 503})
# May have been executed: retried only for requests that are safe to repeat.
RETRY_IF_IDEMPOTENT = frozenset({500, 504})


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

    The token goes only to ``base_url``'s host: redirects are not followed. Requests are paced
    by a sliding-window limiter (OpsLevel allows 400 per minute per token); HTTP 429, 502 and
    503 and connection failures are retried with exponential backoff honouring ``Retry-After``;
    500, 504 and read timeouts only for requests marked idempotent (a mutation that may have run
    must not run twice).

    :param base_url: API origin, e.g. ``https://app.opslevel.com``.
    :param token: API token.
    :param timeout: ``(connect, read)`` seconds.
    :param requests_per_minute: client-side pace (``None``/0: unpaced).
    :param max_attempts: tries per request, the first included.
    :param redactor: hides the token (added to it) and the run's other secrets in error messages.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        requests_per_minute: int | None = DEFAULT_REQUESTS_PER_MINUTE,
        rate_period: float = 60.0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        redactor: Redactor | None = None,
    ) -> None:
        if not token:
            raise OpsLevelIntegrationError("the OpsLevel API token is empty (set the connection's password)")
        self.redactor = redactor if redactor is not None else Redactor()
        self.redactor.add(token)  # a server or proxy may echo the Authorization header
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
        self.limiter = SlidingWindowLimiter(requests_per_minute, rate_period)
        self.budget = AttemptBudget(max(1, max_attempts))
        self.max_attempts = self.budget.max_attempts
        self.requests_sent = 0
        self.retries = 0
        self.throttled = 0

    def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Send one document; return its ``data``.

        :raises OpsLevelApiError: on HTTP >= 400, an unreadable body, or top-level GraphQL errors.
        """
        payload = self.execute_raw(query, variables, operation_name, idempotent=idempotent)
        label = operation_name or "GraphQL request"
        errors = payload.get("errors")
        if errors:
            raise OpsLevelApiError(self.redactor(f"{label} failed: {format_errors(errors)}"), errors=errors)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise OpsLevelApiError(
                self.redactor(f"{label} answered without data: {json.dumps(payload)[:200]}")
            )
        return data

    def execute_raw(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Send one document; return the whole JSON answer (``data`` and ``errors`` as they came).

        Batches need this: one failing field shows up as an error whose ``path`` names it, next to
        the data of the fields that succeeded.
        """
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        label = operation_name or "GraphQL request"
        data = json.dumps(body)
        for attempt in range(self.max_attempts):
            last = not self.budget.allows_another(attempt + 1)
            slot = self.limiter.acquire()
            self.requests_sent += 1
            try:
                response = self.session.post(
                    self.graphql_url, data=data, timeout=self.timeout, allow_redirects=False
                )
            except requests.RequestException as exc:
                self.limiter.done(slot)
                # A refused connection never reached the server; a read timeout may have.
                unsent = isinstance(exc, requests.ConnectionError) and not isinstance(
                    exc, requests.ReadTimeout
                )
                if last or not (unsent or idempotent):
                    raise OpsLevelApiError(
                        self.redactor(f"{label} to {self.graphql_url} failed: {type(exc).__name__}: {exc}")
                    ) from None
                self._wait(label, attempt, None, type(exc).__name__)
                continue
            self.limiter.done(slot)
            status = response.status_code
            if not last and (status in RETRY_ALWAYS or (idempotent and status in RETRY_IF_IDEMPOTENT)):
                if status == 429:
                    self.throttled += 1
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                self._wait(label, attempt, retry_after, f"HTTP {status}")
                continue
            return self._decode(label, response)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, label: str, attempt: int, retry_after: float | None, reason: str) -> None:
        delay = retry_after if retry_after is not None else full_jitter_backoff(attempt, base=1.0, cap=60.0)
        self.retries += 1
        log.warning(
            "%s: %s; retrying in %.1fs (attempt %d of %d)",
            label,
            reason,
            delay,
            attempt + 2,
            self.max_attempts,
        )
        self.limiter.pause(delay)

    def _decode(self, label: str, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        if status >= 300:
            hint = " (check the connection's API token)" if status in (401, 403) else ""
            raise OpsLevelApiError(
                self.redactor(
                    f"{label} to {self.graphql_url} answered HTTP {status}{hint}: {response.text[:300]}"
                ),
                status=status,
            )
        try:
            payload = response.json()
        except ValueError:
            raise OpsLevelApiError(
                self.redactor(
                    f"{label} to {self.graphql_url} answered with a body that is not JSON: {response.text[:200]!r}"
                ),
                status=status,
            ) from None
        if not isinstance(payload, dict):
            raise OpsLevelApiError(f"{label} answered with {type(payload).__name__}, not a GraphQL response")
        return payload

    def close(self) -> None:
        self.session.close()
