"""Secret resolution for templates, with redaction of every value handed out."""

from __future__ import annotations

import threading
from collections.abc import Callable

from airflow_provider_opslevel.redaction import Redactor

__all__ = ["SecretRecorder", "SecretResolver"]

#: Maps a secret's name to its value: the ``secret`` template filter calls it.
SecretResolver = Callable[[str], str]


class SecretRecorder:
    """Wrap a resolver and remember each value it returns, so messages can be redacted.

    Templates resolve secrets lazily; anything built from a rendered URL, header or body (an
    exception, a log line, a record) goes through :meth:`redact` before it leaves the engine.

    :param resolve: maps a secret name to its value (the Airflow adapter reads a connection).
    :param on_value: called with each new value (the Airflow adapter registers it with the
        secrets masker).
    :param redactor: where the values go; pass the run's :class:`Redactor` to share it with the
        OAuth client and the OpsLevel hook (default: a new one, :attr:`redactor`).
    """

    def __init__(
        self,
        resolve: SecretResolver,
        on_value: Callable[[str], None] | None = None,
        *,
        redactor: Redactor | None = None,
    ) -> None:
        self._resolve = resolve
        self._on_value = on_value
        self.redactor = redactor if redactor is not None else Redactor()
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()
        # Threads that ask for a secret at once wait for one resolution instead of each doing it.
        self._resolving = threading.Lock()

    def __call__(self, name: str) -> str:
        with self._lock:
            if name in self._cache:
                return self._cache[name]
        with self._resolving:
            with self._lock:
                if name in self._cache:
                    return self._cache[name]
            value = self._resolve(name)
            self.redactor.add(value)
            if value and self._on_value is not None:
                self._on_value(value)
            with self._lock:
                self._cache[name] = value
        return value

    @property
    def values(self) -> list[str]:
        """Every non-empty value handed out, longest first."""
        with self._lock:
            return sorted((v for v in self._cache.values() if v), key=len, reverse=True)

    def names_for(self, text: str) -> list[str]:
        """Names of the secrets whose values occur in ``text`` (to say which secret was refused)."""
        with self._lock:
            return sorted(name for name, value in self._cache.items() if value and value in text)

    def redact(self, text: str) -> str:
        """``text`` with every form of every value handed out hidden (see :class:`Redactor`)."""
        return self.redactor.redact(text)
