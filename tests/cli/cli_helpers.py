"""What the CLI tests share: the example integration's documents and the fakes' request logs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from airflow_provider_opslevel.testing import FakeOpsLevel, FakeSentry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "dags" / "sentry_issues"
EXTRACT = str(EXAMPLE / "extract.yaml")
TRANSFORM = str(EXAMPLE / "transform.yaml")
CATALOG = str(EXAMPLE / "catalog.yaml")
SCRIPT = Path(sys.executable).parent / "opslevel-integration"
SENTRY_PROPERTIES = {
    "project_slug": {"name": "Project Slug", "schema": {"type": "array", "items": {"type": "string"}}},
    "substatus": {"name": "Substatus", "schema": {"type": "string"}},
    "url": {"name": "URL", "schema": {"type": "string"}},
}


def mutation_queries(opslevel: FakeOpsLevel) -> list[str]:
    return [r["query"] for r in opslevel.requests if r["query"].lstrip().startswith("mutation")]


def issue_paths(sentry: FakeSentry) -> list[str]:
    return [r["path"] for r in sentry.requests if r["path"].endswith("/issues/")]


def project_requests(sentry: FakeSentry) -> list[dict[str, Any]]:
    return [r for r in sentry.requests if r["path"] == "/api/0/projects/"]


def run_test(sentry: FakeSentry, *args: str, catalog: bool = True, extract: str = EXTRACT) -> list[str]:
    argv = ["test", extract, TRANSFORM, "--rewrite-origin", f"https://sentry.io={sentry.url}", *args]
    return argv + (["--catalog", CATALOG] if catalog else [])
