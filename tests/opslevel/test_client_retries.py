"""Pacing, retries and batching against the fake OpsLevel over real HTTP."""

from __future__ import annotations

import time

import pytest
from opslevel_helpers import sent_fields

from airflow_provider_opslevel.opslevel.batch import Batcher, mutation
from airflow_provider_opslevel.opslevel.catalog import OpsLevelCatalog
from airflow_provider_opslevel.opslevel.client import OpsLevelApiError, OpsLevelClient
from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.transform.apply import apply_plan
from airflow_provider_opslevel.transform.mapping import DesiredComponent
from airflow_provider_opslevel.transform.plan import Plan, plan_component

TOKEN = "t"


def seeded(fake: FakeOpsLevel) -> None:
    fake.add_component_type(
        "widget", "Widget", properties={"colour": {"name": "Colour", "schema": {"type": "string"}}}
    )


def desired(n: int) -> list[DesiredComponent]:
    return [
        DesiredComponent(
            "widget", f"w{i}", "create", fields={"name": f"Widget {i}"}, properties={"colour": "red"}
        )
        for i in range(n)
    ]


def sync(catalog: OpsLevelCatalog, items: list[DesiredComponent]) -> Plan:
    component_type = catalog.component_type("widget")
    plan = Plan([plan_component(item, None, component_type) for item in items])
    apply_plan(catalog, plan)
    return plan


def test_a_large_sync_paced_by_the_client_never_hits_the_servers_limit():
    with FakeOpsLevel(token=TOKEN, rate_limit=20, rate_limit_period=1.0) as fake:
        seeded(fake)
        client = OpsLevelClient(fake.url, TOKEN, requests_per_minute=20, rate_period=1.0)
        started = time.monotonic()
        plan = sync(OpsLevelCatalog(client, batch_size=10), desired(200))
        elapsed = time.monotonic() - started
        assert fake.throttled == 0 and client.throttled == 0
        assert all(item.action == "create" and not item.problems for item in plan.components)
        assert len([c for c in fake.components() if c["type"] == "widget"]) == 200
        # 1 type read + 20 create batches + 40 write batches: paced to ~20 per second.
        assert client.requests_sent == 61 and elapsed >= 2.0


def test_an_unpaced_client_is_throttled_and_recovers_by_honouring_retry_after():
    with FakeOpsLevel(token=TOKEN, rate_limit=10, rate_limit_period=1.0) as fake:
        seeded(fake)
        client = OpsLevelClient(fake.url, TOKEN, requests_per_minute=None)
        plan = sync(OpsLevelCatalog(client, batch_size=10), desired(60))
        assert fake.throttled > 0 and client.throttled == fake.throttled
        assert all(not item.problems for item in plan.components)
        assert len([c for c in fake.components() if c["type"] == "widget"]) == 60


def test_502_and_503_are_retried_for_any_request():
    with FakeOpsLevel(token=TOKEN) as fake:
        fake.fail_next(1, status=502)
        fake.fail_next(1, status=503, retry_after=0)
        client = OpsLevelClient(fake.url, TOKEN, requests_per_minute=None)
        (result,) = Batcher(client).mutate(
            "Create", [mutation("serviceCreate", input={"name": "x"}, idempotent=False)]
        )
        assert result.ok and client.retries == 2
        assert len(fake.components()) == 1


def test_a_500_is_not_retried_for_a_create_but_is_for_an_idempotent_write():
    with FakeOpsLevel(token=TOKEN) as fake:
        client = OpsLevelClient(fake.url, TOKEN, requests_per_minute=None)
        batcher = Batcher(client)
        fake.fail_next(1, status=500)
        (created,) = batcher.mutate(
            "Create", [mutation("serviceCreate", input={"name": "x"}, idempotent=False)]
        )
        assert not created.ok and "HTTP 500" in created.error and client.retries == 0
        component = fake.add_component("y")
        fake.fail_next(1, status=500)
        (alias,) = batcher.mutate(
            "Alias", [mutation("aliasCreate", input={"alias": "why", "ownerId": component["id"]})]
        )
        assert alias.ok and client.retries == 1


def test_retries_are_bounded():
    with FakeOpsLevel(token=TOKEN) as fake:
        fake.fail_next(3, status=503, retry_after=0)
        client = OpsLevelClient(fake.url, TOKEN, requests_per_minute=None, max_attempts=3)
        with pytest.raises(OpsLevelApiError, match="HTTP 503"):
            client.execute("query AccountId { account { id } }")
        assert client.requests_sent == 3


def test_one_failing_operation_does_not_lose_the_others_in_its_batch():
    with FakeOpsLevel(token=TOKEN) as fake:
        holder = fake.add_component("Holder", aliases=["taken"])
        target = fake.add_component("Target")
        operations = [
            mutation("aliasCreate", input={"alias": alias, "ownerId": target["id"]}, tag=alias)
            for alias in ("a1", "taken", "a2")
        ]
        results = Batcher(OpsLevelClient(fake.url, TOKEN, requests_per_minute=None)).mutate(
            "Aliases", operations
        )
        assert [r.ok for r in results] == [True, False, True]
        assert "(at alias)" in results[1].error
        assert set(fake.component_by_alias("a1")["aliases"]) >= {"a1", "a2"}
        assert fake.component_by_alias("taken")["id"] == holder["id"]
        assert fake.request_count == 1  # one request carried all three
        assert [name for name, _ in sent_fields(fake.requests)] == ["aliasCreate"] * 3
