"""The webhook's parts without a server: registration, the failure budget, the body cap, the
secret, the payload, which DAGs are push integrations."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from airflow_provider_opslevel import build_dag
from airflow_provider_opslevel.get_provider_info import get_provider_info
from airflow_provider_opslevel.webhook.app import parse_payload
from airflow_provider_opslevel.webhook.auth import presented_secret, secret_matches
from airflow_provider_opslevel.webhook.errors import WebhookRefused
from airflow_provider_opslevel.webhook.limits import FailureLimiter, read_capped
from airflow_provider_opslevel.webhook.plugin import OpsLevelWebhookPlugin
from airflow_provider_opslevel.webhook.runs import (
    DEFAULT_MAX_QUEUED_RUNS,
    PUSH_OPERATOR,
    _max_queued_runs,
    push_kinds,
)

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_CLASS = "airflow_provider_opslevel.webhook.plugin.OpsLevelWebhookPlugin"


# -- registration ------------------------------------------------------------------------------
def test_the_plugin_is_in_the_provider_info_and_an_airflow_plugins_entry_point():
    from airflow_compat import plugin_names

    assert get_provider_info()["plugins"] == [{"name": "opslevel_webhook", "plugin-class": PLUGIN_CLASS}]
    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "opslevel_webhook"]
    assert entry.load() is OpsLevelWebhookPlugin and "opslevel_webhook" in plugin_names()
    (app,) = OpsLevelWebhookPlugin.fastapi_apps
    assert app["url_prefix"] == "/opslevel/webhook"


def test_loading_the_plugin_loads_neither_fastapi_nor_the_db_side():
    """Task processes load plugins too (for macros); the app is built on the api-server only."""
    code = (
        "import sys, airflow_provider_opslevel.webhook.plugin\n"
        "print(sorted(m for m in ('fastapi', 'airflow_provider_opslevel.webhook.runs') if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert shown.stdout.strip() == "[]"


def test_the_push_task_is_named_as_the_serialized_dag_names_it():
    from airflow_provider_opslevel.operators.push import OpsLevelPushOperator

    assert PUSH_OPERATOR == (OpsLevelPushOperator.__module__, OpsLevelPushOperator.__name__)


# -- which DAGs are push integrations ----------------------------------------------------------
def _serialized(dag):
    from airflow_compat import serialized_dag

    return serialized_dag(dag)


def test_push_kinds_are_the_push_dags_external_kind_enum(tmp_path):
    (tmp_path / "extract.yaml").write_text(
        "extractors:\n"
        "- {external_kind: deploy, iterator: ., external_id: .id}\n"
        "- {external_kind: release, iterator: ., external_id: .id}\n"
    )
    (tmp_path / "transform.yaml").write_text(
        "transforms:\n"
        "- {external_kind: deploy, opslevel_kind: deploy, opslevel_identifier: .id, on_component_not_found: create}\n"
        "- {external_kind: release, opslevel_kind: deploy, opslevel_identifier: .id, on_component_not_found: create}\n"
    )
    push = build_dag("p", extract=tmp_path / "extract.yaml", transform=tmp_path / "transform.yaml", push=True)
    assert push_kinds(_serialized(push)) == ("deploy", "release")


def test_a_polling_dag_or_a_dag_merely_with_an_external_kind_param_is_no_push_integration():
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG, Param

    seed = ROOT / "dags" / "sentry_issues"
    polling = build_dag("polling", extract=seed / "extract.yaml", transform=seed / "transform.yaml")
    with DAG("lookalike", schedule=None, params={"external_kind": Param("a", enum=["a"])}) as lookalike:
        EmptyOperator(task_id="receive")
    assert push_kinds(_serialized(polling)) is None
    assert push_kinds(_serialized(lookalike)) is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, DEFAULT_MAX_QUEUED_RUNS),
        ({"max_queued_runs": 5}, 5),
        ({"max_queued_runs": 0}, 100),
        ({"max_queued_runs": "5"}, 100),
    ],
)
def test_max_queued_runs_comes_from_the_connection_extra(extra, expected):
    from airflow.sdk import Connection

    conn = Connection(
        conn_id="opslevel_webhook_x", conn_type="generic", password="s", extra=json.dumps(extra)
    )
    assert _max_queued_runs(conn) == expected


# -- the failure budget ------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_is_refused_after_max_failures_in_the_window_until_the_oldest_leaves_it():
    clock = Clock()
    limiter = FailureLimiter(max_failures=3, window=60, clock=clock)
    for _ in range(2):
        limiter.record_failure("10.0.0.1")
        clock.now += 10
    assert limiter.retry_after("10.0.0.1") is None
    limiter.record_failure("10.0.0.1")  # the third, 20 s after the first
    assert limiter.retry_after("10.0.0.1") == 40
    assert limiter.retry_after("10.0.0.2") is None  # per client
    clock.now += 40
    assert limiter.retry_after("10.0.0.1") is None  # the first left the window: one more guess
    limiter.record_failure("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 10


def test_the_limiter_forgets_the_longest_quiet_client_beyond_its_bound():
    limiter = FailureLimiter(max_failures=1, window=60, max_clients=2, clock=Clock())
    for client in ("a", "b", "c"):
        limiter.record_failure(client)
    assert [limiter.retry_after(client) for client in ("a", "b", "c")] == [None, 60, 60]


# -- the body cap ------------------------------------------------------------------------------
async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _never_read() -> AsyncIterator[bytes]:
    raise AssertionError("a body declared over the limit must not be read")
    yield b""  # pragma: no cover - makes this an async generator


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_413_as_it_streams():
    assert asyncio.run(read_capped(_chunks(b"12", b"345"), None, 5)) == b"12345"
    with pytest.raises(WebhookRefused) as refused:
        asyncio.run(read_capped(_chunks(b"123", b"456", b"never"), None, 5))
    assert (refused.value.status, refused.value.message) == (
        413,
        "the body is over 5 bytes, the webhook's limit",
    )


def test_a_declared_length_over_the_limit_is_413_before_reading():
    with pytest.raises(WebhookRefused, match="over 5 bytes"):
        asyncio.run(read_capped(_never_read(), "6", 5))


# -- the secret and the payload ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"authorization": "Bearer s3cret"}, {}, "s3cret"),
        ({"authorization": "bearer  s3cret "}, {}, "s3cret"),
        ({}, {"token": "s3cret"}, "s3cret"),
        ({"authorization": "Bearer header"}, {"token": "query"}, "header"),
        ({"authorization": "Basic dXNlcjpwdw=="}, {"token": "query"}, "query"),  # a proxy's own login
        ({}, {}, None),
    ],
)
def test_the_secret_comes_from_the_bearer_header_else_the_token_parameter(headers, query, expected):
    assert presented_secret(headers, query, query_token=True) == expected


def test_where_the_access_log_would_show_the_token_parameter_only_the_header_is_read():
    # Airflow before 3.3 writes the URL's query to the api-server's access log verbatim.
    assert presented_secret({}, {"token": "s3cret"}, query_token=False) is None
    assert presented_secret({"authorization": "Bearer s3cret"}, {}, query_token=False) == "s3cret"


def test_secrets_match_only_when_equal_and_not_empty():
    assert secret_matches("s3crét", "s3crét")
    assert not secret_matches("s3cret", "s3crét")
    assert not secret_matches("", "") and not secret_matches(None, "x")


@pytest.mark.parametrize("body", [b'{"a": 1}', b"[1, 2]", b"\xef\xbb\xbf[]"])
def test_a_json_object_or_array_is_a_payload(body):
    assert parse_payload(body) == json.loads(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is not JSON"),
        (b"a=1", "the body is not JSON"),
        (b"\xff", "the body is not JSON"),
        (b"[Infinity]", "the body is not JSON: Infinity is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "the body is not JSON"),
        (b'"text"', "the body must be a JSON object or array, not str"),
        (b"null", "the body must be a JSON object or array, not NoneType"),
    ],
)
def test_anything_else_is_400(body, message):
    with pytest.raises(WebhookRefused) as refused:
        parse_payload(body)
    assert refused.value.status == 400 and refused.value.message.startswith(message)
