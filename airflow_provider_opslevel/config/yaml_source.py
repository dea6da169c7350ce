"""YAML loading that remembers the line of every mapping key, value and list item.

PyYAML's plain ``safe_load`` forgets where values came from; errors must name a line, so a
:class:`yaml.SafeLoader` subclass builds :class:`YamlMapping` / :class:`YamlSequence` (``dict`` /
``list`` subclasses) carrying a :class:`Position` per entry, plus the raw text of scalars so a
YAML-typed scalar (``true``, ``1.0``, ``2024-01-01``) can still be read as the string the user wrote.

The YAML author is not trusted, so reading is bounded before anything walks the result: the file's
size (:data:`MAX_DOCUMENT_BYTES`) is checked before it is parsed, and while PyYAML composes the
nodes (its parser is iterative; only the composer recurses) every node is counted against
:data:`MAX_DEPTH`, :data:`MAX_NODES` (an alias counts as every node its anchor holds, which is
what stops "billion laughs") and :data:`MAX_DOCUMENTS`. The first node over a limit stops the
load with a :class:`ConfigError` naming its line. Only safe tags are constructed (a
:class:`yaml.SafeLoader`; ``!!python/...`` is refused).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from airflow_provider_opslevel.errors import ConfigError, Location

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENTS",
    "MAX_DOCUMENT_BYTES",
    "MAX_NODES",
    "Position",
    "YamlMapping",
    "YamlSequence",
    "load_yaml_file",
]

#: Largest file read (512 KiB); real extract, transform and catalog documents are a few KiB, and
#: PyYAML reads at worst about 1.5 MB of text per CPU second.
MAX_DOCUMENT_BYTES = 512 * 1024
#: Deepest nesting of mappings and lists; keeps every recursive walk of the result far from
#: Python's recursion limit (real documents nest fewer than 10 levels).
MAX_DEPTH = 64
#: Most nodes (mapping keys, values, list items) one file may expand to, aliases expanded;
#: PyYAML composes about 30,000 per CPU second, a large catalog has a few thousand.
MAX_NODES = 20_000
#: Most ``---``-separated YAML documents in one file (the loaders merge them into one mapping).
MAX_DOCUMENTS = 16


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
    """A ``dict`` that knows its own line, each entry's :class:`Position` and repeated keys.

    :ivar duplicate_keys: ``(key, line)`` of every entry that repeats an earlier key.
    :ivar first_lines: line of the first occurrence of each repeated key.
    """

    line: int
    positions: dict[Any, Position]
    duplicate_keys: list[tuple[Any, int]]
    first_lines: dict[Any, int]

    def __init__(self) -> None:
        super().__init__()
        self.line, self.positions, self.duplicate_keys, self.first_lines = 1, {}, [], {}

    def position(self, key: Any) -> Position:
        """Position of ``key``; falls back to the mapping's own line for absent keys."""
        return self.positions.get(key) or Position(self.line, self.line, None)

    def add_duplicate(self, key: Any, line: int) -> None:
        """Record that ``key`` is given again at ``line`` (call before overwriting its position).

        :param key: the repeated key.
        :param line: line of the repetition.
        """
        self.first_lines.setdefault(key, self.position(key).key_line)
        self.duplicate_keys.append((key, line))


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


# PyYAML's scanner looks up to 1,024 characters ahead for a possible key and checks every open
# flow level per token, so a line of brackets costs it quadratic time before the composer ever
# sees the depth; such a run is refused before parsing.
_BRACKET_RUN = re.compile(r"(?:[\[{][ \t]*){" + str(MAX_DEPTH + 1) + "}")


class _LimitExceededError(yaml.YAMLError):
    """A document goes over one of the module's limits at ``mark``."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.line = int(mark.line) + 1 if mark is not None else None
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_limit_error, (self.line, self.message))


def _limit_error(line: int | None, message: str) -> _LimitExceededError:
    error = _LimitExceededError(None, message)
    error.line = line
    return error


class _LineLoader(yaml.SafeLoader):
    """SafeLoader building YamlMapping / YamlSequence, refusing documents over the limits.

    The checks sit in :meth:`compose_node`, which sees every node before the composer
    recurses into it: nothing deeper than :data:`MAX_DEPTH` is composed and the count of
    nodes (aliases expanded) stops at :data:`MAX_NODES` however few bytes produced it.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._anchor_sizes: dict[Node, int] = {}  # anchored node -> nodes it expands to

    def compose_document(self) -> Node | None:
        self._anchor_sizes = {}  # anchors do not reach across documents
        return super().compose_document()

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # else the composer reports the undefined alias
                size = self._anchor_sizes.get(target)
                if size is None:  # registered but not finished: the alias is inside its anchor
                    raise _LimitExceededError(
                        event.start_mark,
                        f"alias *{event.anchor} is used inside the value it names (a recursive alias)",
                    )
                self._count(size, event.start_mark)
            return super().compose_node(parent, index)
        nested = isinstance(event, CollectionStartEvent)
        if nested:
            if self._depth >= MAX_DEPTH:
                raise _LimitExceededError(
                    event.start_mark, f"nesting is deeper than {MAX_DEPTH} levels (the limit)"
                )
            self._depth += 1
        self._count(1, event.start_mark)
        before = self._nodes
        try:
            node = super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1
        if event.anchor is not None and node is not None:
            self._anchor_sizes[node] = self._nodes - before + 1
        return node

    def _count(self, nodes: int, mark: Any) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise _LimitExceededError(
                mark,
                f"the file expands to more than {MAX_NODES:,} values (the limit; "
                "an alias counts every value of its anchor)",
            )


def _construct_mapping(loader: _LineLoader, node: MappingNode) -> Any:
    data = YamlMapping()
    data.line = int(node.start_mark.line) + 1
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
                data.add_duplicate(key, int(key_node.start_mark.line) + 1)
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
    """Parse every YAML document in ``path``, within the module's limits.

    :param path: the file; error locations use it as given.
    :returns: the documents (``YamlMapping``, ``YamlSequence`` or scalars), empty ones dropped.
    :raises ConfigError: the file cannot be read, is not UTF-8, is not valid YAML or goes over a
        limit (each with the line).
    """
    file = os.fspath(path)
    text = _read_text(file)
    run = _BRACKET_RUN.search(text)
    if run is not None:
        run_line = text.count("\n", 0, run.start()) + 1
        raise ConfigError.single(
            Location(file, run_line), f"nesting is deeper than {MAX_DEPTH} levels (the limit)"
        )
    loader = _LineLoader(text)  # a SafeLoader
    documents: list[Any] = []
    try:
        while loader.check_data():
            if len(documents) == MAX_DOCUMENTS:
                raise _LimitExceededError(
                    loader.peek_event().start_mark,
                    f"more than {MAX_DOCUMENTS} YAML documents in one file (the limit)",
                )
            documents.append(loader.get_data())
    except _LimitExceededError as error:
        raise ConfigError.single(Location(file, error.line), error.message) from None
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
    finally:
        loader.dispose()
    return [document for document in documents if document is not None]


def _read_text(file: str) -> str:
    """The file as text; at most :data:`MAX_DOCUMENT_BYTES` are ever read."""
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
            size = max(os.fstat(handle.fileno()).st_size, len(data))
    except OSError as error:
        raise ConfigError.single(Location(file), f"cannot read file: {error}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        line = data.count(b"\n", 0, MAX_DOCUMENT_BYTES) + 1  # where the limit is crossed
        raise ConfigError.single(
            Location(file, line),
            f"the file has {size:,} bytes, more than the limit of {MAX_DOCUMENT_BYTES:,}; "
            "the limit is reached at this line",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise ConfigError.single(
            Location(file, line),
            f"the file is not UTF-8: byte 0x{data[error.start]:02x} at column {column} ({error.reason})",
        ) from None
