"""Test session set-up: an isolated AIRFLOW_HOME and DAGs folder, created before Airflow is imported."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_HOME = Path(tempfile.mkdtemp(prefix="opslevel-airflow-home-"))
_DAGS = _HOME / "dags"
_DAGS.mkdir()
os.environ.update(
    AIRFLOW_HOME=str(_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(_DAGS),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__UNIT_TEST_MODE="False",
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB, created once per test session."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return _HOME


@pytest.fixture(scope="session")
def dags_folder() -> Path:
    """The session's DAGs folder (tests write their DAG files here; DAG ids must be unique)."""
    return _DAGS
