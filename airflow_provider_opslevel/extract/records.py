"""Turn one decoded response into records: ``iterator``, then ``exclude``, then ``external_id``.

``iterator`` failing fails the page (its items are unknown). ``exclude`` or ``external_id``
failing for one item is that item's problem: it is counted and described in
:attr:`PageRecords.problems`, never silently kept or dropped, and the page's other items are
still read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.expressions import is_truthy
from airflow_provider_opslevel.extract.errors import RecordError

if TYPE_CHECKING:
    from airflow_provider_opslevel.config.models import Extractor


@dataclass
class PageRecords:
    records: list[dict[str, Any]]
    items: int
    excluded: int
    problems: list[str] = field(default_factory=list)
    """One message per item that is neither a record nor excluded (its ``exclude`` or
    ``external_id`` failed); each names the key, the item's position and the expression."""


def iterate_items(extractor: Extractor, payload: Any) -> list[Any]:
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


def external_id_of(extractor: Extractor, item: Any, position: int) -> str:
    """The item's id as text.

    :raises RecordError: no output, null, ``""``, a boolean, an object or an array.
    :raises ExpressionError: the expression failed on this item.
    """
    expression = extractor.external_id
    outputs = expression.all(item)
    value = outputs[0] if outputs else None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return json.dumps(value)
    if not outputs:
        got = "no output"
    elif isinstance(value, (dict, list)):
        got = f"an {'object' if isinstance(value, dict) else 'array'}"
    else:
        got = json.dumps(value)
    raise RecordError(
        f"{expression.where}: external_id {expression.source!r} gave {got} for item {position} of "
        "the page; every item needs a non-empty string or number as its id"
    )


def is_excluded(extractor: Extractor, item: Any) -> bool:
    if extractor.exclude is None:
        return False
    return any(is_truthy(output) for output in extractor.exclude.all(item))


def page_records(extractor: Extractor, payload: Any) -> PageRecords:
    """Records of one page: ``{"external_id": str, "data": item}`` for each kept item.

    :raises ExpressionError: ``iterator`` failed (the page's items are unknown).
    """
    items = iterate_items(extractor, payload)
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    excluded = 0
    for position, item in enumerate(items):
        try:
            if is_excluded(extractor, item):
                excluded += 1
                continue
        except OpsLevelIntegrationError as exc:
            problems.append(f"{exc} (item {position} of the page, neither kept nor excluded)")
            continue
        try:
            records.append({"external_id": external_id_of(extractor, item, position), "data": item})
        except RecordError as exc:
            problems.append(f"{exc} (not kept)")
        except OpsLevelIntegrationError as exc:  # the expression itself failed on this item
            problems.append(f"{exc} (item {position} of the page, not kept)")
    return PageRecords(records=records, items=len(items), excluded=excluded, problems=problems)
