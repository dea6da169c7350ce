"""The memory-bounded path: records mapped in the extract task, packed, planned as a stream.

Whatever path the records take (raw records mapped by the transform, or rows mapped and packed
by the extract task; a plan that keeps every item, or a dry run that streams and keeps what its
report shows), the counts, problems, warnings, mapping issues and deletions must be the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opslevel_helpers import add_sentry_issue_type
from test_sync import SEED_LIKE, TOKEN, transforms

from airflow_provider_opslevel.extract.results import collect, to_chunks, unpack
from airflow_provider_opslevel.extract.runner import PartitionResult
from airflow_provider_opslevel.opslevel.catalog import OpsLevelCatalog
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.transform.deletion import DeletionPolicy
from airflow_provider_opslevel.transform.mapping import DesiredComponent, map_partition
from airflow_provider_opslevel.transform.sync import SyncOptions, plan_sync, run_sync

DUPLICATE_TITLES = "    - external_kind: issue\n      on_component_not_found: create\n"


def _records(parent: str, start: int, count: int) -> list[dict[str, Any]]:
    records = []
    for n in range(start, start + count):
        item = {"id": str(n), "title": f"Issue {n}", "permalink": f"https://x/{n}", "substatus": "new"}
        if n % 17 == 0:
            item["count"] = "not a number"  # fails `.count | tonumber`: a mapping issue
        else:
            item["count"] = str(n)
        records.append({"external_id": str(n), "parent": parent, "data": item})
    # Two records with one identifier and different titles: merged, with a warning.
    records.append({"external_id": f"dup-{parent}", "parent": parent, "data": {**records[0]["data"], "title": "Other"}})
    return records


def _partitions(mapped_by_extract: bool, the_transforms: Any) -> list[PartitionResult]:
    partitions = []
    for parent, start in (("p1", 1), ("p2", 101)):
        result = PartitionResult("issue", parent, records=_records(parent, start, 60), complete=True, pages=1)
        if mapped_by_extract:  # what OpsLevelExtractOperator.compact_partition does
            result.mapped = map_partition(the_transforms, "issue", result.records)
            result.ids = [record["external_id"] for record in result.records]
            result.records = []
        partitions.append(result)
    return partitions


def _summary(report: Any) -> dict[str, Any]:
    return {
        "counts": report.plan.counts(),
        "problems": sorted(report.problems()),
        "warnings": sorted(report.warnings()),
        "unmapped": report.unmapped(),
        "extracted": report.to_dict()["extracted"],
    }


@pytest.fixture
def catalog() -> Any:
    with FakeOpsLevel(token=TOKEN) as fake:
        add_sentry_issue_type(fake)
        yield OpsLevelCatalog(OpsLevelClient(fake.url, TOKEN))


def test_rows_survive_packing_exactly() -> None:
    component = DesiredComponent(
        "sentry_issue", "a", "create", {"name": "x"}, {"url": "u", "n": 1.5, "l": [1, None]},
        ["b"], [{"key": "k", "value": "v"}], ["issue:1"], "issue/p1", [],
    )
    packed = to_chunks("issue", [PartitionResult("issue", "p1", mapped={"0": {"components": [component.to_row()], "issues": []}})])
    (blob,) = packed[0]["mapped"]
    assert isinstance(blob, str) and json.loads(json.dumps(packed)) == packed  # plain JSON text for XCom
    (row,) = unpack(blob)["0"]["components"]
    assert DesiredComponent.from_row(row) == DesiredComponent.from_row(component.to_row())


def test_the_extract_task_sends_ids_and_packed_rows_not_records(tmp_path: Path) -> None:
    the_transforms = transforms(tmp_path, SEED_LIKE)
    chunks = to_chunks("issue", _partitions(True, the_transforms))
    assert chunks[0]["records"] == [] and len(unpack(chunks[0]["ids"])) == 122
    (kind,) = collect(chunks).values()
    assert kind.count == 122 and kind.records == [] and len(kind.mapped) == 2


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run (streamed)", "real run"])
def test_every_path_plans_the_same(tmp_path: Path, catalog: OpsLevelCatalog, dry_run: bool) -> None:
    the_transforms = transforms(tmp_path, SEED_LIKE)
    options = SyncOptions(deletion=DeletionPolicy(integration_id="it"))
    reference = plan_sync(the_transforms, to_chunks("issue", _partitions(False, the_transforms)), catalog, options)
    report = run_sync(
        the_transforms, to_chunks("issue", _partitions(True, the_transforms)), catalog, dry_run=dry_run, options=options
    )
    assert _summary(report) == _summary(reference)
    counts = report.plan.counts()["sentry_issue"]
    assert counts["create"] == 120 - 7  # 2 x 60 issues, 7 fail to map (every 17th id)
    assert len(report.warnings()) == 2 and len(report.mapping_issues) == 7
    if dry_run:  # only what the report shows is kept: 20 creates, plus the two with warnings
        assert len(report.plan.components) == 20 + 2
        assert report.plan.total("create") == counts["create"]
    else:
        assert len(report.plan.components) == counts["create"]


def test_writing_in_groups_sends_no_more_requests_than_writing_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apply_plan creates GROUP components at a time and carries partial write batches over, so
    the requests are exactly those of one big pass, and so is the catalog."""
    from airflow_provider_opslevel.transform import apply

    the_transforms = transforms(tmp_path, SEED_LIKE)
    outcomes = []
    for group in (100, 100_000):
        monkeypatch.setattr(apply, "GROUP", group)
        with FakeOpsLevel(token=TOKEN) as fake:
            add_sentry_issue_type(fake)
            client = OpsLevelClient(fake.url, TOKEN)
            values = to_chunks("issue", _partitions(True, the_transforms))
            report = run_sync(
                the_transforms, values, OpsLevelCatalog(client), dry_run=False,
                options=SyncOptions(deletion=DeletionPolicy(integration_id="it")),
            )
            catalog = sorted(
                (c["aliases"][0], c["name"], json.dumps(c["properties"], sort_keys=True))
                for c in fake.components()
                if c["type"] == "sentry_issue"
            )
            outcomes.append((client.requests_sent, catalog, report.plan.counts(), sorted(report.problems())))
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0][1]) == 113
