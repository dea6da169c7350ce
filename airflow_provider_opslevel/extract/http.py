"""One HTTP exchange for an extractor: timeouts, retries, rate limits, clear errors, nothing secret.

:class:`HttpFetcher` is shared by every worker thread of a task. Each :meth:`HttpFetcher.fetch`:

1. checks the URL against an :class:`~airflow_provider_opslevel.extract.origin.OriginGuard`
   (the fetcher's, or one passed per call), so credentials never leave the extractor's origin;
2. adds ``Authorization: Bearer <token>`` from the OAuth client when the request has no
   ``Authorization`` header of its own;
3. takes a slot from the shared :class:`~airflow_provider_opslevel.extract.throttle.Throttle`
   (adaptive concurrency, pacing from rate-limit headers) for each attempt;
4. retries per :class:`~airflow_provider_opslevel.extract.retry.RetryPolicy` (429, 5xx,
   connection errors, timeouts, a 2xx body that is not JSON), and fails at once on 401/403
   naming the secrets the request used, never their values;
5. returns a 2xx :class:`HttpResponse` whose body is known to be JSON (:meth:`HttpResponse.json`
   returns the decoded value without parsing again). With ``decode=False`` it returns the first
   2xx as it came, so the runner can request the next page from its headers while this one is
   decoded; :meth:`HttpFetcher.decoded` then decodes it, or fetches it again if it cannot.

A body over :attr:`HttpRequest.max_body_bytes`, headers over :mod:`http.client`'s limits and a
JSON document nested deeper than the decoder allows are refused at once, never retried.

Redirects are not followed: a redirect could carry the token to another host.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any, Protocol

from airflow_provider_opslevel import __version__
from airflow_provider_opslevel.extract.decode import decode_json
from airflow_provider_opslevel.extract.errors import (
    AuthError,
    HttpError,
    JsonTooDeepError,
    TransientTransportError,
    TransportError,
)
from airflow_provider_opslevel.extract.origin import OriginGuard
from airflow_provider_opslevel.extract.retry import RetryPolicy
from airflow_provider_opslevel.extract.throttle import Throttle
from airflow_provider_opslevel.extract.transport import DEFAULT_MAX_BODY_BYTES, RawResponse, Transport

__all__ = [
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "AuthError",
    "HttpError",
    "HttpFetcher",
    "HttpRequest",
    "HttpResponse",
]

log = logging.getLogger(__name__)

USER_AGENT = f"airflow-provider-opslevel/{__version__}"

# (connect, read) seconds: a hung API must fail a page, never hang a worker.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)

_NOT_JSON = object()


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """The largest answer read (decompressed); a larger one fails the request unretried."""


@dataclass
class HttpResponse:
    status: int
    url: str
    headers: dict[str, str]
    """Header names lower-cased; repeated headers joined with ``", "``."""
    content: bytes
    attempts: int = 1
    """How many times the request was sent to get this response."""
    _payload: Any = field(default=_NOT_JSON, repr=False, compare=False)

    def json(self, redact: Callable[[str], str] = str) -> Any:
        """Decode the body as JSON, or raise an :class:`HttpError` that shows what came instead."""
        if self._payload is not _NOT_JSON:
            return self._payload
        try:
            self._payload = decode_json(self.content)
        except ValueError as exc:
            raise self.not_json_error(exc, redact) from None
        return self._payload

    def not_json_error(self, exc: Exception, redact: Callable[[str], str] = str) -> HttpError:
        kind = self.headers.get("content-type", "no content type")
        snippet = self.content[:200].decode("utf-8", "replace")
        after = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return HttpError(
            redact(
                f"{self.url} answered HTTP {self.status} with a body that is not JSON{after} "
                f"({kind}, {len(self.content)} bytes: {exc}): {snippet!r}"
            ),
            status=self.status,
            url=redact(self.url),
            attempts=self.attempts,
        )


class SecretNames(Protocol):
    """What :class:`~airflow_provider_opslevel.secrets.SecretRecorder` offers for auth errors."""

    def names_for(self, text: str) -> list[str]: ...


class TokenSource(Protocol):
    """What :class:`~airflow_provider_opslevel.extract.oauth.OAuthClient` offers the fetcher."""

    @property
    def secret_names(self) -> list[str]: ...

    def token(self) -> str: ...

    def peek(self) -> str | None: ...

    def invalidate(self, token: str) -> None: ...

    def redact(self, text: str) -> str: ...


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return any(key.lower() == name for key in headers)


def _with_token(request: HttpRequest, old: str, new: str) -> HttpRequest:
    """``request`` with an OAuth token (rendered by a template) swapped for a fresh one."""
    return replace(
        request,
        url=request.url.replace(old, new),
        headers={name: value.replace(old, new) for name, value in request.headers.items()},
        body=request.body.replace(old, new) if request.body is not None else None,
    )


class HttpFetcher:
    """Send :class:`HttpRequest` objects over one pooled :class:`Transport`; thread-safe.

    :param timeout: ``(connect, read)`` timeouts in seconds for every attempt.
    :param redact: applied to every message that may quote a URL or a body.
    :param transport: the connections (one is made with ``timeout``, pooled for the throttle's
        ``max_concurrency``).
    :param retry: the retry policy (default :class:`RetryPolicy()`).
    :param throttle: shared concurrency limit and pacing; pass the same object to every fetcher
        of a task (default: a new :class:`Throttle()` with 4 slots).
    :param secrets: names the secrets behind a refused request (``SecretRecorder``).
    :param oauth: adds ``Authorization: Bearer`` to requests without their own ``Authorization``.
    :param guard: origin guard for every request (a per-call ``guard`` overrides it).
    :param sleep: used for retry waits (tests may record instead).
    """

    def __init__(
        self,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        redact: Callable[[str], str] = str,
        transport: Transport | None = None,
        retry: RetryPolicy | None = None,
        throttle: Throttle | None = None,
        secrets: SecretNames | None = None,
        oauth: TokenSource | None = None,
        guard: OriginGuard | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._redact = redact
        self.retry = retry or RetryPolicy()
        self.throttle = throttle or Throttle()
        self.secrets = secrets
        self.oauth = oauth
        self.guard = guard
        self._sleep = sleep
        self.transport = transport or Transport(
            maxsize=max(10, self.throttle.max_concurrency), timeout=timeout
        )
        self._count_lock = threading.Lock()
        self._sent = 0

    @property
    def requests_sent(self) -> int:
        """Attempts sent so far (retries included)."""
        with self._count_lock:
            return self._sent

    def redact(self, text: str) -> str:
        text = self._redact(text)
        return self.oauth.redact(text) if self.oauth is not None else text

    def fetch(
        self, request: HttpRequest, *, guard: OriginGuard | None = None, decode: bool = True
    ) -> HttpResponse:
        """Send ``request`` until it succeeds or the policy gives up.

        :param guard: checks the URL before anything is sent (default: the fetcher's guard).
        :param decode: decode a 2xx body as JSON, sending again while it is not. ``False`` returns
            the first 2xx as it came, so a caller can act on its headers first; if the body then
            proves unreadable, :meth:`decoded` carries on within the same attempt budget.
        :raises OriginError: the URL is outside the allowed origins (nothing was sent).
        :raises AuthError: HTTP 401/403 (after one fresh OAuth token, when OAuth supplied it).
        :raises HttpError: any other failure, after the retries the policy allows.
        """
        guard = guard or self.guard
        if guard is not None:
            guard.check(request.url)
        return self._fetch(request, decode=decode, attempt=0, json_failures=0)

    def decoded(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """The decoded answer to ``request``, given the ``response`` of ``fetch(request, decode=False)``.

        A readable body is decoded and ``response`` returned. Otherwise this waits as for any
        retry and sends again, counting ``response`` as the first failed attempt, and returns the
        new answer.

        :raises HttpError: the body is still not JSON when the attempts run out.
        """
        try:
            response._payload = decode_json(response.content)
        except ValueError as exc:
            self._after_unreadable(request, response, exc, json_failures=1)
            return self._fetch(request, decode=True, attempt=response.attempts, json_failures=1)
        return response

    def _fetch(self, request: HttpRequest, *, decode: bool, attempt: int, json_failures: int) -> HttpResponse:
        policy = self.retry
        retryable = policy.retries_method(request.method)
        max_attempts = policy.max_attempts if retryable else 1
        refreshed = False
        while True:
            attempt += 1
            token: str | None = None
            headers = {"User-Agent": USER_AGENT, **request.headers}
            if self.oauth is not None:
                if not _has_header(request.headers, "authorization"):
                    token = self.oauth.token()
                    headers["Authorization"] = f"Bearer {token}"
                else:
                    current = self.oauth.peek()
                    text = f"{request.url}\n{request.headers}\n{request.body or ''}"
                    token = current if current and current in text else None  # a template used it
            raw, failure = self._send(request, headers)
            if raw is None:
                assert failure is not None
                if attempt < max_attempts:
                    self._wait(request, attempt, max_attempts, None, None, failure)
                    continue
                raise HttpError(
                    self.redact(f"{request.method} {request.url} failed{self._after(attempt)}: {failure}"),
                    url=self.redact(request.url),
                    attempts=attempt,
                )
            response = HttpResponse(
                status=raw.status,
                url=request.url,
                headers=raw.headers,
                content=raw.content,
                attempts=attempt,
            )
            status = response.status
            if 200 <= status < 300:
                if not decode:
                    return response
                try:
                    response._payload = decode_json(response.content)
                except ValueError as exc:
                    json_failures += 1
                    self._after_unreadable(request, response, exc, json_failures)
                    continue
                return response
            if status in (401, 403):
                if status == 401 and token is not None and self.oauth is not None and not refreshed:
                    # The token may have expired early or been revoked: one fresh token, one retry.
                    refreshed = True
                    self.oauth.invalidate(token)
                    request = _with_token(request, token, self.oauth.token())  # if a template used it
                    log.warning(
                        "%s",
                        self.redact(
                            f"{request.method} {request.url}: HTTP 401 with an OAuth token; "
                            "retrying once with a fresh token"
                        ),
                    )
                    attempt -= 1
                    continue
                raise self._auth_error(request, response, token is not None)
            if retryable and policy.retries_status(status) and attempt < max_attempts:
                self._wait(request, attempt, max_attempts, response.headers, status, f"HTTP {status}")
                continue
            raise self._status_error(request, response)

    def _after_unreadable(
        self, request: HttpRequest, response: HttpResponse, exc: ValueError, json_failures: int
    ) -> None:
        """Wait before sending again for a 2xx body that is not JSON, or raise if that was the last try."""
        policy = self.retry
        max_attempts = policy.max_attempts if policy.retries_method(request.method) else 1
        retry = not isinstance(exc, JsonTooDeepError)  # the same document would come again
        if retry and json_failures < policy.invalid_json_attempts and response.attempts < max_attempts:
            reason = f"HTTP {response.status} with a body that is not JSON"
            self._wait(request, response.attempts, max_attempts, response.headers, response.status, reason)
            return
        raise response.not_json_error(exc, self.redact) from None

    def _send(self, request: HttpRequest, headers: dict[str, str]) -> tuple[RawResponse | None, str | None]:
        """One attempt inside a throttle slot: the response, or ``None`` and what went wrong."""
        ticket = self.throttle.acquire()
        with self._count_lock:
            self._sent += 1
        raw: RawResponse | None = None
        try:
            body = request.body.encode() if request.body is not None else None
            raw = self.transport.send(
                request.method, request.url, headers, body, max_body_bytes=request.max_body_bytes
            )
            return raw, None
        except TransientTransportError as exc:
            return None, str(exc)
        except TransportError as exc:  # an invalid URL and such: retrying cannot help
            raise HttpError(
                self.redact(f"{request.method} {request.url} failed: {exc}"), url=self.redact(request.url)
            ) from None
        finally:
            if raw is None:
                self.throttle.release(ticket, None, None)
            else:
                self.throttle.release(ticket, raw.status, raw.headers)

    def _wait(
        self,
        request: HttpRequest,
        attempt: int,
        max_attempts: int,
        headers: Mapping[str, str] | None,
        status: int | None,
        reason: str,
    ) -> None:
        wait = self.retry.delay(attempt, headers, status)
        log.warning(
            "%s",
            self.redact(
                f"{request.method} {request.url}: {reason}; retrying in {wait.seconds:.2f}s "
                f"({wait.reason}; attempt {attempt + 1} of {max_attempts})"
            ),
        )
        self.throttle.record_retry(wait.seconds)
        if wait.seconds > 0:
            self._sleep(wait.seconds)

    @staticmethod
    def _after(attempts: int) -> str:
        return f" after {attempts} attempts" if attempts > 1 else ""

    @staticmethod
    def _reason(status: int) -> str:
        try:
            return f"HTTP {status} {HTTPStatus(status).phrase}"
        except ValueError:
            return f"HTTP {status}"

    def _status_error(self, request: HttpRequest, response: HttpResponse) -> HttpError:
        snippet = response.content[:300].decode("utf-8", "replace")
        extra = ""
        if 300 <= response.status < 400:
            location = response.headers.get("location", "nowhere")
            extra = f" (a redirect to {location}, not followed so credentials stay on this origin)"
        return HttpError(
            self.redact(
                f"{request.method} {request.url} answered {self._reason(response.status)}"
                f"{self._after(response.attempts)}{extra}: {snippet}"
            ),
            status=response.status,
            url=self.redact(request.url),
            attempts=response.attempts,
        )

    def _auth_error(self, request: HttpRequest, response: HttpResponse, oauth: bool) -> AuthError:
        names: list[str] = []
        if oauth and self.oauth is not None:
            names.extend(self.oauth.secret_names)
        if self.secrets is not None:
            sent = "\n".join([request.url, *request.headers.values(), request.body or ""])
            names.extend(name for name in self.secrets.names_for(sent) if name not in names)
        if oauth:
            source = "an OAuth token (fetched again once, refused again)"
            source += f" from the client credentials in secret(s) {_quoted(names)}" if names else ""
        elif names:
            source = f"the credentials in secret(s) {_quoted(names)}"
        else:
            source = "no secret (is an Authorization header missing?)"
        advice = "check that the secret is current and may read this resource" if names else ""
        snippet = response.content[:200].decode("utf-8", "replace")
        message = (
            f"{request.method} {request.url} answered {self._reason(response.status)}: "
            f"the request used {source}{'; ' + advice if advice else ''}. Response: {snippet}"
        )
        return AuthError(
            self.redact(message),
            secret_names=names,
            status=response.status,
            url=self.redact(request.url),
            attempts=response.attempts,
        )

    def close(self) -> None:
        self.transport.close()


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)
