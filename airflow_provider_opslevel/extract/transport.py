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

What it drops on purpose: cookies carried between requests and ``~/.netrc`` credentials, neither
of which an extractor asked for.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import certifi
import urllib3
from requests.utils import get_environ_proxies, select_proxy
from urllib3 import HTTPHeaderDict
from urllib3 import exceptions as u3

__all__ = ["RawResponse", "TransientTransportError", "Transport", "TransportError"]

_DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": urllib3.util.request.ACCEPT_ENCODING}


class TransportError(Exception):
    """The request could not be sent or its answer not read; retrying cannot help (a bad URL)."""


class TransientTransportError(TransportError):
    """A connection error or timeout: the same request may well succeed if sent again."""


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

    def send(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> RawResponse:
        """One request, its whole body read.

        :raises TransientTransportError: connection refused or reset, a timeout, a truncated body.
        :raises TransportError: anything retrying cannot fix (an invalid URL, a TLS failure).
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
                preload_content=True,
            )
        except (u3.TimeoutError, u3.ProtocolError, u3.DecodeError, u3.ProxyError) as exc:
            raise TransientTransportError(_describe(exc)) from None
        except u3.LocationValueError as exc:  # no host, an unknown scheme, a malformed URL
            raise TransportError(f"invalid URL ({_describe(exc)})") from None
        except (u3.HTTPError, ValueError) as exc:  # a TLS failure, an unusable proxy, ...
            raise TransportError(_describe(exc)) from None
        return RawResponse(
            status=response.status,
            headers={name.lower(): value for name, value in response.headers.itermerged()},
            content=response.data,
        )

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
