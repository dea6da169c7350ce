"""Run one extractor over one partition: render, fetch, follow ``next_cursor``, collect records.

A *partition* is everything one extractor reads for one parent record (or the single run of a
root extractor). Its result says whether it was read completely: later stages (deletion) must
only trust what was read to the end.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.extract.http import HttpFetcher, HttpRequest, HttpResponse
from airflow_provider_opslevel.extract.link_header import parse_link_header
from airflow_provider_opslevel.extract.origin import OriginGuard
from airflow_provider_opslevel.extract.records import page_records
from airflow_provider_opslevel.secrets import SecretResolver

log = logging.getLogger(__name__)


class PaginationError(OpsLevelIntegrationError):
    """``next_cursor`` misbehaved (it repeated a value, or ran past the page limit)."""


@dataclass
class PartitionResult:
    """What one partition produced; ``to_dict`` is the XCom form."""

    external_kind: str
    parent: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    items: int = 0
    excluded: int = 0
    complete: bool = False
    error: str | None = None
    first_page: Any = None

    def summary(self) -> dict[str, Any]:
        return {
            "parent": self.parent,
            "complete": self.complete,
            "pages": self.pages,
            "items": self.items,
            "excluded": self.excluded,
            "records": len(self.records),
            "error": self.error,
        }


def rewrite_origin(url: str, origins: Mapping[str, str]) -> str:
    """Point a rendered URL at another origin (``https://sentry.io`` → a self-hosted or fake one)."""
    for source, target in origins.items():
        source = source.rstrip("/")
        if url == source or url.startswith(source + "/") or url.startswith(source + "?"):
            return target.rstrip("/") + url[len(source) :]
    return url


def cursor_text(value: Any) -> str:
    """The cursor as templates see it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def header_input(response: HttpResponse) -> dict[str, Any]:
    """``next_cursor.from: header`` input: lower-cased names, ``link`` parsed per RFC 8288."""
    headers: dict[str, Any] = dict(response.headers)
    if "link" in headers:
        headers["link"] = parse_link_header(headers["link"], base_url=response.url)
    return headers


class ExtractorRunner:
    """Reads partitions of one extractor.

    :param extractor: the validated extractor model (from :mod:`airflow_provider_opslevel.config`).
    :param fetcher: sends requests; owns timeouts (and, later, retries and rate limits).
    :param secrets: resolver behind the ``secret`` template filter.
    :param origins: optional origin rewrites applied to every rendered URL.
    :param max_pages: stop each partition after this many pages (Run Test); ``None`` = all.
    :param redact: applied to error messages before they are stored or raised.
    :param allowed_origins: origins besides the first rendered URL's that requests may go to.
    """

    def __init__(
        self,
        extractor: Any,
        *,
        fetcher: HttpFetcher,
        secrets: SecretResolver | None,
        origins: Mapping[str, str] | None = None,
        max_pages: int | None = None,
        redact: Callable[[str], str] = str,
        keep_first_page: bool = False,
        allowed_origins: Sequence[str] = (),
    ) -> None:
        self.extractor = extractor
        self.polling = extractor.http_polling
        if self.polling is None:
            raise OpsLevelIntegrationError(
                f"{extractor.where}: extractor {extractor.external_kind!r} has no http_polling; "
                "push extractors run from a push DAG"
            )
        self.fetcher = fetcher
        self.secrets = secrets
        self.origins = dict(origins or {})
        self.max_pages = max_pages
        self.redact = redact
        self.keep_first_page = keep_first_page
        # The first URL's origin is pinned; a cursor or URL elsewhere is refused before sending.
        self.guard = OriginGuard(allowed_origins, redact=redact, label=extractor.external_kind)

    def render(self, cursor: str, parent: dict[str, Any] | None) -> HttpRequest:
        polling = self.polling
        context: dict[str, Any] = {"cursor": cursor}
        if polling.for_each:
            context[polling.for_each] = parent["data"] if parent else None
        url = rewrite_origin(polling.url.render(context, self.secrets).strip(), self.origins)
        headers = {header.name: header.value.render(context, self.secrets) for header in polling.headers}
        body = polling.body.render(context, self.secrets) if polling.body is not None else None
        return HttpRequest(method=polling.method, url=url, headers=headers, body=body)

    def next_cursor(self, response: HttpResponse, payload: Any) -> Any:
        next_cursor = self.polling.next_cursor
        if next_cursor is None:
            return None
        source = header_input(response) if next_cursor.from_ == "header" else payload
        return next_cursor.value.first(source)

    def run(self, parent: dict[str, Any] | None = None) -> PartitionResult:
        """Read one partition to the end; failures are recorded in the result, not raised."""
        result = PartitionResult(
            external_kind=self.extractor.external_kind,
            parent=parent["external_id"] if parent else None,
        )
        by_id: dict[str, dict[str, Any]] = {}
        try:
            self._read(result, parent, by_id)
        except OpsLevelIntegrationError as exc:
            result.error = self.redact(str(exc))
            where = f" (parent {result.parent})" if result.parent is not None else ""
            log.error(
                "%s%s stopped after %d page(s): %s", result.external_kind, where, result.pages, result.error
            )
        # Records read before a failure are kept (they are real); ``complete`` says they are not all.
        result.records = list(by_id.values())
        if result.parent is not None:
            for record in result.records:
                record["parent"] = result.parent  # the partition it came from (scopes deletion)
        return result

    def _read(
        self, result: PartitionResult, parent: dict[str, Any] | None, by_id: dict[str, dict[str, Any]]
    ) -> None:
        cursor = ""
        seen = {cursor}
        while True:
            request = self.render(cursor, parent)
            response = self.fetcher.fetch(request, guard=self.guard)
            payload = response.json(self.redact)
            if self.keep_first_page and result.pages == 0:
                result.first_page = payload
            page = page_records(self.extractor, payload)
            result.pages += 1
            result.items += page.items
            result.excluded += page.excluded
            for record in page.records:
                # A record met twice (offset paging while data shifts) keeps its latest form.
                by_id[record["external_id"]] = record
            value = self.next_cursor(response, payload)
            if value is None or value is False:
                result.complete = True
                return
            cursor = cursor_text(value)
            if cursor in seen:
                raise PaginationError(
                    f"{self.polling.next_cursor.value.where}: next_cursor gave {cursor!r} again after "
                    f"page {result.pages}; stopping instead of reading the same page forever"
                )
            seen.add(cursor)
            if self.max_pages is not None and result.pages >= self.max_pages:
                return
