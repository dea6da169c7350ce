"""Fixtures for catalog-setup tests: a fake OpsLevel on 127.0.0.1 and a real client talking to it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_provider_opslevel.catalog_setup import clear_cache
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.testing import FakeOpsLevel


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def fake() -> Iterator[FakeOpsLevel]:
    with FakeOpsLevel(token="t") as server:
        yield server
        assert server.rejected == [], "a document or its variables did not validate against the schema"
        assert server.internal_errors == []


@pytest.fixture
def client(fake: FakeOpsLevel) -> Iterator[OpsLevelClient]:
    api = OpsLevelClient(fake.url, "t")
    yield api
    api.close()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def write_file(text: str, name: str = "catalog.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write_file
