"""The pieces of a retry policy that extraction and the OpsLevel client share.

* :func:`parse_retry_after`: ``Retry-After`` as delta seconds or an HTTP date.
* :func:`parse_reset` and :func:`header_number`: a rate-limit reset header, a Unix time or delta
  seconds depending on its size.
* :func:`full_jitter_backoff`: exponential backoff with full jitter (AWS's "full jitter": a
  uniformly random wait up to the exponential ceiling, so clients that failed together do not
  come back together).
* :class:`AttemptBudget`: how many tries one request gets, the first included.

What to retry and for how long stays with each caller: extraction's
:class:`~airflow_provider_opslevel.extract.retry.RetryPolicy` and the OpsLevel client's
idempotency rules in :class:`~airflow_provider_opslevel.opslevel.client.OpsLevelClient`.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "EPOCH_THRESHOLD",
    "AttemptBudget",
    "full_jitter_backoff",
    "header_number",
    "parse_reset",
    "parse_retry_after",
]

#: A reset value below this is delta seconds (``RateLimit-Reset``); above, a Unix time (Sentry, GitHub).
EPOCH_THRESHOLD = 1_000_000_000


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds from now: delta seconds or an HTTP date; ``None`` if absent/unreadable.

    :param now: the current Unix time (default ``time.time()``), for HTTP dates.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" dates parse naive; HTTP dates are GMT
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def header_number(headers: Mapping[str, str], names: tuple[str, ...]) -> float | None:
    """The first of ``names`` present in ``headers`` (lower-cased names) as a number, else ``None``."""
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value.strip())
        except ValueError:
            continue
    return None


def parse_reset(value: float | None, *, now: float | None = None) -> float | None:
    """Seconds until a rate-limit reset header's moment (``None`` if absent).

    A large number is a Unix time (Sentry's ``X-Sentry-Rate-Limit-Reset``, GitHub's
    ``X-RateLimit-Reset``); a small one is delta seconds (``RateLimit-Reset``).
    """
    if value is None:
        return None
    if value >= EPOCH_THRESHOLD:
        return value - (time.time() if now is None else now)
    return value


def full_jitter_backoff(
    exponent: int, *, base: float = 1.0, cap: float = 60.0, rng: random.Random | None = None
) -> float:
    """``uniform(0, min(cap, base * 2 ** exponent))``: exponent 0 waits up to ``base`` seconds.

    :param rng: randomness (seed one in tests); default the ``random`` module's.
    """
    uniform = rng.uniform if rng is not None else random.uniform
    return uniform(0, min(cap, base * 2 ** max(exponent, 0)))


@dataclass(frozen=True)
class AttemptBudget:
    """At most ``max_attempts`` tries of one request, the first included (``1``: no retries)."""

    max_attempts: int

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")

    def allows_another(self, attempts_made: int) -> bool:
        """Whether one more try fits after ``attempts_made`` tries."""
        return attempts_made < self.max_attempts
