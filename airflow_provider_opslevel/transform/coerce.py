"""Fit a mapped value to its property definition's JSON Schema, or say why it cannot fit."""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators
from referencing import Registry
from referencing.exceptions import Unresolvable

# Resolves only references inside the schema itself: jsonschema's default registry would fetch
# any other URI ("http://169.254.169.254/...", "file:///...") from the worker.
_LOCAL_ONLY = Registry()


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    return set(declared or [])


def coerce(value: Any, schema: dict[str, Any]) -> Any:
    """The obvious conversions a person would expect, nothing more.

    A scalar for an array property becomes a one-element array (the seed's ``project_slug``);
    a numeric string for a number property becomes a number; a number or boolean for a pure
    string property becomes its JSON text. Anything else is returned unchanged for validation.
    """
    types = _types(schema)
    if not types or value is None:
        return value
    if "array" in types and not isinstance(value, list):
        items = schema.get("items")
        return [coerce(value, items if isinstance(items, dict) else {})]
    if "array" in types and isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [coerce(item, schema["items"]) for item in value]
    if isinstance(value, str) and types & {"number", "integer"} and "string" not in types:
        try:
            number = json.loads(value)
        except ValueError:
            return value
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return int(number) if "integer" in types and float(number).is_integer() else number
        return value
    if isinstance(value, str) and "boolean" in types and "string" not in types and value in ("true", "false"):
        return value == "true"
    if isinstance(value, (int, float, bool)) and types == {"string"}:
        return json.dumps(value)
    return value


def problems(value: Any, schema: dict[str, Any]) -> list[str]:
    """Why ``value`` does not satisfy ``schema`` (empty when it does, or the schema is unusable)."""
    if not schema:
        return []
    if _plainly_valid(value, schema):
        return []
    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
        return [error.message for error in validator.iter_errors(value)]
    except (jsonschema_exceptions.SchemaError, Unresolvable):
        return []  # OpsLevel validates too; a schema we cannot read is not the record's fault


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    # Building a validator costs far more than using it (and each one it built stayed alive):
    # one per distinct schema, not one per value. Keyed by the schema's text: dicts do not hash.
    schema = json.loads(schema_json)
    return validators.validator_for(schema)(schema, registry=_LOCAL_ONLY)


_TYPE_TESTS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _plainly_valid(value: Any, schema: dict[str, Any]) -> bool:
    """True when ``schema`` only names types (and array ``items`` that only name types) and
    ``value`` has them: most property definitions, checked without building jsonschema's
    machinery for every value. Anything else, or any doubt, goes to jsonschema."""
    if not set(schema) <= {"type", "items"}:
        return False
    types = _types(schema)
    if not types or not types <= _TYPE_TESTS.keys():
        return False
    if not any(_TYPE_TESTS[name](value) for name in types):
        return False
    items = schema.get("items")
    if items is None or not isinstance(value, list):
        return "items" not in schema or isinstance(items, dict) or not isinstance(value, list)
    return isinstance(items, dict) and all(_plainly_valid(item, items) for item in value)
