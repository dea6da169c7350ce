"""The webhook's secret: where a caller puts it, and the constant-time check.

Each integration's secret is the password of the Airflow connection
``opslevel_webhook_<integration>``. A caller sends it as ``Authorization: Bearer <secret>``, or,
when it can set no header, in the URL as ``?token=<secret>`` (as OpsLevel's webhook URLs carry
their token). Not in the path: Airflow's access log writes paths verbatim but shows the value
of a query parameter named ``token`` as ``***`` — from Airflow 3.3 on. Airflow 3.1 and 3.2 log
the query verbatim too, so there the ``token`` parameter is not read: only the header works.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping

from airflow import __version__ as airflow_version
from packaging.version import Version

CONN_ID_PREFIX = "opslevel_webhook_"
TOKEN_PARAMETER = "token"
#: Whether this Airflow's access log hides a ``token`` query parameter (3.3+), so one may carry
#: the secret.
QUERY_TOKEN_HIDDEN = Version(airflow_version) >= Version("3.3")
# Airflow's dag_id characters; anything else names no integration (and reaches no lookup).
INTEGRATION_NAME = re.compile(r"[A-Za-z0-9_.-]{1,250}")


def conn_id_for(integration: str) -> str:
    """The connection holding ``integration``'s secret: ``opslevel_webhook_<integration>``."""
    return CONN_ID_PREFIX + integration


def presented_secret(
    headers: Mapping[str, str], query: Mapping[str, str], *, query_token: bool
) -> str | None:
    """The secret a call carries: its bearer token, else its ``token`` query parameter (an
    ``Authorization`` header of another scheme, say a proxy's Basic, is not the webhook's).

    :param headers: the request's headers (case-insensitive names).
    :param query: the request's query parameters.
    :param query_token: whether the ``token`` parameter may carry it (:data:`QUERY_TOKEN_HIDDEN`).
    """
    scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    return query.get(TOKEN_PARAMETER) if query_token else None


def secret_matches(presented: str | None, expected: str) -> bool:
    """Whether ``presented`` is ``expected``, compared in constant time (no timing oracle)."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
