"""Fixtures of the CLI tests: the Sentry and OpsLevel fakes, with connections to them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airflow_helpers import OPSLEVEL_TOKEN, SENTRY_TOKEN, connections, environment

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSentry, FakeOpsLevel]]:
    with (
        FakeSentry(token=SENTRY_TOKEN, projects=3, issues_per_project=4, page_size=2) as sentry,
        FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel,
    ):
        with environment(**connections(opslevel.url, sentry_api_token=SENTRY_TOKEN)):
            yield sentry, opslevel
