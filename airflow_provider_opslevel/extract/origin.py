"""Keep an extractor's credentials on its own origin.

Cursor URLs come from the API (a ``Link`` header, a ``next`` field in the payload): a buggy or
hostile server could point the next page at another host, and the rendered headers (the token)
would follow. :class:`OriginGuard` refuses any URL whose origin (scheme, host, port) is not the
extractor's own or explicitly allowed, before anything is sent. Redirects are never followed
(:class:`~airflow_provider_opslevel.extract.http.HttpFetcher` sends ``allow_redirects=False``).

The extractor's own origin is pinned from the first URL checked, which is the first page of
the first partition (rendered with an empty cursor, after ``rewrite_origins``). All partitions
of an extractor must therefore start on one origin unless the others are allowed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import requests

from airflow_provider_opslevel.extract.errors import OriginError

__all__ = ["OriginError", "OriginGuard", "origin_of"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` as ``requests`` will connect to it.

    The URL is prepared the way ``requests`` prepares it (IDNA host, quoting) before it is
    split, so a URL that parsers read differently (``https://a.example\\@b.example/``) yields
    the host that would really be contacted. The default port is omitted; names are lower-cased.

    :raises OriginError: not an absolute ``http``/``https`` URL.
    """
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
        assert prepared.url is not None
        parsed = urlsplit(prepared.url)
        scheme, host, port = parsed.scheme.lower(), parsed.hostname, parsed.port
    except (requests.RequestException, ValueError, AssertionError) as exc:
        raise OriginError(f"not a valid URL: {exc}") from None
    if scheme not in _DEFAULT_PORTS or not host:
        raise OriginError(f"not an http(s) URL with a host: scheme {scheme!r}")
    host = host.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class OriginGuard:
    """Refuse URLs outside one pinned origin plus an allowlist. Thread-safe; one per extractor.

    :param allowed: further origins (or URLs, reduced to their origin) requests may go to.
    :param origin: the extractor's origin; ``None`` pins the first URL :meth:`check` sees.
    :param redact: applied to the URL quoted in errors.
    :param label: names the extractor in errors (e.g. its ``external_kind``).
    :raises ValueError: an allowed entry is not an http(s) URL.
    """

    def __init__(
        self,
        allowed: Iterable[str] = (),
        *,
        origin: str | None = None,
        redact: Callable[[str], str] = str,
        label: str | None = None,
    ) -> None:
        try:
            self.allowed = frozenset(origin_of(entry) for entry in allowed)
            self._origin = origin_of(origin) if origin is not None else None
        except OriginError as exc:
            raise ValueError(f"allowed origin: {exc}") from None
        self.redact = redact
        self.label = label
        self._lock = threading.Lock()

    @property
    def origin(self) -> str | None:
        """The pinned origin (``None`` until the first :meth:`check`)."""
        with self._lock:
            return self._origin

    def check(self, url: str) -> str:
        """Pass ``url`` (pinning its origin if none is yet) or raise :class:`OriginError`.

        :returns: the URL's origin.
        """
        try:
            origin = origin_of(url)
        except OriginError as exc:
            raise OriginError(self.redact(f"{self._who()}refusing to request {url!r}: {exc}")) from None
        with self._lock:
            if self._origin is None:
                self._origin = origin
                return origin
            pinned = self._origin
        if origin == pinned or origin in self.allowed:
            return origin
        allowed = f" or {', '.join(sorted(self.allowed))}" if self.allowed else ""
        raise OriginError(
            self.redact(
                f"{self._who()}refusing to request {url}: its origin {origin} is not this extractor's "
                f"origin {pinned}{allowed}, and the request's credentials must not leave it (nothing "
                f"was sent). If {origin} is trusted, add it to allowed_origins."
            )
        )

    def _who(self) -> str:
        return f"{self.label}: " if self.label else ""
