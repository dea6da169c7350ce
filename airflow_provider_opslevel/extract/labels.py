"""The names of mapped ``for_each`` tasks: the parents each one reads, short and safe to show.

A parent is named by the first of its item's top-level keys (``slug``, ``name``, ``key``,
``title`` by default) that holds text, else by its ``external_id``. Parent records come from an
API the workers should not have to trust, so a name keeps no control or format character (no
newline, escape or bidi override) and is capped: a label, at most three names and a count, stays
under 180 characters (Airflow keeps a mapped task's name in a 250-character column).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_LABEL_KEYS = ("slug", "name", "key", "title")
SHOWN_PARENTS = 3
MAX_NAME_CHARS = 40
MAX_LABEL_KEYS = 16


def label_keys(value: Any, *, where: str = "parent_label_field") -> tuple[str, ...]:
    """The parent record keys an option names: one key or a list of keys, first with text wins.

    :param value: the option's value, e.g. ``"name"`` or ``["display_name", "name"]``.
    :param where: how to name the option in an error.
    :raises ValueError: when ``value`` is not a non-empty key or list of such keys.
    """
    keys = [value] if isinstance(value, str) else value
    if (
        not isinstance(keys, Sequence)
        or isinstance(keys, (str, bytes))
        or not 0 < len(keys) <= MAX_LABEL_KEYS
        or not all(isinstance(key, str) and key.strip() for key in keys)
    ):
        raise ValueError(
            f"{where} must be a top-level key of the parent record, or a list of 1 to "
            f"{MAX_LABEL_KEYS} such keys (the first that holds text names the parent), "
            f"e.g. 'name' or ['display_name', 'name']; got {value!r:.80}"
        )
    return tuple(keys)


def clean(text: str, limit: int) -> str:
    """``text`` with its whitespace runs (newlines and tabs too) made single spaces, without
    control, format, surrogate, private or unassigned characters, cut to ``limit`` characters
    (the last one ``…``)."""
    kept = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or unicodedata.category(char)[0] != "C"
    )
    single = " ".join(kept.split())
    return single if len(single) <= limit else single[: limit - 1] + "…"


def parent_name(record: Mapping[str, Any], keys: Sequence[str] = DEFAULT_LABEL_KEYS) -> str:
    """What to call one parent record (``{"external_id": ..., "data": item}``): the first of
    ``keys`` of its item holding text, else its ``external_id``."""
    data = record.get("data")
    if isinstance(data, Mapping):
        for key in keys:
            value = data.get(key)
            if isinstance(value, str) and (name := clean(value, MAX_NAME_CHARS)):
                return name
    return clean(str(record.get("external_id", "?")), MAX_NAME_CHARS) or "?"


def chunk_label(
    parent_kind: str,
    records: Sequence[Mapping[str, Any]],
    keys: Sequence[str] = DEFAULT_LABEL_KEYS,
) -> str:
    """A mapped task's name from the parents it reads, e.g. ``sentry_project backend-api, web +7``."""
    kind = clean(parent_kind, MAX_NAME_CHARS)
    if not records:
        return f"{kind} (no parents)"
    names = [parent_name(record, keys) for record in records[:SHOWN_PARENTS]]
    more = f" +{len(records) - SHOWN_PARENTS}" if len(records) > SHOWN_PARENTS else ""
    return f"{kind} {', '.join(names)}{more}"
