"""Errors of the webhook: a call answered with an HTTP error."""

from __future__ import annotations

from typing import Any


class WebhookRefused(Exception):
    """A webhook call that triggers nothing, with the HTTP answer it gets.

    The message is sent back to the caller, so it never holds a secret.

    :param status: the HTTP status (400, 401, 404, 409, 413, 429, 503).
    :param message: what the caller reads in the answer's ``detail``.
    :param retry_after: seconds for the ``Retry-After`` header (429 and 503), else ``None``.
    """

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.message, self.retry_after))
