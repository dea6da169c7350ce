"""build_dag: one Airflow DAG from an extract and a transform document."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_opslevel.catalog_setup import load_catalog
from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.errors import ConfigError, did_you_mean
from airflow_provider_opslevel.extract.results import DEFAULT_PARENTS_PER_TASK
from airflow_provider_opslevel.hooks.opslevel import OpsLevelHook
from airflow_provider_opslevel.operators.catalog import OpsLevelEnsureCatalogOperator
from airflow_provider_opslevel.operators.extract import OpsLevelExtractOperator
from airflow_provider_opslevel.operators.push import OpsLevelPushOperator
from airflow_provider_opslevel.operators.transform import OpsLevelTransformOperator
from airflow_provider_opslevel.transform.deletion import DEFAULT_MAX_DELETE_SHARE


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


def _resolve(path: str | os.PathLike[str], base: Path) -> str:
    candidate = Path(path)
    return str(candidate if candidate.is_absolute() else (base / candidate).resolve())


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
    caller = sys._getframe(1).f_globals.get("__file__")
    base = Path(caller).parent if caller else Path.cwd()
    extract_path, transform_path = _resolve(extract, base), _resolve(transform, base)
    integration = load_integration(extract_path, transform_path)
    catalog_path = _resolve(catalog, base) if catalog is not None else None
    if catalog_path is not None:
        load_catalog(catalog_path)  # validated at parse time like the other two documents
    kinds = [e.external_kind for e in integration.ordered() if e.is_push == push]
    if not kinds:
        wanted, other = ("push", "push=False") if push else ("polling", "push=True")
        raise ConfigError.single(
            integration.extractors[0].where,
            f"no {wanted} extractor in this document; build the DAG of the others with build_dag(..., {other})",
        )

    params: dict[str, Any] = {
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
        **(push_params(kinds) if push else {}),
        **dag_kwargs.pop("params", {}),
    }
    dag_kwargs.setdefault("tags", ["opslevel"])
    dag_kwargs.setdefault("catchup", False)
    dag_kwargs.setdefault("max_active_runs", 1)  # two syncs of one integration must not interleave
    if schedule is not None:
        dag_kwargs.setdefault("start_date", pendulum.datetime(2024, 1, 1, tz="UTC"))
    dag_kwargs.setdefault(
        "doc_md",
        "\n".join(
            [
                "OpsLevel custom integration.\n",
                f"* extract: `{extract_path}`",
                f"* transform: `{transform_path}`",
                *([f"* catalog: `{catalog_path}`"] if catalog_path else []),
                f"* kinds: {', '.join(e.external_kind for e in integration.ordered())}",
            ]
        ),
    )

    options = check_extract_options(extract_options or {}, [e.external_kind for e in integration.extractors])
    common: dict[str, Any] = {
        "extract": extract_path,
        "transform": transform_path,
        "rewrite_origins": dict(rewrite_origins or {}),
    }
    with DAG(dag_id, schedule=schedule, params=params, **dag_kwargs) as dag:
        tasks: dict[str, Any] = {}
        if push:
            tasks["push"] = OpsLevelPushOperator(
                task_id="receive", extract=extract_path, transform=transform_path
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
        transform_task = OpsLevelTransformOperator(
            task_id="transform",
            extract=extract_path,
            transform=transform_path,
            extract_task_ids=[task.task_id for task in tasks.values()],
            opslevel_conn_id=opslevel_conn_id,
            catalog=catalog_path,
            max_delete_share=max_delete_share,
            max_delete_count=max_delete_count,
            external_kinds=kinds,
            push=push,
        )
        for task in tasks.values():
            task >> transform_task
        if catalog_path is not None:
            setup = OpsLevelEnsureCatalogOperator(
                task_id="ensure_catalog", catalog=catalog_path, opslevel_conn_id=opslevel_conn_id
            )
            setup >> transform_task
    return dag
