"""Turn one decoded response into records: ``iterator``, then ``exclude``, then ``external_id``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.expressions import is_truthy


class RecordError(OpsLevelIntegrationError):
    """An item the extractor cannot turn into a record (no usable ``external_id``)."""


@dataclass
class PageRecords:
    records: list[dict[str, Any]]
    items: int
    excluded: int


def iterate_items(extractor: Any, payload: Any) -> list[Any]:
    """Apply ``iterator``. Each output that is an array is flattened one level.

    OpsLevel's seed uses ``"."`` on a JSON array while its prose says ``".[]"``; flattening makes
    both yield the array's elements.
    """
    items: list[Any] = []
    for output in extractor.iterator.all(payload):
        if isinstance(output, list):
            items.extend(output)
        elif output is not None:
            items.append(output)
    return items


def external_id_of(extractor: Any, item: Any, position: int) -> str:
    value = extractor.external_id.first(item)
    if value is None or value == "" or isinstance(value, bool):
        raise RecordError(
            f"{extractor.external_id.where}: external_id {extractor.external_id.source!r} gave "
            f"{json.dumps(value)} for item {position} of the page; every item needs a non-empty id"
        )
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.dumps(value)
    raise RecordError(
        f"{extractor.external_id.where}: external_id {extractor.external_id.source!r} gave a "
        f"{type(value).__name__} for item {position} of the page; expected a string or a number"
    )


def is_excluded(extractor: Any, item: Any) -> bool:
    if extractor.exclude is None:
        return False
    return any(is_truthy(output) for output in extractor.exclude.all(item))


def page_records(extractor: Any, payload: Any) -> PageRecords:
    """Records of one page: ``{"external_id": str, "data": item}`` for each kept item."""
    items = iterate_items(extractor, payload)
    records: list[dict[str, Any]] = []
    excluded = 0
    for position, item in enumerate(items):
        if is_excluded(extractor, item):
            excluded += 1
            continue
        records.append({"external_id": external_id_of(extractor, item, position), "data": item})
    return PageRecords(records=records, items=len(items), excluded=excluded)
