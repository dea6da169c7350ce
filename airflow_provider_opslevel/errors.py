"""Errors the provider raises on purpose, and where in the YAML they point.

Every error names its :class:`Location` (file, line, section, index, external_kind, key) so a
user can go straight to the offending line. Messages never contain secret values.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any


class OpsLevelIntegrationError(Exception):
    """Base of every error this provider raises on purpose."""


@dataclass(frozen=True)
class Location:
    """Where a value came from in the integration's YAML.

    :param file: path of the YAML file, as given to the loader.
    :param line: 1-based line number, or ``None`` when unknown.
    :param section: ``"extractors"``, ``"transforms"`` or ``"oauth"`` (``None`` at top level).
    :param index: position of the item inside ``section``.
    :param external_kind: the item's ``external_kind``, when known.
    :param key: dotted path inside the item, e.g. ``http_polling.next_cursor.value`` or
        ``http_polling.headers[1].value``.
    """

    file: str
    line: int | None = None
    section: str | None = None
    index: int | None = None
    external_kind: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        head = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = []
        if self.section is not None:
            parts.append(self.section if self.index is None else f"{self.section}[{self.index}]")
        if self.external_kind:
            parts.append(f"({self.external_kind})")
        if self.key:
            parts.append(self.key)
        return f"{head}: {' '.join(parts)}" if parts else head

    def with_key(self, key: str | None, line: int | None = None) -> Location:
        """Return a copy pointing at ``key`` (and ``line`` when given).

        :param key: dotted key path inside the item.
        :param line: line of that key's value; keeps this location's line when ``None``.
        """
        return replace(self, key=key, line=self.line if line is None else line)

    def sort_key(self) -> tuple[str, int]:
        """Order locations by file, then line (unknown lines first)."""
        return (self.file, self.line or 0)


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration.

    :param location: where it is (``None`` for a value that did not come from a file).
    :param message: what is wrong, one line, without the location.
    :param not_supported: the value is valid but this provider does not implement it yet.
    """

    location: Location | None
    message: str
    not_supported: bool = False

    def __str__(self) -> str:
        return self.message if self.location is None else f"{self.location}: {self.message}"


def _sort_key(problem: ConfigProblem) -> tuple[str, int]:
    return problem.location.sort_key() if problem.location is not None else ("", 0)


class ConfigError(OpsLevelIntegrationError):
    """The integration's YAML is invalid; raised at load (DAG-parse) time.

    Holds every problem found, sorted by file and line; the message lists them one per line.

    :param problems: the problems, or a single problem.
    """

    def __init__(self, problems: ConfigProblem | Iterable[ConfigProblem]) -> None:
        if isinstance(problems, ConfigProblem):
            problems = [problems]
        # The same problem can be met twice (a template compiled for two checks): report it once.
        unique = {str(problem): problem for problem in problems}
        self.problems: list[ConfigProblem] = sorted(unique.values(), key=_sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, location: Location | None, message: str) -> ConfigError:
        """Build an error holding a single problem.

        :param location: where the problem is.
        :param message: what is wrong.
        """
        return cls([ConfigProblem(location, message)])

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions with a custom __init__ do not unpickle by default (Airflow may pickle them).
        return (type(self), (self.problems,))


class NotSupportedYetError(ConfigError):
    """The configuration uses an OpsLevel feature this provider does not implement yet."""


class LocatedError(OpsLevelIntegrationError):
    """A failure while evaluating configuration against live data, at a place in the YAML.

    :param message: what failed (``.detail``).
    :param where: the key that failed (``.where``); ``str()`` is ``"{where}: {message}"``.
    """

    def __init__(self, message: str, where: Location | None = None) -> None:
        self.where = where
        self.detail = message
        super().__init__(message if where is None else f"{where}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.detail, self.where))


class ExpressionError(LocatedError):
    """A jq expression failed at run time.

    :param message: what failed (names the expression and carries jq's message).
    :param where: the location of the expression in the YAML.
    """


class TemplateError(LocatedError):
    """A template failed to render at run time (undefined variable, missing secret resolver...).

    :param message: what failed; never contains secret values.
    :param where: the location of the template in the YAML.
    """


class MissingSecretError(OpsLevelIntegrationError):
    """A template names a secret that no Airflow connection provides."""


class SandboxError(Exception):
    """jq reported an error (``error``, ``halt_error``, a type error...); the message is jq's.

    Raised by :mod:`~airflow_provider_opslevel.jq_sandbox`; :class:`ExpressionError` is what
    leaves the engine, with the expression's location.
    """


class SandboxLimitError(SandboxError):
    """The evaluation was stopped: it ran too long, used too much memory or output too much."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the candidate closest to ``word``, or ``""``.

    :param word: the misspelled word.
    :param candidates: the valid words.
    """
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""
