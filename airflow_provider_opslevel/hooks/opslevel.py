"""OpsLevelHook: owns the ``opslevel`` connection and the GraphQL client built from it."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

from airflow_provider_opslevel.connections import task_redactor
from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.get_provider_info import get_provider_info
from airflow_provider_opslevel.opslevel.batch import DEFAULT_BATCH_SIZE
from airflow_provider_opslevel.opslevel.catalog import OpsLevelCatalog
from airflow_provider_opslevel.opslevel.client import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, OpsLevelClient
from airflow_provider_opslevel.opslevel.errors import OpsLevelApiError
from airflow_provider_opslevel.opslevel.ratelimit import DEFAULT_REQUESTS_PER_MINUTE
from airflow_provider_opslevel.redaction import Redactor


def base_url_from(host: str | None, port: int | None = None) -> str:
    """The API origin from a connection's host: a bare host name means HTTPS."""
    host = (host or "").strip().rstrip("/")
    if not host:
        return DEFAULT_BASE_URL
    if "://" not in host:
        host = f"https://{host}"
    if port and host.count(":") < 2:
        host = f"{host}:{port}"
    return host


def _connection_type(conn_type: str) -> dict[str, Any]:
    """The provider metadata's declaration of ``conn_type`` (its form fields and their behaviour)."""
    (declared,) = (c for c in get_provider_info()["connection-types"] if c["connection-type"] == conn_type)
    return declared


class OpsLevelHook(BaseHook):
    """Talk to OpsLevel's GraphQL API with the token of an ``opslevel`` connection.

    The connection's *host* is the API base URL (default ``https://app.opslevel.com``; GraphQL is
    served at ``{host}/graphql``) and its *password* is the API token.

    :param opslevel_conn_id: the Airflow connection id.
    :param redactor: the task's redactor; the token is added to it and hidden in the client's
        errors (default: a :func:`~airflow_provider_opslevel.connections.task_redactor`).
    """

    conn_name_attr = "opslevel_conn_id"
    default_conn_name = "opslevel_default"
    conn_type = "opslevel"
    hook_name = "OpsLevel"

    def __init__(
        self, opslevel_conn_id: str = default_conn_name, *, redactor: Redactor | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.opslevel_conn_id = opslevel_conn_id
        self.redactor = task_redactor() if redactor is None else redactor

    @cached_property
    def client(self) -> OpsLevelClient:
        conn = self.get_connection(self.opslevel_conn_id)
        if not conn.password:
            raise OpsLevelIntegrationError(
                f"Airflow connection {self.opslevel_conn_id!r} has no password: set it to the OpsLevel API token"
            )
        extra = conn.extra_dejson
        timeout = float(extra.get("timeout") or DEFAULT_TIMEOUT[1])
        return OpsLevelClient(
            base_url_from(conn.host, conn.port),
            conn.password,
            timeout=(min(DEFAULT_TIMEOUT[0], timeout), timeout),
            requests_per_minute=int(extra.get("requests_per_minute") or DEFAULT_REQUESTS_PER_MINUTE),
            redactor=self.redactor,
        )

    # Airflow 3.2+ build the connection form from get_provider_info()'s declarative `conn-fields` and
    # `ui-field-behaviour` and then never call the two methods below; Airflow 3.1 reads only these
    # methods. Both derive from the declaration, so every version shows the same form.
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The connection form's extra fields as wtforms fields, for Airflow 3.1.

        3.1's form accepts only integer, password, string and boolean fields, so the numeric
        extras are integer fields there (the timeout takes whole seconds on 3.1).
        """
        # Imported here: Airflow 3.1's hook_meta API swaps these names for stand-ins when the
        # FAB packages are not installed, and patches them only around this call.
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import IntegerField
        from wtforms.validators import NumberRange, Optional

        widgets: dict[str, Any] = {}
        for name, field in _connection_type(cls.conn_type)["conn-fields"].items():
            schema = field["schema"]
            widgets[name] = IntegerField(
                lazy_gettext(field["label"]),
                validators=[Optional(), NumberRange(min=schema.get("minimum"), max=schema.get("maximum"))],
                description=field["description"],
                default=schema["default"],
                widget=BS3TextFieldWidget(),
            )
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and pre-filled standard fields of the connection form, for Airflow 3.1."""
        behaviour = _connection_type(cls.conn_type)["ui-field-behaviour"]
        return {
            "hidden_fields": behaviour["hidden-fields"],
            "relabeling": behaviour["relabeling"],
            "placeholders": behaviour["placeholders"],
        }

    def get_conn(self) -> OpsLevelClient:
        """The GraphQL client for this connection."""
        return self.client

    def get_catalog(self) -> OpsLevelCatalog:
        """Batched, paged catalog reads and writes over :meth:`get_conn`."""
        extra = self.get_connection(self.opslevel_conn_id).extra_dejson
        return OpsLevelCatalog(self.client, batch_size=int(extra.get("batch_size") or DEFAULT_BATCH_SIZE))

    def test_connection(self) -> tuple[bool, str]:
        """Ask for the account id: proves the URL and the token (used by the UI's Test button and
        ``airflow connections test``)."""
        try:
            client = self.client
            account = self.get_catalog().account_id()
        except OpsLevelApiError as exc:
            if exc.status in (401, 403):
                # The client's message starts with the GraphQL operation's name; a person testing
                # a connection needs to read which host refused what, and what to change.
                return False, (
                    f"OpsLevel at {client.base_url} refused the API token (HTTP {exc.status}): set the "
                    f"password of connection {self.opslevel_conn_id!r} to a valid OpsLevel API token"
                )
            return False, self.redactor(str(exc))
        except Exception as exc:
            return False, self.redactor(str(exc))
        return True, f"Connected to OpsLevel account {account} at {client.base_url}"
