"""jq expressions: checked and compiled once at load time, evaluated against JSON-like values.

A program is first checked by :mod:`jq_policy` (no ``env``/``$ENV``, no modules: a refusal is a
:class:`ConfigError` at the document's line) and compiled here only to report syntax errors.
It is never evaluated in this process: plain paths (``.``, ``.a.b``, ``.[]``) run in Python and
everything else in a :mod:`jq_sandbox` child with no environment, no files and time, memory and
output limits. ``error``, ``halt`` and ``halt_error`` raise :class:`ExpressionError` (jq's library
mode would end ``halt`` silently). Any number of threads may evaluate one expression at once:
each call takes its own child process from the pool.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import jq

from airflow_provider_opslevel import jq_policy, jq_sandbox
from airflow_provider_opslevel.errors import ConfigError, ExpressionError, Location

__all__ = ["JqExpression", "is_truthy"]


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    # Keyed by source only: the same expression appears in many extractors and DAG re-parses.
    # lru_cache does not cache exceptions, so a bad expression is recompiled (cheaply) each time.
    # Compiled only for its syntax errors (checked by jq_policy first, so no `$ENV` is captured);
    # never run in this process. The wrapped text is what the sandbox runs: it must compile too.
    program = jq.compile(source)
    jq.compile(jq_policy.wrap(source))
    return program


def _jq_message(error: Exception) -> str:
    """Reduce jq's multi-line compile output to its ``jq: error`` lines, without the caret art."""
    lines = [line.strip() for line in str(error).splitlines()]
    errors = [line.removeprefix("jq: error: ").rstrip(":") for line in lines if line.startswith("jq: error")]
    return "; ".join(errors) if errors else " ".join(line for line in lines if line)


_PATH = re.compile(r"\s*(\.|(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.\[\])\s*")


def _clip(source: str, limit: int = 80) -> str:
    return source if len(source) <= limit else source[: limit - 3] + "..."


def _jq_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _preview(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 11 else text[:10] + "..."


def _fast_path(source: str) -> Callable[[Any], list[Any]] | None:
    """Plain Python for the expressions nearly every integration uses: ``.``, ``.a.b``, ``.[]``.

    jq.py serialises each input to JSON text and parses every output back: for ``.id`` on each of
    thousands of records that costs far more than the work. These paths give jq's results and
    jq's errors without the round trip; anything else goes to jq.
    """
    match = _PATH.fullmatch(source)
    if match is None:
        return None
    path = match.group(1)
    if path == ".":
        return lambda value: [value]
    if path == ".[]":

        def each(value: Any) -> list[Any]:
            if isinstance(value, list):
                return list(value)
            if isinstance(value, dict):
                return list(value.values())
            raise ValueError(f"Cannot iterate over {_jq_type(value)} ({_preview(value)})")

        return each
    keys = path[1:].split(".")

    def walk(value: Any) -> list[Any]:
        for key in keys:
            if value is None:
                return [None]
            if not isinstance(value, dict):
                raise ValueError(f'Cannot index {_jq_type(value)} with string ("{key}")')
            value = value.get(key)
        return [value]

    return walk


def is_truthy(value: Any) -> bool:
    """jq's notion of truth: everything except ``false`` and ``null``.

    :param value: a value produced by jq.
    """
    return value is not None and value is not False


class JqExpression:
    """A jq program compiled at construction.

    :param source: the jq program text.
    :param where: where it was written, used in every error message.
    :raises ConfigError: the program does not compile; the message carries jq's own message.
    """

    __slots__ = ("_fast", "_wrapped", "source", "where")

    def __init__(self, source: str, where: Location | None = None) -> None:
        self.source = source
        self.where = where
        if not isinstance(source, str):
            raise ConfigError.single(where, f"expected a jq expression string, got {type(source).__name__}")
        if not source.strip():
            raise ConfigError.single(where, "jq expression is empty (use '.' for the identity)")
        if len(source) > jq_policy.MAX_PROGRAM_CHARS:
            raise ConfigError.single(
                where, f"jq expression is {len(source):,} characters long, over the limit of {jq_policy.MAX_PROGRAM_CHARS:,}"
            )
        uses = jq_policy.forbidden_uses(source)
        if uses:
            raise ConfigError.single(
                where, f"jq expression {_clip(source)!r} is not allowed: " + "; ".join(str(use) for use in uses)
            )
        try:
            _compile(source)
        except ValueError as error:
            raise ConfigError.single(
                where, f"invalid jq expression {source!r}: {_jq_message(error)}"
            ) from None
        self._fast = _fast_path(source)
        self._wrapped = jq_policy.wrap(source)

    def all(self, value: Any) -> list[Any]:
        """Run the program on ``value`` and return every output.

        :param value: a JSON-like value (dicts, lists, str, int, float, bool, None).
        :raises ExpressionError: jq failed (for example indexing a string with a key).
        """
        return self._run(value, first_only=False)

    def first(self, value: Any, default: Any = None) -> Any:
        """Run the program on ``value`` and return its first output, or ``default`` if it has none.

        :param value: a JSON-like value.
        :param default: returned when the program produces no output (``empty``).
        :raises ExpressionError: jq failed.
        """
        outputs = self._run(value, first_only=True)
        return outputs[0] if outputs else default

    def test(self, value: Any) -> bool:
        """Return whether the first output is truthy in jq's sense (not ``false``/``null``).

        Used for predicates such as ``exclude``; no output counts as false.

        :param value: a JSON-like value.
        :raises ExpressionError: jq failed.
        """
        return is_truthy(self.first(value))

    def _run(self, value: Any, first_only: bool) -> list[Any]:
        try:
            if self._fast is not None:
                return self._fast(value)
            return jq_sandbox.evaluate(self._wrapped, value, first_only)
        except jq_sandbox.SandboxLimitError as error:
            raise self._error(f"stopped: {error}") from None
        except (ValueError, jq_sandbox.SandboxError) as error:
            raise self._error(_jq_message(error)) from None
        except TypeError as error:  # the input is not JSON-like data
            raise self._error(f"input is not JSON: {error}") from None

    def _error(self, jq_message: str) -> ExpressionError:
        return ExpressionError(f"jq expression {_clip(self.source)!r} failed: {jq_message}", self.where)

    def __repr__(self) -> str:
        return f"JqExpression({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JqExpression) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def __reduce__(self) -> tuple[Any, ...]:
        # Compiled programs do not pickle; rebuild from the source.
        return (JqExpression, (self.source, self.where))
