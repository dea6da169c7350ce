"""Fixtures for the fake-server tests: real servers on 127.0.0.1, real HTTP via requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    with FakeSentry(projects=3, issues_per_project=5, page_size=2) as fake:
        yield fake


@pytest.fixture
def sentry_get(sentry: FakeSentry) -> Any:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sentry.token}"

    def get(path_or_url: str, **params: Any) -> requests.Response:
        url = path_or_url if path_or_url.startswith("http") else sentry.url + path_or_url
        return session.get(url, params=params or None, timeout=10)

    yield get
    session.close()


@pytest.fixture
def opslevel() -> Iterator[FakeOpsLevel]:
    with FakeOpsLevel() as fake:
        yield fake
        assert fake.internal_errors == []


@pytest.fixture
def gql(opslevel: FakeOpsLevel) -> Any:
    """POST a document; returns the decoded JSON body (asserting HTTP 200)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {opslevel.token}"

    def post(query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None) -> Any:
        body = {"query": query, "variables": variables or {}, "operationName": operation_name}
        response = session.post(opslevel.graphql_url, json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    yield post
    session.close()
