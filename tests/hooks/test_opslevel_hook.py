"""OpsLevelHook and the GraphQL client against the fake OpsLevel over real HTTP."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from airflow_helpers import OPSLEVEL_TOKEN, connections, environment

from airflow_provider_opslevel.hooks.opslevel import OpsLevelHook, base_url_from
from airflow_provider_opslevel.opslevel.batch import Batcher, mutation
from airflow_provider_opslevel.opslevel.client import OpsLevelApiError, OpsLevelClient
from airflow_provider_opslevel.testing import FakeOpsLevel


@pytest.fixture
def opslevel():
    with FakeOpsLevel(token=OPSLEVEL_TOKEN) as fake:
        yield fake


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "https://app.opslevel.com"),
        ("", None, "https://app.opslevel.com"),
        ("app.opslevel.com", None, "https://app.opslevel.com"),
        ("https://self-hosted.example/", None, "https://self-hosted.example"),
        ("http://127.0.0.1", 8080, "http://127.0.0.1:8080"),
        ("http://127.0.0.1:9000", 8080, "http://127.0.0.1:9000"),
    ],
)
def test_base_url_from_connection_host(host, port, expected):
    assert base_url_from(host, port) == expected


def test_hook_reads_the_connection_and_test_connection_succeeds(opslevel):
    with environment(**connections(opslevel.url)):
        hook = OpsLevelHook()
        ok, message = hook.test_connection()
    assert ok, message
    assert hook.client.graphql_url == f"{opslevel.url}/graphql"
    assert opslevel.requests[-1]["operation_name"] == "AccountId"


def test_wrong_token_fails_clearly_without_echoing_the_token(opslevel):
    env = connections(opslevel.url)
    env["AIRFLOW_CONN_OPSLEVEL_DEFAULT"] = env["AIRFLOW_CONN_OPSLEVEL_DEFAULT"].replace(
        OPSLEVEL_TOKEN, "not-the-token"
    )
    with environment(**env):
        ok, message = OpsLevelHook().test_connection()
    assert not ok and "HTTP 401" in message and "API token" in message
    assert "not-the-token" not in message


def test_top_level_graphql_errors_surface_with_their_message(opslevel):
    client = OpsLevelClient(opslevel.url, OPSLEVEL_TOKEN)
    with pytest.raises(OpsLevelApiError, match="Cannot query field 'nope'"):
        client.execute("query Broken { account { nope } }", operation_name="Broken")


def test_payload_errors_surface_with_message_and_path(opslevel):
    opslevel.add_component("Holder", aliases=["taken"])
    other = opslevel.add_component("Other")
    batcher = Batcher(OpsLevelClient(opslevel.url, OPSLEVEL_TOKEN))
    (result,) = batcher.mutate(
        "AliasCreate", [mutation("aliasCreate", input={"alias": "taken", "ownerId": other["id"]})]
    )
    assert not result.ok and "(at alias)" in result.error


def test_the_token_is_never_sent_to_a_host_it_was_not_configured_for():
    seen: list[str | None] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Redirector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{elsewhere.server_address[1]}/graphql")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    elsewhere = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    redirector = ThreadingHTTPServer(("127.0.0.1", 0), Redirector)
    for server in (elsewhere, redirector):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = OpsLevelClient(f"http://127.0.0.1:{redirector.server_address[1]}", "secret-token")
        with pytest.raises(OpsLevelApiError, match="HTTP 307"):
            client.execute("query AccountId { account { id } }")
    finally:
        for server in (elsewhere, redirector):
            server.shutdown()
            server.server_close()
    assert seen == []
