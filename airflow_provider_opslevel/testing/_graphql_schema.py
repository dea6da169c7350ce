"""The fake OpsLevel's GraphQL schema: the packaged ``schema.graphql``, its custom scalars, the field resolver."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from graphql import GraphQLResolveInfo, GraphQLScalarType, GraphQLSchema, build_schema

__all__ = ["load_schema", "resolve_field"]


@functools.lru_cache(maxsize=1)
def load_schema() -> GraphQLSchema:
    """The packaged ``schema.graphql`` with the fake's scalar coercions (built once per process)."""
    schema = build_schema((files("airflow_provider_opslevel.testing") / "schema.graphql").read_text("utf-8"))
    _set_scalar(schema, "JsonString", _parse_json_string, _serialize_json_string)
    _set_scalar(schema, "JSONSchema", _parse_json_object, _serialize_json_object)
    _set_scalar(schema, "JSON", _parse_json_any, _serialize_json_any)
    return schema


def resolve_field(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """graphql-core's default field resolver without its ``Mapping`` ABC check (nodes are dicts).

    Called for every field of every node, so a big page spends a noticeable share of its time
    here.
    """
    value = source.get(info.field_name) if type(source) is dict else getattr(source, info.field_name, None)
    return value(info, **args) if callable(value) else value


def _set_scalar(
    schema: GraphQLSchema, name: str, parse: Callable[[Any], Any], serialize: Callable[[Any], Any]
) -> None:
    scalar = schema.type_map[name]
    assert isinstance(scalar, GraphQLScalarType)
    # graphql-core 3.2 reads parse_value/serialize, 3.3 coerce_input_value/coerce_output_value.
    for attribute in ("parse_value", "coerce_input_value"):
        setattr(scalar, attribute, parse)
    for attribute in ("serialize", "coerce_output_value"):
        setattr(scalar, attribute, serialize)


def _parse_json_string(value: Any) -> str:
    """``JsonString`` input: a *string* holding JSON (``"true"``, ``"\\"orange\\""``)."""
    if not isinstance(value, str):
        raise ValueError(f"JsonString must be a JSON-encoded string, got {type(value).__name__}")
    try:
        json.loads(value)
    except ValueError as exc:
        raise ValueError(f"JsonString is not valid JSON: {exc}") from None
    return value


def _serialize_json_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _parse_json_any(value: Any) -> Any:
    """``JSON``/``JSONSchema`` input: opslevel-go sends a JSON-encoded string; objects pass too."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    return value


def _parse_json_object(value: Any) -> dict[str, Any]:
    parsed = _parse_json_any(value)
    if not isinstance(parsed, dict):
        raise ValueError("JSONSchema must be a JSON object")
    return parsed


def _serialize_json_any(value: Any) -> Any:
    return value


def _serialize_json_object(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
