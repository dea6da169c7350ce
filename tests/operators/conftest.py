"""Real DAG runs of the example integration against both fakes, for the operators' tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_helpers import OPSLEVEL_TOKEN, SENTRY_TOKEN, connections, environment

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "dags" / "sentry_issues"


@pytest.fixture
def example_dags(dags_folder: Path) -> Path:
    """The repository's example DAG file and its YAML folder, linked into the session DAGs folder."""
    for name in ("sentry_issues.py", "sentry_issues"):
        link = dags_folder / name
        if not link.exists():
            link.symlink_to(ROOT / "dags" / name)
    return dags_folder


def write_dag(dags_folder: Path, dag_id: str, body: str) -> None:
    """A DAG file of the example's documents, built with ``build_dag(dag_id, <body>)``."""
    (dags_folder / f"{dag_id}.py").write_text(
        "import os\n"
        "from pathlib import Path\n"
        "from airflow_provider_opslevel import build_dag\n"
        f"HERE = Path({str(EXAMPLE)!r})\n"
        f"dag = build_dag({dag_id!r}, extract=HERE / 'extract.yaml', transform=HERE / 'transform.yaml',\n"
        "    catalog=HERE / 'catalog.yaml',\n"
        "    rewrite_origins={'https://sentry.io': os.environ.get('SENTRY_URL', 'https://sentry.io')},\n"
        f"    {body})\n"
    )


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    """Three projects (one ``*-production``, excluded by the example), two issues each."""
    with FakeSentry(token=SENTRY_TOKEN, projects=3, issues_per_project=2) as fake:
        yield fake


@pytest.fixture
def opslevel(sentry: FakeSentry) -> Iterator[FakeOpsLevel]:
    """A fake OpsLevel, with the connections and ``SENTRY_URL`` the example DAG reads."""
    with FakeOpsLevel(token=OPSLEVEL_TOKEN) as fake:
        env = {**connections(fake.url, sentry_api_token=SENTRY_TOKEN), "SENTRY_URL": sentry.url}
        with environment(**env):
            yield fake
