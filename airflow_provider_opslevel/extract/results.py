"""The XCom form of extraction results: chunks of records plus per-partition completeness.

An extract task returns a *list of chunks*; a ``for_each`` child is mapped over that list, so
each chunk is one mapped task's share of parents. Partition summaries travel in the first chunk.
A task mapped over a mapped parent receives a list of such lists: :func:`iter_chunks` flattens.
"""

from __future__ import annotations

import base64
import math
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from airflow_provider_opslevel.extract.runner import PartitionResult

DEFAULT_PARENTS_PER_TASK = 100
# Airflow's default [core] max_map_length is 1024; stay well under it.
MAX_MAPPED_TASKS = 512


def to_chunks(
    external_kind: str,
    partitions: Sequence[PartitionResult],
    *,
    chunk_size: int = DEFAULT_PARENTS_PER_TASK,
    max_chunks: int = MAX_MAPPED_TASKS,
) -> list[dict[str, Any]]:
    """Split the records of ``partitions`` into at most ``max_chunks`` chunks (always at least one)."""
    records = [record for partition in partitions for record in partition.records]
    size = max(chunk_size, math.ceil(len(records) / max_chunks), 1)
    slices = [records[start : start + size] for start in range(0, len(records), size)] or [[]]
    chunks: list[dict[str, Any]] = [
        {"external_kind": external_kind, "records": part, "partitions": []} for part in slices
    ]
    first = chunks[0]
    first["partitions"] = [partition.summary() for partition in partitions]
    # Partitions whose records were mapped and dropped travel as ids and mapped rows instead,
    # packed (see pack): a few MB of text for Airflow to move, not 100,000 nested objects; one
    # blob per partition, so the transform decodes a partition's rows at a time.
    ids = [external_id for partition in partitions if partition.ids for external_id in partition.ids]
    if ids:
        first["ids"] = pack(ids)
    mapped = [pack(partition.mapped) for partition in partitions if partition.mapped]
    if mapped:
        first["mapped"] = mapped
    return chunks


def pack(value: Any) -> str:
    """``value`` as compact text for XCom: msgpack, zlib-compressed, base64.

    Airflow validates and copies an XCom value node by node on its way between the task, the
    API and the metadata DB; one string of a few MB costs almost nothing there, where the same
    rows as JSON objects cost hundreds of MB at 100,000 components.
    """
    return base64.b64encode(zlib.compress(msgspec.msgpack.encode(value), 3)).decode("ascii")


def unpack(text: str) -> Any:
    """The value :func:`pack` packed."""
    return msgspec.msgpack.decode(zlib.decompress(base64.b64decode(text)))


def iter_chunks(value: Any) -> Iterator[dict[str, Any]]:
    """Every chunk inside ``value`` (a chunk, a list of chunks, or nested lists / XCom sequences)."""
    if value is None:
        return
    if isinstance(value, dict):
        yield value
        return
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        for item in value:
            yield from iter_chunks(item)
        return
    raise TypeError(f"not an extraction result: {type(value).__name__}")


@dataclass
class KindResult:
    """Everything extracted for one external_kind in one run."""

    external_kind: str
    records: list[dict[str, Any]] = field(default_factory=list)
    partitions: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    """``external_id``s of records the extract task mapped and dropped (see ``mapped``)."""
    mapped: list[str] = field(default_factory=list)
    """Packed, one per partition: what the extract task's transforms made of its records (see
    ``transform.mapping.map_partition``), used instead of mapping ``records`` again."""

    @property
    def external_ids(self) -> list[str]:
        """Every record's ``external_id``, kept or mapped-and-dropped."""
        return [record["external_id"] for record in self.records] + self.ids

    @property
    def count(self) -> int:
        """How many records were extracted (kept or mapped-and-dropped)."""
        return len(self.records) + len(self.ids)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [partition for partition in self.partitions if partition.get("error")]

    @property
    def complete(self) -> bool:
        return all(partition.get("complete") for partition in self.partitions)

    @property
    def duplicates(self) -> int:
        """Records met again with an ``external_id`` already read.

        Within a partition the record read last replaced the earlier ones (each replaced one is
        counted there). Across the partitions of a ``for_each`` kind both are kept, each in its own
        partition (deletion is scoped by partition), and counted here; the transform merges the
        components they map to in parent order, so the later parent's values win.
        """
        within = sum(partition.get("duplicates", 0) for partition in self.partitions)
        return within + self.count - len(set(self.external_ids))

    @property
    def rejected(self) -> int:
        """Items whose ``exclude`` or ``external_id`` failed: neither kept nor excluded."""
        return sum(partition.get("rejected", 0) for partition in self.partitions)

    def record_problems(self) -> list[str]:
        """One line per partition that rejected items: how many, and the first one's problem."""
        lines = []
        for partition in self.partitions:
            if partition.get("rejected"):
                parent = f" (parent {partition['parent']})" if partition.get("parent") is not None else ""
                first = partition["problems"][0] if partition.get("problems") else "no detail kept"
                lines.append(
                    f"{self.external_kind}{parent}: {partition['rejected']} item(s) neither kept nor "
                    f"excluded, e.g. {first}"
                )
        return lines


def collect(values: Iterable[Any]) -> dict[str, KindResult]:
    """Merge the chunks of every extract task into one :class:`KindResult` per kind."""
    kinds: dict[str, KindResult] = {}
    for chunk in iter_chunks(list(values)):
        kind = kinds.setdefault(chunk["external_kind"], KindResult(chunk["external_kind"]))
        kind.records.extend(chunk.get("records", []))
        kind.partitions.extend(chunk.get("partitions", []))
        if "ids" in chunk:
            kind.ids.extend(unpack(chunk["ids"]))
        kind.mapped.extend(chunk.get("mapped", []))
    return kinds
