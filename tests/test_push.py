"""Push integrations: the run conf carries the payload; components not pushed for long expire."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from airflow_helpers import OPSLEVEL_TOKEN, connections, environment, run_dag, xcom

from airflow_provider_opslevel import build_dag
from airflow_provider_opslevel.errors import ConfigError
from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.transform.deletion import LAST_SEEN_TAG, OWNER_TAG, PARTITION_TAG

EXTRACT = """\
extractors:
- external_kind: deploy
  iterator: .deploys
  external_id: .id
  exclude: .env == "dev"
  expires_after_days: 3
"""
TRANSFORM = """\
transforms:
- external_kind: deploy
  on_component_not_found: create
  opslevel_kind: deploy
  opslevel_identifier: '"deploy-" + .id'
  properties:
    name: .service + " " + .version
    version: .version
"""


@pytest.fixture
def push_dag(dags_folder: Path, tmp_path: Path) -> Path:
    (tmp_path / "extract.yaml").write_text(EXTRACT)
    (tmp_path / "transform.yaml").write_text(TRANSFORM)
    (dags_folder / "deploys_push.py").write_text(
        "from airflow_provider_opslevel import build_dag\n"
        f"dag = build_dag('deploys_push', extract={str(tmp_path / 'extract.yaml')!r}, "
        f"transform={str(tmp_path / 'transform.yaml')!r}, push=True)\n"
    )
    return dags_folder


def test_pushed_payload_becomes_components_and_stale_ones_expire(airflow_db, push_dag):
    with FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel:
        opslevel.add_component_type(
            "deploy", "Deploy", properties={"version": {"name": "Version", "schema": {"type": "string"}}}
        )
        today = datetime.now(timezone.utc).date().isoformat()
        old = {OWNER_TAG: "deploys_push", PARTITION_TAG: "deploy", LAST_SEEN_TAG: "2020-01-01"}
        opslevel.add_component("Old deploy", type="deploy", aliases=["deploy-0"], tags=old)
        opslevel.add_component(
            "Recent deploy", type="deploy", aliases=["deploy-9"], tags={**old, LAST_SEEN_TAG: today}
        )
        payload = {
            "deploys": [
                {"id": "1", "service": "checkout", "version": "1.2.0", "env": "prod"},
                {"id": "2", "service": "search", "version": "3.0.1", "env": "prod"},
                {"id": "3", "service": "search", "version": "3.0.2", "env": "dev"},
            ]
        }
        with environment(**connections(opslevel.url)):
            run = run_dag(push_dag, "deploys_push", conf={"external_kind": "deploy", "payload": payload})
        assert run.state == "success"
        deploys = {c["managedAliases"][0]: c for c in opslevel.components() if c["type"] == "deploy"}
        assert set(deploys) == {"deploy-1", "deploy-2", "deploy-9"}  # 3 excluded, 0 expired
        assert deploys["deploy-1"]["name"] == "checkout 1.2.0"
        assert deploys["deploy-1"]["properties"] == {"version": "1.2.0"}
        tags = {t["key"]: t["value"] for t in deploys["deploy-1"]["tags"]}
        assert tags == {OWNER_TAG: "deploys_push", PARTITION_TAG: "deploy", LAST_SEEN_TAG: today}
        report = xcom(run, "transform")
        assert report["counts"]["deploy"]["create"] == 2 and report["counts"]["deploy"]["delete"] == 1

        # A scheduled run with no payload only expires; nothing is stale now.
        with environment(**connections(opslevel.url)):
            sweep = run_dag(push_dag, "deploys_push", conf={})
        assert sweep.state == "success"
        assert {c["managedAliases"][0] for c in opslevel.components() if c["type"] == "deploy"} == set(
            deploys
        )


def test_an_unknown_push_kind_is_refused_at_trigger_time_naming_the_valid_ones(airflow_db, push_dag):
    from airflow.exceptions import ParamValidationError

    with FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel, environment(**connections(opslevel.url)):
        with pytest.raises(ParamValidationError, match=r"'deploys' is not one of \['deploy'\]"):
            run_dag(push_dag, "deploys_push", conf={"external_kind": "deploys", "payload": {"deploys": []}})
        assert opslevel.requests == []


def test_push_and_pull_documents_pick_their_extractors(tmp_path):
    (tmp_path / "extract.yaml").write_text(EXTRACT)
    (tmp_path / "transform.yaml").write_text(TRANSFORM)
    with pytest.raises(ConfigError, match="no polling extractor"):
        build_dag("pull_of_push", extract=tmp_path / "extract.yaml", transform=tmp_path / "transform.yaml")
    dag = build_dag(
        "push_shape", extract=tmp_path / "extract.yaml", transform=tmp_path / "transform.yaml", push=True
    )
    assert set(dag.task_ids) == {"receive", "transform"}
    assert dag.params["external_kind"] == "deploy" and dag.params["payload"] is None
    assert json.dumps(dag.params.dump())  # the trigger form serialises


def test_expiry_is_by_whole_days():
    from airflow_provider_opslevel.opslevel.catalog import Component
    from airflow_provider_opslevel.transform.deletion import expired

    def seen(day: str) -> Component:
        return Component(
            "id", "n", ["deploy"], ["a"], ["a"], tags=[{"id": "t", "key": LAST_SEEN_TAG, "value": day}]
        )

    today = date(2026, 11, 28)
    assert not expired(seen("2026-11-25"), 3, today) and expired(seen("2026-11-24"), 3, today)
    assert not expired(seen("garbage"), 3, today)
