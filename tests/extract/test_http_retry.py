"""RetryPolicy arithmetic and HttpFetcher's retry decisions over real HTTP (the scripted ``api``)."""

from __future__ import annotations

import email.utils
import json
import random
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_opslevel.extract.errors import AuthError, HttpError
from airflow_provider_opslevel.extract.http import HttpFetcher, HttpRequest
from airflow_provider_opslevel.extract.retry import DEFAULT_RETRY_STATUSES, RetryPolicy
from airflow_provider_opslevel.extract.throttle import Throttle
from airflow_provider_opslevel.retry_policy import parse_reset, parse_retry_after
from airflow_provider_opslevel.secrets import SecretRecorder
from airflow_provider_opslevel.testing import FakeSentry

# ----------------------------------------------------------------------------- policy arithmetic


def test_retry_after_reads_seconds_and_http_dates():
    now = 1_700_000_000.0
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(" 0 ", now=now) == 0.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None and parse_retry_after("") is None


def test_reset_is_an_epoch_when_large_and_delta_seconds_when_small():
    now = 1_700_000_000.0
    assert parse_reset(now + 3, now=now) == pytest.approx(3)
    assert parse_reset(12, now=now) == 12
    assert parse_reset(None) is None


def test_backoff_is_full_jitter_exponential_and_capped():
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0, max_wait=3.0, rng=random.Random(1))
    for retry in range(1, 10):
        ceiling = min(4.0, 0.5 * 2 ** (retry - 1), 3.0)
        samples = [policy.backoff(retry) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # full jitter spans the whole range


def test_delay_prefers_retry_after_then_the_reset_header_on_429_then_backoff():
    policy = RetryPolicy(
        backoff_base=0.01, backoff_max=0.01, max_wait=60, hint_jitter=0, rng=random.Random(0)
    )
    now = 1_700_000_000.0
    both = {"retry-after": "5", "x-sentry-rate-limit-reset": str(int(now + 20))}
    assert policy.delay(1, both, 429, now=now).seconds == 5
    reset_only = {"x-sentry-rate-limit-reset": str(int(now + 20))}
    wait = policy.delay(1, reset_only, 429, now=now)
    assert wait.seconds == pytest.approx(20) and "x-sentry-rate-limit-reset" in wait.reason
    # On a 500 the reset header only describes the budget: plain backoff.
    assert policy.delay(1, reset_only, 500, now=now).reason == "backoff"
    assert policy.delay(1, {"ratelimit-reset": "3"}, 429, now=now).seconds == 3
    capped = RetryPolicy(max_wait=2).delay(1, {"retry-after": "3600"}, 429)
    assert capped.seconds == 2 and "capped" in capped.reason


def test_header_names_are_configurable():
    from airflow_provider_opslevel.extract.retry import RateLimitHeaders

    policy = RetryPolicy(headers=RateLimitHeaders(reset=("X-Wait-Until",)), hint_jitter=0)
    now = 1_700_000_000.0
    assert policy.delay(1, {"x-wait-until": str(int(now + 4))}, 429, now=now).seconds == pytest.approx(4)


def test_default_statuses():
    assert {408, 429, 500, 502, 503, 504} <= DEFAULT_RETRY_STATUSES
    assert not {400, 401, 403, 404, 409, 422, 501, 505} & DEFAULT_RETRY_STATUSES
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


# ----------------------------------------------------------------------------- the fetcher


class ScriptedApi:
    """Like conftest's ``api``, on a FakeSentry whose fault hook answers everything (stops fast)."""

    def __init__(self, fake: FakeSentry) -> None:
        self.fake = fake
        self.handler: Any = None
        fake.faults.append(self._answer)

    def _answer(self, info: dict[str, Any]) -> Any:
        status, headers, payload = self.handler(
            info["method"], info["path"], info["query"], info["headers"], None
        )
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return status, {"Content-Type": "application/json", **headers}, body

    @property
    def url(self) -> str:
        return self.fake.url

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.fake.requests


@pytest.fixture
def api() -> Iterator[ScriptedApi]:
    with FakeSentry() as fake:
        yield ScriptedApi(fake)


def fetcher(waits: list[float] | None = None, *, max_pause: float = 60, **policy: Any) -> HttpFetcher:
    settings: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.02, "rng": random.Random(3)}
    settings.update(policy)
    return HttpFetcher(
        timeout=(2, 2),
        retry=RetryPolicy(**settings),
        throttle=Throttle(2, max_pause=max_pause),
        sleep=waits.append if waits is not None else time.sleep,
    )


def scripted(*replies: Any) -> Any:
    """A handler answering ``replies`` in order, then repeating the last one."""
    queue = list(replies)

    def handler(method, path, query, headers, body):
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def test_get_is_retried_on_503_and_the_answer_is_returned_decoded(api: Any):
    api.handler = scripted((503, {}, {"detail": "busy"}), (503, {}, "x"), (200, {}, {"ok": True}))
    f = fetcher()
    response = f.fetch(HttpRequest("GET", f"{api.url}/x"))
    assert response.json() == {"ok": True} and response.attempts == 3
    assert len(api.requests) == 3 and f.requests_sent == 3
    stats = f.throttle.stats()
    assert stats.retries == 2 and stats.failures == 2 and stats.requests == 3


def test_post_is_retried_by_default_and_not_when_disabled(api: Any):
    api.handler = scripted((502, {}, "bad gateway"), (200, {}, {"data": 1}))
    assert fetcher().fetch(HttpRequest("POST", f"{api.url}/graphql", body="{}")).json() == {"data": 1}
    assert [r["method"] for r in api.requests] == ["POST", "POST"]

    api.fake.reset_log()
    api.handler = scripted((502, {}, "bad gateway"), (200, {}, {"data": 1}))
    with pytest.raises(HttpError, match="HTTP 502 Bad Gateway"):
        fetcher(retry_post=False).fetch(HttpRequest("POST", f"{api.url}/graphql", body="{}"))
    assert len(api.requests) == 1


def test_a_404_is_not_retried(api: Any):
    api.handler = scripted((404, {}, {"detail": "The requested resource does not exist"}))
    with pytest.raises(HttpError) as info:
        fetcher().fetch(HttpRequest("GET", f"{api.url}/missing"))
    assert info.value.status == 404 and info.value.attempts == 1 and len(api.requests) == 1
    assert "HTTP 404 Not Found" in str(info.value) and "does not exist" in str(info.value)


def test_attempts_are_bounded_and_the_waits_grow(api: Any):
    api.handler = scripted((500, {}, {"detail": "boom"}))
    waits: list[float] = []
    with pytest.raises(HttpError, match="after 5 attempts") as info:
        fetcher(waits, max_attempts=5, backoff_base=1, backoff_max=100, rng=random.Random(5)).fetch(
            HttpRequest("GET", f"{api.url}/x")
        )
    assert info.value.attempts == 5 and len(api.requests) == 5 and len(waits) == 4
    assert all(0 <= w <= 2**i for i, w in enumerate(waits))


def test_retry_after_on_a_429_is_slept(api: Any):
    api.handler = scripted((429, {"Retry-After": "3"}, "slow down"), (200, {}, []))
    waits: list[float] = []
    f = fetcher(waits, hint_jitter=0, max_pause=0.1)  # the shared pause is the throttle's: cut it short
    f.fetch(HttpRequest("GET", f"{api.url}/x"))
    assert waits == [3.0] and f.throttle.stats().waited_retry == 3.0


def test_connection_refused_is_retried_then_fails_clearly():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    with pytest.raises(HttpError) as info:
        fetcher(waits, max_attempts=3).fetch(HttpRequest("GET", f"http://127.0.0.1:{port}/x"))
    assert "ConnectionError" in str(info.value) and "after 3 attempts" in str(info.value)
    assert info.value.status is None and len(waits) == 2


def test_an_invalid_url_fails_at_once():
    for url in ("nope://", "ftp://example.com/x", "http://"):
        with pytest.raises(HttpError, match=r"GET .* failed: invalid URL") as info:
            fetcher().fetch(HttpRequest("GET", url))
        assert info.value.attempts == 1


def test_401_names_the_secret_used_never_its_value(api: Any):
    api.handler = scripted((401, {}, {"detail": "Invalid token"}))
    secrets = SecretRecorder(lambda name: {"sentry_api_token": "s3cr3t-value", "other": "unused"}[name])
    secrets("sentry_api_token"), secrets("other")
    f = HttpFetcher(redact=secrets.redact, secrets=secrets, retry=RetryPolicy(backoff_base=0))
    with pytest.raises(AuthError) as info:
        f.fetch(HttpRequest("GET", f"{api.url}/x", headers={"Authorization": "Bearer s3cr3t-value"}))
    message = str(info.value)
    assert "HTTP 401 Unauthorized" in message and "'sentry_api_token'" in message
    assert "'other'" not in message and "s3cr3t-value" not in message
    assert info.value.secret_names == ["sentry_api_token"] and len(api.requests) == 1


def test_401_without_any_secret_says_so(api: Any):
    api.handler = scripted((401, {}, {"detail": "Authentication credentials were not provided."}))
    with pytest.raises(AuthError, match="no secret"):
        HttpFetcher(secrets=SecretRecorder(lambda n: "x")).fetch(HttpRequest("GET", f"{api.url}/x"))


def test_a_secret_in_the_url_is_named_and_redacted(api: Any):
    api.handler = scripted((403, {}, {"detail": "forbidden"}))
    secrets = SecretRecorder(lambda name: "k3y")
    secrets("api_key")
    f = HttpFetcher(redact=secrets.redact, secrets=secrets)
    with pytest.raises(AuthError) as info:
        f.fetch(HttpRequest("GET", f"{api.url}/x?key=k3y"))
    assert "'api_key'" in str(info.value) and "k3y" not in str(info.value) and "key=***" in str(info.value)


def test_a_redirect_is_not_followed(api: Any):
    api.handler = scripted((302, {"Location": "https://elsewhere.example/x"}, ""))
    with pytest.raises(HttpError) as info:
        fetcher().fetch(HttpRequest("GET", f"{api.url}/x"))
    assert "HTTP 302" in str(info.value) and "elsewhere.example" in str(info.value)
    assert "not followed" in str(info.value) and len(api.requests) == 1


def test_a_non_json_200_is_retried_a_few_times_then_explained(api: Any):
    api.handler = scripted((200, {"Content-Type": "text/html"}, b"<html>oops</html>"))
    waits: list[float] = []
    with pytest.raises(HttpError) as info:
        fetcher(waits, invalid_json_attempts=2).fetch(HttpRequest("GET", f"{api.url}/x"))
    assert len(api.requests) == 2 and len(waits) == 1
    assert "text/html" in str(info.value) and "<html>oops" in str(info.value) and info.value.status == 200


def test_the_user_agent_and_timeouts_are_sent(api: Any):
    api.handler = scripted((200, {}, []))
    HttpFetcher().fetch(HttpRequest("GET", f"{api.url}/x"))
    assert api.requests[0]["headers"]["user-agent"].startswith("airflow-provider-opslevel/")
