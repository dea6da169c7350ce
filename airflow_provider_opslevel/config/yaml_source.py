"""YAML loading that remembers the line of every mapping key, value and list item.

PyYAML's plain ``safe_load`` forgets where values came from; errors must name a line, so a
:class:`yaml.SafeLoader` subclass builds :class:`YamlMapping` / :class:`YamlSequence` (``dict`` /
``list`` subclasses) carrying a :class:`Position` per entry, plus the raw text of scalars so a
YAML-typed scalar (``true``, ``1.0``, ``2024-01-01``) can still be read as the string the user wrote.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from airflow_provider_opslevel.errors import ConfigError, Location

__all__ = ["Position", "YamlMapping", "YamlSequence", "load_yaml_file"]


@dataclass(frozen=True)
class Position:
    """Where one mapping entry or list item is.

    :param key_line: line of the key (the ``-`` line for a list item).
    :param value_line: first line of the value's content (the line after ``|``/``>`` for block scalars).
    :param raw: the scalar's text as written (``None`` for mappings and lists).
    """

    key_line: int
    value_line: int
    raw: str | None


class YamlMapping(dict[Any, Any]):
    """A ``dict`` that knows its own line, each entry's :class:`Position` and repeated keys."""

    line: int
    positions: dict[Any, Position]
    duplicate_keys: list[tuple[Any, int]]

    def position(self, key: Any) -> Position:
        """Position of ``key``; falls back to the mapping's own line for absent keys."""
        return self.positions.get(key) or Position(self.line, self.line, None)


class YamlSequence(list[Any]):
    """A ``list`` that knows its own line and each item's :class:`Position`."""

    line: int
    positions: list[Position]

    def entries(self) -> list[tuple[Any, Position]]:
        """``(item, position)`` pairs in order."""
        return list(zip(self, self.positions, strict=True))


def _value_line(node: Node) -> int:
    line = int(node.start_mark.line) + 1
    # Block scalar content starts on the line after the "|" / ">" indicator.
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        return line + 1
    return line


def _position(key_node: Node | None, value_node: Node) -> Position:
    key_line = int((key_node or value_node).start_mark.line) + 1
    raw = value_node.value if isinstance(value_node, ScalarNode) else None
    return Position(key_line, _value_line(value_node), raw)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader building YamlMapping / YamlSequence."""


def _construct_mapping(loader: _LineLoader, node: MappingNode) -> Any:
    data = YamlMapping()
    data.line = int(node.start_mark.line) + 1
    data.positions = {}
    data.duplicate_keys = []
    yield data
    explicit = len([pair for pair in node.value if pair[0].tag != "tag:yaml.org,2002:merge"])
    loader.flatten_mapping(node)  # resolves "<<: *anchor" merge keys
    first_explicit = len(node.value) - explicit
    explicit_keys: set[Any] = set()
    for number, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
            ) from None
        # Keys from a merged anchor may be overridden; two explicit entries for one key are a mistake.
        if number >= first_explicit:
            if key in explicit_keys:
                data.duplicate_keys.append((key, int(key_node.start_mark.line) + 1))
            explicit_keys.add(key)
        data[key] = loader.construct_object(value_node, deep=True)
        data.positions[key] = _position(key_node, value_node)


def _construct_sequence(loader: _LineLoader, node: SequenceNode) -> Any:
    data = YamlSequence()
    data.line = int(node.start_mark.line) + 1
    data.positions = []
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.positions.append(_position(None, item))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_yaml_file(path: str | os.PathLike[str]) -> list[Any]:
    """Parse every YAML document in ``path``.

    :param path: the file; error locations use it as given.
    :returns: the documents (``YamlMapping``, ``YamlSequence`` or scalars), empty ones dropped.
    :raises ConfigError: the file cannot be read or is not valid YAML (with the line).
    """
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError.single(Location(file), f"cannot read file: {error}") from None
    try:
        documents = list(yaml.load_all(text, Loader=_LineLoader))  # _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        detail = error.problem or error.context or "syntax error"
        if error.problem and error.context:
            context_line = int(error.context_mark.line) + 1 if error.context_mark is not None else None
            detail += f" ({error.context}{f' at line {context_line}' if context_line != line else ''})"
        raise ConfigError.single(Location(file, line), f"invalid YAML: {detail}") from None
    except yaml.YAMLError as error:
        raise ConfigError.single(Location(file), f"invalid YAML: {error}") from None
    return [document for document in documents if document is not None]
