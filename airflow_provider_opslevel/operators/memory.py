"""Peak resident memory of the current task, for the task log (Linux: resettable per task)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def release_free_memory() -> None:
    """Give memory freed by earlier work back to the system (glibc keeps freed heap pages).

    A worker that reuses its process for the next task (and ``dag.test()``, which runs every
    task in one) would otherwise carry an earlier task's high-water mark into the next one.
    """
    gc.collect()
    name = ctypes.util.find_library("c")
    if name and sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(name).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


def reset_peak() -> None:
    """Start a new peak (``dag.test()`` runs every task in one process; workers reuse theirs)."""
    release_free_memory()
    try:
        _CLEAR_REFS.write_text("5")  # resets VmHWM, the peak RSS, on Linux
    except OSError:
        pass


def peak_rss_mib() -> float:
    """Peak RSS since :func:`reset_peak` (or since the process started where it cannot be reset)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
