"""scripts/compat.py (`make compat`): reuses a venv built from the same inputs, runs mypy, the
suite and the demo in it, prints the table and fails when anything failed.

The venv's ``python`` and ``mypy`` are stand-ins that record their arguments and answer as pytest
and the demo would, so no test installs Airflow.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compat.py"
spec = importlib.util.spec_from_file_location("compat_script", SCRIPT)
assert spec and spec.loader
compat = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = compat  # dataclasses look their module up there
spec.loader.exec_module(compat)


def stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def fake_venv(compat_dir: Path, version: str, *, pytest_line: str, pytest_code: int, demo_code: int) -> Path:
    """A venv whose stamp matches this interpreter, the ``dev`` extra and ``version``."""
    venv = compat_dir / version / "venv"
    calls = compat_dir / version / "calls"
    stub(
        venv / "bin/python",
        f'echo "python $*" >> {calls}\n'
        f'case "$*" in\n'
        f'  "-m pytest"*) echo "{pytest_line}"; exit {pytest_code};;\n'
        f"  scripts/demo.py) exit {demo_code};;\n"
        f"esac\nexit 99",
    )
    stub(venv / "bin/mypy", f'echo "mypy $*" >> {calls}\necho "Success: no issues found"')
    (venv / ".installed").write_text(compat.inputs_digest(sys.executable, "dev", version))
    calls.write_text("")
    return calls


def test_a_venv_with_the_same_inputs_is_reused_and_every_step_runs_in_it(tmp_path, capsys):
    calls = fake_venv(
        tmp_path, "3.1.8", pytest_line="1150 passed, 2 skipped in 390.00s", pytest_code=0, demo_code=0
    )
    assert compat.main(["--python", sys.executable, "--dir", str(tmp_path), "3.1.8"]) == 0
    recorded = calls.read_text().splitlines()
    assert recorded == [
        f"mypy --cache-dir {tmp_path / '3.1.8' / 'mypy-cache'}",
        "python -m pytest -q -p no:cacheprovider",
        "python scripts/demo.py",
    ]
    assert (tmp_path / "3.1.8" / "install.log").read_text().startswith("reused")
    table = capsys.readouterr().out.split("\n\n")[-1].splitlines()
    assert table[0].split(" | ")[:7] == ["Airflow", "passed", "failed", "skipped", "suite", "mypy", "demo"]
    assert [cell.strip() for cell in table[2].split("|")][:7] == ["3.1.8", "1150", "0", "2", "ok", "ok", "ok"]


def test_failures_and_errors_of_the_suite_or_a_failed_demo_fail_the_run(tmp_path, capsys):
    fake_venv(
        tmp_path,
        "3.1.8",
        pytest_line="2 failed, 1148 passed, 2 skipped, 1 error in 400.12s (0:06:40)",
        pytest_code=1,
        demo_code=0,
    )
    fake_venv(tmp_path, "3.3.2", pytest_line="1152 passed in 380.00s", pytest_code=0, demo_code=1)
    assert compat.main(["--python", sys.executable, "--dir", str(tmp_path), "3.1.8", "3.3.2"]) == 1
    rows = capsys.readouterr().out.split("\n\n")[-1].splitlines()[2:]
    cells = [[cell.strip() for cell in row.split("|")][:7] for row in rows]
    assert cells == [
        ["3.1.8", "1148", "3", "2", "FAILED", "ok", "ok"],
        ["3.3.2", "1152", "0", "0", "ok", "ok", "FAILED"],
    ]


def test_other_inputs_rebuild_the_venv_and_a_failed_install_runs_nothing_else(tmp_path, capsys):
    calls = fake_venv(tmp_path, "3.1.8", pytest_line="1 passed in 1s", pytest_code=0, demo_code=0)
    # Another interpreter: its version is in the stamp, so the venv is removed and rebuilt; this
    # one cannot make venvs.
    python = tmp_path / "other-python"
    stub(python, 'case "$1" in -c) echo "3.11.99 (stand-in)";; *) echo "no venv module" >&2; exit 1;; esac')
    assert compat.main(["--python", str(python), "--dir", str(tmp_path), "3.1.8"]) == 1
    assert not (tmp_path / "3.1.8" / "venv").exists()
    assert "no venv module" in (tmp_path / "3.1.8" / "install.log").read_text()
    assert calls.read_text() == ""  # mypy, pytest and the demo never ran
    (row,) = capsys.readouterr().out.split("\n\n")[-1].splitlines()[2:]
    assert [cell.strip() for cell in row.split("|")][:7] == ["3.1.8", "0", "0", "0", "-", "-", "-"]


@pytest.mark.parametrize(
    ("line", "counts"),
    [
        ("1131 passed, 2 skipped, 1 warning in 390.31s (0:06:30)", {"passed": 1131, "skipped": 2}),
        ("27 failed, 1131 passed, 2 skipped in 390.31s", {"failed": 27, "passed": 1131, "skipped": 2}),
        ("1 passed, 2 errors in 3.00s", {"passed": 1, "error": 2}),
    ],
)
def test_the_counts_come_from_pytests_closing_line(tmp_path, line, counts):
    log = tmp_path / "pytest.log"
    log.write_text(f"....F\nsome output\n{line}\n")
    assert compat.pytest_counts(log) == counts


def test_the_versions_make_compat_tests_are_inside_the_claimed_range_and_span_it():
    """pyproject's Airflow range is the tested range: every tested version is in it, its floor is tested."""
    import re
    from pathlib import Path

    import tomllib
    from packaging.requirements import Requirement

    root = Path(__file__).resolve().parents[1]
    makefile = (root / "Makefile").read_text()
    newest = re.search(r"^AIRFLOW_VERSION \?= (\S+)", makefile, re.M).group(1)
    tested = re.search(r"^COMPAT_AIRFLOW_VERSIONS \?= (.+)$", makefile, re.M).group(1)
    tested_versions = tested.replace("$(AIRFLOW_VERSION)", newest).split()
    requirement = next(
        Requirement(dependency)
        for dependency in tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
        if Requirement(dependency).name == "apache-airflow"
    )
    assert all(version in requirement.specifier for version in tested_versions)
    floor = next(spec.version for spec in requirement.specifier if spec.operator == ">=")
    assert floor in tested_versions
    assert "3.2.2" not in requirement.specifier  # untested minor stays out


def test_a_failed_suite_names_its_failing_tests_in_the_output(tmp_path, capsys):
    """CI shows only the script's output, not the logs under .compat/."""
    fake_venv(
        tmp_path,
        "3.1.8",
        pytest_line="FAILED tests/e2e/test_scheduler.py::test_runs - AssertionError: boom",
        pytest_code=1,
        demo_code=0,
    )
    assert compat.main(["--python", sys.executable, "--dir", str(tmp_path), "3.1.8"]) == 1
    out = capsys.readouterr().out
    assert "      | FAILED tests/e2e/test_scheduler.py::test_runs - AssertionError: boom" in out
