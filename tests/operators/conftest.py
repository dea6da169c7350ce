"""Real DAG runs of the example integration against both fakes, for the operators' tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_helpers import OPSLEVEL_TOKEN, SENTRY_TOKEN, connections, environment, link_examples

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry


@pytest.fixture
def example_dags(dags_folder: Path) -> Path:
    """The repository's example DAG file and its YAML folder, linked into the session DAGs folder."""
    return link_examples(dags_folder, "sentry_issues.py", "sentry_issues")


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
