"""FakeOpsLevel: rate limit (HTTP 429 + Retry-After) and injected failures (fail_next)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.testing.__main__ import _build, _parser

CREATE = "mutation Create($name: String!) { serviceCreate(input: {name: $name}) { service { id } errors { path } } }"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.headers["Authorization"] = "Bearer opslevel-test-token"
        yield s


def create(fake: FakeOpsLevel, session: requests.Session, name: str) -> requests.Response:
    body = {"query": CREATE, "variables": {"name": name}, "operationName": "Create"}
    return session.post(fake.graphql_url, json=body, timeout=10)


def test_limit_trips_at_n_plus_one_and_frees_after_the_period(session: requests.Session) -> None:
    with FakeOpsLevel(rate_limit=3, rate_limit_period=1.0) as fake:
        started = time.monotonic()
        assert [create(fake, session, f"s{n}").status_code for n in range(3)] == [200, 200, 200]
        throttled = create(fake, session, "too many")
        assert time.monotonic() - started < 1.0, "the machine is too slow for this test"
        assert throttled.status_code == 429
        assert (
            throttled.headers["Retry-After"] == "1"
        )  # whole seconds, at least 1, never more than the period
        assert throttled.json()["errors"][0]["message"].startswith("Rate limit exceeded")
        # not executed, not logged; counted
        assert [c["name"] for c in fake.components()] == ["s0", "s1", "s2"]
        assert fake.throttled == 1 and fake.received == 4
        assert [r["variables"]["name"] for r in fake.requests] == ["s0", "s1", "s2"]
        # GET /__catalog is not limited
        assert requests.get(f"{fake.url}/__catalog", timeout=10).status_code == 200
        time.sleep(float(throttled.headers["Retry-After"]) + 0.05)
        assert create(fake, session, "later").status_code == 200
        assert [c["name"] for c in fake.components()] == ["s0", "s1", "s2", "later"]
        assert fake.internal_errors == []


def test_sliding_window_and_retry_after(session: requests.Session) -> None:
    with FakeOpsLevel(rate_limit=2, rate_limit_period=60) as fake:
        now = [1000.0]
        fake._limiter.clock = lambda: now[0]

        def status_at(t: float) -> tuple[int, str | None]:
            now[0] = 1000.0 + t
            response = create(fake, session, f"at {t}")
            return response.status_code, response.headers.get("Retry-After")

        assert status_at(0) == (200, None)
        assert status_at(30) == (200, None)
        assert status_at(31) == (429, "29")  # the t=0 request leaves the window at t=60
        assert status_at(59.5) == (429, "1")  # rounded up, at least 1
        assert status_at(60) == (200, None)  # sliding: t=0 left, t=30 is still in
        assert status_at(61) == (429, "29")
        assert status_at(90) == (200, None)
        assert fake.throttled == 3 and len(fake.requests) == 4 and len(fake.components()) == 4
        # a 401 is not counted against the window (and still logged)
        now[0] = 1000.0 + 200
        response = requests.post(fake.graphql_url, json={"query": CREATE}, timeout=10)
        assert response.status_code == 401
        assert status_at(200) == (200, None) and status_at(201) == (200, None)
        assert status_at(202)[0] == 429
        # the limit can be changed at run time; reset_rate_limit empties the window
        fake.rate_limit = 3
        assert status_at(203) == (200, None)
        fake.reset_rate_limit()
        assert [status_at(204)[0] for _ in range(4)] == [200, 200, 200, 429]
        fake.rate_limit = None
        assert [status_at(205)[0] for _ in range(5)] == [200] * 5


def test_fail_next_answers_without_executing(session: requests.Session) -> None:
    with FakeOpsLevel(rate_limit=1, rate_limit_period=60) as fake:
        fake.fail_next(2, status=503, retry_after=2)
        fake.fail_next(1)
        assert fake.pending_failures == 3
        answers = [create(fake, session, f"s{n}") for n in range(4)]
        assert [a.status_code for a in answers] == [503, 503, 502, 200]
        assert answers[0].headers["Retry-After"] == "2" and "Retry-After" not in answers[2].headers
        assert answers[2].json() == {"errors": [{"message": "Injected failure: HTTP 502"}]}
        # only the last one executed (and it was the first to count against the rate limit)
        assert [c["name"] for c in fake.components()] == ["s3"]
        assert [r["status"] for r in fake.requests] == [200]
        assert (fake.received, fake.injected, fake.throttled, fake.pending_failures) == (4, 3, 0, 0)
        fake.fail_next(1, status=429, retry_after=7)
        injected = create(fake, session, "x")
        assert injected.status_code == 429 and injected.headers["Retry-After"] == "7"
        assert fake.throttled == 1
        assert create(fake, session, "y").status_code == 429  # now the real limit
        assert fake.throttled == 2 and [c["name"] for c in fake.components()] == ["s3"]
        fake.reset_log()
        assert (fake.received, fake.injected, fake.throttled, fake.requests) == (0, 0, 0, [])
    with pytest.raises(ValueError):
        fake.fail_next(-1)
    with pytest.raises(ValueError):
        fake.fail_next(1, status=200)


def test_rate_limit_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        FakeOpsLevel(rate_limit=-1)
    with pytest.raises(ValueError):
        FakeOpsLevel(rate_limit=1, rate_limit_period=0)


def test_cli_options() -> None:
    args = _parser().parse_args(["opslevel", "--rate-limit", "400", "--rate-limit-period", "60"])
    fake: Any = _build(args)
    assert (fake.rate_limit, fake.rate_limit_period) == (400, 60.0)
    default: Any = _build(_parser().parse_args(["opslevel"]))
    assert default.rate_limit is None
