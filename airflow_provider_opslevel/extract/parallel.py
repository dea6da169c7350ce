"""Read many partitions of one extractor at once; each partition's pages still follow their cursor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow_provider_opslevel.extract import heap
from airflow_provider_opslevel.extract.runner import ExtractorRunner, PartitionResult
from airflow_provider_opslevel.extract.throttle import DEFAULT_CONCURRENCY

__all__ = ["DEFAULT_CONCURRENCY", "run_partitions"]


def run_partitions(
    runner: ExtractorRunner,
    parents: Sequence[dict[str, Any] | None],
    concurrency: int = DEFAULT_CONCURRENCY,
    finish: Callable[[PartitionResult], None] | None = None,
) -> list[PartitionResult]:
    """One :class:`PartitionResult` per parent (``None``: the root partition), in the parents' order.

    At most ``concurrency`` partitions are in flight; the fetcher's throttle may allow fewer
    requests at a time (it shrinks on 429s and grows back), which is what keeps this polite.

    :param finish: called with each partition as soon as it is read, in its worker thread (the
        extract task maps its records and drops them there, so a task never holds them all).
    """

    def run(parent: dict[str, Any] | None) -> PartitionResult:
        result = runner.run(parent)
        if finish is not None:
            finish(result)
        return result

    workers = max(1, min(concurrency, len(parents)))
    with heap.keeping_records():
        if workers == 1:
            return [run(parent) for parent in parents]
        with ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=f"extract-{runner.extractor.external_kind}"
        ) as pool:
            return list(pool.map(run, parents))
