"""What the CLI prints: exit statuses, how much of a page or a value it shows, JSON, and Airflow's
own log kept off stdout (so that ``--json`` output parses)."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from typing import IO, Any

PROG = "opslevel-integration"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# How much of a raw page the text output shows.
PAGE_LINES = 60
PAGE_CHARS = 4000
# How much of one record's data a text line shows.
RECORD_CHARS = 200
# What ``--json`` carries at most: the first page, and each shown record's data or component's
# field, as compact JSON; a larger value becomes its first characters and a truncation marker, so a
# 50 MB page never reaches stdout.
JSON_PAGE_CHARS = 64 * 1024
JSON_VALUE_CHARS = 2000


def dump(value: Any, **kwargs: Any) -> str:
    """``value`` as JSON; anything JSON has no type for as its ``str``."""
    return json.dumps(value, default=str, **kwargs)


def truncate_lines(
    text: str, max_lines: int = PAGE_LINES, max_chars: int = PAGE_CHARS
) -> tuple[str, str | None]:
    """``text`` cut to a readable size, and a note saying how much was left out (or ``None``)."""
    lines = text.splitlines()
    kept: list[str] = []
    size = 0
    for line in lines[:max_lines]:
        if size + len(line) > max_chars and kept:
            break
        kept.append(line[:max_chars])
        size += len(line) + 1
    if len(kept) == len(lines) and size <= max_chars + 1:
        return text, None
    return "\n".join(kept), (
        f"... truncated: showing {len(kept)} of {len(lines)} lines ({len(text)} characters); "
        f"--json shows up to {JSON_PAGE_CHARS // 1024} KiB"
    )


def capped(value: Any, limit: int) -> Any:
    """``value`` itself if its compact JSON fits in ``limit`` characters, else that JSON cut to
    ``limit`` with a ``... (truncated, N characters)`` marker. Redact before capping: a secret cut
    in two would no longer be recognised."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else dump(value, separators=(",", ":"))
    if len(text) <= limit:
        return value
    return f"{text[:limit]}... (truncated, {len(text)} characters)"


def short(value: Any, limit: int = RECORD_CHARS) -> str:
    """``value`` as compact JSON on one line, at most ``limit`` characters."""
    text = dump(value, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def airflow_output(err: IO[str], verbose: bool) -> Iterator[None]:
    """Import Airflow with its log on ``err``: stdout carries only the report (``--json`` parses)."""
    import airflow_provider_opslevel.connections  # noqa: F401  (imports Airflow, which sets up logging)

    moved: list[tuple[logging.StreamHandler[Any], Any]] = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
            moved.append((handler, handler.stream))
            handler.setStream(err)
    package = logging.getLogger("airflow_provider_opslevel")
    level = package.level
    if not verbose:  # the report says everything the engine logs, once
        package.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(err):
            yield
    finally:
        package.setLevel(level)
        for handler, stream in moved:
            handler.setStream(stream)
