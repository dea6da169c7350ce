"""A small LRU cache of things loaded from files, keyed by each file's path, mtime and size.

A DAG file is parsed again and again; its YAML need not be, while the files are unchanged.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")
PathLike = str | os.PathLike[str]


def file_key(path: PathLike) -> tuple[Any, ...] | None:
    """``(path as given, resolved path, mtime_ns, size)``; ``None`` when the file cannot be read."""
    try:
        stat = os.stat(path)
        return (os.fspath(path), str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return None  # let the loader report the unreadable file


class FileCache(Generic[T]):
    """Remember what :meth:`get` loaded for a set of files until one of them changes.

    :param size: how many results to keep (least recently used go first).
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, paths: tuple[PathLike, ...], load: Callable[[], T]) -> T:
        """The cached result for ``paths``, or ``load()``'s (cached only when it succeeds)."""
        keys = tuple(file_key(path) for path in paths)
        if any(key is None for key in keys):
            return load()
        with self._lock:
            if keys in self._items:
                self._items.move_to_end(keys)
                return self._items[keys]
        value = load()
        with self._lock:
            self._items[keys] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
