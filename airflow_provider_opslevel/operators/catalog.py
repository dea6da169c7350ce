"""OpsLevelEnsureCatalogOperator: create or update the component types an integration needs."""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import BaseOperator, Context

from airflow_provider_opslevel.catalog_setup import ensure_catalog, load_catalog
from airflow_provider_opslevel.connections import task_redactor
from airflow_provider_opslevel.hooks.opslevel import OpsLevelHook
from airflow_provider_opslevel.operators.transform import dry_run_requested


class OpsLevelEnsureCatalogOperator(BaseOperator):
    """Make OpsLevel hold the component types, property definitions and relationship definitions
    a catalog document declares (the seed's *Settings* clicks, as code). Idempotent: a second run
    reads and writes nothing. Nothing is ever deleted.

    :param catalog: path of the catalog document.
    :param opslevel_conn_id: Airflow connection of type ``opslevel``.
    :param plan_only: write nothing; ``None`` means "use the DAG run's ``dry_run`` Param".
    """

    ui_color = "#fff4d6"

    def __init__(
        self,
        *,
        catalog: str | os.PathLike[str],
        opslevel_conn_id: str = OpsLevelHook.default_conn_name,
        plan_only: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.catalog = os.fspath(catalog)
        self.opslevel_conn_id = opslevel_conn_id
        self.plan_only = plan_only

    def execute(self, context: Context) -> dict[str, Any]:
        redactor = task_redactor()
        with redactor.errors_redacted():
            document = load_catalog(self.catalog)
            dry_run = dry_run_requested(self.plan_only, context)
            hook = OpsLevelHook(opslevel_conn_id=self.opslevel_conn_id, redactor=redactor)
            report = ensure_catalog(document, hook.get_conn(), dry_run=dry_run)
            title = "Catalog plan (dry run):" if dry_run else "Catalog setup:"
            self.log.info("%s\n%s", title, redactor(report.to_text()))
            return redactor.redact_data(report.to_dict())
