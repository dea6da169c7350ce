"""The one GraphQL paginator: following ``pageInfo``, and its guards against pages that never end."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from airflow_provider_opslevel.opslevel.catalog import OpsLevelCatalog
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.opslevel.component_types import ComponentTypesApi
from airflow_provider_opslevel.opslevel.errors import GraphQLPagingError, OpsLevelApiError
from airflow_provider_opslevel.opslevel.pagination import collect_nodes, connection_at
from airflow_provider_opslevel.testing import FakeOpsLevel

TOKEN = "t"


def scripted(pages: dict[str, tuple[list[Any], bool, str | None]]) -> tuple[list[str], Any]:
    """A fetcher answering ``after -> (nodes, hasNextPage, endCursor)``, and the cursors it was asked."""
    asked: list[str] = []

    def fetch(after: str) -> Mapping[str, Any]:
        asked.append(after)
        nodes, more, cursor = pages[after]
        return {"nodes": nodes, "pageInfo": {"hasNextPage": more, "endCursor": cursor}}

    return asked, fetch


def test_follows_end_cursors_until_the_last_page_and_drops_null_nodes() -> None:
    asked, fetch = scripted(
        {"": ([{"n": 1}, None], True, "a"), "a": ([{"n": 2}], True, "b"), "b": ([], False, None)}
    )
    assert collect_nodes(fetch, label="List") == [{"n": 1}, {"n": 2}]
    assert asked == ["", "a", "b"]


def test_a_missing_connection_ends_the_list() -> None:
    answers = iter([{"nodes": [{"n": 1}], "pageInfo": {"hasNextPage": True, "endCursor": "a"}}, None])
    assert collect_nodes(lambda after: next(answers), label="List") == [{"n": 1}]


def test_the_same_cursor_twice_in_a_row_stops_with_a_clear_error() -> None:
    asked, fetch = scripted({"": ([{"n": 1}], True, "a"), "a": ([{"n": 2}], True, "a")})
    with pytest.raises(GraphQLPagingError) as info:
        collect_nodes(fetch, label="ComponentsOfType")
    assert str(info.value) == (
        "ComponentsOfType: page 2 answered endCursor 'a', a cursor already read after; "
        "stopped rather than reading the same pages again"
    )
    assert asked == ["", "a"]


def test_a_cursor_that_comes_back_later_stops_too() -> None:
    asked, fetch = scripted({"": ([], True, "a"), "a": ([], True, "b"), "b": ([], True, "a")})
    with pytest.raises(GraphQLPagingError, match="page 3 answered endCursor 'a'"):
        collect_nodes(fetch, label="List")
    assert asked == ["", "a", "b"]


@pytest.mark.parametrize("cursor", [None, ""])
def test_a_next_page_without_a_cursor_stops(cursor: str | None) -> None:
    _, fetch = scripted({"": ([{"n": 1}], True, cursor)})
    with pytest.raises(GraphQLPagingError, match="page 1 says there is a next page but gives no endCursor"):
        collect_nodes(fetch, label="List")


def test_the_page_cap_stops_an_endless_list() -> None:
    asked: list[str] = []

    def fetch(after: str) -> Mapping[str, Any]:
        asked.append(after)
        return {
            "nodes": [{"n": len(asked)}],
            "pageInfo": {"hasNextPage": True, "endCursor": f"c{len(asked)}"},
        }

    with pytest.raises(GraphQLPagingError, match="List: more than 3 pages; stopped"):
        collect_nodes(fetch, label="List", max_pages=3)
    assert asked == ["", "c1", "c2"]


def test_paging_errors_are_api_errors() -> None:
    # Callers that handle a failed read (ensure_catalog, the sync) handle these the same way.
    assert issubclass(GraphQLPagingError, OpsLevelApiError)


def test_connection_at_follows_a_path_and_stops_at_null() -> None:
    data = {"account": {"componentType": None, "services": {"nodes": []}}}
    assert connection_at(data, ["account", "services"]) == {"nodes": []}
    assert connection_at(data, ["account", "componentType", "properties"]) is None


# -------------------------------------------------------------- over HTTP, against the fake


@pytest.fixture
def fake() -> Iterator[FakeOpsLevel]:
    with FakeOpsLevel(token=TOKEN) as server:
        yield server
        assert server.rejected == [] and server.internal_errors == []


@pytest.fixture
def client(fake: FakeOpsLevel) -> Iterator[OpsLevelClient]:
    api = OpsLevelClient(fake.url, TOKEN)
    yield api
    api.close()


def same_cursor_every_time(operation: str, connection: list[str], nodes: list[Any]) -> Any:
    """A fault answering ``operation`` with a page that always has a next page after ``Y3Vyc29y``."""

    def fault(info: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
        if info.get("operation_name") != operation:
            return None
        page: Any = {"nodes": nodes, "pageInfo": {"hasNextPage": True, "endCursor": "Y3Vyc29y"}}
        for key in reversed(connection):
            page = {key: page}
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": page}).encode()

    return fault


def test_the_sync_reader_stops_when_opslevel_repeats_a_cursor(
    fake: FakeOpsLevel, client: OpsLevelClient
) -> None:
    fake.add_component_type("widget", "Widget")
    fake.faults.append(same_cursor_every_time("ComponentsOfType", ["account", "services"], []))
    catalog = OpsLevelCatalog(client)
    component_type = catalog.component_type("widget")
    assert component_type is not None

    with pytest.raises(GraphQLPagingError, match="ComponentsOfType: page 2 answered endCursor 'Y3Vyc29y'"):
        catalog.components_of_type(component_type.id)
    afters = [r["variables"]["after"] for r in fake.requests if r["operation_name"] == "ComponentsOfType"]
    assert afters == ["", "Y3Vyc29y"]


def test_the_catalog_setup_reader_stops_when_opslevel_repeats_a_cursor(
    fake: FakeOpsLevel, client: OpsLevelClient
) -> None:
    node = {
        "id": "Z2lkOi8v",
        "aliases": ["widget"],
        "name": "Widget",
        "description": None,
        "isDefault": False,
    }
    fake.faults.append(same_cursor_every_time("ComponentTypeList", ["account", "componentTypes"], [node]))
    api = ComponentTypesApi(client)

    with pytest.raises(GraphQLPagingError, match="ComponentTypeList: page 2 answered endCursor 'Y3Vyc29y'"):
        api.component_types()
    assert (api.requests, api.mutations) == (2, 0)
    assert [r["variables"] for r in fake.requests] == [
        {"after": "", "first": 100},
        {"after": "Y3Vyc29y", "first": 100},
    ]
