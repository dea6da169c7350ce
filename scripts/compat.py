"""`make compat`: mypy, the whole test suite and `make demo` on every Airflow version the project claims.

For each version (the lowest supported minor at its latest patch, and the newest release) a venv
at `.compat/<version>/venv` gets the project (editable, with the extras `make install` installs)
and that Airflow; then mypy checks the package against that Airflow, the suite runs as `make test`
runs it, and `scripts/demo.py` runs. A venv is reused while its inputs (pyproject.toml, the
extras, the Airflow version, the Python) are unchanged. The logs are beside it:
`.compat/<version>/{install,mypy,pytest,demo}.log`. Prints one row per version and exits 1 if
anything failed.

    python scripts/compat.py --python python3 --extras dev 3.1.8 3.3.2
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pytest's closing line, e.g. "3 failed, 512 passed, 2 skipped, 1 warning in 301.20s (0:05:01)".
COUNTS = re.compile(r"(\d+) (passed|failed|skipped|errors?)\b")


@dataclass
class Result:
    """One Airflow version's row of the table.

    :ivar version: the Airflow version.
    :ivar steps: each step run (``install``, ``mypy``, ``pytest``, ``demo``) and whether it passed;
        the steps after a failed install are missing.
    :ivar counts: pytest's counts by outcome (``error`` for both ``error`` and ``errors``).
    :ivar seconds: how long each step took.
    """

    version: str
    steps: dict[str, bool] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return set(self.steps) == {"install", "mypy", "pytest", "demo"} and all(self.steps.values())


def inputs_digest(python: str, extras: str, version: str) -> str:
    """What a venv is built from; another digest means a rebuild."""
    interpreter = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout
    digest = hashlib.sha256()
    for part in (interpreter, extras, version, (ROOT / "pyproject.toml").read_text()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def run_logged(commands: list[list[str]], log: Path) -> bool:
    """Run ``commands`` one after the other from the repository root, all output to ``log``;
    stops at the first that fails. True if every one exited 0."""
    with log.open("w") as out:
        for command in commands:
            code = subprocess.call(
                command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            if code != 0:
                return False
    return True


def ensure_venv(venv: Path, python: str, extras: str, version: str, log: Path) -> bool:
    """Create the venv with the project and ``apache-airflow==version``, or keep the one whose
    stamp says it was built from the same inputs. False if an install step failed.

    :param venv: the venv's folder.
    :param python: the interpreter the venv is made from.
    :param extras: the project's extras, comma-separated (as in ``.[dev]``).
    :param version: the Airflow version.
    :param log: where the install's output goes.
    """
    stamp = venv / ".installed"
    digest = inputs_digest(python, extras, version)
    if stamp.is_file() and stamp.read_text() == digest:
        log.write_text(f"reused {venv} (same inputs)\n")
        return True
    shutil.rmtree(venv, ignore_errors=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q"]
    installed = run_logged(
        [
            [python, "-m", "venv", str(venv)],
            [*pip, "--upgrade", "pip"],
            [*pip, "-e", f".[{extras}]", f"apache-airflow=={version}"],
        ],
        log,
    )
    if installed:
        stamp.write_text(digest)
    return installed


def pytest_counts(log: Path) -> dict[str, int]:
    """The counts of pytest's closing line in ``log`` (empty if it never got there)."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if COUNTS.search(line)]
    if not lines:
        return {}
    return {
        ("error" if outcome.startswith("error") else outcome): int(number)
        for number, outcome in COUNTS.findall(lines[-1])
    }


def failure_lines(step: str, log: Path, limit: int = 40) -> list[str]:
    """What to show of a failed step's log where CI shows only this script's output: pytest's
    short summary (``FAILED``/``ERROR`` lines, one per test), else the log's last lines.
    Each is cut to 400 characters."""
    lines = log.read_text(errors="replace").splitlines()
    if step == "pytest":
        summary = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
        lines = summary or lines
    return [line[:400] for line in lines[-limit:]]


def check(version: str, python: str, extras: str, compat: Path) -> Result:
    """Install (or reuse), then mypy, the suite and the demo with Airflow ``version``.

    :param version: the Airflow version.
    :param python: the interpreter the venv is made from.
    :param extras: the project's extras, comma-separated.
    :param compat: the folder of the versions' folders (``.compat``).
    """
    folder = compat / version
    folder.mkdir(parents=True, exist_ok=True)
    venv = folder / "venv"
    py = str(venv / "bin/python")
    result = Result(version)
    steps = {
        "install": lambda log: ensure_venv(venv, python, extras, version, log),
        # Its own cache: the venvs' Airflows differ, and mypy's cache does not key on them.
        "mypy": lambda log: run_logged(
            [[str(venv / "bin/mypy"), "--cache-dir", str(folder / "mypy-cache")]], log
        ),
        # As `make test` runs pytest; no cache provider: one tree, several venvs.
        "pytest": lambda log: run_logged([[py, "-m", "pytest", "-q", "-p", "no:cacheprovider"]], log),
        "demo": lambda log: run_logged([[py, "scripts/demo.py"]], log),
    }
    print(f"== Airflow {version} ({venv})", flush=True)
    for name, step in steps.items():
        log = folder / f"{name}.log"
        started = time.monotonic()
        result.steps[name] = step(log)
        result.seconds[name] = time.monotonic() - started
        if name == "pytest":
            result.counts = pytest_counts(log)
        outcome = "ok" if result.steps[name] else f"FAILED (log: {log})"
        print(f"   {name}: {outcome} in {result.seconds[name]:.0f}s", flush=True)
        if not result.steps[name]:
            for line in failure_lines(name, log):
                print(f"      | {line}", flush=True)
        if name == "install" and not result.steps[name]:
            break
    return result


def table(results: list[Result]) -> str:
    """The results as a text table, one row per Airflow version."""

    def outcome(result: Result, step: str) -> str:
        return "-" if step not in result.steps else ("ok" if result.steps[step] else "FAILED")

    rows = [("Airflow", "passed", "failed", "skipped", "suite", "mypy", "demo", "time")]
    for r in results:
        rows.append(
            (
                r.version,
                str(r.counts.get("passed", 0)),
                str(r.counts.get("failed", 0) + r.counts.get("error", 0)),
                str(r.counts.get("skipped", 0)),
                outcome(r, "pytest"),
                outcome(r, "mypy"),
                outcome(r, "demo"),
                f"{sum(r.seconds.values()) / 60:.1f} min",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-|-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="+", help="Airflow versions, e.g. 3.1.8 3.3.2")
    parser.add_argument("--python", default="python3", help="the interpreter the venvs are made from")
    parser.add_argument("--extras", default="dev", help="the project's extras, comma-separated")
    parser.add_argument("--dir", type=Path, default=ROOT / ".compat", help="where the venvs and logs go")
    args = parser.parse_args(argv)
    results = [check(version, args.python, args.extras, args.dir) for version in args.versions]
    print()
    print(table(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
