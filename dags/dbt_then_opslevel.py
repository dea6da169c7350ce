"""A user's own DAG: a dbt run, then the seed's Sentry issues integration as a task group.

The dbt step is a stand-in that only logs, so the example runs with no dbt installed; in a real
DAG it is your `dbt run` task (BashOperator, Cosmos, ...). The group's tasks are
`opslevel.extract_sentry_project`, `opslevel.extract_sentry_issue` (mapped),
`opslevel.ensure_catalog` and `opslevel.transform`; the group adds the **Dry run** and
**Allow mass deletion** Params to this DAG's trigger form.
"""

import logging
import os

from airflow.sdk import dag, task

from airflow_provider_opslevel import build_task_group

# The YAML targets https://sentry.io; SENTRY_URL points it at a self-hosted Sentry (or the demo's fake).
SENTRY_URL = os.environ.get("SENTRY_URL")


@dag(
    schedule=None,  # triggered: the first run is the one a person starts (with Dry run ticked)
    max_active_runs=1,  # syncs apply in the order they were read
    tags=["dbt", "opslevel"],
)
def dbt_then_opslevel() -> None:
    @task
    def dbt_run() -> None:
        """Stands in for `dbt run`: the sync reads what the models produced."""
        logging.getLogger(__name__).info("dbt run: (stand-in) models built")

    dbt_run() >> build_task_group(
        "opslevel",
        extract="sentry_issues/extract.yaml",  # relative to this file
        transform="sentry_issues/transform.yaml",
        catalog="sentry_issues/catalog.yaml",
        rewrite_origins={"https://sentry.io": SENTRY_URL} if SENTRY_URL else None,
    )


dbt_then_opslevel()
