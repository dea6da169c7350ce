"""Whether a regular expression can backtrack for ever: a repeat of a body that can split the same
text in several ways, like ``(a+)+`` (what makes validating a value take exponential time).

A conservative reading of ``re``'s own parse tree: it may refuse a safe pattern, never pass one
it can tell is ambiguous.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

__all__ = ["backtracks"]


def backtracks(pattern: str) -> bool:
    """Whether ``pattern`` repeats a group that can match the same text in more than one way."""
    return _backtracks(_sre_parser().parse(pattern))


def _sre_parser() -> Any:
    try:
        return importlib.import_module("re._parser")  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        return importlib.import_module("sre_parse")


_REPEATS = ("MAX_REPEAT", "MIN_REPEAT")  # a POSSESSIVE_REPEAT never backtracks
_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}


def _children(op: str, arg: Any) -> list[Any]:
    """The sub-patterns of one parsed regex item."""
    if op == "SUBPATTERN":
        return [arg[-1]]
    if op == "BRANCH":
        return list(arg[1])
    if op in ("ASSERT", "ASSERT_NOT"):
        return [arg[1]]
    if op == "ATOMIC_GROUP":
        return [arg]
    if op == "GROUPREF_EXISTS":
        return [branch for branch in arg[1:] if branch is not None]
    return []


def _backtracks(items: Any) -> bool:
    """Whether a parsed regex repeats a body that can split the same text in several ways."""
    for op, arg in items:
        name = str(op)
        if name in _REPEATS and arg[1] > 1 and _ambiguous(arg[2]):
            return True
        children = [arg[2]] if name in _REPEATS else _children(name, arg)
        if any(_backtracks(child) for child in children):
            return True
    return False


def _ambiguous(body: Any) -> bool:
    """A repeated body is ambiguous when it holds a variable repeat or alternatives starting alike,
    unless it starts or ends with a literal character none of its variable repeats can match."""
    items = list(body)
    while len(items) == 1 and str(items[0][0]) == "SUBPATTERN":
        items = list(items[0][1][-1])
    variable: list[Any] = []
    alike = False
    stack = [items]
    while stack:
        for op, arg in stack.pop():
            name = str(op)
            if name in _REPEATS and arg[0] != arg[1]:
                variable.append(arg[2])
            if name == "BRANCH":
                firsts = [list(branch)[:1] for branch in arg[1]]
                alike = alike or any(firsts.count(first) > 1 for first in firsts)
                if [] in firsts:  # "a|aa" is parsed as "a(?:|a)": an optional part
                    variable.extend(branch for branch in arg[1] if list(branch))
            stack.extend([arg[2]] if name in _REPEATS else _children(name, arg))
    if alike:
        return True
    if not variable:
        return False
    for op, arg in (items[0], items[-1]):
        if str(op) == "LITERAL" and not any(_may_match(repeat, chr(arg)) for repeat in variable):
            return False
    return True


def _may_match(repeat: Any, char: str) -> bool:
    """Whether a repeated item may match ``char`` (``True`` when it cannot tell)."""
    items = list(repeat)
    if len(items) != 1:
        return True
    op, arg = str(items[0][0]), items[0][1]
    if op == "LITERAL":
        return chr(arg) == char
    if op == "NOT_LITERAL":
        return chr(arg) != char
    if op == "ANY":
        return char != "\n"
    if op != "IN":
        return True
    negate, found = False, False
    for member, value in arg:
        member = str(member)
        if member == "NEGATE":
            negate = True
        elif member == "LITERAL":
            found = found or chr(value) == char
        elif member == "RANGE":
            found = found or value[0] <= ord(char) <= value[1]
        elif member == "CATEGORY" and str(value) in _CATEGORIES:
            found = found or re.match(_CATEGORIES[str(value)], char) is not None
        else:
            return True
    return found != negate
