"""One redactor for every output: task log lines, XCom reports, exceptions and the CLI.

A secret leaves the process in more shapes than its raw value: quoted inside a JSON document
(``"`` and ``\\`` escaped, non-ASCII as ``\\uXXXX`` or not), in a Python ``repr`` (an error
message formatted with ``{url!r}``), or URL-encoded in a query string (``quote``,
``quote_plus``). :class:`Redactor` hides each of these forms of every value it was given,
longest first so that a secret containing another is hidden whole.

Values shorter than :data:`MIN_SECRET_LENGTH` characters are ignored: replacing every ``a`` or
``42`` in a message would shred it, and so short a value protects nothing anyway.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "Redactor", "secret_forms"]

REDACTED = "***"
#: Values with fewer characters are not redacted (3 still hides a short API key like ``k3y``).
MIN_SECRET_LENGTH = 3


def secret_forms(value: str) -> set[str]:
    """``value`` as it may appear in output: raw, JSON-escaped, ``repr``-escaped and URL-encoded."""
    return {
        value,
        json.dumps(value)[1:-1],  # ensure_ascii: non-ASCII as \uXXXX
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        quote(value),  # "/" kept, as in a path
        quote(value, safe=""),
        quote_plus(value),  # form bodies and urlencode()d query strings
    }


class Redactor:
    """Replace every form (see :func:`secret_forms`) of the values it holds with ``***``.

    Thread-safe: values may be added while other threads redact (OAuth tokens arrive mid-run).

    :param values: the secrets known up front; more come with :meth:`add`.
    :param on_add: called with each form of each new value (the Airflow operators pass
        ``mask_secret``, so the task log's own masker hides the encoded forms too).
    """

    def __init__(self, values: Iterable[str] = (), *, on_add: Callable[[str], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._byte_forms: tuple[bytes, ...] = ()
        self._on_add = on_add
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        """Hide ``value`` from now on (ignored when empty or shorter than :data:`MIN_SECRET_LENGTH`)."""
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value in self._values:
                return
            self._values.add(value)
            forms = sorted({form for v in self._values for form in secret_forms(v)}, key=len, reverse=True)
            # One alternation, longest first: a single pass, so "***" is never matched again.
            self._pattern = re.compile("|".join(map(re.escape, forms)))
            self._byte_forms = tuple(form.encode() for form in forms)
        if self._on_add is not None:
            for form in sorted(secret_forms(value)):
                self._on_add(form)

    @property
    def values(self) -> list[str]:
        """The raw values held, longest first."""
        with self._lock:
            return sorted(self._values, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every form of every value replaced by :data:`REDACTED`."""
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)

    __call__ = redact

    def occurs_in(self, data: bytes) -> bool:
        """Whether any form of any value is in ``data`` (a raw response body, say).

        One substring search per form, so a page can be checked for an echoed secret at a small
        fraction of the cost of decoding it.
        """
        forms = self._byte_forms
        return any(form in data for form in forms)

    def redact_data(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string redacted, dict keys included.

        Tuples become lists (as they would in JSON); other scalars are returned as they are.
        """
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact_data(k): self.redact_data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_data(v) for v in value]
        return value

    def redact_exception(self, exc: BaseException) -> BaseException:
        """Redact ``exc`` in place (its args, string attributes and notes, and those of the
        exceptions it chains to), so its message, traceback and pickle hide every value.

        Rewriting ``args`` keeps the exception's type, traceback and picklability.
        """
        seen: set[int] = set()
        pending: list[BaseException | None] = [exc]
        while pending:
            current = pending.pop()
            if current is None or id(current) in seen:
                continue
            seen.add(id(current))
            try:
                current.args = tuple(
                    self.redact_data(arg) if isinstance(arg, str) else arg for arg in current.args
                )
                for name, value in vars(current).items():
                    if isinstance(value, str) and name != "__notes__":
                        setattr(current, name, self.redact(value))
                notes = getattr(current, "__notes__", None)
                if isinstance(notes, list):
                    notes[:] = [self.redact(note) if isinstance(note, str) else note for note in notes]
            except (AttributeError, TypeError):  # a read-only attribute: leave the rest as it is
                pass
            pending += [current.__cause__, current.__context__]
        return exc

    @contextmanager
    def errors_redacted(self) -> Iterator[None]:
        """Re-raise any exception of the block redacted (see :meth:`redact_exception`)."""
        try:
            yield
        except Exception as exc:
            self.redact_exception(exc)
            raise
