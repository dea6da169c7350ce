"""Airflow connections for the CLI, a process that is not a running task.

Airflow is imported inside the functions: ``validate`` imports this package and must not pay for
(or depend on) Airflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_opslevel.redaction import Redactor


class ConnectionLookup:
    """Airflow connections for a process that is not a running task.

    In Airflow 3 the Task SDK's ``BaseHook.get_connection`` outside a task (no supervisor) only
    searches the ``AIRFLOW_CONN_*`` environment variables and a configured secrets backend, not
    the metadata database. A connection it cannot find is looked up again with core's
    ``Connection.get_connection_from_secrets`` (secrets backend, environment, metadata database).

    :param redactor: every password handed out is added to it, so output can be redacted.
    """

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def __call__(self, conn_id: str) -> Any:
        from airflow.exceptions import AirflowNotFoundException
        from airflow.sdk import BaseHook

        try:
            conn: Any = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            conn = self._from_metadata_db(conn_id)
        if conn.password:
            self.redactor.add(conn.password)
        return conn

    @staticmethod
    def _from_metadata_db(conn_id: str) -> Any:
        from airflow.exceptions import AirflowNotFoundException
        from airflow.models.connection import Connection

        try:
            return Connection.get_connection_from_secrets(conn_id)
        except AirflowNotFoundException:
            raise
        except Exception as exc:  # no database, not migrated, unreachable: the connection is not there
            # The exception text may quote the database URL (and its password): name the type only.
            raise AirflowNotFoundException(
                f"The conn_id `{conn_id}` isn't defined (the metadata database could not be read: "
                f"{type(exc).__name__})"
            ) from None


def secret_resolver(lookup: ConnectionLookup) -> Callable[[str], str]:
    """``{{ 'name' | secret }}``: connection ``name``'s password, found through ``lookup``."""
    from airflow_provider_opslevel.connections import password_resolver

    return password_resolver(lookup)


def opslevel_hook(conn_id: str, lookup: ConnectionLookup) -> Any:
    """An :class:`OpsLevelHook` whose connection comes from :class:`ConnectionLookup`."""
    from airflow_provider_opslevel.hooks.opslevel import OpsLevelHook

    class CliOpsLevelHook(OpsLevelHook):
        @classmethod
        def get_connection(cls, conn_id: str) -> Any:
            return lookup(conn_id)

    return CliOpsLevelHook(opslevel_conn_id=conn_id)


def how_to_create_opslevel(conn_id: str) -> str:
    """How to create the OpsLevel connection ``conn_id`` (or do without it)."""
    return (
        f"create it with `airflow connections add {conn_id} --conn-type opslevel --conn-host "
        f"https://app.opslevel.com --conn-password '<API token>'`, or as the environment variable "
        f'AIRFLOW_CONN_{conn_id.upper()}=\'{{"conn_type": "opslevel", "host": "https://app.opslevel.com", '
        f'"password": "<API token>"}}\'; or pass --no-opslevel to skip the plan'
    )
