"""The webhook's Airflow side: which DAGs are push integrations, and triggering their runs.

Runs are made the way the REST API's ``POST /api/v2/dags/{dag_id}/dagRuns`` makes them: the
same ``TriggerDAGRunPostBody.validate_context`` and ``SerializedDAG.create_dagrun`` on the
latest serialized DAG (manual run, no logical date, Params validated, queued), attributed to
the webhook. Only the api-server imports this module (on the first webhook call).
"""

from __future__ import annotations

import inspect
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from airflow.api_fastapi.common.dagbag import create_dag_bag
from airflow.api_fastapi.core_api.datamodels.dag_run import TriggerDAGRunPostBody
from airflow.exceptions import AirflowNotFoundException
from airflow.models.connection import Connection
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from airflow.utils.sqlalchemy import with_row_locks
from airflow.utils.state import DagRunState
from airflow.utils.types import DagRunTriggeredByType, DagRunType
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from airflow_provider_opslevel.webhook.auth import conn_id_for
from airflow_provider_opslevel.webhook.errors import WebhookRefused
from airflow_provider_opslevel.webhook.limits import DEFAULT_MAX_QUEUED_RUNS, QUEUE_FULL_RETRY_AFTER

log = logging.getLogger(__name__)

#: build_dag(..., push=True)'s receiving task, as the serialized DAG names its class.
PUSH_OPERATOR = ("airflow_provider_opslevel.operators.push", "OpsLevelPushOperator")
#: Who triggered a webhook run, in the run's ``triggering_user_name``.
WEBHOOK_USER = "opslevel-webhook"


@dataclass(frozen=True)
class PushIntegration:
    """A push DAG exposed through the webhook.

    :ivar dag_id: the DAG (and the integration's name in the URL).
    :ivar secret: its connection's password.
    :ivar kinds: the push extractors' external kinds (the DAG's ``external_kind`` enum).
    :ivar max_queued_runs: runs that may wait in the queue before calls get 429.
    """

    dag_id: str
    secret: str
    kinds: tuple[str, ...]
    max_queued_runs: int


def push_kinds(dag: Any) -> tuple[str, ...] | None:
    """The external kinds of a serialized DAG built with ``build_dag(..., push=True)``, or
    ``None`` for any other DAG (no push task, or no ``external_kind`` enum Param)."""
    if not any((getattr(t, "_task_module", None), t.task_type) == PUSH_OPERATOR for t in dag.tasks):
        return None
    if "external_kind" not in dag.params:
        return None
    kinds = dag.params.get_param("external_kind").schema.get("enum")
    return tuple(str(kind) for kind in kinds) if kinds else None


def _max_queued_runs(conn: Connection) -> int:
    value = conn.extra_dejson.get("max_queued_runs", DEFAULT_MAX_QUEUED_RUNS)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    log.warning(
        "Connection %s: max_queued_runs must be a whole number of at least 1, not %r; using %d",
        conn.conn_id,
        value,
        DEFAULT_MAX_QUEUED_RUNS,
    )
    return DEFAULT_MAX_QUEUED_RUNS


class PushRuns:
    """Looks up push integrations and triggers their runs; one per api-server process."""

    def __init__(self) -> None:
        self._dag_bag = create_dag_bag()  # the api-server's own cached DagBag kind
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def find(self, integration: str) -> PushIntegration | None:
        """``integration`` if it is an active push DAG whose webhook connection has a password;
        ``None`` otherwise (the caller cannot tell which part is missing)."""
        try:
            conn = Connection.get_connection_from_secrets(conn_id_for(integration))
        except AirflowNotFoundException:
            return None
        if not conn.password:
            log.warning("Connection %s has no password: the webhook of %s is off", conn.conn_id, integration)
            return None
        with create_session(scoped=False) as session:
            if not self._active(integration, session):
                return None
            dag = self._dag_bag.get_latest_version_of_dag(integration, session=session)
            kinds = None if dag is None else push_kinds(dag)
        if kinds is None:
            return None
        return PushIntegration(integration, conn.password, kinds, _max_queued_runs(conn))

    @staticmethod
    def _active(dag_id: str, session: Session) -> bool:
        stale = session.scalar(select(DagModel.is_stale).where(DagModel.dag_id == dag_id))
        return stale is False

    def trigger(self, integration: PushIntegration, kind: str, payload: Any, size: int) -> str:
        """Queue a run of the push DAG with conf ``{"external_kind", "payload"}``; its run id.

        Admission and creation are one step: the DAG's row is locked (on databases with row
        locks) and one lock per DAG serialises this process's threads, so two calls never both
        take the last free place in the queue.

        :param integration: the push integration (checked by :meth:`find`).
        :param kind: one of its kinds.
        :param payload: the pushed JSON (an object or an array).
        :param size: the body's size in bytes, for the run's note.
        :raises WebhookRefused: 429 when ``max_queued_runs`` runs are queued; 503 when the DAG
            cannot be triggered now (import errors); 409 when it allows no manual runs; 400
            when Airflow refuses the conf.
        """
        dag_id = integration.dag_id
        with self._lock(dag_id), create_session(scoped=False) as session:
            # Airflow 3.1 types with_row_locks for a Query, 3.2+ for a Select; both take a Select.
            query: Any = select(DagModel).where(DagModel.dag_id == dag_id)
            dag_model = session.scalar(with_row_locks(query, session, key_share=False))
            if dag_model is None or dag_model.is_stale:
                raise WebhookRefused(404, f"no webhook integration {dag_id!r}")
            if dag_model.has_import_errors:
                raise WebhookRefused(
                    503, f"the DAG {dag_id!r} has import errors and cannot run", QUEUE_FULL_RETRY_AFTER
                )
            # allowed_run_types is new in Airflow 3.2; before, every DAG allows manual runs.
            allowed_run_types = getattr(dag_model, "allowed_run_types", None)
            if allowed_run_types is not None and DagRunType.MANUAL not in allowed_run_types:
                raise WebhookRefused(409, f"the DAG {dag_id!r} does not allow manual runs")
            queued = session.scalar(
                select(func.count())
                .select_from(DagRun)
                .where(DagRun.dag_id == dag_id, DagRun.state == DagRunState.QUEUED)
            )
            if queued is not None and queued >= integration.max_queued_runs:
                raise WebhookRefused(
                    429,
                    f"{queued} runs of {dag_id} are queued (the limit is {integration.max_queued_runs}); "
                    "nothing was triggered, send it again later",
                    QUEUE_FULL_RETRY_AFTER,
                )
            return self._create(dag_id, kind, payload, size, session)

    def _create(self, dag_id: str, kind: str, payload: Any, size: int, session: Session) -> str:
        dag = self._dag_bag.get_latest_version_of_dag(dag_id, session=session)
        if dag is None:
            raise WebhookRefused(404, f"no webhook integration {dag_id!r}")
        body = TriggerDAGRunPostBody(
            logical_date=None,
            conf={"external_kind": kind, "payload": payload},
            note=f"Pushed through the OpsLevel webhook: external_kind {kind}, {size:,} bytes",
        )
        try:
            params = body.validate_context(dag)
            # A run id of its own: unique even for two calls in one clock tick, and visibly a push.
            run_id = f"webhook__{params['run_after'].isoformat()}_{secrets.token_hex(4)}"
            # Airflow 3.1's create_dagrun takes no partition and no note (its REST handler sets the
            # note on the run afterwards); 3.2 takes them, but its validate_context returns no
            # partition_date. Pass what both sides of this Airflow have.
            takes = inspect.signature(dag.create_dagrun).parameters
            newer = {
                name: params[name]
                for name in ("partition_key", "partition_date", "note")
                if name in takes and name in params
            }
            dag_run = dag.create_dagrun(
                run_id=run_id,
                logical_date=params["logical_date"],
                data_interval=params["data_interval"],
                run_after=params["run_after"],
                conf=params["conf"],
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.REST_API,
                triggering_user_name=WEBHOOK_USER,
                state=DagRunState.QUEUED,
                session=session,
                **newer,
            )
            if "note" not in takes:
                dag_run.note = params["note"]
        except ValueError as error:  # ParamValidationError is one, as the REST handler catches
            raise WebhookRefused(400, str(error)) from None
        return str(dag_run.run_id)

    def _lock(self, dag_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(dag_id, threading.Lock())
