"""Airflow asset events for the catalog: one per ``opslevel_kind`` a sync changed.

The asset of a kind is ``opslevel://<host>/<kind>``, ``<host>`` being the host (and non-default
port) of the OpsLevel connection's API base URL, e.g. ``opslevel://app.opslevel.com/sentry_issue``.
Which kinds change is known only at run time, so the transform task declares an
:class:`~airflow.sdk.AssetAlias` outlet and adds an event per changed kind to it; a DAG scheduled
on ``Asset("opslevel://app.opslevel.com/sentry_issue")`` runs after each sync that wrote one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from airflow.sdk import Asset, AssetAlias

SCHEME = "opslevel"
_DEFAULT_PORTS = {"https": 443, "http": 80}
# Plan actions that write to OpsLevel, and their names in an event's extra.
WRITES = {"create": "created", "update": "updated", "delete": "deleted"}


def asset_uri(base_url: str, kind: str) -> str:
    """``opslevel://<host>/<kind>`` for the OpsLevel API at ``base_url``.

    The host is lower case; user info, path and a scheme's default port are left out, so every
    spelling of one API's URL names the same asset.

    :param base_url: the API base URL, e.g. ``https://app.opslevel.com``.
    :param kind: the component type alias, e.g. ``sentry_issue``.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{parts.port}"
    return f"{SCHEME}://{host}/{quote(kind, safe='')}"


def sync_alias(dag_id: str, task_id: str) -> AssetAlias:
    """The transform task's outlet alias, one per DAG and task (a task group's id included)."""
    return AssetAlias(name=f"opslevel-sync:{dag_id}.{task_id}")


def changed_kinds(counts: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """``{kind: {"created": n, "updated": n, "deleted": n}}`` for the kinds with any write.

    :param counts: a sync's ``{opslevel_kind: {action: n}}`` (failed writes count as ``error``).
    """
    changed = {}
    for kind, actions in counts.items():
        writes = {name: actions.get(action, 0) for action, name in WRITES.items()}
        if any(writes.values()):
            changed[kind] = writes
    return changed


def emit_asset_events(
    outlet_events: Any,
    alias: AssetAlias,
    base_url: str,
    counts: Mapping[str, Mapping[str, int]],
    *,
    dag_id: str,
    run_id: str,
) -> list[str]:
    """Add an event per changed kind to ``alias``; return the assets' URIs.

    :param outlet_events: the task context's ``outlet_events``.
    :param alias: the task's :func:`sync_alias` outlet.
    :param base_url: the OpsLevel connection's API base URL.
    :param counts: the sync's ``{opslevel_kind: {action: n}}``.
    :param dag_id: the writing DAG, put in each event's extra.
    :param run_id: the writing run, put in each event's extra.
    """
    uris = []
    for kind, writes in sorted(changed_kinds(counts).items()):
        uri = asset_uri(base_url, kind)
        outlet_events[alias].add(Asset(uri), extra={**writes, "dag_id": dag_id, "run_id": run_id})
        uris.append(uri)
    return uris
