"""Run OpsLevel-style custom integrations (extract + transform YAML) as Apache Airflow DAGs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from airflow_provider_opslevel.dag_factory import build_dag

__all__ = ["__version__", "build_dag"]


def __getattr__(name: str) -> Any:
    # build_dag imports Airflow; the engine (config, extract, transform) must stay importable without it.
    if name == "build_dag":
        from airflow_provider_opslevel.dag_factory import build_dag

        return build_dag
    raise AttributeError(name)
