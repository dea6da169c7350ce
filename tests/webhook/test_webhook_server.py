"""The webhook on a real api-server: pushes become components, refusals trigger nothing, a burst
loses nothing, and no secret is echoed or logged.

Each test calls from its own loopback address (127.0.0.x): the failure budget is per client, so
one test's bad secrets never block another's calls.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from airflow_provider_opslevel.transform.deletion import LAST_SEEN_TAG, OWNER_TAG, PARTITION_TAG
from airflow_provider_opslevel.webhook.auth import QUERY_TOKEN_HIDDEN
from airflow_provider_opslevel.webhook.limits import DEFAULT_MAX_QUEUED_RUNS, MAX_BODY_BYTES, MAX_FAILURES
from airflow_provider_opslevel.webhook.runs import WEBHOOK_USER

# The stack starts inside the first test's budget.
pytestmark = pytest.mark.timeout(480)
DAG_IDS = ("deploys", "deploys_burst", "deploys_unexposed", "not_push")
KIND = {"external_kind": "deploy"}


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str, **kwargs: Any) -> None:
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture
def client_from() -> Iterator[Callable[..., requests.Session]]:
    """Makes HTTP clients whose calls come from a given address (any 127.0.0.x reaches
    127.0.0.1); closed after the test, as uvicorn waits for kept-alive connections when it stops."""
    sessions: list[requests.Session] = []

    def make(address: str, connections: int = 10) -> requests.Session:
        session = requests.Session()
        session.mount("http://", _FromAddress(address, pool_maxsize=connections))
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


def secret_in_url(secret: str) -> dict[str, Any]:
    """Request arguments carrying ``secret`` as the URL's ``token``, where Airflow's access log
    hides it (3.3+). Before 3.3 that log shows a URL's query verbatim and the webhook reads no
    token there (a unit test checks it), so the secret goes in the header as a sender's would."""
    if QUERY_TOKEN_HIDDEN:
        return {"params": {**KIND, "token": secret}}
    return {"params": KIND, "headers": {"Authorization": f"Bearer {secret}"}}


def webhook_runs(stack: Any, *dag_ids: str) -> dict[str, dict[str, Any]]:
    """The runs the webhook made (run ids ``webhook__...``), by run id."""
    return {
        run["dag_run_id"]: run
        for dag_id in dag_ids or DAG_IDS
        for run in stack.dag_runs(dag_id)
        if run["dag_run_id"].startswith("webhook__")
    }


def deploy(service: str, environment: str = "production", version: str = "1.0.0") -> dict[str, str]:
    return {
        "service": service,
        "environment": environment,
        "version": version,
        "url": f"https://ci.example.com/{service}/{version}",
    }


def test_airflow_plugins_lists_the_webhook_app(webhook_stack):
    listed = webhook_stack.airflow.run_cli("plugins", "--output", "json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    (plugin,) = [p for p in json.loads(listed.stdout) if p["name"] == "opslevel_webhook"]
    assert plugin["fastapi_apps"] == [
        {
            "name": "OpsLevel push webhook",
            "app": "airflow_provider_opslevel.webhook.plugin.WebhookApp",
            "url_prefix": "/opslevel/webhook",
        }
    ]


def test_pushes_queue_runs_like_the_rest_apis_and_the_catalog_holds_them_and_expires_the_stale(
    webhook_stack, client_from
):
    stack, opslevel, key = webhook_stack.airflow, webhook_stack.opslevel, webhook_stack.secrets["deploys"]
    today = datetime.now(timezone.utc).date().isoformat()
    opslevel.add_component_type("deploy", "Deploy")
    owned = {OWNER_TAG: "deploys", PARTITION_TAG: "deploy"}
    opslevel.add_component(  # pushed long ago: past expires_after_days (30)
        "checkout in staging",
        type="deploy",
        aliases=["deploy-checkout-staging"],
        tags={**owned, LAST_SEEN_TAG: "2020-01-01"},
    )
    opslevel.add_component(
        "search in production",
        type="deploy",
        aliases=["deploy-search-production"],
        tags={**owned, LAST_SEEN_TAG: today},
    )
    client = client_from("127.0.0.1")
    listed = [
        deploy("checkout", version="1.4.2"),
        deploy("search", environment="preview"),
    ]  # preview: excluded
    single = deploy("billing", version="2.0.0")
    by_header = client.post(
        webhook_stack.url("deploys"), params=KIND, json=listed, headers={"Authorization": f"Bearer {key}"}
    )
    by_url = client.post(webhook_stack.url("deploys"), json=single, **secret_in_url(key))
    assert (by_header.status_code, by_url.status_code) == (202, 202), (by_header.text, by_url.text)

    pushed = {by_header.json()["dag_run_id"]: listed, by_url.json()["dag_run_id"]: single}
    assert by_header.json() == {
        "dag_id": "deploys",
        "dag_run_id": by_header.json()["dag_run_id"],
        "external_kind": "deploy",
    }
    runs = webhook_runs(stack, "deploys")
    assert set(runs) == set(pushed)
    for run_id, payload in pushed.items():
        run = runs[run_id]
        assert run["state"] == "queued"  # the DAG ships paused: pushes wait for it
        assert (run["run_type"], run["triggered_by"], run["triggering_user_name"]) == (
            "manual",
            "rest_api",
            WEBHOOK_USER,
        )
        assert run["logical_date"] is None and run["data_interval_start"] is None
        assert run["conf"] == {"external_kind": "deploy", "payload": payload}
        assert run["note"].startswith("Pushed through the OpsLevel webhook: external_kind deploy,")

    stack.unpause("deploys")
    assert {run_id: stack.wait_for_run("deploys", run_id, timeout=240) for run_id in pushed} == dict.fromkeys(
        pushed, "success"
    )
    deploys = {c["managedAliases"][0]: c for c in opslevel.components() if c["type"] == "deploy"}
    # checkout-staging was last pushed in 2020: expired; search-preview was excluded.
    assert set(deploys) == {
        "deploy-checkout-production",
        "deploy-billing-production",
        "deploy-search-production",
    }
    checkout = deploys["deploy-checkout-production"]
    assert checkout["name"] == "checkout in production"
    assert checkout["properties"] == {
        "version": "1.4.2",
        "environment": "production",
        "url": "https://ci.example.com/checkout/1.4.2",
    }
    assert {t["key"]: t["value"] for t in checkout["tags"]} == {**owned, LAST_SEEN_TAG: today}


def test_each_refusal_has_its_status_triggers_nothing_and_echoes_no_secret(webhook_stack, client_from):
    stack, keys = webhook_stack.airflow, webhook_stack.secrets
    key, url = keys["deploys_burst"], webhook_stack.url("deploys_burst")
    bearer = {"Authorization": f"Bearer {key}"}
    before = webhook_runs(stack)

    def chunked_over_the_limit():
        for _ in range(MAX_BODY_BYTES // 2**20 + 1):
            yield b" " * 2**20

    not_found, unauthorized = "no webhook integration by that name", "missing or wrong webhook secret"
    calls = [
        # (status, detail, url, keyword arguments of requests.post)
        (404, not_found, webhook_stack.url("no_such_dag"), {"params": KIND, "json": {}, "headers": bearer}),
        (
            404,
            not_found,
            webhook_stack.url("deploys_unexposed"),
            {"params": KIND, "json": {}, "headers": bearer},
        ),
        (
            404,
            not_found,
            webhook_stack.url("not_push"),
            {"params": KIND, "json": {}, "headers": {"Authorization": f"Bearer {keys['not_push']}"}},
        ),
        (401, unauthorized, url, {"params": KIND, "json": {}}),
        (
            401,
            unauthorized,
            url,
            {"params": KIND, "json": {}, "headers": {"Authorization": "Bearer not-the-secret"}},
        ),
        (
            401,
            unauthorized,
            url,
            {"json": {}, **secret_in_url(keys["deploys"])},
        ),  # another integration's
        (
            401,
            unauthorized,
            url,
            {"params": KIND, "json": {}, "auth": ("webhook", key)},
        ),  # Basic is not the scheme
        (
            400,
            "the external_kind query parameter is required: one of deploy",
            url,
            {"json": {}, "headers": bearer},
        ),
        (
            404,
            "unknown external_kind for this integration; its kinds: deploy",
            url,
            {"params": {"external_kind": "deploys"}, "json": {}, "headers": bearer},
        ),
        (400, "the body is not JSON", url, {"params": KIND, "data": b"service=checkout", "headers": bearer}),
        (400, "the body is not JSON", url, {"params": KIND, "data": b'{"version": NaN}', "headers": bearer}),
        (400, "the body is not JSON", url, {"params": KIND, "data": b"[" * 100_000, "headers": bearer}),
        (
            400,
            "the body must be a JSON object or array, not str",
            url,
            {"params": KIND, "json": "checkout", "headers": bearer},
        ),
        (
            413,
            "the body is over 5,242,880 bytes",
            url,
            {"params": KIND, "data": b" " * (MAX_BODY_BYTES + 1), "headers": bearer},
        ),
        (
            413,
            "the body is over 5,242,880 bytes",
            url,
            {"params": KIND, "data": chunked_over_the_limit(), "headers": bearer},
        ),
    ]
    # Unknown integrations and bad secrets count against the client; stay under its budget here.
    assert sum(status == 401 or detail == not_found for status, detail, *_ in calls) < MAX_FAILURES
    client = client_from("127.0.0.3")
    for status, detail, target, kwargs in calls:
        answer = client.post(target, **kwargs)
        assert (answer.status_code, answer.json()["detail"][: len(detail)]) == (status, detail), kwargs
        shown = answer.text + json.dumps(dict(answer.headers))
        assert not any(secret in shown for secret in keys.values())
        if status == 401:
            assert answer.headers["WWW-Authenticate"] == 'Bearer realm="opslevel-webhook"'
    assert webhook_runs(stack) == before


def test_repeated_bad_secrets_get_429_with_retry_after_for_that_client_only(webhook_stack, client_from):
    stack, key, url = (
        webhook_stack.airflow,
        webhook_stack.secrets["deploys_burst"],
        webhook_stack.url("deploys_burst"),
    )
    before = webhook_runs(stack)
    guesser = client_from("127.0.0.2")
    for attempt in range(MAX_FAILURES):
        assert guesser.post(url, params={**KIND, "token": f"guess-{attempt}"}, json={}).status_code == 401
    blocked = guesser.post(url, params=KIND, json={}, headers={"Authorization": f"Bearer {key}"})
    assert blocked.status_code == 429  # the right secret too: the client is out of guesses
    assert 50 <= int(blocked.headers["Retry-After"]) <= 60
    assert blocked.json()["detail"] == "too many failed calls from this client; wait before trying again"
    # Another client is not affected: its right secret passes (the unknown kind keeps it from triggering).
    other = client_from("127.0.0.6").post(
        url, params={"external_kind": "nope"}, json={}, headers={"Authorization": f"Bearer {key}"}
    )
    assert other.status_code == 404
    assert webhook_runs(stack) == before


def test_a_burst_of_200_calls_in_10_seconds_becomes_runs_or_429s_and_loses_nothing(
    webhook_stack, client_from
):
    """200 calls at 20 per second: each is a queued run or a 429 with Retry-After, and the 202s'
    run ids are exactly the runs Airflow holds, each with its own payload."""
    stack, key, url = (
        webhook_stack.airflow,
        webhook_stack.secrets["deploys_burst"],
        webhook_stack.url("deploys_burst"),
    )
    client = client_from("127.0.0.4", connections=32)
    started = time.monotonic()

    def call(index: int) -> tuple[int, dict[str, Any], str | None, float, dict[str, str]]:
        time.sleep(max(0.0, started + index * 0.05 - time.monotonic()))
        payload = deploy(f"service-{index}", version=f"1.0.{index}")
        sent = time.monotonic()
        answer = client.post(
            url, params=KIND, json=payload, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        return (
            answer.status_code,
            answer.json(),
            answer.headers.get("Retry-After"),
            time.monotonic() - sent,
            payload,
        )

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(call, range(200)))
    elapsed = time.monotonic() - started
    stack.api("PATCH", "/api/v2/dags/deploys_burst", json={"is_paused": True})  # the queue stays as it is

    statuses = [status for status, *_ in results]
    accepted = {answer["dag_run_id"]: payload for status, answer, _, _, payload in results if status == 202}
    refused = [(answer, retry_after) for status, answer, retry_after, _, _ in results if status == 429]
    latencies = sorted(seconds for _, _, _, seconds, _ in results)
    print(
        f"\nburst: 200 calls in {elapsed:.1f}s: {len(accepted)} x 202, {len(refused)} x 429; "
        f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {latencies[189] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    assert elapsed < 15
    assert set(statuses) <= {202, 429} and len(accepted) + len(refused) == 200
    assert len(accepted) >= DEFAULT_MAX_QUEUED_RUNS and refused  # the queue filled, then calls were refused
    for answer, retry_after in refused:
        assert retry_after is not None and int(retry_after) >= 1
        assert "nothing was triggered, send it again later" in answer["detail"]
    runs = webhook_runs(stack, "deploys_burst")
    assert set(runs) == set(accepted)
    assert all(
        runs[run_id]["conf"] == {"external_kind": "deploy", "payload": payload}
        for run_id, payload in accepted.items()
    )


def test_no_secret_reaches_the_logs_or_the_metadata_db(webhook_stack, client_from):
    stack, keys = webhook_stack.airflow, webhook_stack.secrets
    client = client_from("127.0.0.5")
    wrong = "wrong-secret-" + keys["deploys"][:8][::-1]
    calls = [
        ("deploys", {"external_kind": "unknown", "token": keys["deploys"]}, {}),
        ("deploys", {"external_kind": "unknown"}, {"Authorization": f"Bearer {keys['deploys']}"}),
        ("deploys", {**KIND, "token": wrong}, {}),
        ("not_push", KIND, {"Authorization": f"Bearer {keys['not_push']}"}),
    ]
    if not QUERY_TOKEN_HIDDEN:  # Airflow's own access log would show a URL's token: send none there
        calls = [
            (integration, params, headers) for integration, params, headers in calls if "token" not in params
        ]
    for integration, params, headers in calls:
        assert client.post(
            webhook_stack.url(integration), params=params, json={}, headers=headers
        ).status_code in (401, 404)
    access_log = stack.logs / "api-server.log"

    def logged_calls() -> int:  # the access log's lines of these calls (3.1: uvicorn's own format)
        return len(
            re.findall(r"(?:client_addr=|INFO: +)127\.0\.0\.5:\d", access_log.read_text(errors="replace"))
        )

    deadline = time.monotonic() + 30
    while logged_calls() < len(calls) and time.monotonic() < deadline:
        time.sleep(0.5)  # the api-server writes its log as it goes; wait for these calls
    assert logged_calls() == len(calls)
    assert ("token=%2A%2A%2A" in access_log.read_text(errors="replace")) is QUERY_TOKEN_HIDDEN
    leaked = {
        str(path.relative_to(stack.home)): secret_name
        for path in stack.home.rglob("*")
        if path.is_file()
        for secret_name, secret in {**keys, "wrong": wrong}.items()
        if secret.encode() in path.read_bytes()
    }
    assert leaked == {}
