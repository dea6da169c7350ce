"""Send one HTTP request over pooled urllib3 connections; the extract fetcher's wire.

``requests`` spent about 2.5 ms of CPU per 135 KB page on work an extractor does not need
(environment lookups on every request, hooks, cookies, reading the body in 10 KB chunks), and the
extract workers share one GIL, so that cost capped how many requests a task kept in flight
(``benchmarks/extract.py``). This keeps what ``requests`` gave the fetcher and does the
per-origin work once:

- proxies from ``HTTP(S)_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` (credentials in the proxy URL
  become ``Proxy-Authorization``), decided once per origin;
- TLS verified against ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` if set, else certifi's bundle;
- ``Accept-Encoding: gzip, deflate`` (bodies are decompressed);
- connect and read timeouts on every attempt; redirects are never followed.

What an API answers is not trusted. A body is read as it streams and refused once it passes
``max_body_bytes`` (default :data:`DEFAULT_MAX_BODY_BYTES`, 32 MiB), counted after decompression:
gzip/deflate are inflated here with a bounded output, so a small compressed body that inflates to
gigabytes (a gzip bomb) and a chunked body that never ends both stop at the limit. Headers beyond
:mod:`http.client`'s limits (a line over 64 KiB, more than 100 headers) are refused too. Neither
is retried: the same answer would come again.

What it drops on purpose: cookies carried between requests and ``~/.netrc`` credentials, neither
of which an extractor asked for.
"""

from __future__ import annotations

import base64
import http.client
import os
import threading
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import certifi
import urllib3
from requests.utils import get_environ_proxies, select_proxy
from urllib3 import HTTPHeaderDict
from urllib3 import exceptions as u3

from airflow_provider_opslevel.extract.errors import (
    BodyTooLargeError,
    TransientTransportError,
    TransportError,
)

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "BodyTooLargeError",
    "RawResponse",
    "TransientTransportError",
    "Transport",
    "TransportError",
]

# Only what this module inflates itself, with a bounded output (urllib3 before 2.6 did not bound it).
_DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate"}

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
"""Largest response body read, after decompression: 250 times a 100-issue Sentry page."""


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    """Names lower-cased; repeated headers joined with ``", "``."""
    content: bytes


def _ca_bundle() -> str:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()


def _proxy_headers(proxy: str) -> dict[str, str]:
    parts = urlsplit(proxy)
    if parts.username is None:
        return {}
    user_pass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(user_pass.encode("latin-1")).decode()}


class Transport:
    """Pooled connections for one task's requests; thread-safe.

    :param maxsize: connections kept per origin (at least the task's concurrency).
    :param timeout: ``(connect, read)`` seconds for every request.
    """

    def __init__(self, *, maxsize: int = 10, timeout: tuple[float, float] = (10.0, 60.0)) -> None:
        self.timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self._pool_kw: dict[str, Any] = {"maxsize": maxsize, "ca_certs": _ca_bundle()}
        self._direct = urllib3.PoolManager(num_pools=10, **self._pool_kw)
        self._proxies: dict[str, urllib3.ProxyManager] = {}
        self._route: dict[str, urllib3.PoolManager] = {}  # origin -> the manager that reaches it
        self._lock = threading.Lock()

    def _manager(self, url: str) -> urllib3.PoolManager:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        manager = self._route.get(origin)
        if manager is not None:
            return manager
        proxy = select_proxy(url, get_environ_proxies(url))
        with self._lock:
            if proxy is None:
                manager = self._direct
            else:
                if "://" not in proxy:
                    proxy = "http://" + proxy
                if proxy not in self._proxies:
                    if not proxy.startswith(("http://", "https://")):
                        raise TransportError(
                            f"the proxy for {origin} is {urlsplit(proxy).scheme}://...; only http(s) "
                            "proxies are supported (check HTTPS_PROXY / ALL_PROXY)"
                        )
                    self._proxies[proxy] = urllib3.ProxyManager(
                        proxy, proxy_headers=_proxy_headers(proxy), **self._pool_kw
                    )
                manager = self._proxies[proxy]
            self._route[origin] = manager
        return manager

    def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> RawResponse:
        """One request, its whole body read (at most ``max_body_bytes``, decompressed).

        :raises TransientTransportError: connection refused or reset, a timeout, a truncated body.
        :raises BodyTooLargeError: the body passed ``max_body_bytes``.
        :raises TransportError: anything retrying cannot fix (an invalid URL, a TLS failure,
            headers over :mod:`http.client`'s limits).
        """
        try:
            response = self._manager(url).request(
                method,
                url,
                body=body,
                headers=_merged(headers),
                timeout=self.timeout,
                retries=False,  # the fetcher's RetryPolicy decides
                redirect=False,  # a redirect could carry the token to another host
                preload_content=False,  # read below, within the size limit
                decode_content=False,  # inflated below, within the size limit
            )
        except u3.ProtocolError as exc:
            if _headers_over_limit(exc):
                raise TransportError(
                    f"the response headers are over the limits ({_describe(exc.args[-1])}): a header "
                    "line longer than 64 KiB or more than 100 headers"
                ) from None
            raise TransientTransportError(_describe(exc)) from None
        except (u3.TimeoutError, u3.DecodeError, u3.ProxyError) as exc:
            raise TransientTransportError(_describe(exc)) from None
        except u3.LocationValueError as exc:  # no host, an unknown scheme, a malformed URL
            raise TransportError(f"invalid URL ({_describe(exc)})") from None
        except (u3.HTTPError, ValueError) as exc:  # a TLS failure, an unusable proxy, ...
            raise TransportError(_describe(exc)) from None
        response_headers = {name.lower(): value for name, value in response.headers.itermerged()}
        try:
            content = _read_body(response, response_headers.get("content-encoding", ""), max_body_bytes)
        except (u3.TimeoutError, u3.ProtocolError, u3.DecodeError) as exc:
            raise TransientTransportError(_describe(exc)) from None
        finally:
            response.close()  # a no-op once the body was read to its end; else drops the connection
        return RawResponse(status=response.status, headers=response_headers, content=content)

    def close(self) -> None:
        self._direct.clear()
        for manager in self._proxies.values():
            manager.clear()


def _merged(headers: dict[str, str]) -> HTTPHeaderDict:
    merged = HTTPHeaderDict(_DEFAULT_HEADERS)
    for name, value in headers.items():
        merged[name] = value  # replaces a default whatever its case
    return merged


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _headers_over_limit(exc: u3.ProtocolError) -> bool:
    cause = exc.args[-1] if exc.args else None
    return isinstance(cause, http.client.LineTooLong) or (
        isinstance(cause, http.client.HTTPException) and "got more than" in str(cause)
    )


def _too_large(limit: int) -> BodyTooLargeError:
    return BodyTooLargeError(
        f"the response body is larger than {limit} bytes ({limit / 2**20:g} MiB, counted after "
        "decompression); reading stopped there (raise extract_options[kind]['max_body_bytes'] if "
        "the API really sends pages this large)"
    )


def _read_body(response: Any, encoding: str, limit: int) -> bytes:
    """The body, read as it streams and inflated with a bounded output; never more than ``limit``.

    A body with a ``Content-Length`` arrives in one read (the common case costs no extra copy);
    the read after it returns ``b""`` at once, or raises if the connection closed early.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = response.read(limit + 1 - size, decode_content=False)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
    raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return _inflate(raw, zlib.MAX_WBITS | 16, limit)
    if encoding == "deflate":
        try:  # zlib-wrapped, as RFC 9110 says; some servers send raw deflate instead
            return _inflate(raw, zlib.MAX_WBITS, limit)
        except zlib.error:
            return _inflate(raw, -zlib.MAX_WBITS, limit)
    return raw  # identity, or an encoding not asked for: decoding will say what came


def _inflate(raw: bytes, wbits: int, limit: int) -> bytes:
    """Decompress every member of ``raw``, stopping as soon as the output passes ``limit``."""
    out: list[bytes] = []
    size = 0
    while raw:
        inflater = zlib.decompressobj(wbits)
        try:
            part = inflater.decompress(raw, limit + 1 - size)
        except zlib.error as exc:
            if wbits < 0 or wbits & 16 or out:  # the caller retries zlib-wrapped as raw deflate
                raise u3.DecodeError(f"the compressed body is corrupt: {exc}") from None
            raise
        out.append(part)
        size += len(part)
        if size > limit or inflater.unconsumed_tail:
            raise _too_large(limit)
        if not inflater.eof:
            raise u3.ProtocolError(f"the compressed body ended early ({len(raw)} bytes received)")
        raw = inflater.unused_data  # a further gzip member, or nothing
    return out[0] if len(out) == 1 else b"".join(out)
