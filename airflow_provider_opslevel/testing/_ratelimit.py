"""Sliding-window rate limiter of the fake OpsLevel (real API: 400 requests per minute per token).

Window semantics (a *sliding log*): a request is admitted when fewer than ``limit`` requests
were admitted for the same key during the last ``period`` seconds (``(now - period, now]``).
A refused request is not counted. The wait it is told (``Retry-After``) is the time until
the oldest admission that still blocks leaves the window, so a client that sleeps exactly
that long is admitted. Unlike a fixed window there is no burst of ``2 * limit`` around a
window boundary.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class ArrivalWindowLimiter:
    """Per-key sliding-window log; thread-safe.

    :param clock: monotonic seconds (tests may substitute a fake clock).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._admitted: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, limit: int, period: float) -> float | None:
        """Admit one request for ``key``, or say how long to wait.

        :param key: what the limit applies to (the API token).
        :param limit: requests allowed per ``period``.
        :param period: window length in seconds.
        :returns: ``None`` when admitted (and counted), else the seconds until a slot frees.
        """
        with self._lock:
            now = self.clock()
            admitted = self._admitted.setdefault(key, deque())
            while admitted and admitted[0] <= now - period:
                admitted.popleft()
            if len(admitted) < limit:
                admitted.append(now)
                return None
            # A slot frees when all but limit - 1 of the admissions left the window.
            blocking = admitted[len(admitted) - limit] if limit > 0 else now
            return max(blocking + period - now, 0.0)

    def reset(self) -> None:
        """Forget every admission (all windows are empty again)."""
        with self._lock:
            self._admitted.clear()


def retry_after_header(wait: float) -> str:
    """``Retry-After`` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait)))
