"""The webhook's limits: body size, bad secrets per client, runs queued per integration.

Nothing here imports Airflow: the counting is plain Python, shared by the api-server's threads.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable

from airflow_provider_opslevel.webhook.errors import WebhookRefused

#: The largest body accepted (a pushed payload is stored in the run's conf in the metadata DB).
MAX_BODY_BYTES = 5 * 1024 * 1024
#: Failed calls (bad or missing secret, unknown integration) one client may make per window.
MAX_FAILURES = 10
FAILURE_WINDOW_SECONDS = 60.0
#: Clients whose failures are remembered; the longest-quiet one is forgotten first.
MAX_TRACKED_CLIENTS = 10_000
#: Runs of one integration that may wait in the queue (``max_queued_runs`` on its connection).
DEFAULT_MAX_QUEUED_RUNS = 100
#: What a caller refused for a full queue is told to wait: about a few runs' worth.
QUEUE_FULL_RETRY_AFTER = 60


class FailureLimiter:
    """Refuses a client that failed ``max_failures`` times in the last ``window`` seconds.

    A sliding window per client (the peer address): once it is full every call of that client
    is refused, the right secret included, until its oldest failure leaves the window. Calls
    refused this way are not failures themselves, so a client that keeps guessing gets
    ``max_failures`` guesses per window, never more. Memory is bounded by ``max_clients``.

    :param max_failures: failures allowed per window.
    :param window: the window in seconds.
    :param max_clients: clients remembered at once.
    :param clock: monotonic seconds (a test's own clock).
    """

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW_SECONDS,
        *,
        max_clients: int = MAX_TRACKED_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until ``client`` may call again, or ``None`` if it may call now."""
        with self._lock:
            failures = self._recent(client)
            if failures is None or len(failures) < self.max_failures:
                return None
            return max(1, math.ceil(failures[0] + self.window - self._clock()))

    def record_failure(self, client: str) -> None:
        with self._lock:
            failures = self._recent(client)
            if failures is None:
                failures = self._failures[client] = deque(maxlen=self.max_failures)
                while len(self._failures) > self.max_clients:
                    self._failures.popitem(last=False)
            failures.append(self._clock())
            self._failures.move_to_end(client)

    def _recent(self, client: str) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        now = self._clock()
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures


async def read_capped(chunks: AsyncIterator[bytes], declared_length: str | None, limit: int) -> bytes:
    """The request body, refused as soon as it is known to be over ``limit`` bytes.

    A ``Content-Length`` over the limit is refused before anything is read; a body without one
    (chunked) is read only until it passes the limit.

    :param chunks: the body as it arrives.
    :param declared_length: the ``Content-Length`` header, if any.
    :param limit: the largest body accepted.
    :raises WebhookRefused: 413 for a body over the limit.
    """
    too_large = WebhookRefused(413, f"the body is over {limit:,} bytes, the webhook's limit")
    if declared_length is not None and declared_length.strip().isdigit() and int(declared_length) > limit:
        raise too_large
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)
