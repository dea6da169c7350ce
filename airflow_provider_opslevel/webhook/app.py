"""The webhook's FastAPI app: ``POST /opslevel/webhook/<integration>?external_kind=<kind>``.

Checks in this order, so a caller learns nothing it is not entitled to: the client's failure
budget (429), the integration (404, the same answer whether the DAG or its connection is
missing), the secret (401), the kind (400/404), the body (413, 400), the queue (429); then one
run is queued and the answer is 202 with its id. Every refusal triggers nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from airflow_provider_opslevel.webhook.auth import (
    INTEGRATION_NAME,
    QUERY_TOKEN_HIDDEN,
    presented_secret,
    secret_matches,
)
from airflow_provider_opslevel.webhook.errors import WebhookRefused
from airflow_provider_opslevel.webhook.limits import MAX_BODY_BYTES, FailureLimiter, read_capped
from airflow_provider_opslevel.webhook.runs import PushIntegration, PushRuns

log = logging.getLogger(__name__)

# The names are what the caller sent; echoing them could echo a secret put in the wrong place.
NO_SUCH_INTEGRATION = "no webhook integration by that name"
BAD_SECRET = "missing or wrong webhook secret: send it as 'Authorization: Bearer <secret>' " + (
    "or as the URL's token query parameter"
    if QUERY_TOKEN_HIDDEN
    else "(this Airflow's access log would show a token in the URL, so none is read there)"
)


def parse_payload(body: bytes) -> Any:
    """The body as JSON: an object or an array.

    :raises WebhookRefused: 400 for anything else (not JSON, too deeply nested, ``NaN``, a scalar).
    """

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        payload = json.loads(body, parse_constant=no_constants)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise WebhookRefused(400, f"the body is not JSON: {error}") from None
    if not isinstance(payload, (dict, list)):
        raise WebhookRefused(400, f"the body must be a JSON object or array, not {type(payload).__name__}")
    return payload


def _refusal(error: WebhookRefused) -> JSONResponse:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="opslevel-webhook"'
    return JSONResponse({"detail": error.message}, status_code=error.status, headers=headers)


class Webhook:
    """The endpoint's state in one api-server process: the runs it triggers, the failure budget.

    :param runs: looks up integrations and queues their runs.
    :param limiter: bad secrets and unknown integrations per client.
    """

    def __init__(self, runs: PushRuns, limiter: FailureLimiter) -> None:
        self.runs = runs
        self.limiter = limiter

    async def __call__(self, integration: str, request: Request) -> JSONResponse:
        client = request.client.host if request.client else "unknown"
        try:
            kind, run_id = await self._receive(integration, request, client)
        except WebhookRefused as error:
            log.warning(
                "OpsLevel webhook %r from %s: %d %s", integration, client, error.status, error.message
            )
            return _refusal(error)
        log.info("OpsLevel webhook %s from %s: queued run %s (%s)", integration, client, run_id, kind)
        return JSONResponse(
            {"dag_id": integration, "dag_run_id": run_id, "external_kind": kind}, status_code=202
        )

    async def _receive(self, integration: str, request: Request, client: str) -> tuple[str, str]:
        wait = self.limiter.retry_after(client)
        if wait is not None:
            raise WebhookRefused(
                429, "too many failed calls from this client; wait before trying again", wait
            )
        found = await self._find(integration)
        if found is None:
            self.limiter.record_failure(client)
            raise WebhookRefused(404, NO_SUCH_INTEGRATION)
        presented = presented_secret(request.headers, request.query_params, query_token=QUERY_TOKEN_HIDDEN)
        if not secret_matches(presented, found.secret):
            self.limiter.record_failure(client)
            raise WebhookRefused(401, BAD_SECRET)
        kind = request.query_params.get("external_kind")
        kinds = ", ".join(found.kinds)
        if not kind:
            raise WebhookRefused(400, f"the external_kind query parameter is required: one of {kinds}")
        if kind not in found.kinds:
            raise WebhookRefused(404, f"unknown external_kind for this integration; its kinds: {kinds}")
        body = await read_capped(request.stream(), request.headers.get("content-length"), MAX_BODY_BYTES)
        payload = await run_in_threadpool(parse_payload, body)
        return kind, await run_in_threadpool(self.runs.trigger, found, kind, payload, len(body))

    async def _find(self, integration: str) -> PushIntegration | None:
        if not INTEGRATION_NAME.fullmatch(integration):
            return None
        return await run_in_threadpool(self.runs.find, integration)


def create_app() -> FastAPI:
    """The app the plugin mounts at ``/opslevel/webhook`` (no OpenAPI pages: nothing to browse)."""
    app = FastAPI(title="OpsLevel webhook", docs_url=None, redoc_url=None, openapi_url=None)
    webhook = Webhook(PushRuns(), FailureLimiter())

    @app.post("/{integration}", status_code=202)
    async def push(integration: str, request: Request) -> JSONResponse:
        return await webhook(integration, request)

    return app
