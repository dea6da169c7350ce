"""Proactive rate limiting and adaptive concurrency, shared by every worker thread of a task.

A :class:`Throttle` sits around each HTTP attempt (:meth:`Throttle.acquire` before sending,
:meth:`Throttle.release` with the status and headers after). It does three things:

1. **Concurrency (AIMD).** At most :attr:`Throttle.concurrency` requests are in flight. It starts
   at ``max_concurrency``, halves on a 429 (once per burst: 429s of requests sent before the last
   decrease do not halve it again; never below ``min_concurrency``) and grows by one after
   ``increase_after`` consecutive 2xx, back up to ``max_concurrency``. A runner may therefore run
   ``max_concurrency`` worker threads and let the throttle decide how many send at once. Sentry's
   ``X-Sentry-Rate-Limit-ConcurrentLimit`` caps it, and a ``ConcurrentRemaining`` of 0 blocks
   growth.
2. **Pacing before a 429.** From the last ``remaining`` / ``reset`` headers (Sentry's by default,
   also ``X-RateLimit-*`` and ``RateLimit-*``; see
   :class:`~airflow_provider_opslevel.extract.retry.RateLimitHeaders`) it keeps a local budget
   (decremented per request sent). When the budget is low (``<= max(low_remaining,
   low_fraction * limit)``), requests are spaced ``(reset - now) / remaining`` apart; at 0 every
   request waits for the reset. Once the reset has passed the budget is unknown again.
3. **Shared pauses.** A ``Retry-After`` on a 429/503 (or a 429 that says ``remaining: 0``) holds
   *every* worker until then, not only the one that was told.

All state is behind one lock; waits happen outside it. Waits are capped at ``max_pause``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

from airflow_provider_opslevel.extract.retry import RateLimitHeaders
from airflow_provider_opslevel.retry_policy import header_number, parse_reset, parse_retry_after

__all__ = ["DEFAULT_CONCURRENCY", "Throttle", "ThrottleStats", "Ticket"]

DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class Ticket:
    """One admitted request; hand it back to :meth:`Throttle.release`."""

    generation: int
    started: float


@dataclass(frozen=True)
class ThrottleStats:
    """Counters for logs and benchmarks (a snapshot).

    :ivar requests: attempts admitted (each retry counts).
    :ivar responses_429: HTTP 429 answers.
    :ivar retries: attempts that were a retry (reported by the fetcher).
    :ivar failures: attempts without a 2xx (transport errors included).
    :ivar concurrency: the current limit; ``min_concurrency`` the lowest it reached;
        ``max_concurrency`` the configured one.
    :ivar waited_rate_limit: thread-seconds spent waiting for pacing or a server-given pause.
    :ivar waited_slot: thread-seconds spent waiting for a concurrency slot.
    :ivar waited_retry: thread-seconds spent in retry backoff (reported by the fetcher).
    """

    requests: int
    responses_429: int
    retries: int
    failures: int
    concurrency: int
    min_concurrency: int
    max_concurrency: int
    in_flight: int
    waited_rate_limit: float
    waited_slot: float
    waited_retry: float

    @property
    def total_wait(self) -> float:
        return self.waited_rate_limit + self.waited_slot + self.waited_retry

    def as_dict(self) -> dict[str, float | int]:
        out: dict[str, float | int] = asdict(self)
        out["total_wait"] = self.total_wait
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 3)
        return out

    def summary(self) -> str:
        """One log line."""
        return (
            f"{self.requests} request(s), {self.retries} retr{'y' if self.retries == 1 else 'ies'}, "
            f"{self.responses_429} HTTP 429, concurrency {self.concurrency} "
            f"(lowest {self.min_concurrency}, max {self.max_concurrency}), "
            f"waited {self.total_wait:.1f}s (rate limit {self.waited_rate_limit:.1f}s, "
            f"slots {self.waited_slot:.1f}s, backoff {self.waited_retry:.1f}s)"
        )


class Throttle:
    """Thread-safe concurrency limit (AIMD) plus pacing from rate-limit headers.

    :param max_concurrency: requests in flight at most (and at start).
    :param min_concurrency: the floor of multiplicative decrease.
    :param increase_after: consecutive 2xx before the limit grows by one.
    :param headers: rate-limit header names.
    :param low_remaining: pace once the budget is at or below this many requests...
    :param low_fraction: ...or this fraction of the advertised limit, whichever is larger.
    :param max_pause: cap of any single pause (protects against clock skew and hour-long resets).
    :param clock: monotonic clock; ``wall``: Unix time (reset headers are Unix times).
    """

    def __init__(
        self,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        *,
        min_concurrency: int = 1,
        increase_after: int = 10,
        headers: RateLimitHeaders | None = None,
        low_remaining: int = 10,
        low_fraction: float = 0.25,
        max_pause: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if not 1 <= min_concurrency <= max_concurrency:
            raise ValueError("min_concurrency must be between 1 and max_concurrency")
        self.max_concurrency = max_concurrency
        self.min_concurrency = min_concurrency
        self.increase_after = max(1, increase_after)
        self.headers = headers or RateLimitHeaders()
        self.low_remaining = low_remaining
        self.low_fraction = low_fraction
        self.max_pause = max_pause
        self._clock = clock
        self._wall = wall
        self._cond = threading.Condition(threading.Lock())
        # AIMD
        self._limit = max_concurrency
        self._lowest = max_concurrency
        self._server_cap: int | None = None
        self._server_saturated = False
        self._in_flight = 0
        self._generation = 0
        self._streak = 0
        # pacing (monotonic times)
        self._paused_until = 0.0
        self._next_send = 0.0
        self._budget: float | None = None
        self._advertised: float | None = None
        self._reset_at: float | None = None
        # counters
        self._requests = 0
        self._429 = 0
        self._retries = 0
        self._failures = 0
        self._waited_rate = 0.0
        self._waited_slot = 0.0
        self._waited_retry = 0.0

    # -- admission -------------------------------------------------------------------------
    @property
    def concurrency(self) -> int:
        """The current concurrency limit."""
        with self._cond:
            return self._effective_limit()

    def _effective_limit(self) -> int:
        if self._server_cap is not None:
            return max(self.min_concurrency, min(self._limit, self._server_cap))
        return self._limit

    def acquire(self) -> Ticket:
        """Block until this request may be sent; returns the ticket for :meth:`release`."""
        with self._cond:
            while True:
                now = self._clock()
                self._expire_budget(now)
                if now < self._paused_until:
                    wait, kind = self._paused_until - now, "rate"
                elif self._in_flight >= self._effective_limit():
                    wait, kind = None, "slot"
                elif now < self._next_send:
                    wait, kind = self._next_send - now, "rate"
                else:
                    self._admit(now)
                    return Ticket(self._generation, now)
                self._cond.wait(timeout=wait)
                waited = self._clock() - now
                if kind == "rate":
                    self._waited_rate += waited
                else:
                    self._waited_slot += waited

    def _admit(self, now: float) -> None:
        self._in_flight += 1
        self._requests += 1
        if self._budget is None or self._reset_at is None:
            return
        self._budget -= 1
        until_reset = self._reset_at - now
        if self._budget <= 0:
            # Spent: nobody sends before the reset (the window's last request just went).
            self._paused_until = max(self._paused_until, self._reset_at)
        elif self._budget <= self._low_mark():
            self._next_send = now + until_reset / max(self._budget, 1)

    def _low_mark(self) -> float:
        advertised = self._advertised or 0
        return max(self.low_remaining, self.low_fraction * advertised)

    def _expire_budget(self, now: float) -> None:
        if self._reset_at is not None and now >= self._reset_at:
            self._budget = self._reset_at = None
            self._next_send = 0.0

    # -- feedback --------------------------------------------------------------------------
    def release(
        self, ticket: Ticket, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        """The attempt holding ``ticket`` finished.

        :param status: the HTTP status, ``None`` for a transport error.
        :param headers: response headers, names lower-cased.
        """
        with self._cond:
            self._in_flight -= 1
            now = self._clock()
            if headers:
                self._observe(headers, status, now)
            if status is not None and 200 <= status < 300:
                self._streak += 1
                if (
                    self._streak >= self.increase_after
                    and self._limit < self.max_concurrency
                    and not self._server_saturated
                ):
                    self._limit += 1
                    self._streak = 0
            else:
                self._failures += 1
                self._streak = 0
                if status == 429:
                    self._429 += 1
                    if ticket.generation == self._generation:  # one decrease per burst
                        self._limit = max(self.min_concurrency, self._limit // 2)
                        self._lowest = min(self._lowest, self._effective_limit())
                        self._generation += 1
            self._cond.notify_all()

    def _observe(self, headers: Mapping[str, str], status: int | None, now: float) -> None:
        names = self.headers
        concurrent_limit = header_number(headers, names.concurrent_limit)
        if concurrent_limit is not None and concurrent_limit >= 1:
            self._server_cap = int(concurrent_limit)
            self._lowest = min(self._lowest, self._effective_limit())
        concurrent_left = header_number(headers, names.concurrent_remaining)
        if concurrent_left is not None:
            self._server_saturated = concurrent_left <= 0
        if status in (429, 503):
            after = parse_retry_after(headers.get(names.retry_after), now=self._wall())
            if after is not None:
                self._pause(now, after)
        remaining = header_number(headers, names.remaining)
        until = parse_reset(header_number(headers, names.reset), now=self._wall())
        if remaining is None or until is None or until <= 0:
            return
        until = min(until, self.max_pause)
        reset_at = now + until
        advertised = header_number(headers, names.limit)
        if advertised is not None:
            self._advertised = advertised
        # Answers arrive out of order: a later window (reset headers have 1 s granularity)
        # replaces the budget; within the same window the lowest remaining wins.
        if self._reset_at is None or reset_at > self._reset_at + 0.5:
            self._reset_at, self._budget = reset_at, remaining
        else:
            self._reset_at = max(self._reset_at, reset_at)
            self._budget = min(self._budget if self._budget is not None else remaining, remaining)
        if self._budget <= 0:
            self._pause(now, until)

    def _pause(self, now: float, seconds: float) -> None:
        self._paused_until = max(self._paused_until, now + min(seconds, self.max_pause))

    def pause(self, seconds: float) -> None:
        """Hold every new request for ``seconds`` (capped at ``max_pause``)."""
        with self._cond:
            self._pause(self._clock(), seconds)

    # -- counters --------------------------------------------------------------------------
    def record_retry(self, waited: float) -> None:
        """The fetcher is about to retry after sleeping ``waited`` seconds."""
        with self._cond:
            self._retries += 1
            self._waited_retry += waited

    def stats(self) -> ThrottleStats:
        with self._cond:
            return ThrottleStats(
                requests=self._requests,
                responses_429=self._429,
                retries=self._retries,
                failures=self._failures,
                concurrency=self._effective_limit(),
                min_concurrency=self._lowest,
                max_concurrency=self.max_concurrency,
                in_flight=self._in_flight,
                waited_rate_limit=self._waited_rate,
                waited_slot=self._waited_slot,
                waited_retry=self._waited_retry,
            )
