"""The seed's Sentry issues integration: Sentry projects and their issues → `sentry_issue` components."""

import os
from pathlib import Path

from airflow_provider_opslevel import build_dag

HERE = Path(__file__).parent / "sentry_issues"
# The YAML targets https://sentry.io; SENTRY_URL points it at a self-hosted Sentry (or the demo's fake).
SENTRY_URL = os.environ.get("SENTRY_URL")

dag = build_dag(
    "sentry_issues",
    extract=HERE / "extract.yaml",
    transform=HERE / "transform.yaml",
    catalog=HERE / "catalog.yaml",  # the seed's Settings clicks: the Sentry Issue type and relationship
    # No schedule and paused when new: nothing writes to OpsLevel before you trigger a dry run.
    # Once a dry run's plan looks right, add one, e.g. schedule="@daily" (catch-up stays off).
    schedule=None,
    is_paused_upon_creation=True,
    rewrite_origins={"https://sentry.io": SENTRY_URL} if SENTRY_URL else None,
)
