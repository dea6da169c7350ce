"""Run OpsLevel-style custom integrations (extract + transform YAML) as Apache Airflow DAGs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from airflow_provider_opslevel.dag_factory import build_dag, build_task_group

__all__ = ["__version__", "build_dag", "build_task_group"]


def __getattr__(name: str) -> Any:
    # The builders import Airflow; the engine (config, extract, transform) must stay importable without it.
    if name in ("build_dag", "build_task_group"):
        from airflow_provider_opslevel import dag_factory

        return getattr(dag_factory, name)
    raise AttributeError(name)
