"""RFC 8288 ``Link`` header parsing into the shape OpsLevel's jq expressions expect.

``<https://a/?&cursor=1:0:0>; rel="next"; results="true"`` becomes
``{"next": {"target_url": "https://a/?&cursor=1:0:0", "attributes": {"results": "true"}}}``,
so the seed's ``.link.next.attributes.results`` reads the Sentry ``results`` flag.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from airflow_provider_opslevel.extract.errors import LinkHeaderError

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(
    rf"\s*;\s*(?P<name>{_TOKEN})\*?\s*(?:=\s*(?:\"(?P<quoted>(?:[^\"\\]|\\.)*)\"|(?P<token>[^\s;,\"]*)))?"
)
_TARGET = re.compile(r"\s*<(?P<url>[^>]*)>")
_SEPARATOR = re.compile(r"\s*,")
_BLANK = re.compile(r"\s*\Z")

MAX_LINKS = 1000
"""More links than this in one response is refused: real APIs send a handful (next, prev, ...)."""


def parse_link_header(value: str, base_url: str | None = None) -> dict[str, dict[str, Any]]:
    """Parse a ``Link`` header into ``{rel: {"target_url": str, "attributes": {name: value}}}``.

    A link with several relation types (``rel="next last"``) is listed under each of them; the
    first link wins when two share a relation, as RFC 8288 readers usually do.

    :param value: the raw header value (several headers may be joined with ``,``).
    :param base_url: the request URL, against which relative targets are resolved.
    :raises LinkHeaderError: when the value cannot be parsed (the message quotes where) or holds
        more than :data:`MAX_LINKS` links.

    Parsing is linear in the header's length: nothing is sliced from the position onwards.
    """
    links: dict[str, dict[str, Any]] = {}
    pos = 0
    length = len(value)
    count = 0
    while pos < length:
        if _BLANK.match(value, pos):
            break
        count += 1
        if count > MAX_LINKS:
            raise LinkHeaderError(
                f"the Link header holds more than {MAX_LINKS} links ({length} characters); refusing it"
            )
        target = _TARGET.match(value, pos)
        if target is None:
            raise LinkHeaderError(
                f"malformed Link header: expected '<url>' at character {pos}: {value[pos : pos + 60]!r}"
            )
        pos = target.end()
        attributes: dict[str, str] = {}
        rels: list[str] = []
        while True:
            param = _PARAM.match(value, pos)
            if param is None:
                break
            pos = param.end()
            name = param.group("name").lower()
            raw = param.group("quoted")
            text = re.sub(r"\\(.)", r"\1", raw) if raw is not None else (param.group("token") or "")
            if name == "rel":
                rels = text.split()
            elif name not in attributes:
                attributes[name] = text
        if not _BLANK.match(value, pos):
            separator = _SEPARATOR.match(value, pos)
            if separator is None:
                raise LinkHeaderError(
                    f"malformed Link header: unexpected text at character {pos}: {value[pos : pos + 60]!r}"
                )
            pos = separator.end()
        else:
            pos = length
        url = target.group("url").strip()
        if base_url:
            url = urljoin(base_url, url)
        for rel in rels:
            links.setdefault(rel.lower(), {"target_url": url, "attributes": dict(attributes)})
    return links
