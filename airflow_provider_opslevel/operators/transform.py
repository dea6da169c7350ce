"""OpsLevelTransformOperator: map every extracted record and upsert the components into OpsLevel."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from airflow_provider_opslevel.catalog_setup import load_catalog
from airflow_provider_opslevel.catalog_setup.planning import declared_component_types
from airflow_provider_opslevel.config import Integration, load_integration
from airflow_provider_opslevel.config.models import Transform
from airflow_provider_opslevel.connections import airflow_secrets, task_redactor
from airflow_provider_opslevel.errors import MissingSecretError
from airflow_provider_opslevel.hooks.opslevel import OpsLevelHook
from airflow_provider_opslevel.operators.assets import emit_asset_events, sync_alias
from airflow_provider_opslevel.operators.memory import peak_rss_mib, reset_peak
from airflow_provider_opslevel.redaction import Redactor
from airflow_provider_opslevel.transform.deletion import DEFAULT_MAX_DELETE_SHARE, DeletionPolicy
from airflow_provider_opslevel.transform.errors import SyncFailed
from airflow_provider_opslevel.transform.sync import SyncOptions, run_sync


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def dry_run_requested(plan_only: bool | None, context: Context) -> bool:
    """An operator's own ``plan_only`` wins; else the DAG run's ``dry_run`` Param decides."""
    if plan_only is not None:
        return plan_only
    return as_bool(context["params"].get("dry_run", False))


class OpsLevelTransformOperator(BaseOperator):
    """Read every extract task's records from XCom, plan the catalog changes and apply them.

    With ``plan_only`` (the DAG's ``dry_run`` Param by default) it logs the plan and writes nothing.
    The task's XCom is the report: counts per kind and action, details of the first components,
    suggested components and problems. The task fails when anything was not read, mapped or
    written, after everything else was written.

    A successful sync that wrote to OpsLevel emits an Airflow asset event per changed
    ``opslevel_kind``, ``opslevel://<host>/<kind>`` with the counts in its extra (see
    :mod:`airflow_provider_opslevel.operators.assets`), through the task's ``AssetAlias`` outlet.

    :param extract: path of the extract YAML document.
    :param transform: path of the transform YAML document.
    :param extract_task_ids: the extract tasks whose results to read (mapped ones included).
    :param opslevel_conn_id: Airflow connection of type ``opslevel``.
    :param catalog: the integration's catalog document, if any: a dry run plans against the
        component types it declares when OpsLevel does not have them yet.
    :param plan_only: write nothing; ``None`` means "use the DAG run's ``dry_run`` Param".
    :param integration_id: the ownership tag value on components this integration creates
        (default: the DAG id); only those are ever deleted. ``""`` turns deletion off.
    :param max_delete_share: a kind's deletions above this share of its managed components are
        held unless the run's ``allow_mass_deletion`` Param is true.
    :param max_delete_count: the same, as a number (``None``: no count limit).
    :param external_kinds: the kinds this DAG extracts; transforms of other kinds (push kinds in
        a pull DAG, or the reverse) are left out. ``None``: all.
    :param push: a push integration: nothing is "gone" because a push carries only some records;
        components not pushed for their extractor's ``expires_after_days`` are deleted instead.
    """

    ui_color = "#dff5e1"

    def __init__(
        self,
        *,
        extract: str | os.PathLike[str],
        transform: str | os.PathLike[str],
        extract_task_ids: Sequence[str],
        opslevel_conn_id: str = OpsLevelHook.default_conn_name,
        plan_only: bool | None = None,
        catalog: str | os.PathLike[str] | None = None,
        integration_id: str | None = None,
        max_delete_share: float = DEFAULT_MAX_DELETE_SHARE,
        max_delete_count: int | None = None,
        external_kinds: Sequence[str] | None = None,
        push: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.asset_alias = sync_alias(self.dag_id, self.task_id)
        self.outlets = [*self.outlets, self.asset_alias]
        self.external_kinds = list(external_kinds) if external_kinds is not None else None
        self.push = push
        self.integration_id = integration_id
        self.max_delete_share = max_delete_share
        self.max_delete_count = max_delete_count
        self.extract = os.fspath(extract)
        self.transform = os.fspath(transform)
        self.catalog = os.fspath(catalog) if catalog is not None else None
        self.extract_task_ids = list(extract_task_ids)
        self.opslevel_conn_id = opslevel_conn_id
        self.plan_only = plan_only

    def sync_options(self, integration: Integration, context: Context) -> SyncOptions:
        """Ownership, deletion limits, partition parents, declared types and push expiry."""
        integration_id = self.dag_id if self.integration_id is None else self.integration_id
        expiry: dict[str, int] | None = None
        if self.push:
            expiry = {}
            for t in self.transforms_of(integration):
                days = integration.extractor(t.external_kind).expires_after_days
                if days is not None:
                    expiry[t.opslevel_kind] = min(days, expiry.get(t.opslevel_kind, days))
        return SyncOptions(
            deletion=DeletionPolicy(
                integration_id=integration_id or None,
                max_share=self.max_delete_share,
                max_count=self.max_delete_count,
                approved=as_bool(context["params"].get("allow_mass_deletion", False)),
            ),
            parent_kinds={e.external_kind: e.for_each for e in integration.extractors},
            declared=declared_component_types(load_catalog(self.catalog)) if self.catalog else None,
            expiry=expiry,
        )

    def transforms_of(self, integration: Integration) -> list[Transform]:
        kinds = self.external_kinds
        return [t for t in integration.transforms if kinds is None or t.external_kind in kinds]

    def execute(self, context: Context) -> dict[str, Any]:
        reset_peak()
        redactor = task_redactor()
        with redactor.errors_redacted():
            integration = load_integration(self.extract, self.transform)
            learn_secrets(integration, redactor)
            dry_run = dry_run_requested(self.plan_only, context)
            values = context["ti"].xcom_pull(task_ids=self.extract_task_ids)
            hook = OpsLevelHook(opslevel_conn_id=self.opslevel_conn_id, redactor=redactor)
            options = self.sync_options(integration, context)
            report = run_sync(
                self.transforms_of(integration), values, hook.get_catalog(), dry_run=dry_run, options=options
            )
            peak = peak_rss_mib()
            self.log.info(
                "%s plan (%d OpsLevel request(s), peak RSS %.0f MiB):\n%s",
                "Dry-run" if dry_run else "Applied",
                hook.client.requests_sent,
                peak,
                redactor(report.describe()),
            )
            result = {
                **report.to_dict(),
                "requests": hook.client.requests_sent,
                "peak_rss_mib": round(peak, 1),
            }
            result = redactor.redact_data(result)
            problems = report.problems()
            if problems:
                listed = "\n".join(f"  - {problem}" for problem in problems[:50])
                more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
                context["ti"].xcom_push(key="report", value=result)
                done = "planned" if dry_run else "written"
                raise SyncFailed(
                    redactor(f"{len(problems)} problem(s); everything else was {done}:\n{listed}{more}")
                )
            if not dry_run:
                # Airflow records asset events only for a task that succeeds: the writes of a
                # sync that fails are in its log and XCom report, not announced as events.
                uris = emit_asset_events(
                    context["outlet_events"],
                    self.asset_alias,
                    hook.client.base_url,
                    result["counts"],
                    dag_id=self.dag_id,
                    run_id=context["run_id"],
                )
                if uris:
                    self.log.info("Asset events: %s", ", ".join(uris))
            return result


def learn_secrets(integration: Integration, redactor: Redactor) -> None:
    """Give ``redactor`` the values of the secrets the extract templates name, as far as they resolve.

    The transform task reads no secret itself, but records and OpsLevel's answers may quote one
    (an API echoing its token): the report and log must hide them as the extract task's do.
    """
    oauth = getattr(integration, "oauth", None)
    templates = (
        [oauth.token_url, oauth.client_id, oauth.client_secret, *oauth.extra_params.values()] if oauth else []
    )
    names = {name for template in templates for name in template.secret_names}
    for extractor in integration.extractors:
        if extractor.http_polling:
            names |= extractor.http_polling.secret_names
    secrets = airflow_secrets(redactor)
    for name in sorted(names):
        try:
            secrets(name)
        except MissingSecretError:
            pass  # the extract task said so already
