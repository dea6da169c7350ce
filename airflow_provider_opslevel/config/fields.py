"""Readers for typed YAML fields (and a document's top-level mapping) that collect problems.

Each reader takes an :class:`ItemContext` (which knows the file, section, index and
external_kind of the item being read) and returns the value, or ``None`` after recording a
:class:`~airflow_provider_opslevel.errors.ConfigProblem`.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable
from dataclasses import replace
from typing import Any

from airflow_provider_opslevel.config.yaml_source import Position, YamlMapping, YamlSequence, load_yaml_file
from airflow_provider_opslevel.errors import ConfigError, ConfigProblem, Location, did_you_mean
from airflow_provider_opslevel.expressions import JqExpression
from airflow_provider_opslevel.templating import Template, TemplateEngine

__all__ = ["ItemContext", "type_name"]


def type_name(value: Any) -> str:
    """Name a YAML value's type the way a YAML author thinks of it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date"
    return type(value).__name__


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, int, float, datetime.date, datetime.datetime))


class ItemContext:
    """Reads the keys of one item and records problems located in it.

    :param file: the YAML file, as given to the loader.
    :param problems: shared list the problems are appended to.
    :param section: ``"extractors"``, ``"transforms"``, ``"oauth"`` or ``None`` (top level).
    :param index: the item's position in its section.
    """

    def __init__(
        self, file: str, problems: list[ConfigProblem], section: str | None = None, index: int | None = None
    ) -> None:
        self.file = file
        self.problems = problems
        self.section = section
        self.index = index
        self.external_kind: str | None = None
        self.locations: dict[str, Location] = {}
        self._problems_at_start = len(problems)

    # ----------------------------------------------------------------- locations and problems

    def location(self, key: str | None, line: int | None) -> Location:
        """Location of ``key`` (a dotted path inside the item) at ``line``."""
        return Location(self.file, line, self.section, self.index, self.external_kind, key)

    def problem(
        self, key: str | None, line: int | None, message: str, *, not_supported: bool = False
    ) -> None:
        """Record a problem at ``key`` / ``line``."""
        self.problems.append(ConfigProblem(self.location(key, line), message, not_supported))

    def absorb(self, error: ConfigError) -> None:
        """Record the problems of a ConfigError raised by a jq or template compile."""
        self.problems.extend(error.problems)

    @property
    def ok(self) -> bool:
        """True while no problem was recorded for this item."""
        return len(self.problems) == self._problems_at_start

    def final_locations(self) -> dict[str, Location]:
        """Recorded locations, all stamped with the item's external_kind (read after some of them)."""
        return {
            path: replace(location, external_kind=self.external_kind)
            for path, location in self.locations.items()
        }

    def remember(self, path: str, position: Position) -> Location:
        """Record and return the location of the value at ``path``."""
        location = self.location(path, position.value_line)
        self.locations[path] = location
        return location

    # ----------------------------------------------------------------- structure

    def check_keys(
        self,
        mapping: YamlMapping,
        prefix: str,
        allowed: Collection[str],
        required: Iterable[str] = (),
        hints: dict[str, str] | None = None,
    ) -> None:
        """Report repeated keys, unknown keys (with a suggestion) and missing required keys.

        :param mapping: the mapping being read.
        :param prefix: dotted path of the mapping inside the item (``""`` or ``"http_polling."``).
        :param allowed: every valid key.
        :param required: keys that must be present.
        :param hints: extra text for specific unknown keys.
        """
        for key, line in mapping.duplicate_keys:
            first = mapping.first_lines.get(key, mapping.line)
            self.problem(f"{prefix}{key}", line, f"key '{key}' is given more than once (first at line {first})")
        for key in mapping:
            if key not in allowed:
                text = str(key)
                hint = (hints or {}).get(text) or did_you_mean(text, allowed)
                self.problem(f"{prefix}{text}", mapping.position(key).key_line, f"unknown key '{text}'{hint}")
        for key in required:
            if key not in mapping:
                self.problem(f"{prefix}{key}", mapping.line, f"missing required key '{key}'")

    def mapping(self, value: Any, path: str, position: Position) -> YamlMapping | None:
        """Return ``value`` if it is a mapping, else record "expected a mapping"."""
        if isinstance(value, YamlMapping):
            return value
        self.problem(path or None, position.value_line, f"expected a mapping, got {type_name(value)}")
        return None

    def sequence(self, value: Any, path: str, position: Position, hint: str = "") -> YamlSequence | None:
        """Return ``value`` if it is a list, else record "expected a list"."""
        if isinstance(value, YamlSequence):
            return value
        self.problem(path, position.value_line, f"expected a list, got {type_name(value)}{hint}")
        return None

    def get(self, mapping: YamlMapping, key: str, prefix: str, required: bool) -> tuple[Any, Position] | None:
        """Return ``(value, position)`` of a present, non-null key; record a problem for a
        required key given as null (an absent required key is reported by :meth:`check_keys`)."""
        if key not in mapping:
            return None
        position = mapping.position(key)
        self.remember(f"{prefix}{key}", position)
        if mapping[key] is None:
            if required:
                self.problem(f"{prefix}{key}", position.value_line, f"'{key}' has no value")
            return None
        return mapping[key], position

    # ----------------------------------------------------------------- typed values

    def text(self, value: Any, path: str, position: Position, what: str = "a string") -> str | None:
        """A string; other scalars count as the text the user wrote (``true``, ``1.5``)."""
        if isinstance(value, str):
            return value
        if _is_scalar(value) and position.raw is not None:
            return position.raw
        self.problem(path, position.value_line, f"expected {what}, got {type_name(value)}")
        return None

    def string(self, mapping: YamlMapping, key: str, prefix: str = "", required: bool = False) -> str | None:
        """Read a non-empty plain string."""
        found = self.get(mapping, key, prefix, required)
        if found is None:
            return None
        value = self.text(found[0], f"{prefix}{key}", found[1])
        if value is not None and not value.strip():
            self.problem(f"{prefix}{key}", found[1].value_line, f"'{key}' is empty")
            return None
        return value

    def jq(
        self, mapping: YamlMapping, key: str, prefix: str = "", required: bool = False
    ) -> JqExpression | None:
        """Read and compile a jq expression."""
        found = self.get(mapping, key, prefix, required)
        return None if found is None else self.jq_value(found[0], f"{prefix}{key}", found[1])

    def jq_value(self, value: Any, path: str, position: Position) -> JqExpression | None:
        """Compile ``value`` (found at ``path``) as jq."""
        source = self.text(value, path, position, "a jq expression (a string)")
        if source is None:
            return None
        try:
            return JqExpression(source, self.remember(path, position))
        except ConfigError as error:
            self.absorb(error)
            return None

    def template(
        self,
        engine: TemplateEngine,
        mapping: YamlMapping,
        key: str,
        prefix: str,
        names: Collection[str],
        required: bool = False,
    ) -> Template | None:
        """Read and compile a template that may read only ``names``."""
        found = self.get(mapping, key, prefix, required)
        if found is None:
            return None
        path = f"{prefix}{key}"
        source = self.text(found[0], path, found[1], "a template (a string)")
        if source is None:
            return None
        try:
            return engine.compile(source, self.remember(path, found[1]), names)
        except ConfigError as error:
            self.absorb(error)
            return None

    def choice(
        self, mapping: YamlMapping, key: str, prefix: str, choices: Collection[str], *, upper: bool = False
    ) -> str | None:
        """Read one of ``choices`` (matched case-insensitively, returned normalised)."""
        found = self.get(mapping, key, prefix, required=True)
        if found is None:
            return None
        text = self.text(found[0], f"{prefix}{key}", found[1])
        if text is None:
            return None
        normalised = text.strip().upper() if upper else text.strip().lower()
        if normalised in choices:
            return normalised
        allowed = ", ".join(choices)
        self.problem(
            f"{prefix}{key}",
            found[1].value_line,
            f"invalid value '{text}' for '{key}'; expected one of: {allowed}",
        )
        return None

    def positive_int(self, mapping: YamlMapping, key: str, prefix: str = "") -> int | None:
        """Read an integer > 0."""
        found = self.get(mapping, key, prefix, required=False)
        if found is None:
            return None
        value, position = found
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(
                f"{prefix}{key}", position.value_line, f"expected an integer, got {type_name(value)}"
            )
            return None
        if value <= 0:
            self.problem(
                f"{prefix}{key}", position.value_line, f"'{key}' must be a positive integer, got {value}"
            )
            return None
        return value


def read_top_mapping(
    file: str, problems: list[ConfigProblem], allowed: tuple[str, ...], hints: dict[str, str] | None = None
) -> YamlMapping | None:
    """Read ``file`` as one top-level mapping, merging ``---``-separated documents.

    Used by the integration and catalog loaders alike. A key given in two documents is a
    repeated key; unknown top-level keys are reported against ``allowed`` (with ``hints``).

    :returns: the merged mapping, or ``None`` when the file is unreadable, empty or holds no
        mapping (each reported in ``problems``).
    """
    try:
        documents = load_yaml_file(file)
    except ConfigError as error:
        problems.extend(error.problems)
        return None
    top = ItemContext(file, problems)
    expected = f"expected a mapping with the key(s) {', '.join(allowed)}"
    if not documents:
        top.problem(None, 1, f"the file is empty; {expected}")
        return None
    merged = YamlMapping()
    for document in documents:
        if not isinstance(document, YamlMapping):
            top.problem(None, getattr(document, "line", 1), f"{expected}, got {type_name(document)}")
            continue
        if not merged:
            merged.line = document.line
        merged.duplicate_keys.extend(document.duplicate_keys)
        for key, line in document.first_lines.items():
            merged.first_lines.setdefault(key, line)
        for key, value in document.items():
            if key in merged:
                merged.add_duplicate(key, document.position(key).key_line)
            merged[key] = value
            merged.positions[key] = document.position(key)
    if not any(isinstance(document, YamlMapping) for document in documents):
        return None  # reported above; its keys would only be reported missing again
    top.check_keys(merged, "", allowed, hints=hints)
    return merged
