"""What a template's values weigh, and the checks that refuse too-big ones before they are built.

The operators that amplify (``*``, ``**``, ``%``, ``+``), ``str.format`` specs and, through
:func:`guard_filter`, every filter are checked *before* the big value is allocated where its size
can be predicted, and after otherwise (then the result is at most a small multiple of inputs that
were themselves checked).
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Callable, Collection, Mapping
from typing import Any

import jinja2
from jinja2.utils import _PassArg

from airflow_provider_opslevel.templating.errors import LimitExceeded
from airflow_provider_opslevel.templating.limits import (
    MAX_VALUE_CHARS,
    check_bits,
    check_items,
    check_size,
    current,
)

__all__ = [
    "FILTER_ESTIMATES",
    "check_power",
    "check_printable",
    "check_product",
    "check_sum",
    "estimate_replace",
    "format_size",
    "guard_filter",
    "is_int",
    "printf_size",
    "weight",
]


def weight(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """About how many characters ``str(value)`` would take, without building it.

    Counting stops once past ``limit`` (the result is then only known to exceed it), so the
    cost is bounded for huge or deeply shared values (``[[big] * 1000] * 1000``).

    :param value: any template value.
    :param limit: stop counting past this.
    """
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif item is None or isinstance(item, (bool, float)):
            total += 24
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, jinja2.Undefined):
            continue  # printing it fails on its own
        elif isinstance(item, range):
            total += 8 * len(item)
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, Collection):
            total += 2 + 2 * len(item)
            if total <= limit:  # checked before copying references: the collection may be huge
                stack.extend(item)
        else:
            total += 64  # generators, macros, loop objects: short reprs
        if total > limit:
            return total
    return total


def is_int(value: Any) -> bool:
    """An ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_product(left: Any, right: Any, what: str) -> None:
    """Refuse ``left * right`` when the result would be too big (checked before multiplying).

    :param left: left operand.
    :param right: right operand.
    :param what: names the operation in the error.
    """
    if is_int(left) and is_int(right):
        check_bits(left.bit_length() + right.bit_length(), what)
        return
    if is_int(left):
        left, right = right, left
    if not isinstance(right, int):
        return
    if isinstance(left, (str, bytes)):
        check_size(len(left) * right, what)
    elif isinstance(left, (list, tuple)):
        check_items(len(left) * right, what)
        check_size(weight(left) * right, what)


def check_power(base: Any, exponent: Any) -> None:
    """Refuse ``base ** exponent`` when the integer would be too big (checked before raising)."""
    if is_int(base) and is_int(exponent) and exponent > 0 and abs(base) > 1:
        check_bits(int(exponent * math.log2(abs(base))) + 1, "'**'")


def check_sum(left: Any, right: Any) -> None:
    """Refuse ``left + right`` of two strings or two lists when the result would be too big."""
    if isinstance(left, (str, bytes)) and isinstance(right, (str, bytes)):
        check_size(len(left) + len(right), "'+'")
    elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        check_items(len(left) + len(right), "'+'")
        check_size(weight(left) + weight(right), "'+'")


_PRINTF_SPEC = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")


def printf_size(template: str, args: Any) -> int:
    """Upper bound of ``len(template % args)``; refuses ``*`` widths.

    :param template: the ``%``-format string.
    :param args: the right-hand operand of ``%``.
    """
    total = len(template)
    fields = 0
    for match in _PRINTF_SPEC.finditer(template):
        if "*" in match.groups():
            raise LimitExceeded("'*' widths in '%' formats are not allowed in templates")
        total += int(match.group(2) or 0) + int(match.group(3) or 0)
        fields += match.group(4) != "%"
    # A mapping can be named by every field; a tuple gives each field its own item.
    return total + weight(args) * (fields if isinstance(args, Mapping) else 1)


def format_size(template: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """Upper bound of ``len(template.format(*args, **kwargs))``; refuses nested fields in specs.

    :param template: the ``str.format`` string.
    :param args: positional arguments.
    :param kwargs: keyword arguments (or the ``format_map`` mapping).
    """
    total = len(template)
    fields = 0
    for _literal, field_name, spec, _conversion in string.Formatter().parse(template):
        if field_name is None:
            continue
        fields += 1
        if spec and "{" in spec:
            raise LimitExceeded("nested fields in a format spec are not allowed in templates")
        total += sum(int(number) for number in re.findall(r"\d+", spec or ""))
    return total + fields * weight((args, kwargs))


Estimator = Callable[..., int]
"""Predicts a filter's result size (in characters) from its arguments, or raises LimitExceeded."""


def _text_size(value: Any) -> int:
    return len(value) if isinstance(value, str) else weight(value)


def _estimate_center(value: Any, width: Any = 80) -> int:
    return max(_text_size(value), width if is_int(width) else 0)


def _estimate_indent(value: Any, width: Any = 4, *_args: Any, **_kwargs: Any) -> int:
    unit = width if is_int(width) else len(str(width))
    return _text_size(value) + (str(value).count("\n") + 1) * unit


def _estimate_wordwrap(
    value: Any,
    width: Any = 79,
    break_long_words: Any = True,
    wrapstring: Any = None,
    *_args: Any,
    **_kwargs: Any,
) -> int:
    text = str(value)
    # At most one break per word, plus one per ``width`` characters of a word broken up.
    breaks = len(text.split()) + len(text) // max(width if is_int(width) else 1, 1) + 1
    return len(text) + breaks * len(wrapstring or "\n")


def _estimate_format(value: Any, *args: Any, **kwargs: Any) -> int:
    return printf_size(str(value), kwargs or args)


def _estimate_batch(value: Any, count: Any, fill_with: Any = None) -> int:
    if is_int(count):
        check_items(count, "the batch or slice filter")
        return weight(value) + count * weight(fill_with)
    return weight(value)


def estimate_replace(value: Any, old: Any, new: Any = "", count: Any = -1) -> int:
    """Size of ``str(value).replace(old, new, count)``, computed without replacing.

    :param value: the text.
    :param old: what to replace.
    :param new: the replacement.
    :param count: at most this many replacements (negative: all).
    """
    text, old, new = str(value), str(old), str(new)
    hits = text.count(old)
    if is_int(count) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


FILTER_ESTIMATES: dict[str, Estimator] = {
    "center": _estimate_center,
    "indent": _estimate_indent,
    "wordwrap": _estimate_wordwrap,
    "format": _estimate_format,
    "batch": _estimate_batch,
    "slice": _estimate_batch,
    "replace": estimate_replace,
}
"""Filters whose result can be much bigger than their input, with how to predict it."""


_SCALARS = frozenset({int, float, bool, type(None)})


def guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap filter ``name``: refuse too-big inputs or predicted results, and count its result.

    :param name: the filter's name (in errors and to pick its estimator).
    :param function: the filter.
    """
    skip = 0 if _PassArg.from_obj(function) is None else 1
    estimate = FILTER_ESTIMATES.get(name)
    what = f"the {name} filter"

    @functools.wraps(function)  # also copies Jinja's pass_context/pass_environment marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        operands = args[skip:] if skip else args
        size = weight(kwargs) if kwargs else 0
        for operand in operands:  # the common cases without weight()'s loop
            kind = type(operand)
            size += len(operand) if kind is str else 24 if kind in _SCALARS else weight(operand)
        if size > MAX_VALUE_CHARS:
            check_size(size, f"the input of the {name} filter")
        if estimate is not None:
            check_size(estimate(*operands, **kwargs), what)
        result = function(*args, **kwargs)
        if type(result) is str or isinstance(result, (str, bytes)):
            budget.charge(len(result), what)
        return result

    return guarded


def check_printable(value: Any) -> None:
    """Refuse to print a list or dict whose text would be too big (called before ``str()``).

    :param value: what a ``{{ }}`` is about to print.
    """
    if not isinstance(value, (str, int, float)) and value is not None:
        check_size(weight(value), "printed value")
