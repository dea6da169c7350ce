"""``load_integration``: read, validate and cache an extract + transform pair.

All problems in both documents are collected and raised together in one
:class:`~airflow_provider_opslevel.errors.ConfigError` (a
:class:`~airflow_provider_opslevel.errors.NotSupportedYetError` when the only problems are
features not implemented yet), so a DAG import error lists everything to fix at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from airflow_provider_opslevel.config.extract_document import ParsedExtractor, parse_extractor, parse_oauth
from airflow_provider_opslevel.config.fields import ItemContext, read_top_mapping
from airflow_provider_opslevel.config.file_cache import FileCache
from airflow_provider_opslevel.config.integration import Integration
from airflow_provider_opslevel.config.transform_document import ParsedTransform, parse_transform
from airflow_provider_opslevel.config.yaml_source import Position, YamlMapping
from airflow_provider_opslevel.errors import (
    ConfigError,
    ConfigProblem,
    NotSupportedYetError,
    did_you_mean,
)
from airflow_provider_opslevel.templating import TemplateEngine

__all__ = ["clear_cache", "load_integration"]

PathLike = str | os.PathLike[str]

_ENGINE = TemplateEngine()
_cache: FileCache[Integration] = FileCache()


def load_integration(extract_path: PathLike, transform_path: PathLike) -> Integration:
    """Load and validate an integration; cheap to call again while the files are unchanged.

    The result is cached by each file's (path as given, resolved path, mtime_ns, size), so
    re-parsing a DAG file does not re-read the YAML. Pass the same path twice for a single file
    holding both ``extractors:`` and ``transforms:`` (one document, or two separated by ``---``).

    :param extract_path: the document with ``extractors:`` (and optionally ``oauth:``).
    :param transform_path: the document with ``transforms:``.
    :raises ConfigError: every problem found, each with file, line, item and key.
    :raises NotSupportedYetError: the configuration is valid but uses ``http_polling.rate_limit``.
    """
    return _cache.get((extract_path, transform_path), lambda: _load(extract_path, transform_path))


def clear_cache() -> None:
    """Forget every cached integration."""
    _cache.clear()


def _same_file(first: PathLike, second: PathLike) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return os.fspath(first) == os.fspath(second)


def _load(extract_path: PathLike, transform_path: PathLike) -> Integration:
    extract_file, transform_file = os.fspath(extract_path), os.fspath(transform_path)
    problems: list[ConfigProblem] = []
    single = _same_file(extract_file, transform_file)
    if single:
        allowed = ("extractors", "oauth", "transforms")
        extract_doc = transform_doc = _read_document(extract_file, problems, allowed, {})
    else:
        belongs_elsewhere = "; it belongs in the {} document, not this one"
        extract_doc = _read_document(
            extract_file,
            problems,
            ("extractors", "oauth"),
            {"transforms": belongs_elsewhere.format("transform")},
        )
        transform_doc = _read_document(
            transform_file,
            problems,
            ("transforms",),
            {"extractors": belongs_elsewhere.format("extract"), "oauth": belongs_elsewhere.format("extract")},
        )

    extractors = _read_extractors(extract_file, extract_doc, problems) if extract_doc is not None else []
    transforms = (
        _read_transforms(transform_file, transform_doc, problems) if transform_doc is not None else []
    )
    oauth = None
    if extract_doc is not None and "oauth" in extract_doc:
        position = extract_doc.position("oauth")
        oauth = parse_oauth(extract_file, problems, _ENGINE, extract_doc["oauth"], position)

    _check_extractor_graph(extractors)
    known = [e.kind for e in extractors if e.kind]
    if extractors and len(known) == len(extractors):  # else every transform would be reported too
        _check_transform_kinds(transforms, known)

    if problems:
        if all(problem.not_supported for problem in problems):
            raise NotSupportedYetError(problems)
        raise ConfigError(problems)
    return Integration(
        extractors=tuple(e.model for e in extractors if e.model is not None),
        transforms=tuple(t.model for t in transforms if t.model is not None),
        extract_path=Path(extract_path),
        transform_path=Path(transform_path),
        oauth=oauth,
    )


def _read_document(
    file: str, problems: list[ConfigProblem], allowed: tuple[str, ...], hints: dict[str, str]
) -> YamlMapping | None:
    """Read ``file`` as one top-level mapping; with one file for both documents, its keys are
    checked against the union once."""
    return read_top_mapping(file, problems, allowed, hints)


def _read_list(
    file: str, document: YamlMapping, key: str, problems: list[ConfigProblem]
) -> Iterable[tuple[int, Any, Position]]:
    top = ItemContext(file, problems)
    if key not in document:
        top.problem(key, document.line, f"missing required key '{key}'")
        return []
    items = top.sequence(document[key], key, document.position(key))
    if items is None:
        return []
    return [(index, item, position) for index, (item, position) in enumerate(items.entries())]


def _read_extractors(
    file: str, document: YamlMapping, problems: list[ConfigProblem]
) -> list[ParsedExtractor]:
    items = list(_read_list(file, document, "extractors", problems))
    if not items and "extractors" in document and isinstance(document["extractors"], list):
        ItemContext(file, problems).problem(
            "extractors",
            document.position("extractors").value_line,
            "extractors must list at least one extractor",
        )
    return [
        parse_extractor(file, problems, _ENGINE, index, item, position) for index, item, position in items
    ]


def _read_transforms(
    file: str, document: YamlMapping, problems: list[ConfigProblem]
) -> list[ParsedTransform]:
    items = _read_list(file, document, "transforms", problems)
    return [parse_transform(file, problems, index, item, position) for index, item, position in items]


def _check_extractor_graph(extractors: list[ParsedExtractor]) -> None:
    """Duplicate kinds, ``for_each`` naming unknown kinds, and ``for_each`` cycles."""
    by_kind: dict[str, ParsedExtractor] = {}
    for parsed in extractors:
        if parsed.kind is None:
            continue
        first = by_kind.get(parsed.kind)
        if first is None:
            by_kind[parsed.kind] = parsed
            continue
        context = parsed.context
        first_line = first.context.locations["external_kind"].line
        context.problem(
            "external_kind",
            context.locations["external_kind"].line,
            f"duplicate external_kind '{parsed.kind}'; "
            f"extractors[{first.index}] (line {first_line}) already has it",
        )

    for parsed in extractors:
        if parsed.for_each is not None and parsed.for_each not in by_kind:
            location = parsed.context.locations["http_polling.for_each"]
            others = [kind for kind in by_kind if kind != parsed.kind]
            hint = did_you_mean(parsed.for_each, others)
            parsed.context.problem(
                "http_polling.for_each",
                location.line,
                f"for_each names unknown external_kind '{parsed.for_each}'{hint}",
            )

    reported: set[frozenset[str]] = set()
    for parsed in extractors:
        if parsed.kind is None or by_kind.get(parsed.kind) is not parsed:
            continue
        path = [parsed.kind]
        parent = parsed.for_each
        while parent is not None and parent in by_kind and parent not in path:
            path.append(parent)
            parent = by_kind[parent].for_each
        if parent is None or parent not in path:
            continue
        cycle = path[path.index(parent) :]
        if frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        # Report once, at the cycle member written first, starting the cycle there.
        start = min((by_kind[kind] for kind in cycle), key=lambda p: p.index)
        assert start.kind is not None
        rotated = cycle[cycle.index(start.kind) :] + cycle[: cycle.index(start.kind)]
        location = start.context.locations["http_polling.for_each"]
        start.context.problem(
            "http_polling.for_each",
            location.line,
            f"for_each forms a cycle: {' → '.join([*rotated, rotated[0]])}",
        )


def _check_transform_kinds(transforms: list[ParsedTransform], known: list[str]) -> None:
    """Every transform must map a kind that some extractor produces."""
    for parsed in transforms:
        kind = parsed.context.external_kind
        if kind is not None and kind not in known:
            parsed.context.problem(
                "external_kind",
                parsed.context.locations["external_kind"].line,
                f"no extractor produces external_kind '{kind}'{did_you_mean(kind, known)}",
            )
