"""Evaluation of ``ServiceFilterInput`` predicates (``Account.services(filter: [...])``).

Supported keys: ``component_type_id``, ``name``, ``language``, ``framework``, ``product``,
``aliases``, ``owner_id``, ``tag`` (``key`` or ``key:value``), ``tier_index``,
``lifecycle_index``, ``creation_source``. Supported operators: ``equals``,
``does_not_equal``, ``contains``, ``does_not_contain``, ``starts_with``, ``ends_with``,
``exists``, ``does_not_exist``, ``matches_regex``, ``does_not_match_regex``,
``greater_than_or_equal_to``, ``less_than_or_equal_to``. Anything else raises
:class:`ValueError`, which the GraphQL layer turns into a top-level error, so a test never
silently gets "no match" from an unimplemented filter.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from airflow_provider_opslevel.testing._ids import LIFECYCLES, TIERS, make_id

if TYPE_CHECKING:
    from airflow_provider_opslevel.testing._catalog_data import CatalogData
    from airflow_provider_opslevel.testing._catalog_records import StoredComponent


def _values(catalog: CatalogData, component: StoredComponent, key: str) -> list[Any]:
    if key == "component_type_id":
        return [component.type_id]
    if key in ("name", "language", "framework", "product"):
        value = getattr(component, key)
        return [] if value is None else [value]
    if key == "aliases":
        return component.aliases
    if key == "owner_id":
        return [] if component.owner is None else [component.owner, make_id("Team", component.owner)]
    if key == "tag":
        return [v for t in component.tags.values() for v in (t.key, f"{t.key}:{t.value}")]
    if key == "tier_index":
        return [TIERS[component.tier][1]] if component.tier in TIERS else []
    if key == "lifecycle_index":
        return [LIFECYCLES[component.lifecycle][1]] if component.lifecycle in LIFECYCLES else []
    if key == "creation_source":
        return ["api"]
    raise ValueError(f"filter key '{key}' is not supported by the fake")


def _compare(values: list[Any], op: str, arg: str | None, case_sensitive: bool) -> bool:
    def norm(value: Any) -> str:
        text = str(value)
        return text if case_sensitive else text.lower()

    texts = [norm(v) for v in values]
    needle = norm(arg if arg is not None else "")
    positive = {
        "equals": lambda: needle in texts,
        "contains": lambda: any(needle in t for t in texts),
        "starts_with": lambda: any(t.startswith(needle) for t in texts),
        "ends_with": lambda: any(t.endswith(needle) for t in texts),
        "exists": lambda: bool(texts),
        "matches_regex": lambda: any(
            re.search(arg or "", str(v), 0 if case_sensitive else re.I) for v in values
        ),
        "greater_than_or_equal_to": lambda: any(_number(v) >= _number(arg) for v in values),
        "less_than_or_equal_to": lambda: any(_number(v) <= _number(arg) for v in values),
    }
    negated = {
        "does_not_equal": "equals",
        "does_not_contain": "contains",
        "does_not_exist": "exists",
        "does_not_match_regex": "matches_regex",
    }
    if op in positive:
        return bool(positive[op]())
    if op in negated:
        return not positive[negated[op]]()
    raise ValueError(f"filter type '{op}' is not supported by the fake")


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def component_matches(catalog: CatalogData, component: StoredComponent, predicate: dict[str, Any]) -> bool:
    """Whether ``component`` satisfies one ``ServiceFilterInput`` (nested predicates included).

    :raises ValueError: unsupported key or operator.
    """
    if predicate.get("predicates"):
        results = (component_matches(catalog, component, p) for p in predicate["predicates"])
        return all(results) if predicate.get("connective") == "and" else any(results)
    key = predicate.get("key")
    if key is None:
        raise ValueError("filter without key or predicates")
    values = _values(catalog, component, key)
    return _compare(
        values, predicate.get("type") or "equals", predicate.get("arg"), bool(predicate.get("caseSensitive"))
    )
