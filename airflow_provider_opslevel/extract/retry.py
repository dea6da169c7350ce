"""When and how long to retry an extractor's HTTP request.

Policy (see :class:`RetryPolicy`; :class:`~airflow_provider_opslevel.extract.http.HttpFetcher`
applies it):

* **Retried**: HTTP 408, 429 and 5xx (except 501 and 505), connection errors, timeouts, a body
  cut short by the server (``ChunkedEncodingError``), and a 2xx whose body is not JSON (an HTML
  maintenance page, a truncated document): the latter only ``invalid_json_attempts`` times in
  all, then the request fails naming URL, status, content type and a (redacted) snippet.
* **Never retried**: other 4xx. 401/403 fail at once naming the secret(s) the request used
  (never their values); with OAuth a 401 first fetches a fresh token and retries once.
* **Methods**: GET always; POST too unless ``retry_post=False`` (extraction only reads, and a
  GraphQL query sent twice is harmless).
* **How long**: the server's word first: ``Retry-After`` (delta seconds or an HTTP date), else a
  reset header (``X-Sentry-Rate-Limit-Reset``, ``X-RateLimit-Reset``, ``RateLimit-Reset``:
  epoch seconds, or delta seconds when the number is too small to be an epoch), plus a little
  jitter so workers do not return at the same instant (the reset header only on a 429: elsewhere
  it merely describes the budget, which the throttle paces by). Otherwise exponential backoff with full
  jitter: ``uniform(0, min(backoff_max, backoff_base * 2 ** (retry - 1)))``. Every single wait is
  capped at ``max_wait``; attempts are bounded by ``max_attempts`` (first try included).

The parsing, the jitter and the attempt budget are shared with the OpsLevel client
(:mod:`airflow_provider_opslevel.retry_policy`); the choices above are extraction's own.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from airflow_provider_opslevel.retry_policy import (
    AttemptBudget,
    full_jitter_backoff,
    header_number,
    parse_reset,
    parse_retry_after,
)

__all__ = ["DEFAULT_RETRY_STATUSES", "RateLimitHeaders", "RetryPolicy", "Wait"]

#: 408, 429 and every 5xx except "not implemented" and "HTTP version not supported".
DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset(
    {408, 429} | {status for status in range(500, 600) if status not in (501, 505)}
)


@dataclass(frozen=True)
class RateLimitHeaders:
    """Names of the rate-limit headers to read, lower-cased, first present wins.

    Sentry's come first; the common ``X-RateLimit-*`` and IETF ``RateLimit-*`` ones follow.
    """

    limit: tuple[str, ...] = ("x-sentry-rate-limit-limit", "x-ratelimit-limit", "ratelimit-limit")
    remaining: tuple[str, ...] = (
        "x-sentry-rate-limit-remaining",
        "x-ratelimit-remaining",
        "ratelimit-remaining",
    )
    reset: tuple[str, ...] = ("x-sentry-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")
    concurrent_limit: tuple[str, ...] = ("x-sentry-rate-limit-concurrentlimit",)
    concurrent_remaining: tuple[str, ...] = ("x-sentry-rate-limit-concurrentremaining",)
    retry_after: str = "retry-after"

    def __post_init__(self) -> None:
        for name in ("limit", "remaining", "reset", "concurrent_limit", "concurrent_remaining"):
            object.__setattr__(self, name, tuple(h.lower() for h in getattr(self, name)))
        object.__setattr__(self, "retry_after", self.retry_after.lower())


@dataclass(frozen=True)
class Wait:
    """How long to wait before the next attempt, and why (for logs)."""

    seconds: float
    reason: str


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter, honouring the server's hints.

    :param max_attempts: tries per request in all (the first included); ``1`` disables retries.
    :param backoff_base: the first retry waits up to this many seconds; each retry doubles it.
    :param backoff_max: cap of the exponential part (before jitter).
    :param max_wait: cap of any single wait, hints from the server included.
    :param retry_statuses: statuses worth another try.
    :param retry_post: retry POST requests too (extraction reads; a GraphQL query is safe).
    :param invalid_json_attempts: tries in all when a 2xx body is not JSON (at most ``max_attempts``).
    :param hint_jitter: up to this many seconds are added to a server-given wait.
    :param headers: which headers carry ``Retry-After`` and the reset time.
    :param rng: randomness for jitter (seed it in tests).
    """

    max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    max_wait: float = 60.0
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    retry_post: bool = True
    invalid_json_attempts: int = 3
    hint_jitter: float = 0.25
    headers: RateLimitHeaders = field(default_factory=RateLimitHeaders)
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        AttemptBudget(self.max_attempts)  # raises on < 1
        if self.invalid_json_attempts < 1:
            raise ValueError("invalid_json_attempts must be >= 1")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.max_wait < 0:
            raise ValueError("backoff_base, backoff_max and max_wait must be >= 0")

    def retries_method(self, method: str) -> bool:
        """Whether a failed ``method`` request may be sent again."""
        method = method.upper()
        return method != "POST" or self.retry_post

    def retries_status(self, status: int) -> bool:
        return status in self.retry_statuses

    @property
    def budget(self) -> AttemptBudget:
        """Tries per request in all (the first included)."""
        return AttemptBudget(self.max_attempts)

    def backoff(self, retry: int) -> float:
        """Full-jitter backoff before retry number ``retry`` (1 = the first retry)."""
        seconds = full_jitter_backoff(retry - 1, base=self.backoff_base, cap=self.backoff_max, rng=self.rng)
        return min(seconds, self.max_wait)

    def server_wait(
        self, headers: Mapping[str, str], status: int | None = 429, *, now: float | None = None
    ) -> Wait | None:
        """The wait the server asked for: ``Retry-After``, else (on a 429 only) the reset header.

        A reset header on other answers only describes the budget, which the throttle reads.

        :param headers: response headers, names lower-cased.
        :param status: the response's status.
        """
        after = parse_retry_after(headers.get(self.headers.retry_after), now=now)
        if after is not None:
            return Wait(after, f"Retry-After {headers[self.headers.retry_after].strip()}")
        if status != 429:
            return None
        for name in self.headers.reset:
            until = parse_reset(header_number(headers, (name,)), now=now)
            if until is not None and until > 0:
                return Wait(until, f"{name} in {until:.1f}s")
        return None

    def delay(
        self,
        retry: int,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
        *,
        now: float | None = None,
    ) -> Wait:
        """How long to wait before retry number ``retry`` (1 = the first retry), capped at ``max_wait``.

        :param headers: the failed response's headers (lower-cased), if there was a response.
        :param status: the failed response's status (``None``: no response).
        """
        hint = self.server_wait(headers, status, now=now) if headers else None
        if hint is not None:
            seconds = hint.seconds + self.rng.uniform(0, self.hint_jitter)
            reason = hint.reason
        else:
            seconds, reason = self.backoff(retry), "backoff"
        if seconds > self.max_wait:
            return Wait(self.max_wait, f"{reason}, capped at {self.max_wait:g}s")
        return Wait(seconds, reason)
