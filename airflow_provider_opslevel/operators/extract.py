"""OpsLevelExtractOperator: run one extractor (one external_kind) and push its records to XCom."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.definitions.mappedoperator import OperatorPartial

from airflow_provider_opslevel.config import Integration, load_integration
from airflow_provider_opslevel.connections import airflow_secrets, task_redactor
from airflow_provider_opslevel.extract.labels import DEFAULT_LABEL_KEYS, chunk_label, label_keys
from airflow_provider_opslevel.extract.parallel import DEFAULT_CONCURRENCY
from airflow_provider_opslevel.extract.results import DEFAULT_PARENTS_PER_TASK, iter_chunks, to_chunks
from airflow_provider_opslevel.extract.runner import PartitionResult
from airflow_provider_opslevel.extract.session import ExtractionSession
from airflow_provider_opslevel.extract.transport import DEFAULT_MAX_BODY_BYTES
from airflow_provider_opslevel.operators.memory import peak_rss_mib, reset_peak
from airflow_provider_opslevel.redaction import Redactor
from airflow_provider_opslevel.transform.mapping import map_partition


class OpsLevelExtractOperator(BaseOperator):
    """Pull the records of one ``external_kind`` over HTTP.

    A root extractor runs once. A ``for_each`` child is mapped over its parent's result
    (``.expand(parents=parent.output)``): each mapped instance reads the partitions of one chunk
    of parent records. The task returns a list of chunks (see
    :mod:`airflow_provider_opslevel.extract.results`), which children map over and the
    transform task reads.

    :param extract: path of the extract YAML document.
    :param transform: path of the transform YAML document (validated together with ``extract``).
    :param external_kind: which extractor to run.
    :param parents: the parent's chunk(s); set by ``.expand()`` for ``for_each`` extractors.
    :param rewrite_origins: origin rewrites for rendered URLs, e.g.
        ``{"https://sentry.io": "https://sentry.example.com"}``.
    :param parents_per_task: records per output chunk, i.e. parents per mapped child task.
    :param max_pages: read at most this many pages per partition (a partial, preview read).
    :param concurrency: partitions read at once by this task (requests may be fewer at a time:
        the fetcher's throttle shrinks on 429s).
    :param allowed_origins: origins besides the first rendered URL's that requests (and the
        credentials they carry) may go to, e.g. a CDN that serves the next pages.
    :param max_body_bytes: the largest page read, counted decompressed (default 32 MiB); a larger
        answer fails its partition.
    :param parent_label_field: for a ``for_each`` extractor, the parent record key (or list of
        keys, first with text wins) that names each mapped task's parents in the UI; default
        ``slug``, ``name``, ``key``, ``title``, else the parent's ``external_id``.
    """

    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        extract: str | os.PathLike[str],
        transform: str | os.PathLike[str],
        external_kind: str,
        parents: Any = None,
        rewrite_origins: Mapping[str, str] | None = None,
        parents_per_task: int = DEFAULT_PARENTS_PER_TASK,
        max_pages: int | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        allowed_origins: Sequence[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        parent_label_field: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.parent_label_keys = _label_keys(external_kind, parent_label_field)
        if (
            parent_label_field is not None
            and not load_integration(extract, transform).extractor(external_kind).for_each
        ):
            raise ValueError(
                f"extract_options[{external_kind!r}]['parent_label_field'] names the parents of a "
                f"for_each extractor's mapped tasks; {external_kind} has no for_each"
            )
        self.extract = os.fspath(extract)
        self.transform = os.fspath(transform)
        self.external_kind = external_kind
        self.parents = parents
        self.rewrite_origins = dict(rewrite_origins or {})
        self.parents_per_task = parents_per_task
        self.max_pages = max_pages
        self.concurrency = concurrency
        self.allowed_origins = list(allowed_origins)
        self.max_body_bytes = max_body_bytes

    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """Airflow's ``partial``, with ``parent_label_field`` checked now, when the DAG is parsed
        (a mapped task's ``__init__`` runs only when it executes)."""
        _label_keys(kwargs.get("external_kind", "?"), kwargs.get("parent_label_field"))
        return super().partial(**kwargs)

    def parent_records(self) -> list[dict[str, Any]]:
        return [record for chunk in iter_chunks(self.parents) for record in chunk.get("records", [])]

    @property
    def partition_label(self) -> str:
        """The mapped task's name in the UI: the parents it reads (used by ``map_index_template``).

        Computed from the parent records the chunk carries anyway (the child's templates may use
        any of their fields), three of them at most, so naming the task costs no XCom.
        """
        extractor = load_integration(self.extract, self.transform).extractor(self.external_kind)
        return chunk_label(
            extractor.for_each or self.external_kind, self.parent_records(), self.parent_label_keys
        )

    def compact_partition(self, integration: Integration) -> Callable[[PartitionResult], None]:
        """What to do with each partition once read: map its records with the transforms of this
        kind, then drop them unless a ``for_each`` child needs them as parents.

        Records are the bulk of a sync (a Sentry issue is ~5 KiB decoded); mapped components are a
        fraction of that, so neither this task nor the transform ever holds every record.
        """
        kind = self.external_kind
        transforms = integration.transforms
        maps = any(transform.external_kind == kind for transform in transforms)
        keep = bool(integration.children(kind))

        def compact(partition: PartitionResult) -> None:
            if maps:
                partition.mapped = map_partition(transforms, kind, partition.records)
            if not keep:
                partition.ids = [record["external_id"] for record in partition.records]
                partition.records = []

        return compact

    def execute(self, context: Context) -> list[dict[str, Any]]:
        # Secrets and OAuth tokens join the task's redactor (and Airflow's masker, every form).
        redactor = task_redactor()
        with redactor.errors_redacted():
            return self._extract(redactor)

    def _extract(self, redactor: Redactor) -> list[dict[str, Any]]:
        reset_peak()
        integration = load_integration(self.extract, self.transform)
        extractor = integration.extractor(self.external_kind)
        session = ExtractionSession(
            integration,
            airflow_secrets(redactor),
            origins=self.rewrite_origins,
            concurrency=self.concurrency,
            max_pages=self.max_pages,
            allowed_origins=self.allowed_origins,
            max_body_bytes=self.max_body_bytes,
        )
        with session:
            if extractor.for_each:
                parents: list[dict[str, Any] | None] = list(self.parent_records())
                self.log.info(
                    "Reading %s for %d %s parent(s), %d at a time",
                    self.external_kind,
                    len(parents),
                    extractor.for_each,
                    min(self.concurrency, len(parents)),
                )
            else:
                parents = [None]
            partitions = session.run(
                self.external_kind, parents, finish=self.compact_partition(integration)
            )
        self.log.info("%s throttle: %s", self.external_kind, session.throttle.stats().summary())
        records = sum(len(p.records) + len(p.ids or ()) for p in partitions)
        failed = [p for p in partitions if p.error]
        ids = {r["external_id"] for p in partitions for r in p.records}
        ids.update(external_id for p in partitions for external_id in p.ids or ())
        self.log.info(
            "%s: %d record(s) from %d partition(s), %d page(s), %d excluded, %d rejected, "
            "%d duplicate external_id(s), %d page(s) echoing a secret (redacted in the records), "
            "%d request(s); %d partition(s) failed; peak RSS %.0f MiB",
            self.external_kind,
            records,
            len(partitions),
            sum(p.pages for p in partitions),
            sum(p.excluded for p in partitions),
            sum(p.rejected for p in partitions),
            sum(p.duplicates for p in partitions) + records - len(ids),
            sum(p.redacted_pages for p in partitions),
            session.requests_sent,
            len(failed),
            peak_rss_mib(),
        )
        chunks = to_chunks(self.external_kind, partitions, chunk_size=self.parents_per_task)
        # Records that echoed a secret were redacted page by page as they were read (see
        # ExtractorRunner); the summaries are the report and go through the task's redactor.
        chunks[0]["partitions"] = redactor.redact_data(chunks[0]["partitions"])
        return chunks


def _label_keys(external_kind: str, value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_LABEL_KEYS
    return label_keys(value, where=f"extract_options[{external_kind!r}]['parent_label_field']")
