"""The parser and the console script: usage errors, ``opslevel-integration`` and ``python -m``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from airflow_helpers import OPSLEVEL_TOKEN, SENTRY_TOKEN
from cli_helpers import EXTRACT, SCRIPT, TRANSFORM, issue_paths, mutation_queries, run_test

from airflow_provider_opslevel import cli


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["validate", EXTRACT],
        ["frobnicate", EXTRACT, TRANSFORM],
        ["test", EXTRACT, TRANSFORM, "--max-pages", "many"],
        ["test", EXTRACT, TRANSFORM, "--max-parents", "-1"],
        ["test", EXTRACT, TRANSFORM, "--rewrite-origin", "https://sentry.io"],
        ["test", EXTRACT, TRANSFORM, "--rewrite-origin", "sentry.io=http://localhost"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    assert cli.main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_console_script_runs_in_a_subprocess(fakes):
    sentry, opslevel = fakes
    assert SCRIPT.exists(), "run `.venv/bin/pip install -e . --no-deps` to install the console script"
    result = subprocess.run(
        [str(SCRIPT), *run_test(sentry, "--max-parents", "1")],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "First raw page:" in result.stdout
    assert "for_each sentry_project: 1 of 2 parent record(s), --max-parents 1" in result.stdout
    assert "create (2):" in result.stdout
    assert result.stdout.rstrip().endswith("Result: OK")
    assert SENTRY_TOKEN not in result.stdout + result.stderr
    assert OPSLEVEL_TOKEN not in result.stdout + result.stderr
    assert len(issue_paths(sentry)) == 1
    assert not mutation_queries(opslevel)

    result = subprocess.run(
        [str(SCRIPT), *run_test(sentry, "--json")], capture_output=True, text=True, env=os.environ.copy()
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True  # Airflow's own log stays off stdout


def test_python_dash_m_is_the_console_script():
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_opslevel.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: opslevel-integration")
