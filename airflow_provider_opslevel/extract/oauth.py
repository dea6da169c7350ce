"""OAuth 2.0 client credentials for extractors: the top-level ``oauth:`` block of the extract YAML.

::

    oauth:
      grant_type: client_credentials
      token_url: https://auth.example.com/oauth/token
      client_id: "{{ 'client_id' | secret }}"
      client_secret: "{{ 'client_secret' | secret }}"
      extra_params: { audience: example-api }

:class:`OAuthClient` fetches a token with ``POST token_url`` (form-encoded ``grant_type``, the
``extra_params`` and, by default, ``client_id``/``client_secret`` in the body like most
providers; ``client_auth="basic"`` sends them as HTTP Basic instead, form-encoded first as
RFC 6749 §2.3.1 says). The token is cached with its ``expires_in`` and fetched again shortly
before it expires (``refresh_margin``, at most a tenth of its lifetime) or after a 401; one
fetch at a time, shared by every thread. The token endpoint gets the same retries as extraction
(5xx, 429, timeouts); a 400/401 from it fails at once naming the client's secrets.

:class:`~airflow_provider_opslevel.extract.http.HttpFetcher` sends the token as
``Authorization: Bearer <token>`` on every request without its own ``Authorization`` header; a
401 there fetches a fresh token and retries that request once. Neither the token nor the client secret is ever logged or put in an error: both
go to the run's :class:`~airflow_provider_opslevel.redaction.Redactor` (``redactor``), which
:meth:`OAuthClient.redact` applies, and ``on_token`` lets the Airflow adapter mask tokens.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote_plus, urlencode

from airflow_provider_opslevel.config.models import OAuth
from airflow_provider_opslevel.extract.errors import AuthError, HttpError, OAuthError
from airflow_provider_opslevel.extract.http import DEFAULT_TIMEOUT, HttpFetcher, HttpRequest
from airflow_provider_opslevel.extract.retry import RetryPolicy
from airflow_provider_opslevel.extract.runner import rewrite_origin
from airflow_provider_opslevel.extract.throttle import Throttle
from airflow_provider_opslevel.extract.transport import Transport
from airflow_provider_opslevel.redaction import Redactor
from airflow_provider_opslevel.secrets import SecretRecorder, SecretResolver

if TYPE_CHECKING:
    from airflow_provider_opslevel.config.integration import Integration

__all__ = ["ClientAuth", "OAuthClient", "OAuthError", "oauth_client"]

log = logging.getLogger(__name__)

ClientAuth = Literal["body", "basic"]


class _FixedNames:
    def __init__(self, names: list[str]) -> None:
        self._names = names

    def names_for(self, text: str) -> list[str]:
        return list(self._names)


class OAuthClient:
    """A cached, thread-safe client-credentials token for one integration.

    :param config: the integration's ``oauth`` model.
    :param secrets: resolver behind the ``secret`` filter in the ``oauth`` templates.
    :param client_auth: ``"body"`` (default) or ``"basic"``: where the client credentials go.
    :param refresh_margin: fetch a new token this many seconds before the old one expires
        (at most a tenth of the token's lifetime).
    :param origins: origin rewrites applied to ``token_url`` (as for extractor URLs).
    :param redact: applied to error messages before :attr:`redactor` (e.g. ``SecretRecorder.redact``).
    :param redactor: the run's redactor: every token handed out and the client secret are added
        to it, so they are hidden wherever it is applied (default: that of ``secrets`` when it is
        a :class:`~airflow_provider_opslevel.secrets.SecretRecorder`, else a new one).
    :param on_token: called with each new token (the Airflow adapter masks it).
    :param timeout: ``(connect, read)`` timeouts of the token request.
    :param retry: retry policy of the token request.
    :param transport: connections (e.g. the extraction fetcher's).
    :param failure_ttl: seconds a failed token request is answered from memory.
    :param clock: monotonic clock.
    """

    def __init__(
        self,
        config: OAuth,
        *,
        secrets: SecretResolver | None,
        client_auth: ClientAuth = "body",
        refresh_margin: float = 60.0,
        origins: Mapping[str, str] | None = None,
        redact: Callable[[str], str] = str,
        redactor: Redactor | None = None,
        on_token: Callable[[str], None] | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
        failure_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if client_auth not in ("body", "basic"):
            raise ValueError("client_auth must be 'body' or 'basic'")
        self.config = config
        self.client_auth = client_auth
        self.refresh_margin = refresh_margin
        self.origins = dict(origins or {})
        self._outer_redact = redact
        if redactor is None:
            redactor = secrets.redactor if isinstance(secrets, SecretRecorder) else Redactor()
        self.redactor = redactor
        self._secrets = secrets
        self._on_token = on_token
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at: float | None = None
        self.fetches = 0
        self.failure_ttl = failure_ttl
        self._failure: tuple[float, OAuthError] | None = None
        names: set[str] = set()
        for template in (
            config.token_url,
            config.client_id,
            config.client_secret,
            *config.extra_params.values(),
        ):
            names |= template.secret_names
        self._names = sorted(names)
        self._fetcher = HttpFetcher(
            timeout=timeout,
            redact=self.redact,
            transport=transport,
            retry=retry,
            throttle=Throttle(1),
            secrets=_FixedNames(self._names),
        )

    @property
    def secret_names(self) -> list[str]:
        """Names of the secrets the ``oauth`` block reads (for error messages)."""
        return list(self._names)

    # -- tokens ----------------------------------------------------------------------------
    def token(self) -> str:
        """A valid access token: the cached one, or a new one (one fetch at a time).

        :raises OAuthError: the token endpoint refused (the failure is remembered for
            ``failure_ttl`` seconds, so a hundred partitions do not ask a hundred times).
        """
        with self._lock:
            if self._token is not None and not self._stale():
                return self._token
            if self._failure is not None and self._clock() - self._failure[0] < self.failure_ttl:
                failure = self._failure[1]
                raise OAuthError(
                    str(failure),
                    secret_names=failure.secret_names,
                    status=failure.status,
                    url=failure.url,
                    attempts=failure.attempts,
                )
            try:
                return self._fetch()
            except OAuthError as exc:
                self._failure = (self._clock(), exc)
                raise

    def peek(self) -> str | None:
        """The cached token if still valid, without fetching."""
        with self._lock:
            return self._token if self._token is not None and not self._stale() else None

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (a 401 said it is no good); a newer token already fetched is kept."""
        with self._lock:
            if self._token == token:
                self._token = self._expires_at = None

    def _stale(self) -> bool:
        return self._expires_at is not None and self._clock() >= self._expires_at

    def _fetch(self) -> str:
        config = self.config
        url = rewrite_origin(config.token_url.render({}, self._secrets).strip(), self.origins)
        client_id = config.client_id.render({}, self._secrets).strip()
        client_secret = config.client_secret.render({}, self._secrets).strip()
        self.redactor.add(client_secret)
        form: dict[str, str] = {"grant_type": config.grant_type}
        form.update({name: t.render({}, self._secrets) for name, t in config.extra_params.items()})
        headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
        if self.client_auth == "basic":
            pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            form.update(client_id=client_id, client_secret=client_secret)
        request = HttpRequest(method="POST", url=url, headers=headers, body=urlencode(form))
        started = self._clock()
        try:
            response = self._fetcher.fetch(request)
        except HttpError as exc:
            hint = "" if isinstance(exc, AuthError) else self._names_hint()
            raise OAuthError(
                self.redact(f"oauth: could not get an access token: {exc}{hint}"),
                secret_names=self.secret_names,
                status=exc.status,
                url=exc.url,
                attempts=exc.attempts,
            ) from None
        self.fetches += 1
        self._failure = None
        payload = response.json(self.redact)
        token, expires_in = self._read_token(url, payload)
        self.redactor.add(token)
        if self._on_token is not None:
            self._on_token(token)
        self._token = token
        if expires_in is None:
            self._expires_at = None  # no stated lifetime: used until a 401
        else:
            margin = min(self.refresh_margin, expires_in / 10)
            self._expires_at = started + expires_in - margin
        log.info(
            "oauth: fetched an access token from %s (expires in %s)",
            self.redact(url),
            f"{expires_in:g}s" if expires_in is not None else "an unstated time",
        )
        return token

    def _read_token(self, url: str, payload: Any) -> tuple[str, float | None]:
        def fail(problem: str) -> OAuthError:
            return OAuthError(
                self.redact(f"oauth: {url} answered HTTP 200 but {problem}"),
                secret_names=self.secret_names,
                status=200,
                url=self.redact(url),
            )

        if not isinstance(payload, dict):
            raise fail(f"with a JSON {type(payload).__name__}, not an object")
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise fail(f"without an access_token (keys: {', '.join(sorted(map(str, payload)))})")
        token_type = payload.get("token_type")
        if token_type is not None and str(token_type).lower() != "bearer":
            self.redactor.add(token)
            raise fail(f"with token_type {token_type!r}; only bearer tokens are supported")
        raw = payload.get("expires_in")
        if raw is None:
            return token, None
        try:
            expires_in = float(raw)
        except (TypeError, ValueError):
            self.redactor.add(token)
            raise fail(f"with expires_in {raw!r}, not a number of seconds") from None
        return token, max(expires_in, 0.0)

    def _names_hint(self) -> str:
        if not self._names:
            return ""
        return f" (the client credentials come from secret(s) {', '.join(map(repr, self._names))})"

    # -- redaction and templates -----------------------------------------------------------
    def redact(self, text: str) -> str:
        """``text`` with every token handed out and the client secret replaced by ``***``."""
        return self.redactor.redact(self._outer_redact(text))

    def close(self) -> None:
        self._fetcher.close()


def oauth_client(integration: Integration, **kwargs: Any) -> OAuthClient | None:
    """An :class:`OAuthClient` for ``integration.oauth``, or ``None`` when it has no ``oauth`` block.

    :param kwargs: passed to :class:`OAuthClient` (``secrets=`` is required).
    """
    config = getattr(integration, "oauth", None)
    return OAuthClient(config, **kwargs) if config is not None else None
