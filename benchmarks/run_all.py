"""Run every benchmark script in this folder (``make bench``), one after another, with default args.

Every ``benchmarks/*.py`` except this file (and ``__init__.py``) is run with the same Python.
The exit status is non-zero when any script failed (a crash, or a benchmark target not met).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(
        path for path in HERE.glob("*.py") if path.name != Path(__file__).name and not path.name.startswith("_")
    )
    failed = []
    for script in scripts:
        print(f"=== {script.name}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"=== {script.name}: exit {code} after {time.perf_counter() - start:.0f}s\n", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
