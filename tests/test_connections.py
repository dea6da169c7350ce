"""The ``secret`` template filter backed by Airflow connections, and its masking."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from airflow_helpers import environment

from airflow_provider_opslevel import connections
from airflow_provider_opslevel.connections import airflow_secrets, connection_password
from airflow_provider_opslevel.errors import MissingSecretError
from airflow_provider_opslevel.templating import TemplateEngine


def test_secret_is_the_connection_password_and_is_masked():
    from airflow_compat import redact

    value = "s3nt-very-secret"
    with environment(AIRFLOW_CONN_SENTRY_API_TOKEN=json.dumps({"conn_type": "generic", "password": value})):
        secrets = airflow_secrets()
        header = TemplateEngine().compile("Bearer {{ 'sentry_api_token' | secret }}").render({}, secrets)
    assert header == f"Bearer {value}"
    assert redact(f"Authorization: {header}") == "Authorization: Bearer ***"
    assert secrets.redact(f"https://x/?t={value}") == "https://x/?t=***"


def test_missing_connection_names_it_and_says_how_to_create_it():
    with pytest.raises(MissingSecretError) as raised:
        connection_password("no_such_secret")
    message = str(raised.value)
    assert "no Airflow connection 'no_such_secret'" in message
    assert "airflow connections add no_such_secret" in message and "AIRFLOW_CONN_NO_SUCH_SECRET" in message


def test_connection_without_password_is_an_error():
    with environment(AIRFLOW_CONN_EMPTY_SECRET=json.dumps({"conn_type": "generic", "login": "x"})):
        with pytest.raises(MissingSecretError, match="has no password"):
            connection_password("empty_secret")


def test_connection_reads_and_masking_from_many_threads_reach_airflow_one_at_a_time(monkeypatch):
    """Airflow 3.1's Task SDK channel is not thread-safe: concurrent calls hung the extract task."""
    inside, peak, lock = 0, 0, threading.Lock()

    def channel_call(result):
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        time.sleep(0.01)
        with lock:
            inside -= 1
        return result

    monkeypatch.setattr(
        connections.BaseHook, "get_connection", lambda name: channel_call(SimpleNamespace(password=f"pw-{name}"))
    )
    monkeypatch.setattr(connections, "mask_secret", channel_call)
    secrets, redactor = connections.airflow_secrets(), connections.task_redactor()
    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(secrets, [f"conn_{i}" for i in range(16)]))
        list(pool.map(redactor.add, [f"oauth-token-{i}" for i in range(16)]))
    assert values == [f"pw-conn_{i}" for i in range(16)]
    assert peak == 1
