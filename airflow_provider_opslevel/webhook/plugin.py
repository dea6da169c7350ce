"""OpsLevelWebhookPlugin: mounts the push webhook on Airflow's api-server at ``/opslevel/webhook``.

Registered twice, as Airflow's own providers do: in ``get_provider_info()["plugins"]`` (read
when ``[core] lazy_discover_providers`` is off) and as an ``airflow.plugins`` entry point (read
by every Airflow process by default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.plugins_manager import AirflowPlugin

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

URL_PREFIX = "/opslevel/webhook"


class WebhookApp:
    """An ASGI app that builds the webhook's FastAPI app on its first request.

    Every Airflow process loads plugins (a task process too, for their macros); only the
    api-server serves this one, so FastAPI and the metadata-DB side load there, when first used.
    """

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:  # the event loop's thread: no race
            from airflow_provider_opslevel.webhook.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class OpsLevelWebhookPlugin(AirflowPlugin):
    """``POST /opslevel/webhook/<integration>?external_kind=<kind>`` triggers a push DAG."""

    name = "opslevel_webhook"
    fastapi_apps = [{"name": "OpsLevel push webhook", "app": WebhookApp(), "url_prefix": URL_PREFIX}]
