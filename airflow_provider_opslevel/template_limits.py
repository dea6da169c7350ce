"""Resource limits for templates: time, the size of every value they build, the size of what they render.

Template authors are not trusted, and renders run in worker threads (no signals), so limits are
enforced from inside the generated code:

- :class:`LimitedCodeGenerator` makes Jinja call :meth:`LimitedSandbox.limits_tick` at the top of
  every block body (each ``{% for %}`` iteration, macro or ``{% call %}`` body, ``{% if %}`` branch),
  which stops a render past its deadline even when it emits nothing; it also passes every output
  piece through :meth:`LimitedSandbox.limits_emit` and every ``~`` operand through
  :meth:`LimitedSandbox.limits_concat_parts`, which count what is produced.
- :class:`LimitedSandbox` checks the operators that amplify (``*``, ``**``, ``%``, ``+``), the
  string methods that take a width or a count, ``str.format`` specs and, through
  :func:`guard_filter`, every filter, *before* the big value is allocated where the size can be
  predicted, and after otherwise (then the result is at most a small multiple of inputs that were
  themselves checked).

Failures raise :class:`LimitExceeded`, which :class:`~airflow_provider_opslevel.templating.Template`
turns into a ``TemplateError`` naming the template's location.
"""

from __future__ import annotations

import codecs
import contextvars
import functools
import math
import re
import string
import time
import types
from collections.abc import Callable, Collection, Mapping, Sized
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import _PassArg

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_INT_BITS",
    "MAX_ITEMS",
    "MAX_RENDER_CHARS",
    "MAX_RENDER_SECONDS",
    "MAX_URL_BYTES",
    "MAX_VALUE_CHARS",
    "Budget",
    "LimitExceeded",
    "LimitedCodeGenerator",
    "LimitedSandbox",
    "guard_filter",
    "output_limit",
    "start_budget",
    "weight",
]

MAX_RENDER_SECONDS = 2.0
"""Wall time one render may take (time spent in the secret resolver does not count)."""
MAX_VALUE_CHARS = 1 << 20
"""Largest string (or printed size of a list/dict) a template may build or hand to a filter."""
MAX_RENDER_CHARS = 16 << 20
"""All text one render may produce: filter, method and operator results plus every output piece."""
MAX_ITEMS = 100_000
"""Longest list ``+``, ``*``, ``batch`` or ``slice`` may build (``range`` has the same bound)."""
MAX_INT_BITS = 4096
"""Largest integer ``*``, ``**`` or ``times`` may build (about 1,233 decimal digits)."""
MAX_URL_BYTES = 8 << 10
"""Largest rendered URL (keys ending in ``url``: ``http_polling.url``, ``token_url``)."""
MAX_HEADER_BYTES = 8 << 10
"""Largest rendered header value (``http_polling.headers[i].value``)."""
MAX_BODY_BYTES = 1 << 20
"""Largest rendered body, and any other template (``http_polling.body``, OAuth fields)."""

_HEADER_VALUE = re.compile(r"headers\[\d+\]\.value\Z")


class LimitExceeded(Exception):
    """A template went past one of this module's limits; the message says which and by how much."""


def output_limit(key: str | None) -> int:
    """The size cap, in UTF-8 bytes, of a template rendered for ``key``.

    :param key: the template's :attr:`~airflow_provider_opslevel.errors.Location.key`.
    """
    if key is not None and key.endswith("url"):
        return MAX_URL_BYTES
    if key is not None and _HEADER_VALUE.search(key):
        return MAX_HEADER_BYTES
    return MAX_BODY_BYTES


# --------------------------------------------------------------------------- sizes


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


def check_size(size: int, what: str) -> None:
    if size > MAX_VALUE_CHARS:
        raise LimitExceeded(f"{what}: {size:,} characters, over the limit of {MAX_VALUE_CHARS:,}")


def _check_items(count: int, what: str) -> None:
    if count > MAX_ITEMS:
        raise LimitExceeded(f"{what}: {count:,} items, over the limit of {MAX_ITEMS:,}")


def _check_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise LimitExceeded(f"{what}: a {bits:,}-bit number, over the limit of {MAX_INT_BITS:,} bits")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_product(left: Any, right: Any, what: str) -> None:
    """Refuse ``left * right`` when the result would be too big (checked before multiplying).

    :param left: left operand.
    :param right: right operand.
    :param what: names the operation in the error.
    """
    if _is_int(left) and _is_int(right):
        _check_bits(left.bit_length() + right.bit_length(), what)
        return
    if _is_int(left):
        left, right = right, left
    if not isinstance(right, int):
        return
    if isinstance(left, (str, bytes)):
        check_size(len(left) * right, what)
    elif isinstance(left, (list, tuple)):
        _check_items(len(left) * right, what)
        check_size(weight(left) * right, what)


def _check_power(base: Any, exponent: Any) -> None:
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        _check_bits(int(exponent * math.log2(abs(base))) + 1, "'**'")


def _check_sum(left: Any, right: Any) -> None:
    if isinstance(left, (str, bytes)) and isinstance(right, (str, bytes)):
        check_size(len(left) + len(right), "'+'")
    elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        _check_items(len(left) + len(right), "'+'")
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


# --------------------------------------------------------------------------- per-render budget


@dataclass
class Budget:
    """What one render may still spend; lives in a context variable for the render's duration.

    :param deadline: :func:`time.monotonic` value after which the render stops.
    :param used: characters produced so far.
    """

    deadline: float
    used: int = 0

    def tick(self) -> None:
        """Stop the render past its deadline."""
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"template ran longer than the limit of {MAX_RENDER_SECONDS:g} s")

    def charge(self, size: int, what: str) -> None:
        """Count ``size`` characters produced by ``what``; refuse a too-big value or render.

        :param size: characters produced (or about to be).
        :param what: names the operation in the error.
        """
        check_size(size, what)
        self.used += size
        if self.used > MAX_RENDER_CHARS:
            raise LimitExceeded(
                f"template produced more than {MAX_RENDER_CHARS:,} characters in one render (at {what})"
            )

    def extend(self, seconds: float) -> None:
        """Push the deadline back (time spent outside the template, e.g. resolving a secret).

        :param seconds: how long.
        """
        self.deadline += seconds


# Compile-time constant folding calls filters with no budget set: current() then raises
# LookupError, so Jinja leaves the expression to render time and compiling stays cheap.
_BUDGET: contextvars.ContextVar[Budget] = contextvars.ContextVar("opslevel_template_budget")


def current() -> Budget:
    """The budget of the render in progress (:class:`LookupError` outside one)."""
    return _BUDGET.get()


def start_budget() -> contextvars.Token[Budget]:
    """Give the render about to start a fresh budget; reset the returned token when it ends."""
    return _BUDGET.set(Budget(time.monotonic() + MAX_RENDER_SECONDS))


def reset_budget(token: contextvars.Token[Budget]) -> None:
    """End the budget started by :func:`start_budget`.

    :param token: what :func:`start_budget` returned.
    """
    _BUDGET.reset(token)


# --------------------------------------------------------------------------- filters


Estimator = Callable[..., int]
"""Predicts a filter's result size (in characters) from its arguments, or raises LimitExceeded."""


def _text_size(value: Any) -> int:
    return len(value) if isinstance(value, str) else weight(value)


def _estimate_center(value: Any, width: Any = 80) -> int:
    return max(_text_size(value), width if _is_int(width) else 0)


def _estimate_indent(value: Any, width: Any = 4, *_args: Any, **_kwargs: Any) -> int:
    unit = width if _is_int(width) else len(str(width))
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
    breaks = len(text.split()) + len(text) // max(width if _is_int(width) else 1, 1) + 1
    return len(text) + breaks * len(wrapstring or "\n")


def _estimate_format(value: Any, *args: Any, **kwargs: Any) -> int:
    return printf_size(str(value), kwargs or args)


def _estimate_batch(value: Any, count: Any, fill_with: Any = None) -> int:
    if _is_int(count):
        _check_items(count, "the batch or slice filter")
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
    if _is_int(count) and count >= 0:
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
        budget = _BUDGET.get()
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


# --------------------------------------------------------------------------- sandbox


def _string_method_size(
    owner: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> int | None:
    """Predicted size of ``owner.name(*args, **kwargs)`` for the methods that amplify, else None."""
    arguments = [*args, *kwargs.values()]
    first = arguments[0] if arguments else None
    count = first if isinstance(first, int) else None
    if name in ("center", "ljust", "rjust", "zfill"):
        return max(len(owner), count or 0)
    if name == "expandtabs":
        return len(owner) * max(8 if count is None else count, 1)
    if name == "replace" and len(arguments) >= 2:
        if isinstance(owner, str):
            return estimate_replace(owner, *arguments[:3])
        return len(owner) * (weight(arguments[1]) + 1)  # bytes: every byte may be replaced
    if name == "join" and isinstance(first, Sized):
        return weight(first) + len(owner) * len(first)
    if name == "translate":
        return len(owner) * max(weight(first), 1)
    return None


_CODECS = frozenset(
    {
        "utf-8",
        "ascii",
        "iso8859-1",
        "cp1252",
        "utf-16",
        "utf-16-le",
        "utf-16-be",
        "utf-32",
        "utf-32-le",
        "utf-32-be",
    }
)
"""Codecs ``str.encode``/``bytes.decode`` may use: linear ones (``punycode`` is quadratic or worse)."""


def _check_codec(encoding: Any) -> None:
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        return  # the call itself reports the bad name
    if name not in _CODECS:
        raise LimitExceeded(
            f"the {name!r} codec is not allowed in templates (allowed: utf-8, ascii, latin-1, ...)"
        )


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with this module's limits; pair it with :class:`LimitedCodeGenerator`."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            check_product(left, right, "'*'")
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            check_size(printf_size(left, right), "'%'")
        elif operator == "+":
            _check_sum(left, right)
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, (str, bytes)):
            current().charge(len(result), f"'{operator}'")
        return result

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(obj, "__self__", None)
        if isinstance(obj, types.BuiltinMethodType) and isinstance(owner, (str, bytes)):
            name = obj.__name__
            if name == "join" and args and not isinstance(args[0], Sized):
                args = (list(args[0]), *args[1:])  # a generator (``map``): size it first
            if name in ("encode", "decode"):
                _check_codec(args[0] if args else kwargs.get("encoding", "utf-8"))
            predicted = _string_method_size(owner, name, args, kwargs)
            if predicted is not None:
                check_size(predicted, f"str.{name}")
        elif isinstance(obj, types.BuiltinMethodType) and _is_int(owner) and obj.__name__ == "to_bytes":
            length = args[0] if args else kwargs.get("length", 1)
            check_size(length if _is_int(length) else 0, "int.to_bytes")
        result = super().call(context, obj, *args, **kwargs)
        if isinstance(result, (str, bytes)):
            current().charge(len(result), getattr(obj, "__name__", "a call"))
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        template, name = value.__self__, value.__name__

        @functools.wraps(wrapper)
        def checked(*args: Any, **kwargs: Any) -> str:
            if name == "format_map":
                check_size(format_size(template, (), args[0] if args else {}), "str.format_map")
            else:
                check_size(format_size(template, args, kwargs), "str.format")
            return wrapper(*args, **kwargs)

        return checked

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        # Fail at once with the sandbox's reason (an Undefined would read "undefined variable").
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    @staticmethod
    def limits_tick() -> None:
        """Called at the top of every block body by the generated code."""
        current().tick()

    @staticmethod
    def limits_emit(piece: str) -> str:
        """Called on every output piece by the generated code; counts it against the render's total.

        A single piece may be big (a long value from the context): the rendered result's own cap
        (:func:`output_limit`) judges it; here only the running total matters.
        """
        budget = current()
        budget.used += len(piece)
        if budget.used > MAX_RENDER_CHARS:
            budget.charge(0, "output")  # raises, with the usual message
        return piece

    @staticmethod
    def limits_concat_parts(parts: tuple[Any, ...]) -> tuple[Any, ...]:
        """Called on the operands of ``~`` before they are joined; refuses a too-big result."""
        size = sum(weight(part) for part in parts)
        current().charge(size, "'~'")
        return parts


def check_printable(value: Any) -> None:
    """Refuse to print a list or dict whose text would be too big (called before ``str()``).

    :param value: what a ``{{ }}`` is about to print.
    """
    if not isinstance(value, (str, int, float)) and value is not None:
        check_size(weight(value), "printed value")


class LimitedCodeGenerator(CodeGenerator):
    """Jinja's code generator, adding the calls :class:`LimitedSandbox` counts and times with."""

    def blockvisit(self, nodes: Any, frame: Frame) -> None:
        self.writeline("environment.limits_tick()")
        super().blockvisit(nodes, frame)

    def _output_const_repr(self, group: Any) -> str:
        return f"environment.limits_emit({super()._output_const_repr(group)})"

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write("environment.limits_emit(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"{join}(environment.limits_concat_parts((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write(")))")
