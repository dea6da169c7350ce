"""Keep the cyclic garbage collector off the records a task has already read.

An extract task holds every record until it returns them: 50,000 Sentry issues are about two
million dicts and lists. CPython's collector walks all of them again on each full collection, and
with records accumulating that cost more CPU than decoding the pages (``benchmarks/extract.py``).
Records are trees without cycles, so reference counting frees them; moving what is alive to the
permanent generation after each page (:func:`gc.freeze`, O(1)) loses nothing, and objects made
later are still collected as usual.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["keeping_records", "settle"]

_lock = threading.Lock()
_active = 0
_unfreeze = False


@contextmanager
def keeping_records() -> Iterator[None]:
    """While inside, :func:`settle` freezes; on leaving the last one, the frozen objects go back
    to the collector, unless something else (Airflow's executor does) had frozen objects before."""
    global _active, _unfreeze
    with _lock:
        if _active == 0:
            _unfreeze = gc.get_freeze_count() == 0
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _unfreeze:
                gc.unfreeze()


def settle() -> None:
    """Call once a page's records are stored: everything alive now stops being re-scanned."""
    if _active:
        gc.freeze()
