"""Secret resolution for templates, with redaction of every value handed out."""

from __future__ import annotations

import threading
from collections.abc import Callable

SecretResolver = Callable[[str], str]

REDACTED = "***"


class SecretRecorder:
    """Wrap a resolver and remember each value it returns, so messages can be redacted.

    Templates resolve secrets lazily; anything built from a rendered URL, header or body (an
    exception, a log line, a record) goes through :meth:`redact` before it leaves the engine.

    :param resolve: maps a secret name to its value (the Airflow adapter reads a connection).
    :param on_value: called with each new value (the Airflow adapter registers it with the
        secrets masker).
    """

    def __init__(self, resolve: SecretResolver, on_value: Callable[[str], None] | None = None) -> None:
        self._resolve = resolve
        self._on_value = on_value
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> str:
        with self._lock:
            if name in self._cache:
                return self._cache[name]
        value = self._resolve(name)
        with self._lock:
            self._cache[name] = value
        if value and self._on_value is not None:
            self._on_value(value)
        return value

    @property
    def values(self) -> list[str]:
        with self._lock:
            # Longest first, so a secret that contains another is redacted whole.
            return sorted((v for v in self._cache.values() if v), key=len, reverse=True)

    def names_for(self, text: str) -> list[str]:
        """Names of the secrets whose values occur in ``text`` (to say which secret was refused)."""
        with self._lock:
            return sorted(name for name, value in self._cache.items() if value and value in text)

    def redact(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, REDACTED)
        return text
