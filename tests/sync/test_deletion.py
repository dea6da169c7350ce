"""Deletion: exactly what is gone, nothing that could not be proven gone (fake Sentry + fake OpsLevel)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from opslevel_helpers import mutations

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.extract.http import HttpFetcher
from airflow_provider_opslevel.extract.results import iter_chunks, to_chunks
from airflow_provider_opslevel.extract.runner import ExtractorRunner
from airflow_provider_opslevel.opslevel.catalog import OpsLevelCatalog
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.secrets import SecretRecorder
from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry
from airflow_provider_opslevel.transform.deletion import OWNER_TAG, PARTITION_TAG, DeletionPolicy
from airflow_provider_opslevel.transform.sync import SyncOptions, run_sync

SEED = Path(__file__).resolve().parents[2] / "dags" / "sentry_issues"
INTEGRATION = load_integration(SEED / "extract.yaml", SEED / "transform.yaml")
PARENTS = {e.external_kind: e.for_each for e in INTEGRATION.extractors}


def extract(sentry: FakeSentry) -> list[Any]:
    """What the DAG's extract tasks would push to XCom, without Airflow."""
    secrets = SecretRecorder(lambda name: "tok")
    fetcher = HttpFetcher(redact=secrets.redact, timeout=(2, 5))
    values: list[Any] = []
    parents: list[dict] = []
    for extractor in INTEGRATION.ordered():
        runner = ExtractorRunner(
            extractor,
            fetcher=fetcher,
            secrets=secrets,
            origins={"https://sentry.io": sentry.url},
            redact=secrets.redact,
        )
        partitions = [runner.run(p) for p in parents] if extractor.for_each else [runner.run(None)]
        chunks = to_chunks(extractor.external_kind, partitions)
        values.append(chunks)
        parents = [record for chunk in iter_chunks(chunks) for record in chunk["records"]]
    return values


@pytest.fixture
def world():
    with (
        FakeSentry(token="tok", projects=3, issues_per_project=5, page_size=2) as sentry,
        FakeOpsLevel(token="t") as opslevel,
    ):
        opslevel.add_component_type(
            "sentry_issue",
            "Sentry Issue",
            properties={
                "project_slug": {
                    "name": "Project Slug",
                    "schema": {"type": "array", "items": {"type": "string"}},
                },
                "substatus": {"name": "Substatus", "schema": {"type": "string"}},
                "url": {"name": "URL", "schema": {"type": "string"}},
            },
        )
        yield sentry, opslevel


def sync(opslevel: FakeOpsLevel, values: list[Any], *, dry_run: bool = False, **policy: Any):
    catalog = OpsLevelCatalog(OpsLevelClient(opslevel.url, "t", requests_per_minute=None))
    options = SyncOptions(
        deletion=DeletionPolicy(integration_id="sentry_issues", **policy), parent_kinds=PARENTS
    )
    return run_sync(INTEGRATION.transforms, values, catalog, dry_run=dry_run, options=options)


def issue_aliases(opslevel: FakeOpsLevel) -> set[str]:
    return {c["managedAliases"][0] for c in opslevel.components() if c["type"] == "sentry_issue"}


def kept_projects(sentry: FakeSentry) -> list[dict]:
    return [p for p in sentry.projects if "production" not in p["name"]]


def test_created_components_carry_ownership_and_partition_tags(world):
    sentry, opslevel = world
    sync(opslevel, extract(sentry))
    project = kept_projects(sentry)[0]
    issue = sentry.visible_issues(project["id"])[0]
    tags = {t["key"]: t["value"] for t in opslevel.component_by_alias(issue["id"])["tags"]}
    assert tags == {OWNER_TAG: "sentry_issues", PARTITION_TAG: f"sentry_issue/{project['id']}"}


def test_an_issue_gone_from_sentry_is_deleted_and_nothing_else(world):
    sentry, opslevel = world
    sync(opslevel, extract(sentry))
    before = issue_aliases(opslevel)
    gone = sentry.visible_issues(kept_projects(sentry)[1]["id"])[2]["id"]
    sentry.remove_issue(gone)
    opslevel.reset_log()
    report = sync(opslevel, extract(sentry))
    assert report.problems() == []
    assert issue_aliases(opslevel) == before - {gone}
    assert mutations(opslevel.requests) == ["serviceDelete"]
    assert report.to_dict()["deletions"]["sentry_issue"] == {
        "managed": len(before),
        "gone": 1,
        "deleted": 1,
        "held": None,
    }


def test_an_issue_that_becomes_excluded_is_deleted(world):
    sentry, opslevel = world
    sync(opslevel, extract(sentry))
    project = kept_projects(sentry)[0]
    project["name"] = project["name"] + " production"  # the seed's exclude now drops the project
    report = (
        sync(opslevel, extract(sentry), allow=None)
        if False
        else sync(opslevel, extract(sentry), max_share=1.0)
    )
    gone = {i["id"] for i in sentry.visible_issues(project["id"])}
    assert report.plan.counts()["sentry_issue"]["delete"] == len(gone)
    assert not gone & issue_aliases(opslevel)


def test_a_partition_that_fails_after_its_first_page_keeps_everything_it_had(world):
    sentry, opslevel = world
    sync(opslevel, extract(sentry))
    before = issue_aliases(opslevel)
    broken, fine = kept_projects(sentry)[0], kept_projects(sentry)[1]
    # Remove one issue from each project; then make the broken project's second page fail.
    lost_broken = sentry.visible_issues(broken["id"])[-1]["id"]
    lost_fine = sentry.visible_issues(fine["id"])[-1]["id"]
    sentry.remove_issue(lost_broken)
    sentry.remove_issue(lost_fine)
    sentry.faults.append(
        lambda info: (
            (500, {}, b'{"detail": "boom"}')
            if f"/{broken['id']}/issues/" in info["path"] and info["query"].get("cursor")
            else None
        )
    )
    report = sync(opslevel, extract(sentry))
    after = issue_aliases(opslevel)
    assert lost_broken in after  # its partition was not read to the end: nothing of it deleted
    assert lost_fine not in after  # the rest synced, deletion included
    assert after == before - {lost_fine}
    assert any(f"parent {broken['id']}" in p and "HTTP 500" in p for p in report.problems())


def test_an_empty_answer_trips_the_guard_and_deletes_nothing(world):
    sentry, opslevel = world
    sync(opslevel, extract(sentry))
    before = issue_aliases(opslevel)
    sentry.projects.clear()  # the API now says: no projects at all
    opslevel.reset_log()
    report = sync(opslevel, extract(sentry))
    assert issue_aliases(opslevel) == before and mutations(opslevel.requests) == []
    (held,) = [p for p in report.problems() if p.startswith("delete sentry_issue")]
    assert f"would delete {len(before)} of {len(before)} managed sentry_issue components (100%)" in held
    assert "allow_mass_deletion=true" in held


def test_a_person_can_approve_a_mass_deletion(world):
    sentry, opslevel = world
    sync(opslevel, extract(sentry))
    sentry.projects.clear()
    report = sync(opslevel, extract(sentry), approved=True)
    assert report.problems() == [] and issue_aliases(opslevel) == set()


def test_a_count_limit_holds_too(world):
    sentry, opslevel = world
    sync(opslevel, extract(sentry))
    for issue in sentry.visible_issues(kept_projects(sentry)[0]["id"])[:3]:
        sentry.remove_issue(issue["id"])
    report = sync(opslevel, extract(sentry), max_count=2)
    assert report.to_dict()["deletions"]["sentry_issue"]["deleted"] == 0
    assert "over the limit of 2 components" in report.to_dict()["deletions"]["sentry_issue"]["held"]


def test_human_made_components_are_never_deleted_or_overwritten(world):
    sentry, opslevel = world
    issue = sentry.visible_issues(kept_projects(sentry)[0]["id"])[0]
    human_service = opslevel.add_component(
        "Checkout", type="service", aliases=[issue["id"]], description="mine"
    )
    human_issue = opslevel.add_component("Hand-made issue", type="sentry_issue", aliases=["hand-made"])
    sync(opslevel, extract(sentry))
    sentry.projects.clear()
    sync(opslevel, extract(sentry), approved=True)  # even an approved mass deletion
    assert opslevel.component_by_alias(issue["id"])["name"] == "Checkout"
    assert opslevel.component_by_alias(issue["id"])["description"] == "mine"
    assert opslevel.component_by_alias(issue["id"])["id"] == human_service["id"]
    assert opslevel.component_by_alias("hand-made")["id"] == human_issue["id"]


def test_mapping_failures_block_deletion_of_that_kind(world, tmp_path):
    sentry, opslevel = world
    sync(opslevel, extract(sentry))
    values = extract(sentry)
    for chunk in iter_chunks(values):
        if chunk["external_kind"] == "sentry_issue" and chunk["records"]:
            chunk["records"][0]["data"]["id"] = None  # this record cannot be mapped
            break
    before = issue_aliases(opslevel)
    report = sync(opslevel, values)
    assert issue_aliases(opslevel) == before
    assert any("could not be mapped" in p for p in report.problems())


def test_dry_run_lists_deletions_without_deleting(world):
    sentry, opslevel = world
    sync(opslevel, extract(sentry))
    gone = sentry.visible_issues(kept_projects(sentry)[0]["id"])[0]["id"]
    sentry.remove_issue(gone)
    report = sync(opslevel, extract(sentry), dry_run=True)
    assert [i.desired.alias for i in report.plan.of("delete")] == [gone]
    assert gone in issue_aliases(opslevel)
    assert "delete (1):" in report.describe()
