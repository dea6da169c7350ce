"""One extraction: the connections, throttle and OAuth token that every extractor of a run shares.

The extract task and ``opslevel-integration test`` both read through an
:class:`ExtractionSession`; neither wires a fetcher, a throttle or an OAuth client itself.
The session imports no Airflow: the task passes Airflow's secrets and masker in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from airflow_provider_opslevel.config import Integration
from airflow_provider_opslevel.extract.http import HttpFetcher
from airflow_provider_opslevel.extract.oauth import OAuthClient, oauth_client
from airflow_provider_opslevel.extract.parallel import run_partitions
from airflow_provider_opslevel.extract.runner import ExtractorRunner, PartitionResult
from airflow_provider_opslevel.extract.throttle import DEFAULT_CONCURRENCY, Throttle
from airflow_provider_opslevel.extract.transport import DEFAULT_MAX_BODY_BYTES
from airflow_provider_opslevel.secrets import SecretRecorder

__all__ = ["ExtractionSession"]


class ExtractionSession:
    """Reads the extractors of one integration over one pooled fetcher; use it as a context manager
    (or call :meth:`close`) so its connections are released.

    :param integration: the loaded integration (its ``oauth:`` block, if any, gives the token).
    :param secrets: resolver behind the ``secret`` template filter; remembers what it handed out.
    :param origins: origin rewrites for rendered URLs (and the OAuth ``token_url``).
    :param redact: applied to every message that may quote a URL, a header or a body (default
        ``secrets.redact``); the fetcher adds the OAuth tokens to it.
    :param on_token: called with each new OAuth token (the task masks it in its log).
    :param concurrency: partitions read at once by :meth:`run`, and the throttle's most requests
        in flight (it shrinks on 429s and grows back).
    :param max_pages: stop each partition after this many pages (a preview read); ``None``: all.
    :param allowed_origins: origins besides the first rendered URL's that requests may go to.
    :param max_body_bytes: the largest page read, counted decompressed.
    :param keep_first_page: keep each partition's first raw page (Run Test shows it).
    """

    def __init__(
        self,
        integration: Integration,
        secrets: SecretRecorder,
        *,
        origins: Mapping[str, str] | None = None,
        redact: Callable[[str], str] | None = None,
        on_token: Callable[[str], None] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_pages: int | None = None,
        allowed_origins: Sequence[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        keep_first_page: bool = False,
    ) -> None:
        self.integration = integration
        self.secrets = secrets
        self.origins = dict(origins or {})
        self.concurrency = concurrency
        self.max_pages = max_pages
        self.allowed_origins = list(allowed_origins)
        self.max_body_bytes = max_body_bytes
        self.keep_first_page = keep_first_page
        redact = redact or secrets.redact
        self.oauth: OAuthClient | None = oauth_client(
            integration, secrets=secrets, origins=self.origins, redact=redact, on_token=on_token
        )
        # One throttle for every worker of the session: AIMD concurrency and rate-limit headers.
        self.throttle = Throttle(max_concurrency=concurrency)
        self.fetcher = HttpFetcher(redact=redact, secrets=secrets, throttle=self.throttle, oauth=self.oauth)

    @property
    def requests_sent(self) -> int:
        """HTTP attempts sent so far by every extractor of the session (retries included)."""
        return self.fetcher.requests_sent

    def redact(self, text: str) -> str:
        """``text`` with every secret and OAuth token handed out so far replaced by ``***``."""
        return self.fetcher.redact(text)

    def runner(self, external_kind: str) -> ExtractorRunner:
        """A runner for the extractor of ``external_kind`` (an HTTP one), over the session's fetcher."""
        return ExtractorRunner(
            self.integration.extractor(external_kind),
            fetcher=self.fetcher,
            secrets=self.secrets,
            origins=self.origins,
            max_pages=self.max_pages,
            redact=self.fetcher.redact,
            keep_first_page=self.keep_first_page,
            allowed_origins=self.allowed_origins,
            max_body_bytes=self.max_body_bytes,
            redactor=self.secrets.redactor,
        )

    def run(
        self,
        external_kind: str,
        parents: Sequence[dict[str, Any] | None] = (None,),
        *,
        concurrency: int | None = None,
        finish: Callable[[PartitionResult], None] | None = None,
    ) -> list[PartitionResult]:
        """One :class:`PartitionResult` per parent (``None``: the root partition), in their order.

        :param concurrency: partitions read at once (default: the session's).
        :param finish: called with each partition once read (see :func:`run_partitions`).
        """
        return run_partitions(
            self.runner(external_kind), parents, concurrency or self.concurrency, finish=finish
        )

    def close(self) -> None:
        self.fetcher.close()
        if self.oauth is not None:
            self.oauth.close()

    def __enter__(self) -> ExtractionSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
