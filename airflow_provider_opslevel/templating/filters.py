"""Liquid's filters, by Liquid name, on top of Jinja's.

Where a name exists in Jinja too (``default``, ``join``, ``first``, ``last``, ``replace``,
``capitalize``) the Liquid behaviour wins. Filters that can grow a value (``join``, ``times``)
check its size as they build it.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import jinja2

from airflow_provider_opslevel.templating.limits import check_size
from airflow_provider_opslevel.templating.sizes import check_product, weight

__all__ = ["LIQUID_FILTERS", "defined"]


def defined(value: Any) -> Any:
    """``value``, unless it is undefined: then the strict undefined error, naming the variable."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return value


def _text(value: Any) -> str:
    value = defined(value)
    return "" if value is None else str(value)


def _liquid_default(
    value: Any, default_value: Any = "", boolean: bool = False, allow_false: bool = False
) -> Any:
    # Liquid semantics: nil, false and empty values take the default (so the first-page cursor "" does).
    # ``boolean`` is accepted for Jinja call compatibility; Liquid behaviour already covers it.
    if isinstance(value, jinja2.Undefined) or value is None or value == "" or value == [] or value == {}:
        return default_value
    if value is False and not allow_false:
        return default_value
    return value


def _number(value: Any) -> int | float:
    value = defined(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _divided_by(value: Any, divisor: Any) -> int | float:
    left, right = _number(value), _number(divisor)
    # Liquid: integer division when both sides are integers.
    return left // right if isinstance(left, int) and isinstance(right, int) else left / right


def _first(value: Any) -> Any:
    value = defined(value)
    return next(iter(value), None) if not isinstance(value, str) else value[:1]


def _last(value: Any) -> Any:
    value = defined(value)
    if isinstance(value, str):
        return value[-1:]
    items = list(value)
    return items[-1] if items else None


def _join(value: Any, separator: Any = " ") -> str:
    separator = _text(separator)
    parts, size = [], 0
    for item in defined(value):  # may be a generator (``map``): size it item by item
        size += weight(item) + len(separator)
        check_size(size, "the join filter")
        parts.append(_text(item))
    return separator.join(parts)


def _times(value: Any, factor: Any) -> int | float:
    left, right = _number(value), _number(factor)
    check_product(left, right, "the times filter")
    return left * right


def _json(value: Any) -> str:
    return json.dumps(defined(value), ensure_ascii=False)


def _size(value: Any) -> int:
    value = defined(value)
    return len(value) if hasattr(value, "__len__") else len(str(value))


def _capitalize(value: Any) -> str:
    text = _text(value)
    return text[:1].upper() + text[1:].lower()


LIQUID_FILTERS: dict[str, Callable[..., Any]] = {
    "default": _liquid_default,
    "upcase": lambda v: _text(v).upper(),
    "downcase": lambda v: _text(v).lower(),
    "capitalize": _capitalize,
    "append": lambda v, s: _text(v) + _text(s),
    "prepend": lambda v, s: _text(s) + _text(v),
    "replace": lambda v, old, new="", count=-1: _text(v).replace(_text(old), _text(new), count),
    "replace_first": lambda v, old, new="": _text(v).replace(_text(old), _text(new), 1),
    "remove": lambda v, s: _text(v).replace(_text(s), ""),
    "remove_first": lambda v, s: _text(v).replace(_text(s), "", 1),
    "strip": lambda v: _text(v).strip(),
    "lstrip": lambda v: _text(v).lstrip(),
    "rstrip": lambda v: _text(v).rstrip(),
    "strip_newlines": lambda v: _text(v).replace("\r", "").replace("\n", ""),
    "split": lambda v, sep=" ": _text(v).split(_text(sep)) if _text(sep) else list(_text(v)),
    "size": _size,
    "join": _join,
    "first": _first,
    "last": _last,
    "url_encode": lambda v: urllib.parse.quote_plus(_text(v)),
    "url_decode": lambda v: urllib.parse.unquote_plus(_text(v)),
    "base64_encode": lambda v: base64.b64encode(_text(v).encode()).decode(),
    "base64_decode": lambda v: base64.b64decode(_text(v).encode()).decode(),
    "json": _json,
    "plus": lambda v, n: _number(v) + _number(n),
    "minus": lambda v, n: _number(v) - _number(n),
    "times": _times,
    "divided_by": _divided_by,
    "modulo": lambda v, n: _number(v) % _number(n),
}
"""Liquid filters, by Liquid name. Where a name exists in Jinja too (``default``, ``join``,
``first``, ``last``, ``replace``, ``capitalize``) the Liquid behaviour wins."""
