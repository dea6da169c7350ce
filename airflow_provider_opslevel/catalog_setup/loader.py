"""``load_catalog``: read, validate and cache a catalog document (format: see the package docstring).

Reuses the config machinery: :func:`~airflow_provider_opslevel.config.yaml_source.load_yaml_file`
(line-keeping YAML), :class:`~airflow_provider_opslevel.config.fields.ItemContext` (typed readers
that record problems) and :class:`~airflow_provider_opslevel.errors.ConfigError`. Every problem
in the file is collected and raised together, each naming file, line, item and key, e.g.
``catalog.yaml:12: component_types[0] (sentry_issue) properties[2].schema: ...``.

Here: the file as a whole. Each item is read by :mod:`.item_parsers` (a property's ``schema`` by
:mod:`.schema_checks`), then checked across items by :mod:`.cross_checks`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from airflow_provider_opslevel.catalog_setup.cross_checks import (
    check_duplicates,
    finish_rules,
    relationship_model,
)
from airflow_provider_opslevel.catalog_setup.item_parsers import (
    ParsedRelationship,
    ParsedType,
    parse_relationship,
    parse_type,
)
from airflow_provider_opslevel.catalog_setup.models import CatalogDocument, ComponentTypeSpec
from airflow_provider_opslevel.config.fields import ItemContext, read_top_mapping
from airflow_provider_opslevel.config.file_cache import FileCache, PathLike
from airflow_provider_opslevel.config.yaml_source import Position, YamlMapping
from airflow_provider_opslevel.errors import ConfigError, ConfigProblem

__all__ = ["clear_cache", "load_catalog"]

TOP_KEYS = ("component_types", "relationship_definitions")

_ELSEWHERE = "; it belongs in the {} document, not in the catalog document"
_TOP_HINTS = {
    "extractors": _ELSEWHERE.format("extract"),
    "oauth": _ELSEWHERE.format("extract"),
    "transforms": _ELSEWHERE.format("transform"),
}

_cache: FileCache[CatalogDocument] = FileCache()


def load_catalog(path: PathLike) -> CatalogDocument:
    """Load and validate a catalog document; cheap to call again while the file is unchanged.

    Cached by (path as given, resolved path, mtime_ns, size); invalid documents are not cached.

    :param path: the YAML file (``component_types:`` and/or ``relationship_definitions:``).
    :raises ConfigError: every problem found, each with file, line, item and key.
    """
    return _cache.get((path,), lambda: _load(path))


def clear_cache() -> None:
    """Forget every cached catalog document."""
    _cache.clear()


def _load(path: PathLike) -> CatalogDocument:
    file = os.fspath(path)
    problems: list[ConfigProblem] = []
    top = _read_top(file, problems)
    types: list[ParsedType] = []
    relationships: list[ParsedRelationship] = []
    if top is not None:
        for index, item, position in _read_list(file, top, "component_types", problems):
            types.append(parse_type(file, problems, index, item, position))
        for index, item, position in _read_list(file, top, "relationship_definitions", problems):
            relationships.append(parse_relationship(file, problems, index, item, position))
    check_duplicates(types, relationships)
    declared = {t.alias: t for t in types if t.alias}
    rule_models = {id(r): finish_rules(r, declared) for r in relationships}
    if problems:
        raise ConfigError(problems)
    return CatalogDocument(
        path=Path(path),
        component_types=tuple(cast(ComponentTypeSpec, t.model) for t in types),
        relationship_definitions=tuple(relationship_model(r, rule_models[id(r)]) for r in relationships),
    )


def _read_top(file: str, problems: list[ConfigProblem]) -> YamlMapping | None:
    """The file as one mapping (``---``-separated documents are merged, like the integration loader)."""
    before = len(problems)
    merged = read_top_mapping(file, problems, TOP_KEYS, _TOP_HINTS)
    if merged is not None and len(problems) == before and not any(key in merged for key in TOP_KEYS):
        ItemContext(file, problems).problem(
            None, merged.line, f"expected a mapping with the key(s) {', '.join(TOP_KEYS)}; found neither"
        )
    return merged


def _read_list(
    file: str, top: YamlMapping, key: str, problems: list[ConfigProblem]
) -> Iterable[tuple[int, Any, Position]]:
    if key not in top or top[key] is None:
        return []
    items = ItemContext(file, problems).sequence(top[key], key, top.position(key))
    if items is None:
        return []
    return [(index, item, position) for index, (item, position) in enumerate(items.entries())]
