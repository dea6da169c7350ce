"""One HTTP exchange for an extractor: timeouts, clear errors, nothing secret in messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from airflow_provider_opslevel import __version__
from airflow_provider_opslevel.errors import OpsLevelIntegrationError

USER_AGENT = f"airflow-provider-opslevel/{__version__}"

# (connect, read) seconds: a hung API must fail a page, never hang a worker.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)


class HttpError(OpsLevelIntegrationError):
    """A request that failed: transport error, non-2xx status or an unreadable body."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass
class HttpResponse:
    status: int
    url: str
    headers: dict[str, str]
    """Header names lower-cased; repeated headers joined with ``", "``."""
    content: bytes

    def json(self, redact: Callable[[str], str] = str) -> Any:
        """Decode the body as JSON, or raise an :class:`HttpError` that shows what came instead."""
        try:
            return json.loads(self.content)
        except ValueError as exc:
            kind = self.headers.get("content-type", "no content type")
            snippet = self.content[:200].decode("utf-8", "replace")
            raise HttpError(
                redact(
                    f"{self.url} answered HTTP {self.status} with a body that is not JSON "
                    f"({kind}, {len(self.content)} bytes: {exc}): {snippet!r}"
                ),
                status=self.status,
                url=redact(self.url),
            ) from None


class HttpFetcher:
    """Send :class:`HttpRequest` objects over one pooled ``requests`` session.

    :param timeout: ``(connect, read)`` timeouts in seconds for every request.
    :param redact: applied to every message that may quote a URL or a body.
    """

    def __init__(
        self,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        redact: Callable[[str], str] = str,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = timeout
        self.redact = redact
        self.session = session or requests.Session()
        self.requests_sent = 0

    def fetch(self, request: HttpRequest) -> HttpResponse:
        headers = {"User-Agent": USER_AGENT, **request.headers}
        self.requests_sent += 1
        try:
            raw = self.session.request(
                request.method,
                request.url,
                headers=headers,
                data=request.body.encode() if request.body is not None else None,
                timeout=self.timeout,
                allow_redirects=False,  # a redirect could carry the token to another host
            )
        except requests.RequestException as exc:
            raise HttpError(
                self.redact(f"{request.method} {request.url} failed: {type(exc).__name__}: {exc}"),
                url=self.redact(request.url),
            ) from None
        response = HttpResponse(
            status=raw.status_code,
            url=request.url,
            headers={name.lower(): value for name, value in raw.headers.items()},
            content=raw.content,
        )
        if not 200 <= response.status < 300:
            snippet = response.content[:300].decode("utf-8", "replace")
            raise HttpError(
                self.redact(f"{request.method} {request.url} answered HTTP {response.status}: {snippet}"),
                status=response.status,
                url=self.redact(request.url),
            )
        return response

    def close(self) -> None:
        self.session.close()
