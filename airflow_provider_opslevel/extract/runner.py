"""Run one extractor over one partition: render, fetch, follow ``next_cursor``, collect records.

A *partition* is everything one extractor reads for one parent record (or the single run of a
root extractor). Its result says whether it was read completely: later stages (deletion) must
only trust what was read to the end.

What the API answers is not trusted. A page that cannot be used (not JSON, nested too deeply,
over the size limit, ``null``, ``iterator`` or ``next_cursor`` failing on it, a Link header that
is malformed or holds too many links) stops the partition with an error naming the extractor,
the key and the URL; the records of earlier pages are kept and the partition is incomplete, so
nothing of it is deleted. An item whose ``exclude`` or ``external_id`` fails is *rejected*:
counted and described in :attr:`PartitionResult.problems`, and the partition is incomplete too.

Records are keyed by ``external_id``: when one partition meets an id again (on the same page or
a later one: offset paging while data shifts), the record read last replaces the earlier one and
:attr:`PartitionResult.duplicates` counts it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_opslevel.config.models import Extractor, HttpPolling
from airflow_provider_opslevel.errors import ExpressionError, OpsLevelIntegrationError
from airflow_provider_opslevel.extract import heap
from airflow_provider_opslevel.extract.errors import LinkHeaderError, PageError, PaginationError
from airflow_provider_opslevel.extract.http import HttpFetcher, HttpRequest, HttpResponse
from airflow_provider_opslevel.extract.link_header import parse_link_header
from airflow_provider_opslevel.extract.origin import OriginGuard
from airflow_provider_opslevel.extract.records import page_records
from airflow_provider_opslevel.extract.transport import DEFAULT_MAX_BODY_BYTES
from airflow_provider_opslevel.redaction import Redactor
from airflow_provider_opslevel.secrets import SecretResolver

log = logging.getLogger(__name__)

MAX_PROBLEMS_KEPT = 20
"""Rejected items described per partition (all are counted): the result travels through XCom."""


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
    duplicates: int = 0
    """Records replaced by a later one with the same ``external_id`` (the last read is kept)."""
    rejected: int = 0
    """Items neither kept nor excluded: their ``exclude`` or ``external_id`` failed."""
    problems: list[str] = field(default_factory=list)
    """What went wrong with the first :data:`MAX_PROBLEMS_KEPT` rejected items (redacted)."""
    redacted_pages: int = 0
    """Pages that echoed a secret: their records were kept with the secret replaced by ``***``."""
    ids: list[str] | None = None
    """Set when ``records`` were dropped after mapping: their ``external_id``s, in order."""
    mapped: dict[str, Any] = field(default_factory=dict)
    """What the transforms made of ``records`` (opaque here; see ``transform.mapping.map_partition``)."""

    def summary(self) -> dict[str, Any]:
        return {
            "parent": self.parent,
            "complete": self.complete,
            "pages": self.pages,
            "items": self.items,
            "excluded": self.excluded,
            "records": len(self.records),
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "problems": self.problems,
            "redacted_pages": self.redacted_pages,
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
    """``next_cursor.from: header`` input: lower-cased names, ``link`` parsed per RFC 8288.

    :raises LinkHeaderError: the ``Link`` header is malformed or holds too many links.
    """
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
    :param max_body_bytes: the largest page read, decompressed; a larger one fails the partition.
    :param redactor: the run's secrets; a page whose body holds one (an API echoing the token)
        has it replaced in its records, so it reaches neither XCom nor OpsLevel.
    """

    def __init__(
        self,
        extractor: Extractor,
        *,
        fetcher: HttpFetcher,
        secrets: SecretResolver | None,
        origins: Mapping[str, str] | None = None,
        max_pages: int | None = None,
        redact: Callable[[str], str] = str,
        keep_first_page: bool = False,
        allowed_origins: Sequence[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        redactor: Redactor | None = None,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be a positive number of bytes, not {max_body_bytes!r}")
        self.extractor = extractor
        polling = extractor.http_polling
        if polling is None:
            raise OpsLevelIntegrationError(
                f"{extractor.where}: extractor {extractor.external_kind!r} has no http_polling; "
                "push extractors run from a push DAG"
            )
        self.polling: HttpPolling = polling
        self.fetcher = fetcher
        self.secrets = secrets
        self.origins = dict(origins or {})
        self.max_pages = max_pages
        self.redact = redact
        self.keep_first_page = keep_first_page
        self.max_body_bytes = max_body_bytes
        self.redactor = redactor
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
        return HttpRequest(
            method=polling.method, url=url, headers=headers, body=body, max_body_bytes=self.max_body_bytes
        )

    def next_cursor(self, response: HttpResponse, payload: Any) -> Any:
        """What ``next_cursor`` gives for this page.

        :raises PageError: the Link header or the expression failed; names the key and the URL.
        """
        next_cursor = self.polling.next_cursor
        if next_cursor is None:
            return None
        try:
            source = header_input(response) if next_cursor.from_ == "header" else payload
            return next_cursor.value.first(source)
        except LinkHeaderError as exc:
            where = self.extractor.location("http_polling.next_cursor")
            raise PageError(where, f"the Link header of {response.url}: {exc}") from None
        except ExpressionError as exc:
            raise PageError(exc.where, f"{exc.detail} (on the page from {response.url})") from None

    def run(self, parent: dict[str, Any] | None = None) -> PartitionResult:
        """Read one partition to the end; failures are recorded in the result, not raised."""
        result = PartitionResult(
            external_kind=self.extractor.external_kind,
            parent=parent["external_id"] if parent else None,
        )
        by_id: dict[str, dict[str, Any]] = {}
        try:
            self._read(result, parent, by_id)
        except (OpsLevelIntegrationError, RecursionError, MemoryError) as exc:
            result.complete = False
            if isinstance(exc, OpsLevelIntegrationError):
                message = str(exc)
            else:  # a last resort: what the API sent was too deep or too large to work with
                message = f"the answer was too large or too deeply nested to process ({type(exc).__name__})"
            if getattr(exc, "where", None) is None:  # HTTP and pagination errors: name the extractor
                message = f"{self.extractor.where}: {message}"
            result.error = self.redact(message)
            where = f" (parent {result.parent})" if result.parent is not None else ""
            log.error(
                "%s%s stopped after %d page(s): %s", result.external_kind, where, result.pages, result.error
            )
        where = f" (parent {result.parent})" if result.parent is not None else ""
        if result.rejected:
            log.error(
                "%s%s: %d item(s) rejected (neither kept nor excluded), e.g. %s",
                result.external_kind,
                where,
                result.rejected,
                result.problems[0],
            )
        if result.duplicates:
            log.warning(
                "%s%s: %d record(s) met again with the same external_id; the last read is kept",
                result.external_kind,
                where,
                result.duplicates,
            )
        # Records read before a failure are kept (they are real); ``complete`` says they are not all.
        result.records = list(by_id.values())
        if result.parent is not None:
            for record in result.records:
                record["parent"] = result.parent  # the partition it came from (scopes deletion)
        return result

    @property
    def reads_ahead(self) -> bool:
        """Whether page n + 1 is requested before page n is decoded: the cursor is in a header."""
        next_cursor = self.polling.next_cursor
        return next_cursor is not None and next_cursor.from_ == "header"

    def _read(
        self, result: PartitionResult, parent: dict[str, Any] | None, by_id: dict[str, dict[str, Any]]
    ) -> None:
        cursors = _Cursors(self)
        if self.reads_ahead:
            name = f"extract-{result.external_kind}-pages"
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as pages:
                self._read_ahead(result, parent, by_id, cursors, pages)
        else:
            self._read_in_turn(result, parent, by_id, cursors)
        # Every page read to the end, and every item of them a record or excluded.
        result.complete = cursors.ended and not result.rejected

    def _store(
        self,
        result: PartitionResult,
        by_id: dict[str, dict[str, Any]],
        payload: Any,
        url: str,
        content: bytes = b"",
    ) -> None:
        number = result.pages + 1
        if payload is None:
            raise PageError(self.extractor.where, f"{url} answered null, not a JSON document (page {number})")
        if self.keep_first_page and result.pages == 0:
            result.first_page = payload
        try:
            page = page_records(self.extractor, payload)
        except ExpressionError as exc:  # ``iterator``: the page's items are unknown
            raise PageError(exc.where, f"{exc.detail} (page {number}: {url})") from None
        result.pages += 1
        result.items += page.items
        result.excluded += page.excluded
        if page.problems:
            result.rejected += len(page.problems)
            room = MAX_PROBLEMS_KEPT - len(result.problems)
            result.problems += [self.redact(f"{p} (page {number}: {url})") for p in page.problems[:room]]
        records = page.records
        if self.redactor is not None and self.redactor.occurs_in(content):
            records = self.redactor.redact_data(records)
            result.redacted_pages += 1
        before = len(by_id)
        for record in records:
            by_id[record["external_id"]] = record  # met again: the last read wins
        result.duplicates += len(records) - (len(by_id) - before)
        heap.settle()

    def _read_in_turn(
        self,
        result: PartitionResult,
        parent: dict[str, Any] | None,
        by_id: dict[str, dict[str, Any]],
        cursors: _Cursors,
    ) -> None:
        """The cursor is in the body: each page is decoded before the next is requested."""
        cursor: str | None = ""
        while cursor is not None:
            response = self.fetcher.fetch(self.render(cursor, parent), guard=self.guard)
            payload = response.json(self.redact)
            self._store(result, by_id, payload, response.url, response.content)
            cursor = cursors.advance(_Next.cursor_of(self.next_cursor(response, payload)))

    def _read_ahead(
        self,
        result: PartitionResult,
        parent: dict[str, Any] | None,
        by_id: dict[str, dict[str, Any]],
        cursors: _Cursors,
        pages: ThreadPoolExecutor,
    ) -> None:
        """The cursor is in the headers: request page n + 1 while ``pages`` decodes page n.

        Decoding is most of a page's CPU and holds the GIL; overlapped with the next round trip
        it stops adding to every page's latency. Page n + 1 is kept only once page n proved
        readable: if page n had to be fetched again (its body was not JSON) and the new answer
        points elsewhere, that answer is followed instead.
        """
        cursor: str | None = ""
        decoding: Future[_Next | None] | None = None  # page n; gives its next if fetched again
        followed: _Next | None = None  # what page n's first answer said comes next
        response: HttpResponse | None = None
        while True:
            if cursor is not None:
                request = self.render(cursor, parent)
                try:
                    response = self.fetcher.fetch(request, guard=self.guard, decode=False)
                except OpsLevelIntegrationError:
                    if decoding is not None:
                        decoding.result()  # page n's own failure came first
                    raise
            if decoding is not None:
                again = decoding.result()
                decoding = None
                if again is not None and again != followed:
                    cursors.retract()
                    cursor = cursors.advance(again.value())
                    continue  # the answer for page n + 1, if any, followed a cursor now void
            if cursor is None:
                return
            assert response is not None
            followed = _Next.of(self, response)
            decoding = pages.submit(self._decode_and_store, result, by_id, request, response)
            try:
                cursor = cursors.advance(followed.value())
            except OpsLevelIntegrationError:
                # Unreadable or repeated: page n is stored first, and read again it may differ.
                again = decoding.result()
                decoding = None
                if again is None:
                    raise
                cursor = cursors.advance(again.value())

    def _decode_and_store(
        self,
        result: PartitionResult,
        by_id: dict[str, dict[str, Any]],
        request: HttpRequest,
        response: HttpResponse,
    ) -> _Next | None:
        """Runs on the partition's page thread; returns the page's next cursor if it was fetched again."""
        answer = self.fetcher.decoded(request, response)
        self._store(result, by_id, answer.json(self.redact), answer.url, answer.content)
        return None if answer is response else _Next.of(self, answer)


@dataclass(frozen=True)
class _Next:
    """What a page says comes next: the cursor text (``None``: the end), or why it cannot say."""

    cursor: str | None
    error: OpsLevelIntegrationError | None = None

    @staticmethod
    def cursor_of(value: Any) -> str | None:
        return None if value is None or value is False else cursor_text(value)

    @classmethod
    def of(cls, runner: ExtractorRunner, response: HttpResponse) -> _Next:
        try:
            return cls(cls.cursor_of(runner.next_cursor(response, None)))
        except OpsLevelIntegrationError as exc:
            return cls(None, exc)

    def value(self) -> str | None:
        if self.error is not None:
            raise self.error
        return self.cursor


class _Cursors:
    """One partition's cursor chain: where it ends, a repeated cursor, the page limit."""

    def __init__(self, runner: ExtractorRunner) -> None:
        self.runner = runner
        self.seen = {""}
        self.requested = 1  # pages requested along the chain (the first one has no cursor)
        self.ended = False
        self._last: str | None = None

    def advance(self, cursor: str | None) -> str | None:
        """The cursor to request next, or ``None`` to stop (at the end, or at ``max_pages``)."""
        self._last = None
        if cursor is None:
            self.ended = True
            return None
        if cursor in self.seen:
            next_cursor = self.runner.polling.next_cursor
            where = next_cursor.value.where if next_cursor is not None else None
            raise PaginationError(
                where,
                f"next_cursor gave {cursor!r} again after page {self.requested}; "
                "stopping instead of reading the same page forever",
            )
        max_pages = self.runner.max_pages
        if max_pages is not None and self.requested >= max_pages:
            return None
        self.seen.add(cursor)
        self.requested += 1
        self._last = cursor
        return cursor

    def retract(self) -> None:
        """Forget the last :meth:`advance`: the page it followed was fetched again and differs."""
        self.ended = False
        if self._last is not None:
            self.seen.discard(self._last)
            self.requested -= 1
            self._last = None
