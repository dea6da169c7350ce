"""``load_catalog``: read, validate and cache a catalog document (format: see the package docstring).

Reuses the config machinery: :func:`~airflow_provider_opslevel.config.yaml_source.load_yaml_file`
(line-keeping YAML), :class:`~airflow_provider_opslevel.config.fields.ItemContext` (typed readers
that record problems) and :class:`~airflow_provider_opslevel.errors.ConfigError`. Every problem
in the file is collected and raised together, each naming file, line, item and key, e.g.
``catalog.yaml:12: component_types[0] (sentry_issue) properties[2].schema: ...``.
"""

from __future__ import annotations

import importlib
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import jsonschema
import jsonschema.exceptions
import jsonschema.validators

from airflow_provider_opslevel.catalog_setup.models import (
    BUILTIN_RULE_PROPERTIES,
    CatalogDocument,
    ComponentTypeSpec,
    DisplayStatus,
    ManagementRuleSpec,
    Operator,
    PropertySpec,
    RelationshipDefinitionSpec,
)
from airflow_provider_opslevel.config.fields import ItemContext, type_name
from airflow_provider_opslevel.config.file_cache import FileCache
from airflow_provider_opslevel.config.yaml_source import Position, YamlMapping, YamlSequence, load_yaml_file
from airflow_provider_opslevel.errors import ConfigError, ConfigProblem, did_you_mean

__all__ = ["MAX_PATTERN_LENGTH", "MAX_SCHEMA_DEPTH", "clear_cache", "load_catalog"]

#: Deepest nesting of mappings and lists inside one property's ``schema`` (``jsonschema``
#: recurses a few frames per level when it validates).
MAX_SCHEMA_DEPTH = 32
#: Longest ``pattern`` (or ``patternProperties`` key) a schema may hold.
MAX_PATTERN_LENGTH = 512
# Keywords whose value is a URI jsonschema resolves; only "#..." (inside the schema) is allowed.
_REFERENCE_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")

PathLike = str | os.PathLike[str]

TOP_KEYS = ("component_types", "relationship_definitions")
TYPE_KEYS = ("alias", "name", "description", "properties")
PROPERTY_KEYS = (
    "alias",
    "name",
    "description",
    "schema",
    "locked",
    "display_status",
    "allowed_in_config_files",
)
RELATIONSHIP_KEYS = (
    "alias",
    "name",
    "description",
    "component_type",
    "allowed_types",
    "management_rules",
    "min_items",
    "max_items",
)
RULE_KEYS = (
    "operator",
    "source_property",
    "source_property_builtin",
    "target_property",
    "target_property_builtin",
    "target_type",
)
OPERATORS = ("ARRAY_CONTAINS", "EQUALS")
DISPLAY_STATUSES = ("visible", "hidden")

_ELSEWHERE = "; it belongs in the {} document, not in the catalog document"
_TOP_HINTS = {
    "extractors": _ELSEWHERE.format("extract"),
    "oauth": _ELSEWHERE.format("extract"),
    "transforms": _ELSEWHERE.format("transform"),
}
_PROPERTY_HINTS = {
    "type": "; did you mean 'schema'? (a property's type is a JSON Schema: schema: {type: string})",
    "locked_status": "; did you mean 'locked'? (true = ui_locked, false = unlocked)",
    "lockedStatus": "; did you mean 'locked'? (true = ui_locked, false = unlocked)",
}

_JSON_TYPES_HINT = " (JSON Schema types: array, boolean, integer, null, number, object, string)"

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


# ------------------------------------------------------------------------------------ parsing


@dataclass
class _ParsedType:
    context: ItemContext
    alias: str | None = None
    name: str | None = None
    property_aliases: dict[str, int] = field(default_factory=dict)  # alias -> line
    model: ComponentTypeSpec | None = None


@dataclass
class _ParsedRule:
    prefix: str
    line: int
    operator: str
    source_property: str | None
    source_builtin: bool | None
    target_property: str | None
    target_builtin: bool | None
    target_type: str | None
    lines: dict[str, int]


@dataclass
class _ParsedRelationship:
    context: ItemContext
    line: int
    alias: str | None = None
    name: str | None = None
    description: str | None = None
    component_type: str | None = None
    allowed_types: list[str] = field(default_factory=list)
    rules: list[_ParsedRule] | None = None
    min_items: int | None = None
    max_items: int | None = None


def _load(path: PathLike) -> CatalogDocument:
    file = os.fspath(path)
    problems: list[ConfigProblem] = []
    top = _read_top(file, problems)
    types: list[_ParsedType] = []
    relationships: list[_ParsedRelationship] = []
    if top is not None:
        for index, item, position in _read_list(file, top, "component_types", problems):
            types.append(_parse_type(file, problems, index, item, position))
        for index, item, position in _read_list(file, top, "relationship_definitions", problems):
            relationships.append(_parse_relationship(file, problems, index, item, position))
    _check_duplicates(types, relationships)
    declared = {t.alias: t for t in types if t.alias}
    rule_models = {id(r): _finish_rules(r, declared) for r in relationships}
    if problems:
        raise ConfigError(problems)
    return CatalogDocument(
        path=Path(path),
        component_types=tuple(cast(ComponentTypeSpec, t.model) for t in types),
        relationship_definitions=tuple(_relationship_model(r, rule_models[id(r)]) for r in relationships),
    )


def _read_top(file: str, problems: list[ConfigProblem]) -> YamlMapping | None:
    """The file as one mapping (``---``-separated documents are merged, like the integration loader)."""
    try:
        documents = load_yaml_file(file)
    except ConfigError as error:
        problems.extend(error.problems)
        return None
    top = ItemContext(file, problems)
    expected = f"expected a mapping with the key(s) {', '.join(TOP_KEYS)}"
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
    top.check_keys(merged, "", TOP_KEYS, hints=_TOP_HINTS)
    if not any(key in merged for key in TOP_KEYS) and top.ok:
        top.problem(None, merged.line, f"{expected}; found neither")
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


def _alias(context: ItemContext, mapping: YamlMapping, prefix: str = "") -> str | None:
    alias = context.string(mapping, "alias", prefix, required=True)
    if alias is not None and any(char.isspace() for char in alias):
        line = mapping.position("alias").value_line
        context.problem(f"{prefix}alias", line, f"alias '{alias}' must not contain whitespace")
        return None
    return alias


def _boolean(context: ItemContext, mapping: YamlMapping, key: str, prefix: str = "") -> bool | None:
    found = context.get(mapping, key, prefix, required=False)
    if found is None:
        return None
    value, position = found
    if not isinstance(value, bool):
        context.problem(
            f"{prefix}{key}", position.value_line, f"expected true or false, got {type_name(value)}"
        )
        return None
    return value


def _count(context: ItemContext, mapping: YamlMapping, key: str) -> int | None:
    found = context.get(mapping, key, "", required=False)
    if found is None:
        return None
    value, position = found
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        got = f"{value}" if isinstance(value, int) and not isinstance(value, bool) else type_name(value)
        context.problem(key, position.value_line, f"'{key}' must be an integer >= 0, got {got}")
        return None
    return value


def _strings(context: ItemContext, mapping: YamlMapping, key: str) -> list[tuple[str, int]] | None:
    """A list of non-empty strings (a single string counts as a one-item list)."""
    found = context.get(mapping, key, "", required=True)
    if found is None:
        return None
    value, position = found
    entries = value.entries() if isinstance(value, YamlSequence) else [(value, position)]
    out: list[tuple[str, int]] = []
    for number, (item, item_position) in enumerate(entries):
        path = f"{key}[{number}]" if isinstance(value, YamlSequence) else key
        text = context.text(item, path, item_position)
        if text is None:
            continue
        if not text.strip():
            context.problem(path, item_position.value_line, f"'{key}' entries must not be empty")
            continue
        out.append((text.strip(), item_position.value_line))
    if isinstance(value, YamlSequence) and not value:
        context.problem(key, position.value_line, f"'{key}' must list at least one component type")
    return out


def _parse_type(
    file: str, problems: list[ConfigProblem], index: int, item: Any, position: Position
) -> _ParsedType:
    context = ItemContext(file, problems, "component_types", index)
    parsed = _ParsedType(context)
    mapping = context.mapping(item, "", position)
    if mapping is None:
        return parsed
    parsed.alias = context.external_kind = _alias(context, mapping)
    context.check_keys(mapping, "", TYPE_KEYS, required=("alias", "name"))
    parsed.name = context.string(mapping, "name", required=True)
    description = _description(context, mapping, "")
    properties: list[PropertySpec] = []
    found = context.get(mapping, "properties", "", required=False)
    if found is not None:
        entries = context.sequence(found[0], "properties", found[1])
        for number, (value, item_position) in enumerate(entries.entries() if entries is not None else []):
            spec = _parse_property(context, number, value, item_position, parsed.property_aliases)
            if spec is not None:
                properties.append(spec)
    if context.ok and parsed.alias and parsed.name:
        parsed.model = ComponentTypeSpec(
            alias=parsed.alias,
            name=parsed.name,
            description=description,
            properties=tuple(properties),
            where=context.location(None, mapping.line),
        )
    return parsed


def _description(context: ItemContext, mapping: YamlMapping, prefix: str) -> str | None:
    found = context.get(mapping, "description", prefix, required=False)
    return None if found is None else context.text(found[0], f"{prefix}description", found[1])


def _parse_property(
    context: ItemContext, number: int, item: Any, position: Position, seen: dict[str, int]
) -> PropertySpec | None:
    prefix = f"properties[{number}]."
    mapping = context.mapping(item, f"properties[{number}]", position)
    if mapping is None:
        return None
    problems_before = len(context.problems)
    alias = _alias(context, mapping, prefix)
    context.check_keys(
        mapping, prefix, PROPERTY_KEYS, required=("alias", "name", "schema"), hints=_PROPERTY_HINTS
    )
    name = context.string(mapping, "name", prefix, required=True)
    description = _description(context, mapping, prefix)
    locked = _boolean(context, mapping, "locked", prefix)
    in_config = _boolean(context, mapping, "allowed_in_config_files", prefix)
    display: str | None = "visible"
    if "display_status" in mapping:
        display = context.choice(mapping, "display_status", prefix, DISPLAY_STATUSES)
    schema = _schema(context, mapping, prefix)
    if alias is not None:
        line = mapping.position("alias").value_line
        if alias in seen:
            context.problem(
                f"{prefix}alias",
                line,
                f"duplicate property alias '{alias}'; this component type already declares it "
                f"at line {seen[alias]}",
            )
        else:
            seen[alias] = line
    if len(context.problems) != problems_before or alias is None or name is None or schema is None:
        return None
    return PropertySpec(
        alias=alias,
        name=name,
        schema=schema,
        description=description,
        locked=True if locked is None else locked,
        display_status=cast(DisplayStatus, display),
        allowed_in_config_files=in_config,
        where=context.location(f"properties[{number}]", mapping.line),
    )


def _schema(context: ItemContext, mapping: YamlMapping, prefix: str) -> dict[str, Any] | None:
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
    elif _backtracks(_sre_parser().parse(pattern)):
        context.problem(
            path,
            line,
            f"pattern '{pattern}' repeats a group that can match the same text in more than one way "
            "(like (a+)+), which takes exponential time on some values; start or end each repetition "
            "with a character the inner repeat cannot match, e.g. ^[a-z0-9]+(-[a-z0-9]+)*$",
        )


def _sre_parser() -> Any:
    try:
        return importlib.import_module("re._parser")  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        return importlib.import_module("sre_parse")


_REPEATS = ("MAX_REPEAT", "MIN_REPEAT")  # a POSSESSIVE_REPEAT never backtracks
_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}


def _children(op: str, arg: Any) -> list[Any]:
    """The sub-patterns of one parsed regex item."""
    if op == "SUBPATTERN":
        return [arg[-1]]
    if op == "BRANCH":
        return list(arg[1])
    if op in ("ASSERT", "ASSERT_NOT"):
        return [arg[1]]
    if op == "ATOMIC_GROUP":
        return [arg]
    if op == "GROUPREF_EXISTS":
        return [branch for branch in arg[1:] if branch is not None]
    return []


def _backtracks(items: Any) -> bool:
    """Whether a parsed regex repeats a body that can split the same text in several ways."""
    for op, arg in items:
        name = str(op)
        if name in _REPEATS and arg[1] > 1 and _ambiguous(arg[2]):
            return True
        children = [arg[2]] if name in _REPEATS else _children(name, arg)
        if any(_backtracks(child) for child in children):
            return True
    return False


def _ambiguous(body: Any) -> bool:
    """A repeated body is ambiguous when it holds a variable repeat or alternatives starting alike,
    unless it starts or ends with a literal character none of its variable repeats can match."""
    items = list(body)
    while len(items) == 1 and str(items[0][0]) == "SUBPATTERN":
        items = list(items[0][1][-1])
    variable: list[Any] = []
    alike = False
    stack = [items]
    while stack:
        for op, arg in stack.pop():
            name = str(op)
            if name in _REPEATS and arg[0] != arg[1]:
                variable.append(arg[2])
            if name == "BRANCH":
                firsts = [list(branch)[:1] for branch in arg[1]]
                alike = alike or any(firsts.count(first) > 1 for first in firsts)
                if [] in firsts:  # "a|aa" is parsed as "a(?:|a)": an optional part
                    variable.extend(branch for branch in arg[1] if list(branch))
            stack.extend([arg[2]] if name in _REPEATS else _children(name, arg))
    if alike:
        return True
    if not variable:
        return False
    for op, arg in (items[0], items[-1]):
        if str(op) == "LITERAL" and not any(_may_match(repeat, chr(arg)) for repeat in variable):
            return False
    return True


def _may_match(repeat: Any, char: str) -> bool:
    """Whether a repeated item may match ``char`` (``True`` when it cannot tell)."""
    items = list(repeat)
    if len(items) != 1:
        return True
    op, arg = str(items[0][0]), items[0][1]
    if op == "LITERAL":
        return chr(arg) == char
    if op == "NOT_LITERAL":
        return chr(arg) != char
    if op == "ANY":
        return char != "\n"
    if op != "IN":
        return True
    negate, found = False, False
    for member, value in arg:
        member = str(member)
        if member == "NEGATE":
            negate = True
        elif member == "LITERAL":
            found = found or chr(value) == char
        elif member == "RANGE":
            found = found or value[0] <= ord(char) <= value[1]
        elif member == "CATEGORY" and str(value) in _CATEGORIES:
            found = found or re.match(_CATEGORIES[str(value)], char) is not None
        else:
            return True
    return found != negate


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


def _parse_relationship(
    file: str, problems: list[ConfigProblem], index: int, item: Any, position: Position
) -> _ParsedRelationship:
    context = ItemContext(file, problems, "relationship_definitions", index)
    parsed = _ParsedRelationship(context, position.value_line)
    mapping = context.mapping(item, "", position)
    if mapping is None:
        return parsed
    parsed.line = mapping.line
    parsed.alias = context.external_kind = _alias(context, mapping)
    context.check_keys(
        mapping, "", RELATIONSHIP_KEYS, required=("alias", "name", "component_type", "allowed_types")
    )
    parsed.name = context.string(mapping, "name", required=True)
    parsed.description = _description(context, mapping, "")
    parsed.component_type = context.string(mapping, "component_type", required=True)
    allowed = _strings(context, mapping, "allowed_types") or []
    seen: set[str] = set()
    for number, (alias, line) in enumerate(allowed):
        if alias in seen:
            context.problem(f"allowed_types[{number}]", line, f"'{alias}' is listed twice")
        seen.add(alias)
    parsed.allowed_types = [alias for alias, _ in allowed]
    parsed.min_items = _count(context, mapping, "min_items")
    parsed.max_items = _count(context, mapping, "max_items")
    if parsed.min_items is not None and parsed.max_items is not None and parsed.min_items > parsed.max_items:
        context.problem(
            "max_items",
            mapping.position("max_items").value_line,
            f"max_items ({parsed.max_items}) is less than min_items ({parsed.min_items})",
        )
    found = context.get(mapping, "management_rules", "", required=False)
    if found is not None:
        entries = context.sequence(found[0], "management_rules", found[1])
        if entries is not None:
            parsed.rules = []
            for number, (value, item_position) in enumerate(entries.entries()):
                rule = _parse_rule(context, number, value, item_position, parsed.allowed_types)
                if rule is not None:
                    parsed.rules.append(rule)
    return parsed


def _parse_rule(
    context: ItemContext, number: int, item: Any, position: Position, allowed_types: list[str]
) -> _ParsedRule | None:
    prefix = f"management_rules[{number}]."
    mapping = context.mapping(item, f"management_rules[{number}]", position)
    if mapping is None:
        return None
    context.check_keys(mapping, prefix, RULE_KEYS, required=("source_property", "target_property"))
    operator: str | None = "EQUALS"
    if "operator" in mapping:
        operator = context.choice(mapping, "operator", prefix, OPERATORS, upper=True)
    source = context.string(mapping, "source_property", prefix, required=True)
    target = context.string(mapping, "target_property", prefix, required=True)
    source_builtin = _boolean(context, mapping, "source_property_builtin", prefix)
    target_builtin = _boolean(context, mapping, "target_property_builtin", prefix)
    target_type = context.string(mapping, "target_type", prefix)
    if target_type is not None and allowed_types and target_type not in allowed_types:
        context.problem(
            f"{prefix}target_type",
            mapping.position("target_type").value_line,
            f"target_type '{target_type}' is not in allowed_types ({', '.join(allowed_types)})"
            f"{did_you_mean(target_type, allowed_types)}",
        )
        target_type = None
    elif target_type is None and "target_type" not in mapping:
        if len(allowed_types) == 1:
            target_type = allowed_types[0]
        elif len(allowed_types) > 1:
            context.problem(
                f"{prefix}target_type",
                mapping.line,
                "missing required key 'target_type' (allowed_types lists more than one type)",
            )
    if operator is None:
        return None
    lines = {key: mapping.position(key).value_line for key in RULE_KEYS if key in mapping}
    return _ParsedRule(
        prefix, mapping.line, operator, source, source_builtin, target, target_builtin, target_type, lines
    )


# ------------------------------------------------------------------------------ cross-checks


def _check_duplicates(types: list[_ParsedType], relationships: list[_ParsedRelationship]) -> None:
    first_alias: dict[str, _ParsedType] = {}
    first_name: dict[str, _ParsedType] = {}
    for parsed in types:
        context = parsed.context
        if parsed.alias is not None:
            first = first_alias.setdefault(parsed.alias, parsed)
            if first is not parsed:
                context.problem(
                    "alias",
                    _line(context, "alias"),
                    f"duplicate component type alias '{parsed.alias}'; "
                    f"component_types[{first.context.index}] (line {_line(first.context, 'alias')}) already has it",
                )
        if parsed.name is not None:
            first = first_name.setdefault(parsed.name, parsed)
            if first is not parsed:
                context.problem(
                    "name",
                    _line(context, "name"),
                    f"duplicate component type name '{parsed.name}' (OpsLevel requires unique names); "
                    f"component_types[{first.context.index}] (line {_line(first.context, 'name')}) already has it",
                )
    first_relationship: dict[str, _ParsedRelationship] = {}
    for relationship in relationships:
        if relationship.alias is None:
            continue
        earlier = first_relationship.setdefault(relationship.alias, relationship)
        if earlier is not relationship:
            relationship.context.problem(
                "alias",
                _line(relationship.context, "alias"),
                f"duplicate relationship definition alias '{relationship.alias}'; "
                f"relationship_definitions[{earlier.context.index}] "
                f"(line {_line(earlier.context, 'alias')}) already has it",
            )


def _line(context: ItemContext, key: str) -> int | None:
    location = context.locations.get(key)
    return location.line if location is not None else None


def _finish_rules(
    relationship: _ParsedRelationship, declared: dict[str, _ParsedType]
) -> tuple[ManagementRuleSpec, ...] | None:
    """Infer built-in flags and check custom properties of types this document declares."""
    if relationship.rules is None:
        return None
    out = []
    for rule in relationship.rules:
        source = _side(
            relationship,
            rule,
            "source",
            rule.source_property,
            rule.source_builtin,
            relationship.component_type,
            declared,
        )
        target = _side(
            relationship,
            rule,
            "target",
            rule.target_property,
            rule.target_builtin,
            rule.target_type,
            declared,
        )
        if (
            source is None
            or target is None
            or rule.source_property is None
            or rule.target_property is None
            or rule.target_type is None
        ):
            continue
        out.append(
            ManagementRuleSpec(
                operator=cast(Operator, rule.operator),
                source_property=rule.source_property,
                source_property_builtin=source,
                target_property=rule.target_property,
                target_property_builtin=target,
                target_type=rule.target_type,
                where=relationship.context.location(rule.prefix.rstrip("."), rule.line),
            )
        )
    return tuple(out)


def _side(
    relationship: _ParsedRelationship,
    rule: _ParsedRule,
    side: str,
    prop: str | None,
    explicit: bool | None,
    type_alias: str | None,
    declared: dict[str, _ParsedType],
) -> bool | None:
    """Whether ``prop`` is built-in; records a problem (returning ``None``) when it cannot be."""
    if prop is None:
        return None
    builtin = prop in BUILTIN_RULE_PROPERTIES if explicit is None else explicit
    parsed_type = declared.get(type_alias or "")
    if parsed_type is None or parsed_type.model is None:
        return builtin  # a type that only OpsLevel knows: checked when the catalog is ensured
    custom = parsed_type.property_aliases
    key = f"{rule.prefix}{side}_property"
    line = rule.lines.get(f"{side}_property", rule.line)
    if explicit is None and builtin and prop in custom:
        relationship.context.problem(
            key,
            line,
            f"'{prop}' is both a built-in field and a property of component type '{type_alias}'; "
            f"set {side}_property_builtin to true or false",
        )
        return None
    if not builtin and prop not in custom:
        candidates = [*custom, *BUILTIN_RULE_PROPERTIES]
        relationship.context.problem(
            key,
            line,
            f"component type '{type_alias}' declares no property '{prop}' in this document"
            f"{did_you_mean(prop, candidates)}",
        )
        return None
    return builtin


def _relationship_model(
    parsed: _ParsedRelationship, rules: tuple[ManagementRuleSpec, ...] | None
) -> RelationshipDefinitionSpec:
    # Only called when the whole document is free of problems.
    assert parsed.alias is not None and parsed.name is not None and parsed.component_type is not None
    return RelationshipDefinitionSpec(
        alias=parsed.alias,
        name=parsed.name,
        component_type=parsed.component_type,
        allowed_types=tuple(parsed.allowed_types),
        description=parsed.description,
        management_rules=rules,
        min_items=parsed.min_items,
        max_items=parsed.max_items,
        where=parsed.context.location(None, parsed.line),
    )
