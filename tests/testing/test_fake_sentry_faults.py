"""FakeSentry's fault helpers, response rewrites, latency and OAuth token endpoint."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from airflow_provider_opslevel.testing import FakeSentry
from airflow_provider_opslevel.testing.sentry_faults import (
    delay,
    has_cursor,
    html_page,
    respond,
    rewrite,
    server_error,
    set_header,
    too_many_requests,
    truncate_body,
    unauthorized,
)


def get(
    fake: FakeSentry, path: str = "/api/0/projects/", token: str | None = None, timeout: Any = 5
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or fake.token}"}
    return requests.get(fake.url + path, headers=headers, timeout=timeout)


def test_respond_answers_the_first_matching_requests_and_counts(sentry: FakeSentry) -> None:
    fault = respond(server_error(503), times=2, when=lambda info: "per_page" in info["query"])
    sentry.faults.append(fault)
    assert get(sentry).status_code == 200
    assert [get(sentry, "/api/0/projects/?per_page=1").status_code for _ in range(3)] == [503, 503, 200]
    assert fault.hits == 2
    assert get(sentry, "/api/0/projects/?per_page=1").json()  # still answering normally


def test_canned_responses() -> None:
    status, headers, body = too_many_requests(retry_after="2", rate_headers=False)
    assert status == 429 and headers["Retry-After"] == "2" and isinstance(json.loads(body), str)
    assert not any(k.startswith("X-Sentry") for k in headers)
    assert "X-Sentry-Rate-Limit-Reset" in too_many_requests()[1]
    status, headers, body = html_page(502)
    assert status == 502 and headers["Content-Type"].startswith("text/html") and b"<html>" in body
    assert unauthorized()[0] == 401 and server_error()[0] == 500


def test_rewrites_change_real_responses(sentry: FakeSentry) -> None:
    sentry.rewrites.append(rewrite(truncate_body, times=1))
    sentry.rewrites.append(rewrite(set_header("Link", "broken"), when=has_cursor))
    cut = get(sentry)
    with pytest.raises(ValueError):
        cut.json()
    assert cut.status_code == 200 and len(cut.content) < len(get(sentry).content)
    following = get(sentry, "/api/0/projects/?&cursor=0:2:0")
    assert following.headers["Link"] == "broken" and following.json()


def test_delay_and_latency_slow_answers_down() -> None:
    with FakeSentry(latency=0.2) as fake:
        started = time.monotonic()
        assert get(fake).status_code == 200
        assert time.monotonic() - started >= 0.2
    with FakeSentry() as fake:
        fake.faults.append(delay(0.5, times=1))
        with pytest.raises(requests.ReadTimeout):
            get(fake, timeout=(2, 0.1))
        assert get(fake, timeout=(2, 2)).status_code == 200


def test_oauth_token_endpoint_issues_expiring_tokens() -> None:
    with FakeSentry(oauth_clients={"cid": "csecret"}, token_ttl=0.3) as fake:
        url = fake.url + fake.token_path
        answer = requests.post(
            url,
            data={
                "grant_type": "client_credentials",
                "client_id": "cid",
                "client_secret": "csecret",
                "audience": "x",
            },
            timeout=5,
        )
        assert answer.status_code == 200
        payload = answer.json()
        assert payload["token_type"] == "bearer" and payload["expires_in"] == 0.3
        token = payload["access_token"]
        assert get(fake, token=token).status_code == 200
        assert get(fake, token="static? no").status_code == 401
        assert fake.requests[0]["form"]["audience"] == "x" and fake.token_requests == 1
        time.sleep(0.35)
        assert get(fake, token=token).status_code == 401  # expired
        assert get(fake).status_code == 200  # the static token still works
        basic = requests.post(
            url, data={"grant_type": "client_credentials"}, auth=("cid", "csecret"), timeout=5
        )
        assert basic.status_code == 200
        fake.revoke_tokens()
        assert get(fake, token=basic.json()["access_token"]).status_code == 401


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "wrong"},
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            {"grant_type": "password", "client_id": "cid", "client_secret": "csecret"},
            400,
            "unsupported_grant_type",
        ),
    ],
)
def test_oauth_token_endpoint_refusals(form: dict[str, str], status: int, error: str) -> None:
    with FakeSentry(oauth_clients={"cid": "csecret"}) as fake:
        answer = requests.post(fake.url + fake.token_path, data=form, timeout=5)
        assert answer.status_code == status and answer.json() == {"error": error}


def test_without_oauth_clients_there_is_no_token_endpoint(sentry: FakeSentry) -> None:
    answer = requests.post(
        sentry.url + sentry.token_path, data={"grant_type": "client_credentials"}, timeout=5
    )
    assert answer.status_code == 401  # just another path needing the bearer token
