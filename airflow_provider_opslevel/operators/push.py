"""OpsLevelPushOperator: turn one pushed JSON payload into records, as OpsLevel's webhook does."""

from __future__ import annotations

import json
import os
from typing import Any

from airflow.sdk import BaseOperator, Context

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.connections import task_redactor
from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.extract.records import page_records
from airflow_provider_opslevel.extract.results import to_chunks
from airflow_provider_opslevel.extract.runner import PartitionResult
from airflow_provider_opslevel.operators.transform import learn_secrets
from airflow_provider_opslevel.redaction import Redactor


class OpsLevelPushOperator(BaseOperator):
    """Run a push extractor's ``iterator``, ``exclude`` and ``external_id`` over the run's payload.

    The DAG run's conf (Airflow's REST API ``dagRuns`` endpoint, or a webhook relay) carries
    ``{"external_kind": ..., "payload": <json>}``. A run without a payload (a scheduled one)
    reads nothing: the transform then only expires what was not pushed for too long.

    :param extract: path of the extract YAML document.
    :param transform: path of the transform YAML document.
    """

    ui_color = "#f3e8ff"

    def __init__(
        self, *, extract: str | os.PathLike[str], transform: str | os.PathLike[str], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.extract = os.fspath(extract)
        self.transform = os.fspath(transform)

    def execute(self, context: Context) -> list[dict[str, Any]]:
        redactor = task_redactor()
        with redactor.errors_redacted():
            return self._read(context, redactor)

    def _read(self, context: Context, redactor: Redactor) -> list[dict[str, Any]]:
        integration = load_integration(self.extract, self.transform)
        learn_secrets(integration, redactor)
        push_kinds = [e.external_kind for e in integration.extractors if e.is_push]
        params = context["params"]
        payload = params.get("payload")
        kind = params.get("external_kind")
        if payload is None:
            self.log.info("No payload in this run: nothing to read, expiry only.")
            return []
        if kind not in push_kinds:
            raise OpsLevelIntegrationError(
                f"external_kind {kind!r} is not a push extractor of {self.extract}; choose one of: {', '.join(push_kinds)}"
            )
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError as exc:
                raise OpsLevelIntegrationError(f"the payload for {kind} is not JSON: {exc}") from None
        page = page_records(integration.extractor(kind), payload)
        partition = PartitionResult(
            kind, None, records=page.records, pages=1, items=page.items, excluded=page.excluded, complete=True
        )
        self.log.info(
            "%s: %d item(s) pushed, %d excluded, %d record(s)",
            kind,
            page.items,
            page.excluded,
            len(page.records),
        )
        return to_chunks(kind, [partition])
