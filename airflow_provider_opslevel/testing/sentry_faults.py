"""Scripted faults and Sentry's error answers, for :attr:`FakeSentry.faults <.fake_sentry.FakeSentry>`
and :attr:`FakeSentry.rewrites <.fake_sentry.FakeSentry>`.

``fake.faults.append(respond(server_error(503), times=2))`` answers the next two requests with a
503; ``fake.rewrites.append(rewrite(truncate_body, times=1))`` cuts the next response short.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_opslevel.testing._server import Response, json_response

__all__ = [
    "RATE_LIMIT_WINDOW",
    "Delay",
    "Predicate",
    "Rewrite",
    "ScriptedFault",
    "ScriptedRewrite",
    "delay",
    "has_cursor",
    "html_page",
    "rate_limit_headers",
    "respond",
    "rewrite",
    "server_error",
    "set_header",
    "too_many_requests",
    "truncate_body",
    "unauthorized",
]


#: A response rewrite: gets the request info and the response about to be sent; returns
#: ``None`` (keep it) or the response to send instead.
Rewrite = Callable[[dict[str, Any], Response], "Response | None"]
Predicate = Callable[[dict[str, Any]], bool]

RATE_LIMIT_WINDOW = 1  # seconds, like the "Limit is 40 requests in 1 seconds" message


def rate_limit_headers(
    limit: int, remaining: int, reset: int, concurrent: int, concurrent_left: int
) -> dict[str, str]:
    """Sentry's ``X-Sentry-Rate-Limit-*`` headers."""
    return {
        "X-Sentry-Rate-Limit-Limit": str(limit),
        "X-Sentry-Rate-Limit-Remaining": str(remaining),
        "X-Sentry-Rate-Limit-Reset": str(reset),
        "X-Sentry-Rate-Limit-ConcurrentLimit": str(concurrent),
        "X-Sentry-Rate-Limit-ConcurrentRemaining": str(concurrent_left),
    }


def too_many_requests(
    limit: int = 40, *, retry_after: str | None = None, rate_headers: bool = True
) -> Response:
    """A realistic Sentry HTTP 429 (bare JSON string body, no ``Retry-After``), for fault hooks.

    :param limit: the limit quoted in the message and headers.
    :param retry_after: a ``Retry-After`` value to add (seconds or an HTTP date).
    :param rate_headers: send the ``X-Sentry-Rate-Limit-*`` headers (reset at the next second).
    """
    reset = int(time.time()) + RATE_LIMIT_WINDOW
    message = (
        f"You are attempting to use this endpoint too frequently. Limit is {limit} requests in 1 seconds"
    )
    headers = rate_limit_headers(limit, 0, reset, 25, 24) if rate_headers else {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return json_response(429, message, headers)


def server_error(status: int = 500) -> Response:
    """Sentry's JSON error body for a 5xx."""
    return json_response(status, {"detail": "Internal Error", "errorId": "0c1b2a3d"})


def html_page(status: int = 200, title: str = "Sentry is down for maintenance") -> Response:
    """An HTML page (a proxy's or a maintenance page) where JSON was expected."""
    body = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return status, {"Content-Type": "text/html; charset=utf-8"}, body.encode()


def unauthorized() -> Response:
    """Sentry's 401 for a token it does not accept."""
    return json_response(401, {"detail": "Invalid token"})


def truncate_body(response: Response, keep: float = 0.5) -> Response:
    """``response`` with only the first ``keep`` fraction of its body (a cut-off JSON document)."""
    status, headers, body = response
    return status, headers, body[: int(len(body) * keep)]


def set_header(name: str, value: str) -> Callable[[Response], Response]:
    """A change for :func:`rewrite` that sets (or replaces) one response header."""

    def change(response: Response) -> Response:
        status, headers, body = response
        kept = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        return status, {**kept, name: value}, body

    return change


class _Limited:
    """Counts the requests a scripted fault applied to; thread-safe."""

    def __init__(self, times: int | None, when: Predicate | None) -> None:
        self.times = times
        self.when = when
        self.hits = 0
        self._lock = threading.Lock()

    def _take(self, info: dict[str, Any]) -> bool:
        if self.when is not None and not self.when(info):
            return False
        with self._lock:
            if self.times is not None and self.hits >= self.times:
                return False
            self.hits += 1
            return True


class ScriptedFault(_Limited):
    """A fault hook answering ``response`` (or ``response(info)``) to matching requests."""

    def __init__(
        self,
        response: Response | Callable[[dict[str, Any]], Response],
        times: int | None,
        when: Predicate | None,
    ) -> None:
        super().__init__(times, when)
        self.response = response

    def __call__(self, info: dict[str, Any]) -> Response | None:
        if not self._take(info):
            return None
        return self.response(info) if callable(self.response) else self.response


class Delay(_Limited):
    """A fault hook that sleeps before the request is answered normally."""

    def __init__(self, seconds: float, times: int | None, when: Predicate | None) -> None:
        super().__init__(times, when)
        self.seconds = seconds

    def __call__(self, info: dict[str, Any]) -> None:
        if self._take(info):
            time.sleep(self.seconds)


class ScriptedRewrite(_Limited):
    """A response rewrite applying ``change`` to the responses of matching requests."""

    def __init__(
        self, change: Callable[[Response], Response], times: int | None, when: Predicate | None
    ) -> None:
        super().__init__(times, when)
        self.change = change

    def __call__(self, info: dict[str, Any], response: Response) -> Response | None:
        if not self._take(info):
            return None
        return self.change(response)


def respond(
    response: Response | Callable[[dict[str, Any]], Response],
    *,
    times: int | None = None,
    when: Predicate | None = None,
) -> ScriptedFault:
    """A fault answering ``response`` to the first ``times`` requests matching ``when``.

    ``fake.faults.append(respond(server_error(503), times=2, when=lambda i: "/issues/" in i["path"]))``;
    ``.hits`` counts the requests it answered. ``times=None``: every matching request.
    """
    return ScriptedFault(response, times, when)


def delay(seconds: float, *, times: int | None = None, when: Predicate | None = None) -> Delay:
    """A fault that delays the answer to the first ``times`` matching requests (read timeouts)."""
    return Delay(seconds, times, when)


def rewrite(
    change: Callable[[Response], Response], *, times: int | None = None, when: Predicate | None = None
) -> ScriptedRewrite:
    """A rewrite for :attr:`FakeSentry.rewrites`: ``change`` the real response of matching requests.

    ``fake.rewrites.append(rewrite(truncate_body, times=1))`` cuts the first response short;
    ``rewrite(set_header("Link", "garbage"))`` breaks pagination.
    """
    return ScriptedRewrite(change, times, when)


def has_cursor(info: dict[str, Any]) -> bool:
    """Predicate: the request follows a ``cursor`` (a second or later page)."""
    return bool(info["query"].get("cursor"))
