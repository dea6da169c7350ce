"""Client-side pacing for OpsLevel (400 requests per minute per token).

The retry arithmetic (``Retry-After``, backoff) is :mod:`airflow_provider_opslevel.retry_policy`'s.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

DEFAULT_REQUESTS_PER_MINUTE = 400


class SlidingWindowLimiter:
    """Allow at most ``limit`` requests in any ``period``-second interval.

    A sliding window is the strictest reading of "N per minute": a client that keeps it also
    keeps any fixed-window limit the server may apply. A request's slot is stamped again when its
    answer arrives (:meth:`done`): the server saw it somewhere in between, so counting from the
    later moment can only be more cautious.

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
        self._slots: deque[list[float]] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> list[float]:
        """Block until one more request fits in the window; returns its slot for :meth:`done`."""
        if not self.limit:
            return [self._clock()]
        while True:
            with self._lock:
                now = self._clock()
                while self._slots and now - self._slots[0][0] >= self.period:
                    self._slots.popleft()
                if len(self._slots) < self.limit:
                    slot = [now]
                    self._slots.append(slot)
                    return slot
                delay = self.period - (now - min(slot[0] for slot in self._slots))
            delay = max(delay, 0.001)
            self.waited += delay
            self._sleep(delay)

    def done(self, slot: list[float]) -> None:
        """The answer to the request holding ``slot`` arrived."""
        with self._lock:
            slot[0] = self._clock()
            # Keep the deque ordered by time so pruning from the left stays correct.
            if len(self._slots) > 1 and self._slots[-1] is not slot and slot in self._slots:
                self._slots.remove(slot)
                self._slots.append(slot)

    def pause(self, seconds: float) -> None:
        """The server said wait: hold every request for ``seconds``."""
        self.waited += seconds
        self._sleep(seconds)
