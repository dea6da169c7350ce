"""The sandboxed Jinja environment templates run in: Liquid semantics on a size- and time-limited sandbox.

- :class:`LimitedCodeGenerator` makes Jinja call :meth:`LimitedSandbox.limits_tick` at the top of
  every block body (each ``{% for %}`` iteration, macro or ``{% call %}`` body, ``{% if %}`` branch),
  which stops a render past its deadline even when it emits nothing; it also passes every output
  piece through :meth:`LimitedSandbox.limits_emit` and every ``~`` operand through
  :meth:`LimitedSandbox.limits_concat_parts`, which count what is produced.
- :class:`LimitedSandbox` is the immutable sandbox checking the operators that amplify, the string
  methods that take a width or a count and ``str.format`` specs
  (see :mod:`~airflow_provider_opslevel.templating.sizes`).
- :func:`make_environment` adds Liquid's attribute rules, filters and printing, wraps every filter
  in :func:`~airflow_provider_opslevel.templating.sizes.guard_filter` and keeps only ``range``
  of the globals.
"""

from __future__ import annotations

import codecs
import functools
import types
from collections.abc import Callable, Mapping, Sequence, Sized
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from airflow_provider_opslevel.templating.errors import LimitExceeded
from airflow_provider_opslevel.templating.filters import LIQUID_FILTERS
from airflow_provider_opslevel.templating.limits import MAX_RENDER_CHARS, check_size, current
from airflow_provider_opslevel.templating.secret_filter import secret
from airflow_provider_opslevel.templating.sizes import (
    check_power,
    check_printable,
    check_product,
    check_sum,
    estimate_replace,
    format_size,
    guard_filter,
    is_int,
    printf_size,
    weight,
)

__all__ = ["LimitedCodeGenerator", "LimitedSandbox", "LiquidEnvironment", "make_environment"]


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
            check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            check_size(printf_size(left, right), "'%'")
        elif operator == "+":
            check_sum(left, right)
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
        elif isinstance(obj, types.BuiltinMethodType) and is_int(owner) and obj.__name__ == "to_bytes":
            length = args[0] if args else kwargs.get("length", 1)
            check_size(length if is_int(length) else 0, "int.to_bytes")
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


def _finalize(value: Any) -> Any:
    # Liquid prints nil as "" and booleans in lower case.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    check_printable(value)
    return value


class LiquidEnvironment(LimitedSandbox):
    """Liquid's attribute rules on :class:`LimitedSandbox`: JSON keys first, then ``size``/``first``/``last``."""

    code_generator_class = LimitedCodeGenerator

    def getattr(self, obj: Any, attribute: str) -> Any:
        # JSON object keys win over dict methods ({{ page.items }}), as in Liquid.
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        # Liquid's collection properties: {{ list.size }}, {{ list.first }}, {{ list.last }}.
        if not isinstance(obj, jinja2.Undefined):
            if attribute == "size" and isinstance(obj, (Sequence, Mapping)):
                return len(obj)
            if attribute in ("first", "last") and isinstance(obj, Sequence) and not isinstance(obj, str):
                return (obj[0] if attribute == "first" else obj[-1]) if obj else None
        return super().getattr(obj, attribute)


def make_environment() -> LiquidEnvironment:
    """A new environment with Liquid's filters, ``secret`` and every filter size-guarded."""
    env = LiquidEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters.update(LIQUID_FILTERS)
    env.filters["secret"] = secret
    del env.filters["urlize"]  # HTML only, and its output grows with ``target``/``rel`` per link
    env.filters = {name: guard_filter(name, function) for name, function in env.filters.items()}
    # Only ``range`` (bounded by the sandbox) is needed; lipsum, cycler, joiner, namespace and dict
    # would only widen what a template can do.
    env.globals = {"range": env.globals["range"]}
    return env
