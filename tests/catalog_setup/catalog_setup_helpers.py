"""Helpers for catalog-setup tests (a unique module name: test directories share sys.path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_opslevel.opslevel.documents import SETUP_WRITES
from airflow_provider_opslevel.testing import FakeOpsLevel

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "dags" / "sentry_issues" / "catalog.yaml"


def mutations(fake: FakeOpsLevel) -> list[dict[str, Any]]:
    """Requests the fake received that write (by operation name and by query text)."""
    return [
        r
        for r in fake.requests
        if r["operation_name"] in SETUP_WRITES or str(r["query"]).lstrip().startswith("mutation")
    ]


def sentry_type(fake: FakeOpsLevel) -> dict[str, Any]:
    return next(t for t in fake.snapshot()["componentTypes"] if t["alias"] == "sentry_issue")


def relationship(fake: FakeOpsLevel, alias: str) -> dict[str, Any]:
    return next(r for r in fake.snapshot()["relationshipDefinitions"] if r["alias"] == alias)
