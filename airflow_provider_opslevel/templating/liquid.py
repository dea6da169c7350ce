"""The Liquid -> Jinja rewrite: a small, quote-aware translation of Liquid-only syntax.

- ``{% elsif %}`` becomes ``{% elif %}``; ``{% unless c %}...{% endunless %}`` becomes
  ``{% if not (c) %}...{% endif %}``; ``{% assign x = v %}`` becomes ``{% set x = v %}``;
- filter arguments ``x | replace: "a", "b"`` become ``x | replace("a", "b")`` (``key: v`` arguments
  become ``key=v``); ``a contains b`` becomes ``(b in a)``; ``nil`` becomes ``none``.

Jinja syntax passes through unchanged.
"""

from __future__ import annotations

import re

__all__ = ["liquid_to_jinja"]

_TAG_START = re.compile(r"\{\{|\{%|\{#")
_ENDRAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_STATEMENT = re.compile(r"(\s*)([A-Za-z_]\w*)(.*)\Z", re.S)
_COLON_FILTER = re.compile(r"(\s*)([A-Za-z_]\w*)\s*:(?!:)(.*)\Z", re.S)
_KEYWORD_ARG = re.compile(r"(\s*)([A-Za-z_]\w*)\s*:(?!:)(.*)\Z", re.S)
_OPEN = "([{"
_CLOSE = ")]}"


def _skip_string(text: str, i: int) -> int:
    """Return the index just past the quoted string starting at ``text[i]``."""
    quote = text[i]
    i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return i


def _find_closer(text: str, start: int, closer: str) -> int:
    """Index of ``closer`` ending the tag that starts at ``start``, skipping quoted strings."""
    i = start
    while i < len(text):
        if text[i] in "'\"":
            i = _skip_string(text, i)
        elif text.startswith(closer, i):
            return i
        else:
            i += 1
    return -1


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split ``text`` on ``separator`` outside quotes and brackets."""
    pieces, depth, begin, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char in "'\"":
            i = _skip_string(text, i)
            continue
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        elif char == separator and depth == 0:
            pieces.append(text[begin:i])
            begin = i + 1
        i += 1
    pieces.append(text[begin:])
    return pieces


def _atoms(text: str) -> list[str]:
    """Split into alternating whitespace / non-whitespace runs, outside quotes and brackets."""
    atoms: list[str] = []
    depth, begin, i = 0, 0, 0
    while i < len(text):
        char = text[i]
        if depth == 0 and i > begin and char.isspace() != text[begin].isspace():
            atoms.append(text[begin:i])
            begin = i
        if char in "'\"":
            i = _skip_string(text, i)
            continue
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        i += 1
    if begin < len(text):
        atoms.append(text[begin:])
    return atoms


def _translate_operators(text: str) -> str:
    """Rewrite Liquid's ``nil`` and ``a contains b`` in an expression without filters."""
    atoms = ["none" if atom == "nil" else atom for atom in _atoms(text)]
    words = [i for i, atom in enumerate(atoms) if not atom.isspace()]
    for position, i in enumerate(words):
        if atoms[i] == "contains" and 0 < position < len(words) - 1:
            left, right = words[position - 1], words[position + 1]
            atoms[left] = f"({atoms[right]} in {atoms[left]})"
            for j in range(left + 1, right + 1):
                atoms[j] = ""
    return "".join(atoms)


def _translate_filter(segment: str) -> str:
    """``name: a, key: b`` -> ``name(a, key=b)``; anything else is left as is."""
    match = _COLON_FILTER.match(segment)
    if match is None:
        return segment
    lead, name, args = match.groups()
    body = args.rstrip()
    trail = args[len(body) :]
    converted = []
    for arg in _split_top_level(body, ","):
        keyword = _KEYWORD_ARG.match(arg)
        converted.append(f"{keyword.group(1)}{keyword.group(2)}={keyword.group(3)}" if keyword else arg)
    return f"{lead}{name}({','.join(converted).strip()}){trail}"


def _translate_expression(text: str) -> str:
    head, *filters = _split_top_level(text, "|")
    return "|".join([_translate_operators(head), *(_translate_filter(f) for f in filters)])


def _translate_statement(inner: str) -> tuple[str, bool]:
    """Translate the inside of a ``{% %}`` tag; the flag says it opened a raw block."""
    match = _STATEMENT.match(inner)
    if match is None:
        return inner, False
    lead, name, rest = match.groups()
    if name == "raw":
        return inner, True
    if name in ("if", "elif", "elsif"):
        return f"{lead}{'elif' if name == 'elsif' else name}{_translate_expression(rest)}", False
    if name == "unless":
        body = _translate_expression(rest)
        stripped = body.strip()
        return f"{lead}if not ({stripped}){body[len(body.rstrip()) :]}", False
    if name == "endunless":
        return f"{lead}endif{rest}", False
    if name == "assign":
        return f"{lead}set{_translate_expression(rest)}", False
    return inner, False


def liquid_to_jinja(source: str) -> str:
    """Rewrite Liquid-only syntax to Jinja, keeping every newline (so line numbers still match).

    Text outside tags, quoted strings and ``{% raw %}`` blocks is copied unchanged.

    :param source: a Liquid (or Jinja) template.
    """
    out: list[str] = []
    pos = 0
    while True:
        match = _TAG_START.search(source, pos)
        if match is None:
            out.append(source[pos:])
            return "".join(out)
        out.append(source[pos : match.start()])
        opener = match.group()
        closer = {"{{": "}}", "{%": "%}", "{#": "#}"}[opener]
        end = (
            source.find(closer, match.end()) if opener == "{#" else _find_closer(source, match.end(), closer)
        )
        if end < 0:  # unclosed: let Jinja report it with its own message
            out.append(source[match.start() :])
            return "".join(out)
        inner = source[match.end() : end]
        pos = end + len(closer)
        if opener == "{#":
            out.append(opener + inner + closer)
            continue
        lead = inner[:1] if inner[:1] in ("-", "+") else ""
        trail = inner[-1:] if len(inner) > len(lead) and inner[-1:] in ("-", "+") else ""
        body = inner[len(lead) : len(inner) - len(trail)]
        opens_raw = False
        if opener == "{{":
            body = _translate_expression(body)
        else:
            body, opens_raw = _translate_statement(body)
        out.append(opener + lead + body + trail + closer)
        if opens_raw:
            endraw = _ENDRAW.search(source, pos)
            stop = endraw.end() if endraw else len(source)
            out.append(source[pos:stop])
            pos = stop
