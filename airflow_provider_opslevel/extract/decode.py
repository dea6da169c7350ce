"""Decode response bodies: msgspec's decoder, with :func:`json.loads` as the final word.

Decoding is the largest CPU cost of a page (a 100-issue Sentry page is about 135 KB), and the
extract workers share one GIL, so it bounds how many requests a task keeps in flight.
``msgspec`` (an Airflow dependency already) decodes the same values in about 60% of the time.
It is stricter than :mod:`json`: a body it refuses (``NaN``, a byte-order mark, a lone surrogate,
or malformed JSON) goes through :func:`json.loads`, which accepts exactly what it accepted before,
or raises the error message users already know.

Nesting is bounded by the decoders' own recursion guard (both count levels against the
interpreter's recursion limit, 1000 by default, less the stack already in use; on CPython 3.12+
msgspec and :mod:`json` count C recursion instead, which allows somewhat more). Either way a body
nested deeper raises :class:`JsonTooDeepError`, a :class:`ValueError`, never a bare
:class:`RecursionError`. A tighter, exact limit would need a second walk over every page, which
costs about 60% of decoding it (``benchmarks/extract.py`` is CPU-bound on decoding).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from airflow_provider_opslevel.extract.errors import JsonTooDeepError

__all__ = ["JsonTooDeepError", "decode_json"]

_decoder = msgspec.json.Decoder()


def decode_json(content: bytes) -> Any:
    """The JSON value of ``content``.

    :raises JsonTooDeepError: the document is nested too deeply to decode.
    :raises ValueError: it is not JSON (:func:`json.loads`' own message).
    """
    try:
        return _decoder.decode(content)
    except msgspec.MsgspecError:
        pass  # json.loads decides, outside this handler so its error does not chain to msgspec's
    except RecursionError:
        raise JsonTooDeepError() from None
    try:
        return json.loads(content)
    except RecursionError:
        raise JsonTooDeepError() from None
