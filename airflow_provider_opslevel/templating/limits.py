"""What one render may spend: the caps, and the per-render budget that enforces time and total size.

Template authors are not trusted, and renders run in worker threads (no signals), so the limits
are enforced from inside the generated code (see
:mod:`~airflow_provider_opslevel.templating.environment`), against the :class:`Budget` that
:func:`start_budget` gives each render. Failures raise :class:`LimitExceeded`, which
:class:`~airflow_provider_opslevel.templating.Template` turns into a ``TemplateError`` naming the
template's location.
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from airflow_provider_opslevel.templating.errors import LimitExceeded

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_INT_BITS",
    "MAX_ITEMS",
    "MAX_RENDER_CHARS",
    "MAX_RENDER_SECONDS",
    "MAX_URL_BYTES",
    "MAX_VALUE_CHARS",
    "Budget",
    "LimitExceeded",
    "check_bits",
    "check_items",
    "check_size",
    "current",
    "output_limit",
    "reset_budget",
    "start_budget",
]

MAX_RENDER_SECONDS = 2.0
"""Wall time one render may take (time spent in the secret resolver does not count)."""
MAX_VALUE_CHARS = 1 << 20
"""Largest string (or printed size of a list/dict) a template may build or hand to a filter."""
MAX_RENDER_CHARS = 16 << 20
"""All text one render may produce: filter, method and operator results plus every output piece."""
MAX_ITEMS = 100_000
"""Longest list ``+``, ``*``, ``batch`` or ``slice`` may build (``range`` has the same bound)."""
MAX_INT_BITS = 4096
"""Largest integer ``*``, ``**`` or ``times`` may build (about 1,233 decimal digits)."""
MAX_URL_BYTES = 8 << 10
"""Largest rendered URL (keys ending in ``url``: ``http_polling.url``, ``token_url``)."""
MAX_HEADER_BYTES = 8 << 10
"""Largest rendered header value (``http_polling.headers[i].value``)."""
MAX_BODY_BYTES = 1 << 20
"""Largest rendered body, and any other template (``http_polling.body``, OAuth fields)."""

_HEADER_VALUE = re.compile(r"headers\[\d+\]\.value\Z")


def output_limit(key: str | None) -> int:
    """The size cap, in UTF-8 bytes, of a template rendered for ``key``.

    :param key: the template's :attr:`~airflow_provider_opslevel.errors.Location.key`.
    """
    if key is not None and key.endswith("url"):
        return MAX_URL_BYTES
    if key is not None and _HEADER_VALUE.search(key):
        return MAX_HEADER_BYTES
    return MAX_BODY_BYTES


def check_size(size: int, what: str) -> None:
    """Refuse a value of ``size`` characters built by ``what`` when over :data:`MAX_VALUE_CHARS`."""
    if size > MAX_VALUE_CHARS:
        raise LimitExceeded(f"{what}: {size:,} characters, over the limit of {MAX_VALUE_CHARS:,}")


def check_items(count: int, what: str) -> None:
    """Refuse a list of ``count`` items built by ``what`` when over :data:`MAX_ITEMS`."""
    if count > MAX_ITEMS:
        raise LimitExceeded(f"{what}: {count:,} items, over the limit of {MAX_ITEMS:,}")


def check_bits(bits: int, what: str) -> None:
    """Refuse a ``bits``-bit integer built by ``what`` when over :data:`MAX_INT_BITS`."""
    if bits > MAX_INT_BITS:
        raise LimitExceeded(f"{what}: a {bits:,}-bit number, over the limit of {MAX_INT_BITS:,} bits")


@dataclass
class Budget:
    """What one render may still spend; lives in a context variable for the render's duration.

    :param deadline: :func:`time.monotonic` value after which the render stops.
    :param used: characters produced so far.
    """

    deadline: float
    used: int = 0

    def tick(self) -> None:
        """Stop the render past its deadline."""
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"template ran longer than the limit of {MAX_RENDER_SECONDS:g} s")

    def charge(self, size: int, what: str) -> None:
        """Count ``size`` characters produced by ``what``; refuse a too-big value or render.

        :param size: characters produced (or about to be).
        :param what: names the operation in the error.
        """
        check_size(size, what)
        self.used += size
        if self.used > MAX_RENDER_CHARS:
            raise LimitExceeded(
                f"template produced more than {MAX_RENDER_CHARS:,} characters in one render (at {what})"
            )

    def extend(self, seconds: float) -> None:
        """Push the deadline back (time spent outside the template, e.g. resolving a secret).

        :param seconds: how long.
        """
        self.deadline += seconds


# Compile-time constant folding calls filters with no budget set: current() then raises
# LookupError, so Jinja leaves the expression to render time and compiling stays cheap.
_BUDGET: contextvars.ContextVar[Budget] = contextvars.ContextVar("opslevel_template_budget")


current: Callable[[], Budget] = _BUDGET.get
"""The budget of the render in progress (:class:`LookupError` outside one)."""


def start_budget() -> contextvars.Token[Budget]:
    """Give the render about to start a fresh budget; reset the returned token when it ends."""
    return _BUDGET.set(Budget(time.monotonic() + MAX_RENDER_SECONDS))


def reset_budget(token: contextvars.Token[Budget]) -> None:
    """End the budget started by :func:`start_budget`.

    :param token: what :func:`start_budget` returned.
    """
    _BUDGET.reset(token)
