"""Template secrets from Airflow connections: ``{{ 'name' | secret }}`` is connection ``name``'s password."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from airflow.exceptions import AirflowNotFoundException
from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from airflow_provider_opslevel.errors import MissingSecretError
from airflow_provider_opslevel.redaction import Redactor
from airflow_provider_opslevel.secrets import SecretRecorder

# Extract threads fetch connections and mask values at the same time. In Airflow 3.1 the Task SDK's
# channel to its supervisor takes no lock (CommsDecoder.send; 3.3's does), so two threads read each
# other's replies and the task hangs; every call here that may use the channel holds this lock.
_SUPERVISOR_CHANNEL = threading.RLock()


def how_to_create(name: str) -> str:
    return (
        f"create it with `airflow connections add {name} --conn-type generic --conn-password '<value>'`, "
        f"in the UI (Admin > Connections, password = the value), or as the environment variable "
        f'AIRFLOW_CONN_{name.upper()}=\'{{"conn_type": "generic", "password": "<value>"}}\''
    )


def password_resolver(lookup: Callable[[str], Any]) -> Callable[[str], str]:
    """A resolver for the ``secret`` filter reading connection passwords through ``lookup``.

    :param lookup: connection id → connection; raises ``AirflowNotFoundException`` when absent.
    """

    def resolve(name: str) -> str:
        try:
            conn = lookup(name)
        except AirflowNotFoundException:
            raise MissingSecretError(
                f"secret {name!r}: there is no Airflow connection {name!r}; {how_to_create(name)}"
            ) from None
        if not conn.password:
            raise MissingSecretError(
                f"secret {name!r}: Airflow connection {name!r} has no password; {how_to_create(name)}"
            )
        return str(conn.password)

    return resolve


def connection_password(name: str) -> str:
    """The password of Airflow connection ``name``.

    :raises MissingSecretError: when there is no such connection or it has no password.
    """
    with _SUPERVISOR_CHANNEL:
        return password_resolver(BaseHook.get_connection)(name)


def mask(value: str) -> None:
    """Give ``value`` to Airflow's secrets masker (safe to call from any thread)."""
    with _SUPERVISOR_CHANNEL:
        mask_secret(value)


def task_redactor() -> Redactor:
    """A redactor that also gives every form of every value to Airflow's secrets masker."""
    return Redactor(on_add=mask)


def airflow_secrets(redactor: Redactor | None = None) -> SecretRecorder:
    """A resolver for the ``secret`` filter that masks every value it hands out in task logs.

    :param redactor: the task's redactor, which gets every value (default: a :func:`task_redactor`).
    """
    return SecretRecorder(
        connection_password, on_value=mask, redactor=task_redactor() if redactor is None else redactor
    )
