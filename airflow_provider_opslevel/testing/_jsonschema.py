"""A deliberately small JSON Schema validator for property values.

Covers what property definitions use in practice: ``type`` (one or a list), ``enum``,
``const``, ``items``, ``properties``/``required``/``additionalProperties``, string and
number bounds, ``pattern`` and local ``$ref`` (``#/$defs/...``). Unknown keywords are
ignored, as JSON Schema prescribes.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def validate(value: Any, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate ``value`` against ``schema``.

    :param value: decoded JSON value.
    :param schema: JSON Schema object.
    :returns: OpsLevel-style errors ``[{"message": str, "path": [str, ...]}]``; empty if valid.
    """
    errors: list[dict[str, Any]] = []
    _check(value, schema, schema, [], errors)
    return errors


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#") and seen < 32:
        target: Any = root
        for part in schema["$ref"][1:].split("/"):
            if part:
                target = (
                    target.get(part.replace("~1", "/").replace("~0", "~"), {})
                    if isinstance(target, dict)
                    else {}
                )
        schema, seen = (target if isinstance(target, dict) else {}), seen + 1
    return schema


def _check(
    value: Any, schema: Any, root: dict[str, Any], path: list[str], errors: list[dict[str, Any]]
) -> None:
    if schema is True or not isinstance(schema, dict):
        return
    schema = _resolve(schema, root)

    def fail(message: str) -> None:
        errors.append({"message": message, "path": list(path)})

    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        if not any(_TYPES.get(name, lambda _v: True)(value) for name in names):
            fail(f"value {_show(value)} is not of type {' or '.join(map(str, names))}")
            return
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        fail(f"value {_show(value)} is not one of {_show(schema['enum'])}")
    if "const" in schema and not _same(value, schema["const"]):
        fail(f"value {_show(value)} does not match const {_show(schema['const'])}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            fail(f"value is shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            fail(f"value is longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            fail(f"value does not match pattern {schema['pattern']}")
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            fail(f"value {value} is less than minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            fail(f"value {value} is greater than maximum {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            fail(f"array has fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            fail(f"array has more than {schema['maxItems']} items")
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                _check(item, schema["items"], root, [*path, str(index)], errors)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                fail(f"required property '{name}' is missing")
        for name, item in value.items():
            if name in properties:
                _check(item, properties[name], root, [*path, name], errors)
            elif schema.get("additionalProperties") is False:
                fail(f"property '{name}' is not allowed")
            elif isinstance(schema.get("additionalProperties"), dict):
                _check(item, schema["additionalProperties"], root, [*path, name], errors)


def _same(left: Any, right: Any) -> bool:
    # JSON equality: True is not 1 (unlike in Python), but 1 is 1.0.
    if _TYPES["number"](left) and _TYPES["number"](right):
        return bool(left == right)
    return type(left) is type(right) and bool(left == right)


def _show(value: Any) -> str:
    return json.dumps(value)


def display_types(schema: dict[str, Any]) -> tuple[str | None, str | None]:
    """OpsLevel's ``displayType``/``displaySubtype`` inferred from a property schema."""
    schema = _resolve(schema, schema)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string" and "enum" in schema:
        return "DROPDOWN", None
    simple = {
        "string": "TEXT",
        "boolean": "BOOLEAN",
        "number": "NUMBER",
        "integer": "NUMBER",
        "object": "OBJECT",
    }
    if kind in simple:
        return simple[kind], None
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        sub, _ = display_types(items) if items else (None, None)
        return "ARRAY", sub
    return None, None
