"""build_dag and build_task_group: an integration's tasks as their own DAG or as a group in yours."""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, TaskGroup

from airflow_provider_opslevel.dag_documents import IntegrationDocuments
from airflow_provider_opslevel.errors import did_you_mean
from airflow_provider_opslevel.extract.results import DEFAULT_PARENTS_PER_TASK
from airflow_provider_opslevel.hooks.opslevel import OpsLevelHook
from airflow_provider_opslevel.operators.catalog import OpsLevelEnsureCatalogOperator
from airflow_provider_opslevel.operators.extract import OpsLevelExtractOperator
from airflow_provider_opslevel.operators.push import OpsLevelPushOperator
from airflow_provider_opslevel.operators.transform import OpsLevelTransformOperator
from airflow_provider_opslevel.transform.deletion import DEFAULT_MAX_DELETE_SHARE

# A TaskGroup takes doc_md (shown in the UI) from Airflow 3.3 on; on 3.1 and 3.2 the group goes
# without the integration's documentation rather than fail.
_GROUP_TAKES_DOC_MD = "doc_md" in inspect.signature(TaskGroup).parameters


def task_id_for(kind: str) -> str:
    return "extract_" + re.sub(r"[^A-Za-z0-9_.-]", "_", kind)


EXTRACT_OPTIONS = (
    "concurrency",
    "allowed_origins",
    "max_body_bytes",
    "parent_label_field",
    "pool",
    "pool_slots",
    "max_active_tis_per_dagrun",
    "max_active_tis_per_dag",
    "retries",
    "retry_delay",
    "execution_timeout",
    "priority_weight",
    "queue",
)


def check_extract_options(
    options: Mapping[str, Mapping[str, Any]], kinds: list[str]
) -> dict[str, dict[str, Any]]:
    """``extract_options`` with every kind and option name checked (with a did-you-mean)."""
    for kind, values in options.items():
        if kind not in kinds:
            raise ValueError(
                f"extract_options names {kind!r}, which no extractor produces{did_you_mean(kind, kinds)}"
            )
        for name in values:
            if name not in EXTRACT_OPTIONS:
                raise ValueError(
                    f"extract_options[{kind!r}] has no option {name!r}{did_you_mean(name, EXTRACT_OPTIONS)}; "
                    f"options: {', '.join(EXTRACT_OPTIONS)}"
                )
    return {kind: dict(values) for kind, values in options.items()}


def push_params(kinds: list[str]) -> dict[str, Any]:
    """The trigger form of a push DAG: which kind, and the JSON that was pushed."""
    return {
        "external_kind": Param(
            kinds[0], enum=kinds, title="External kind", description="Which push extractor reads the payload."
        ),
        "payload": Param(
            None,
            type=["object", "array", "null"],
            title="Payload",
            description="The pushed JSON, as OpsLevel's custom integration webhook would receive it.",
        ),
    }


def sync_params(max_delete_share: float, max_delete_count: int | None) -> dict[str, Param]:
    """The trigger form's ``dry_run`` and ``allow_mass_deletion``, read by the writing tasks."""
    return {
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Plan only: log what would be created, updated or deleted; write nothing to OpsLevel.",
        ),
        "allow_mass_deletion": Param(
            False,
            type="boolean",
            title="Allow mass deletion",
            description=(
                f"Approve deleting more than {max_delete_share:.0%} of a kind's managed components"
                + (f" or more than {max_delete_count}" if max_delete_count is not None else "")
                + " in this run (when the source really lost them)."
            ),
        ),
    }


def _caller_dir() -> Path:
    """The folder of the file calling build_dag / build_task_group: relative paths start there."""
    caller = sys._getframe(2).f_globals.get("__file__")
    return Path(caller).parent if caller else Path.cwd()


def _add_tasks(
    documents: IntegrationDocuments,
    *,
    opslevel_conn_id: str,
    rewrite_origins: Mapping[str, str] | None,
    parents_per_task: int,
    max_delete_share: float,
    max_delete_count: int | None,
    push: bool,
    extract_options: Mapping[str, Mapping[str, Any]] | None,
    integration_id: str | None = None,
) -> None:
    """Create the integration's tasks in the DAG or TaskGroup being defined (the one builder of
    build_dag and build_task_group)."""
    integration = documents.integration
    options = check_extract_options(extract_options or {}, [e.external_kind for e in integration.extractors])
    common: dict[str, Any] = {
        "extract": documents.extract,
        "transform": documents.transform,
        "rewrite_origins": dict(rewrite_origins or {}),
    }
    tasks: dict[str, Any] = {}
    if push:
        tasks["push"] = OpsLevelPushOperator(
            task_id="receive", extract=documents.extract, transform=documents.transform
        )
    for extractor in [] if push else integration.ordered():
        kind = extractor.external_kind
        parent = extractor.for_each
        if parent is None:
            tasks[kind] = OpsLevelExtractOperator(
                task_id=task_id_for(kind),
                external_kind=kind,
                parents_per_task=parents_per_task,
                **common,
                **options.get(kind, {}),
            )
        else:
            tasks[kind] = OpsLevelExtractOperator.partial(
                task_id=task_id_for(kind),
                external_kind=kind,
                parents_per_task=parents_per_task,
                map_index_template="{{ task.partition_label }}",
                **common,
                **options.get(kind, {}),
            ).expand(parents=tasks[parent].output)
    # Two syncs of one integration must never write at once (duplicate creates, deletions racing
    # creations). build_dag's max_active_runs=1 holds that for its DAG; a group lives in a DAG
    # whose settings are its owner's, so the writing tasks hold it themselves.
    transform_task = OpsLevelTransformOperator(
        task_id="transform",
        extract=documents.extract,
        transform=documents.transform,
        extract_task_ids=[task.task_id for task in tasks.values()],  # group-prefixed inside a group
        opslevel_conn_id=opslevel_conn_id,
        catalog=documents.catalog,
        integration_id=integration_id,
        max_delete_share=max_delete_share,
        max_delete_count=max_delete_count,
        external_kinds=documents.kinds,
        push=push,
        max_active_tis_per_dag=1,
    )
    for task in tasks.values():
        task >> transform_task
    if documents.catalog is not None:
        setup = OpsLevelEnsureCatalogOperator(
            task_id="ensure_catalog",
            catalog=documents.catalog,
            opslevel_conn_id=opslevel_conn_id,
            max_active_tis_per_dag=1,
        )
        setup >> transform_task


def build_dag(
    dag_id: str,
    *,
    extract: str | os.PathLike[str],
    transform: str | os.PathLike[str],
    opslevel_conn_id: str = OpsLevelHook.default_conn_name,
    schedule: Any = None,
    rewrite_origins: Mapping[str, str] | None = None,
    parents_per_task: int = DEFAULT_PARENTS_PER_TASK,
    catalog: str | os.PathLike[str] | None = None,
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE,
    max_delete_count: int | None = None,
    push: bool = False,
    extract_options: Mapping[str, Mapping[str, Any]] | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """Build the DAG that runs one custom integration.

    Both documents are validated here, when the DAG file is parsed: a mistake is an import
    error that names the file, line, extractor/transform and key. Each extractor becomes an
    ``extract_<external_kind>`` task (a ``for_each`` child is mapped over chunks of its parent's
    records) and one ``transform`` task upserts the components.

    :param dag_id: the DAG id.
    :param extract: path of the extract document (relative paths are relative to the DAG file).
    :param transform: path of the transform document (may be the same file as ``extract``).
    :param opslevel_conn_id: the ``opslevel`` connection to write with.
    :param schedule: any Airflow schedule (``None``: triggered only).
    :param rewrite_origins: origin rewrites for the extractors' URLs, e.g.
        ``{"https://sentry.io": "https://sentry.example.com"}`` for a self-hosted Sentry.
    :param parents_per_task: parent records per mapped ``for_each`` task.
    :param catalog: optional catalog document (component types, property and relationship
        definitions); an ``ensure_catalog`` task creates or updates them before the transform.
    :param max_delete_share: a sync that would delete more than this share of a kind's managed
        components deletes none of them and fails, unless the run's ``allow_mass_deletion``
        Param approves it.
    :param max_delete_count: the same limit as a number of components (default: none).
    :param push: build the DAG of the document's *push* extractors instead: each run's conf
        carries ``{"external_kind": ..., "payload": <json>}`` (Airflow's REST API or a webhook
        relay), which that kind's extractor turns into records for the transforms. Components
        not pushed for ``expires_after_days`` are deleted; give a schedule (e.g. ``"@daily"``) to
        expire them even when nothing is pushed.
    :param extract_options: per external_kind: ``concurrency`` (partitions one task reads at
        once, default 4), ``allowed_origins`` (origins besides the first URL's that requests may
        go to), ``max_body_bytes`` (the largest page read, decompressed; default 32 MiB),
        ``parent_label_field`` (for a ``for_each`` kind: the parent record key, or list of keys,
        naming each mapped task's parents in the UI; default the first of ``slug``, ``name``,
        ``key``, ``title`` holding text, else the parent's id), and
        task arguments such as ``pool``, ``max_active_tis_per_dagrun``, ``retries``
        or ``execution_timeout`` to cap or shape the extract tasks.
    :param dag_kwargs: anything else :class:`~airflow.sdk.DAG` takes (``tags``, ``default_args``, ...).
    """
    documents = IntegrationDocuments.load(extract, transform, catalog, base=_caller_dir(), push=push)
    params: dict[str, Any] = {
        **sync_params(max_delete_share, max_delete_count),
        **(push_params(documents.kinds) if push else {}),
        **dag_kwargs.pop("params", {}),
    }
    dag_kwargs.setdefault("tags", ["opslevel"])
    dag_kwargs.setdefault("catchup", False)
    dag_kwargs.setdefault("max_active_runs", 1)  # two syncs of one integration must not interleave
    if schedule is not None:
        dag_kwargs.setdefault("start_date", pendulum.datetime(2024, 1, 1, tz="UTC"))
    dag_kwargs.setdefault("doc_md", documents.doc_md())
    with DAG(dag_id, schedule=schedule, params=params, **dag_kwargs) as dag:
        _add_tasks(
            documents,
            opslevel_conn_id=opslevel_conn_id,
            rewrite_origins=rewrite_origins,
            parents_per_task=parents_per_task,
            max_delete_share=max_delete_share,
            max_delete_count=max_delete_count,
            push=push,
            extract_options=extract_options,
        )
    return dag


def build_task_group(
    group_id: str,
    *,
    extract: str | os.PathLike[str],
    transform: str | os.PathLike[str],
    opslevel_conn_id: str = OpsLevelHook.default_conn_name,
    rewrite_origins: Mapping[str, str] | None = None,
    parents_per_task: int = DEFAULT_PARENTS_PER_TASK,
    catalog: str | os.PathLike[str] | None = None,
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE,
    max_delete_count: int | None = None,
    extract_options: Mapping[str, Mapping[str, Any]] | None = None,
    integration_id: str | None = None,
    **group_kwargs: Any,
) -> TaskGroup:
    """The integration's tasks as a TaskGroup of the DAG being defined, e.g. after a dbt run::

        with DAG("nightly", schedule="@daily", max_active_runs=1):
            dbt_run >> build_task_group("opslevel", extract="sentry/extract.yaml", transform=...)

    The tasks are build_dag's, prefixed with the group id (``opslevel.extract_<kind>``,
    ``opslevel.ensure_catalog``, ``opslevel.transform``), and the documents are validated here,
    at parse time, the same way. The tasks read the run's ``dry_run`` and ``allow_mass_deletion``
    Params; the group adds both to the DAG unless it defines them already (then the DAG's are
    kept). DAG settings stay the DAG's: ``transform`` and ``ensure_catalog`` run one at a time
    across its runs (``max_active_tis_per_dag=1``), so two syncs never write at once; give the
    DAG ``max_active_runs=1`` as well for syncs to also apply in the order they were read.
    Push integrations need their own DAG (its run conf is the payload): use build_dag.

    :param group_id: the TaskGroup's id.
    :param extract: as in build_dag (relative paths are relative to the calling file).
    :param transform: as in build_dag.
    :param opslevel_conn_id: as in build_dag.
    :param rewrite_origins: as in build_dag.
    :param parents_per_task: as in build_dag.
    :param catalog: as in build_dag.
    :param max_delete_share: as in build_dag.
    :param max_delete_count: as in build_dag.
    :param extract_options: as in build_dag.
    :param integration_id: the ownership tag value on the components this group creates (only
        those are ever deleted). Default ``<dag_id>.<group id>``, so two groups never delete
        each other's components; give a former build_dag's id to adopt what that DAG created.
    :param group_kwargs: anything else :class:`~airflow.sdk.TaskGroup` takes (``tooltip``,
        ``default_args``, ``dag``, ...).
    :raises RuntimeError: when no DAG is being defined (and no ``dag=`` is given).
    """
    documents = IntegrationDocuments.load(extract, transform, catalog, base=_caller_dir(), push=False)
    if _GROUP_TAKES_DOC_MD:
        group_kwargs.setdefault("doc_md", documents.doc_md())
    try:
        group = TaskGroup(group_id, **group_kwargs)
    except RuntimeError as error:  # TaskGroup's own "can only be used inside a dag"
        raise RuntimeError(
            f"build_task_group({group_id!r}) must be called while a DAG is being defined "
            "(inside `with DAG(...):` or a @dag function), or be given dag=..."
        ) from error
    dag = group.dag
    for name, param in sync_params(max_delete_share, max_delete_count).items():
        if name not in dag.params:  # the DAG's own Param of that name wins
            dag.params[name] = param
    with dag, group:  # the DAG too: a group given dag=... outside a `with DAG` must still reach it
        _add_tasks(
            documents,
            opslevel_conn_id=opslevel_conn_id,
            rewrite_origins=rewrite_origins,
            parents_per_task=parents_per_task,
            max_delete_share=max_delete_share,
            max_delete_count=max_delete_count,
            push=False,
            extract_options=extract_options,
            integration_id=f"{dag.dag_id}.{group.group_id}" if integration_id is None else integration_id,
        )
    return group
