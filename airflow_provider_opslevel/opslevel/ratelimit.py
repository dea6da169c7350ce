"""Client-side pacing and retry policy for OpsLevel (400 requests per minute per token)."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import deque
from collections.abc import Callable

DEFAULT_REQUESTS_PER_MINUTE = 400


class SlidingWindowLimiter:
    """Allow at most ``limit`` requests in any ``period``-second interval.

    A sliding window is the strictest reading of "N per minute": a client that keeps it also
    keeps any fixed-window limit the server may apply.

    :param limit: requests per period (``None`` or 0 disables pacing).
    :param period: the window in seconds.
    """

    def __init__(
        self,
        limit: int | None = DEFAULT_REQUESTS_PER_MINUTE,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        """Block until one more request fits in the window, then count it."""
        if not self.limit:
            return
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.period:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                delay = self.period - (now - self._sent[0])
            self.waited += delay
            self._sleep(delay)

    def pause(self, seconds: float) -> None:
        """The server said wait: hold every request for ``seconds``."""
        self.waited += seconds
        self._sleep(seconds)


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_seconds(attempt: int, *, base: float = 1.0, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter: ``attempt`` 0 waits up to ``base`` seconds."""
    return random.uniform(0, min(cap, base * 2**attempt))
