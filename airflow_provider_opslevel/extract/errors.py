"""Every error extraction raises: requests, pages, cursors, records, OAuth.

Each pickles with its attributes (Airflow may pickle a task's exception), hence the
``__reduce__`` of the classes with keyword-only state.
"""

from __future__ import annotations

import sys
from typing import Any

from airflow_provider_opslevel.errors import Location, OpsLevelIntegrationError


class OriginError(OpsLevelIntegrationError):
    """A URL outside the extractor's origin (nothing was sent), or not an http(s) URL."""


class RecordError(OpsLevelIntegrationError):
    """An item the extractor cannot turn into a record (no usable ``external_id``)."""


class HttpError(OpsLevelIntegrationError):
    """A request that failed: transport error, non-2xx status or an unreadable body.

    :ivar status: the last HTTP status, ``None`` for a transport error.
    :ivar url: the request URL, redacted.
    :ivar attempts: how many times the request was sent.
    """

    def __init__(
        self, message: str, *, status: int | None = None, url: str | None = None, attempts: int = 1
    ) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.attempts = attempts

    def _state(self) -> dict[str, Any]:
        return {"status": self.status, "url": self.url, "attempts": self.attempts}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), str(self), self._state()))


class AuthError(HttpError):
    """HTTP 401/403: the credentials were refused. ``secret_names`` says which secrets were used."""

    def __init__(self, message: str, *, secret_names: list[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.secret_names = secret_names

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "secret_names": self.secret_names}


class TransportError(Exception):
    """The request could not be sent or its answer not read; retrying cannot help (a bad URL)."""


class TransientTransportError(TransportError):
    """A connection error or timeout: the same request may well succeed if sent again."""


class BodyTooLargeError(TransportError):
    """The body (decompressed) passed the size limit; reading stopped there."""


class LinkHeaderError(OpsLevelIntegrationError):
    """A ``Link`` header that does not follow RFC 8288."""


class PageError(OpsLevelIntegrationError):
    """A page that cannot be used; ``where`` is the key that failed on it, or the extractor."""

    def __init__(self, where: Location | None, detail: str) -> None:
        self.where = where
        self.detail = detail
        super().__init__(detail if where is None else f"{where}: {detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.where, self.detail))


class PaginationError(PageError):
    """``next_cursor`` misbehaved (it repeated a value)."""


class OAuthError(HttpError):
    """The token endpoint refused or answered something that is not a bearer token."""

    def __init__(self, message: str, *, secret_names: list[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.secret_names = secret_names

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "secret_names": self.secret_names}


class JsonTooDeepError(ValueError):
    """A JSON document nested deeper than the decoder can follow."""

    def __init__(self) -> None:
        super().__init__(
            "JSON nested more deeply than the decoder allows (about "
            f"{sys.getrecursionlimit()} levels less the stack in use)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), ())


def _rebuild(cls: type[HttpError], message: str, state: dict[str, Any]) -> HttpError:
    return cls(message, **state)
