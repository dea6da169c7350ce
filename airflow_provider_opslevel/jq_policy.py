"""What a jq program may use: checked on its text before it is compiled.

jq can read the process environment (``env``, ``$ENV``), where Airflow keeps ``AIRFLOW_CONN_*``
secrets, and load modules from files (``import``, ``include``). Config authors are not trusted, so
a program that names any of those is refused at load time, with the document's file and line.
This is the first of two walls: programs also run in a child process that has an empty
environment and an empty working directory (:mod:`airflow_provider_opslevel.jq_sandbox`), and
:data:`PROLOGUE` shadows the same builtins there.

The scan is a small lexer, not a parser: it skips string literals (but reads the code inside
``\\(...)`` interpolations), comments and field names (``.env``), and errs on the side of refusing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_PROGRAM_CHARS", "PROLOGUE", "forbidden_uses", "wrap"]

MAX_PROGRAM_CHARS = 65_536
"""Longest jq program accepted, in characters."""

_FORBIDDEN = {
    "env": "reads the worker's environment, where Airflow keeps secrets",
    "$ENV": "reads the worker's environment, where Airflow keeps secrets",
    "import": "loads a jq module from the worker's files",
    "include": "loads a jq module from the worker's files",
    "modulemeta": "reads jq modules from the worker's files",
    "get_search_list": "reveals the worker's module search paths",
    "get_jq_origin": "reveals the worker's file system layout",
    "get_prog_origin": "reveals the worker's file system layout",
    "input_filename": "reveals the worker's file names",
    "$__prog_args": "reads the worker's command line",
}

# Shadow the same builtins inside the sandbox (defence in depth), and turn halt/halt_error, which
# jq's library mode ends silently with no output, into errors. Kept on one line so jq's line
# numbers in error messages and ``$__loc__`` still match the user's text.
PROLOGUE = (
    "def env: {}; def input_filename: null; def get_search_list: []; def get_jq_origin: null; "
    "def get_prog_origin: null; def modulemeta: error(\"modulemeta is not allowed\"); "
    "def halt: error(\"halt was called\"); "
    "def halt_error($code): error(\"halt_error(\\($code)): \\(if type == \"string\" then . else tojson end)\"); "
    "def halt_error: halt_error(5); "
    "{} as $ENV | ("
)


def wrap(source: str) -> str:
    """Return ``source`` inside :data:`PROLOGUE` (the newline ends a trailing ``#`` comment)."""
    return f"{PROLOGUE}{source}\n)"


@dataclass(frozen=True)
class Use:
    """A forbidden name in a jq program.

    :param name: the name as written (``env``, ``$ENV``, ``import``...).
    :param line: 1-based line inside the program.
    :param why: what the name would give the program.
    """

    name: str
    line: int
    why: str

    def __str__(self) -> str:
        return f"'{self.name}' (line {self.line} of the expression) {self.why}"


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*")
_SPACE = " \t\r\n"


class _Scanner:
    def __init__(self, source: str) -> None:
        self.text = source
        self.uses: list[Use] = []
        # Significant tokens seen so far, for the object-key checks (``{env: 1}``, ``{env}``).
        self.previous = ""
        self.brackets: list[str] = []

    def line(self, at: int) -> int:
        return self.text.count("\n", 0, at) + 1

    def scan(self, i: int, stop_at_close: bool) -> int:
        """Scan code from ``i``; with ``stop_at_close``, stop after the ``)`` closing an interpolation."""
        text = self.text
        depth = 0
        while i < len(text):
            char = text[i]
            if char in _SPACE:
                i += 1
            elif char == "#":
                end = text.find("\n", i)
                i = len(text) if end < 0 else end + 1
            elif char == '"':
                i = self.string(i + 1)
                self.previous = "string"
            elif char == ".":
                # `.name` is a field lookup, whatever the name; `..name` is not (it lexes as `..` `name`).
                match = _IDENT.match(text, i + 1)
                if match and not text.startswith("..", i) and not (i > 0 and text[i - 1] == "."):
                    i = match.end()
                    self.previous = "field"
                else:
                    i += 1
                    self.previous = "."
            elif char == "$":
                match = _IDENT.match(text, i + 1)
                name = "$" + (match.group() if match else "")
                if name in _FORBIDDEN:
                    self.uses.append(Use(name, self.line(i), _FORBIDDEN[name]))
                i = match.end() if match else i + 1
                self.previous = "variable"
            elif char.isalpha() or char == "_":
                match = _IDENT.match(text, i)
                assert match is not None
                name = match.group()
                end = match.end()
                if name in _FORBIDDEN and not self.object_key(end):
                    self.uses.append(Use(name, self.line(i), _FORBIDDEN[name]))
                i = end
                self.previous = "ident"
            else:
                if char in "([{":
                    self.brackets.append(char)
                    depth += 1
                elif char in ")]}":
                    if self.brackets:
                        self.brackets.pop()
                    depth -= 1
                    if stop_at_close and depth < 0:
                        return i + 1
                self.previous = char
                i += 1
        return i

    def object_key(self, end: int) -> bool:
        """Whether the identifier ending at ``end`` is an object key: ``{env: v}`` or ``{a, env}``."""
        if not self.brackets or self.brackets[-1] != "{" or self.previous not in ("{", ","):
            return False
        rest = self.text[end:].lstrip(_SPACE)
        return rest[:1] in (":", ",", "}")

    def string(self, i: int) -> int:
        """Skip a string literal from just past its quote, scanning the code in its interpolations."""
        text = self.text
        while i < len(text):
            char = text[i]
            if char == "\\":
                if text.startswith("(", i + 1):
                    saved = (self.previous, self.brackets)
                    self.previous, self.brackets = "(", []
                    i = self.scan(i + 2, stop_at_close=True)
                    self.previous, self.brackets = saved
                    continue
                i += 2
                continue
            if char == '"':
                return i + 1
            i += 1
        return i


def forbidden_uses(source: str) -> list[Use]:
    """Every forbidden name ``source`` uses, in order.

    :param source: the jq program text.
    """
    scanner = _Scanner(source)
    scanner.scan(0, stop_at_close=False)
    return scanner.uses
