"""Airflow as a distributed deployment runs it, on one machine: PostgreSQL as the metadata DB,
Redis as the Celery broker, api-server, scheduler, dag-processor and Celery workers.

For `make e2e-celery` and ``benchmarks/celery_vs_local.py``. Each worker has its own working directory
and ``AIRFLOW_HOME`` under ``work`` and its own copy of the DAGs folder (the DAG bundle a remote
worker would have); what they share is what separate machines would share: the metadata DB, the
broker, the api-server's Execution API, the connections (environment) and the object-storage
XCom folder (``file://``, where a real deployment would use ``s3://`` or the like).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from airflow_provider_opslevel.testing.airflow_stack import AirflowStack, CeleryWorker, free_port
from airflow_provider_opslevel.testing.services import PostgresServer, RedisServer

__all__ = ["distributed_airflow"]


@contextmanager
def distributed_airflow(
    work: Path,
    *,
    dags_folder: Path,
    env: Mapping[str, str],
    workers: int = 2,
    concurrency: int = 2,
    executor: str = "CeleryExecutor",
    timeout: float = 240.0,
) -> Iterator[AirflowStack]:
    """A started stack on PostgreSQL; with ``CeleryExecutor``, Redis and ``workers`` Celery workers.

    Everything is stopped on exit, in reverse order (workers and Airflow, Redis, PostgreSQL);
    the servers' folders are removed, ``work`` is the caller's.

    :param work: the stack's home (``work/home``), the workers' folders (``work/worker<N>``) and
        the servers' (``work/services``). As root, the ``postgres`` user must be able to reach it.
    :param dags_folder: the DAGs folder of the scheduler and dag-processor; each worker gets a copy.
    :param env: more environment for every process (connections, ...).
    :param workers: Celery workers, named ``worker1``, ``worker2``, ...
    :param concurrency: task instances per worker (``[core] parallelism`` is their sum, so the
        scheduler keeps every worker busy); with ``LocalExecutor``, its parallelism.
    :param executor: ``CeleryExecutor``, or ``LocalExecutor`` for a comparison on the same DB.
    :param timeout: seconds for the stack to start (``db migrate`` included).
    """
    celery = executor == "CeleryExecutor"
    services = work / "services"
    services.mkdir(mode=0o755)
    with ExitStack() as stack:
        postgres = stack.enter_context(PostgresServer(parent=services))
        settings = dict(env)
        if celery:
            settings["AIRFLOW__CELERY__BROKER_URL"] = stack.enter_context(RedisServer(parent=services)).url
        members = [_worker(work, dags_folder, index, concurrency) for index in range(1, workers + 1)] if celery else []
        airflow = AirflowStack(
            work / "home",
            port=free_port(),
            dags_folder=dags_folder,
            env=settings,
            executor=executor,
            parallelism=concurrency * len(members) if celery else concurrency,
            database_url=postgres.url,
            workers=members,
        )
        airflow.start(timeout=timeout)  # stops what it started when it fails
        stack.callback(airflow.stop)
        yield airflow


def _worker(work: Path, dags_folder: Path, index: int, concurrency: int) -> CeleryWorker:
    directory = work / f"worker{index}"
    directory.mkdir(parents=True)
    # Links are followed: a worker's bundle holds the files themselves, as a remote one would.
    copy = shutil.copytree(dags_folder, directory / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    return CeleryWorker(f"worker{index}", directory, dags_folder=Path(copy), concurrency=concurrency)
