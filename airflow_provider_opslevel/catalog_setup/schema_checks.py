"""A property's ``schema``: read as JSON, checked to be a valid JSON Schema, and kept within limits.

Limits, because the schema validates values on the worker: nesting depth, references that stay
inside the schema (nothing is fetched), and patterns that are short and cannot backtrack for ever.
"""

from __future__ import annotations

import math
from typing import Any, cast

import jsonschema
import jsonschema.exceptions
import jsonschema.validators

from airflow_provider_opslevel.catalog_setup.pattern_safety import backtracks
from airflow_provider_opslevel.config.fields import ItemContext, type_name
from airflow_provider_opslevel.config.yaml_source import YamlMapping, YamlSequence

__all__ = ["MAX_PATTERN_LENGTH", "MAX_SCHEMA_DEPTH", "read_schema"]

#: Deepest nesting of mappings and lists inside one property's ``schema`` (``jsonschema``
#: recurses a few frames per level when it validates).
MAX_SCHEMA_DEPTH = 32
#: Longest ``pattern`` (or ``patternProperties`` key) a schema may hold.
MAX_PATTERN_LENGTH = 512
# Keywords whose value is a URI jsonschema resolves; only "#..." (inside the schema) is allowed.
_REFERENCE_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")

_JSON_TYPES_HINT = " (JSON Schema types: array, boolean, integer, null, number, object, string)"


def read_schema(context: ItemContext, mapping: YamlMapping, prefix: str) -> dict[str, Any] | None:
    """Read ``schema`` as a JSON object and check it is a valid JSON Schema."""
    found = context.get(mapping, "schema", prefix, required=True)
    if found is None:
        return None
    value, position = found
    path = f"{prefix}schema"
    if not isinstance(value, YamlMapping):
        context.problem(
            path, position.value_line, f"expected a JSON Schema (a mapping), got {type_name(value)}"
        )
        return None
    problems_before = len(context.problems)
    schema = _to_json(context, value, path, position.value_line)
    if len(context.problems) != problems_before:
        return None
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as error:
        suffix, line = _locate(value, list(error.path), position.value_line)
        hint = _JSON_TYPES_HINT if error.path and error.path[-1] == "type" else ""
        context.problem(f"{path}{suffix}", line, f"not a valid JSON Schema: {error.message}{hint}")
        return None
    _check_untrusted_schema(context, value, path)
    if len(context.problems) != problems_before:
        return None
    return cast(dict[str, Any], schema)


def _check_untrusted_schema(context: ItemContext, value: Any, path: str) -> None:
    """Refuse what would make validating a value fetch a URI or backtrack for ever.

    References must stay inside the schema (``#...``): jsonschema would otherwise fetch the URI
    from the worker. Patterns are bounded in length and refused when they nest repeats ambiguously.
    """
    if isinstance(value, YamlSequence):
        for number, item in enumerate(value):
            _check_untrusted_schema(context, item, f"{path}[{number}]")
        return
    if not isinstance(value, YamlMapping):
        return
    for key, item in value.items():
        line = value.position(key).value_line
        if key in _REFERENCE_KEYS and isinstance(item, str) and not item.startswith("#"):
            context.problem(
                f"{path}.{key}",
                line,
                f"{key} '{item}' points outside the schema; only references inside it ('#/...') "
                "are allowed, nothing is fetched",
            )
        elif key == "pattern" and isinstance(item, str):
            _check_pattern(context, item, f"{path}.pattern", line)
        elif key == "patternProperties" and isinstance(item, YamlMapping):
            for pattern in item:
                if isinstance(pattern, str):
                    _check_pattern(
                        context, pattern, f"{path}.patternProperties", item.position(pattern).key_line
                    )
        _check_untrusted_schema(context, item, f"{path}.{key}")


def _check_pattern(context: ItemContext, pattern: str, path: str, line: int) -> None:
    if len(pattern) > MAX_PATTERN_LENGTH:
        context.problem(
            path, line, f"pattern is {len(pattern):,} characters long; the limit is {MAX_PATTERN_LENGTH}"
        )
    elif backtracks(pattern):
        context.problem(
            path,
            line,
            f"pattern '{pattern}' repeats a group that can match the same text in more than one way "
            "(like (a+)+), which takes exponential time on some values; start or end each repetition "
            "with a character the inner repeat cannot match, e.g. ^[a-z0-9]+(-[a-z0-9]+)*$",
        )


def _to_json(context: ItemContext, value: Any, path: str, line: int, depth: int = 0) -> Any:
    """A plain JSON value from YAML; records a problem for anything JSON cannot hold."""
    if isinstance(value, (YamlMapping, YamlSequence)) and depth == MAX_SCHEMA_DEPTH:
        context.problem(path, line, f"the schema nests deeper than {MAX_SCHEMA_DEPTH} levels (the limit)")
        return None
    if isinstance(value, YamlMapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            key_line = value.position(key).key_line
            if not isinstance(key, str):
                context.problem(
                    f"{path}.{key}", key_line, f"JSON Schema keys must be strings, got {type_name(key)}"
                )
                continue
            out[key] = _to_json(context, item, f"{path}.{key}", value.position(key).value_line, depth + 1)
        return out
    if isinstance(value, YamlSequence):
        return [
            _to_json(context, item, f"{path}[{number}]", item_position.value_line, depth + 1)
            for number, (item, item_position) in enumerate(value.entries())
        ]
    if isinstance(value, float) and not math.isfinite(value):
        context.problem(path, line, f"{value} cannot be written in JSON")
        return None
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    context.problem(path, line, f"{type_name(value)} cannot be written in JSON; quote it")
    return None


def _locate(value: Any, keys: list[Any], line: int) -> tuple[str, int]:
    """Key-path suffix (``.items.type``) and line of ``keys`` inside a YAML value."""
    suffix = ""
    for key in keys:
        if isinstance(value, YamlMapping) and key in value:
            line = value.position(key).value_line
            value, suffix = value[key], f"{suffix}.{key}"
        elif isinstance(value, YamlSequence) and isinstance(key, int) and 0 <= key < len(value):
            line = value.positions[key].value_line
            value, suffix = value[key], f"{suffix}[{key}]"
        else:
            break
    return suffix, line
