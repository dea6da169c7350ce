"""What the end-to-end fixtures (conftest.py) give the tests: the stack with its fakes, the runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_opslevel.testing.airflow_stack import AirflowStack
from airflow_provider_opslevel.testing.demo_fakes import DemoFakes

DAG_ID = "sentry_issues"
DOWNSTREAM_DAG_ID = "after_sentry_issue_sync"


class E2EAirflow(AirflowStack):
    """The stack, with the fakes its DAGs talk to (:attr:`fakes`)."""

    def __init__(self, home: Path, *, fakes: DemoFakes, **kwargs: Any) -> None:
        super().__init__(home, env=fakes.environment(), **kwargs)
        self.fakes = fakes

    @property
    def sentry_issue_asset(self) -> str:
        """``opslevel://<host:port of the fake OpsLevel>/sentry_issue``: what a sync that
        changed issues emits."""
        return f"opslevel://{urlsplit(self.fakes.opslevel.url).netloc}/sentry_issue"


@dataclass(frozen=True)
class SentryRuns:
    """The example DAG's runs: a dry run, then a real one.

    :ivar dag_id: ``sentry_issues``.
    :ivar dry_run_id: the run with ``{"dry_run": true}``.
    :ivar run_id: the run with ``{"dry_run": false}``, after it.
    :ivar states: final state by run id.
    :ivar project_slugs: the Sentry projects whose issues were read (the seed excludes production).
    :ivar dry_run_requests: what the fake OpsLevel received during the dry run.
    :ivar seconds: how long each run took, trigger to final state, by run id.
    """

    dag_id: str
    dry_run_id: str
    run_id: str
    states: dict[str, str]
    project_slugs: list[str]
    dry_run_requests: list[dict[str, Any]]
    seconds: dict[str, float]
