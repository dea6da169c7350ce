"""Throttle: AIMD concurrency, pacing from rate-limit headers, shared pauses; and against the fake."""

from __future__ import annotations

import threading
import time
from typing import Any

from test_faults import TOKEN, Harness

from airflow_provider_opslevel.extract.throttle import Throttle
from airflow_provider_opslevel.testing import FakeSentry


def one(throttle: Throttle, status: int | None = 200, headers: dict[str, str] | None = None) -> None:
    throttle.release(throttle.acquire(), status, headers)


def test_concurrency_halves_on_429_once_per_burst_and_grows_back_by_one():
    throttle = Throttle(8, increase_after=3)
    burst = [throttle.acquire() for _ in range(4)]  # all in flight when the server says 429
    for ticket in burst:
        throttle.release(ticket, 429)
    assert throttle.concurrency == 4  # one decrease, not four
    one(throttle, 429)
    one(throttle, 429)
    one(throttle, 429)
    one(throttle, 429)
    assert throttle.concurrency == 1  # never below min_concurrency
    for _ in range(3 * 7 + 2):
        one(throttle)
    assert throttle.concurrency == 8
    for _ in range(30):
        one(throttle)
    stats = throttle.stats()
    assert throttle.concurrency == 8 == stats.max_concurrency
    assert stats.min_concurrency == 1 and stats.responses_429 == 8 and stats.requests == 8 + 23 + 30


def test_a_failure_breaks_the_success_streak():
    throttle = Throttle(4, increase_after=2)
    one(throttle, 429)
    assert throttle.concurrency == 2
    one(throttle)
    one(throttle, 500)
    one(throttle)
    assert throttle.concurrency == 2
    one(throttle)
    assert throttle.concurrency == 3


def test_workers_never_exceed_the_current_limit():
    throttle = Throttle(3)
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def work(status: int) -> None:
        ticket = throttle.acquire()
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.03)
        with lock:
            state["now"] -= 1
        throttle.release(ticket, status)

    threads = [threading.Thread(target=work, args=(200,)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["peak"] == 3
    one(throttle, 429)  # down to 1
    state["peak"] = 0
    threads = [threading.Thread(target=work, args=(200,)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["peak"] == 1
    assert throttle.stats().waited_slot > 0


def test_remaining_zero_holds_every_request_until_the_reset():
    throttle = Throttle(4)
    one(throttle, 200, {"ratelimit-remaining": "0", "ratelimit-reset": "0.3"})
    started = time.monotonic()
    one(throttle)
    assert time.monotonic() - started >= 0.25
    held = throttle.stats().waited_rate_limit
    assert held >= 0.25
    one(throttle)  # the window passed: the budget is unknown again
    assert throttle.stats().waited_rate_limit == held


def test_a_low_budget_spaces_requests_over_the_time_left():
    throttle = Throttle(4)
    one(throttle, 200, {"x-ratelimit-remaining": "4", "x-ratelimit-reset": str(time.time() + 0.4)})
    # x-ratelimit-reset is an epoch here: whole seconds are not required
    started = time.monotonic()
    for _ in range(5):
        one(throttle)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed <= 1.0  # four spaced within the window, the fifth after the reset


def test_a_high_budget_does_not_slow_anything_down():
    throttle = Throttle(4)
    one(throttle, 200, {"x-sentry-rate-limit-remaining": "900", "x-sentry-rate-limit-limit": "1000",
                        "x-sentry-rate-limit-reset": str(int(time.time()) + 30)})  # fmt: skip
    for _ in range(50):
        one(throttle)
    assert throttle.stats().waited_rate_limit == 0


def test_retry_after_on_a_429_pauses_everyone():
    throttle = Throttle(4)
    one(throttle, 429, {"retry-after": "0.3"})
    started = time.monotonic()
    one(throttle)
    assert time.monotonic() - started >= 0.25


def test_sentry_concurrent_headers_cap_and_freeze_the_limit():
    throttle = Throttle(8, increase_after=1)
    one(
        throttle,
        200,
        {"x-sentry-rate-limit-concurrentlimit": "3", "x-sentry-rate-limit-concurrentremaining": "2"},
    )
    assert throttle.concurrency == 3
    one(throttle, 429, {"x-sentry-rate-limit-concurrentremaining": "0"})
    assert throttle.concurrency == 3  # 8 // 2 = 4, still capped at 3
    one(throttle, 429)
    assert throttle.concurrency == 2
    one(throttle, 200, {"x-sentry-rate-limit-concurrentremaining": "0"})
    assert throttle.concurrency == 2  # the server is saturated: no growth
    one(throttle, 200, {"x-sentry-rate-limit-concurrentremaining": "5"})
    assert throttle.concurrency == 3


def test_stats_are_serialisable():
    throttle = Throttle(2)
    one(throttle)
    throttle.record_retry(0.5)
    data = throttle.stats().as_dict()
    assert data["requests"] == 1 and data["retries"] == 1 and data["total_wait"] >= 0.5
    assert "1 request(s), 1 retry" in throttle.stats().summary()


def test_the_seed_stays_under_an_enforced_rate_limit_without_a_429():
    with FakeSentry(
        token=TOKEN, projects=10, issues_per_project=6, page_size=2, rate_limit=15, enforce_rate_limit=True
    ) as fake:
        harness = Harness(fake)
        projects = harness.projects()
        results = harness.issues(projects, concurrency=4)
        assert projects.complete and all(r.complete for r in results)
        read = sorted(r["external_id"] for result in results for r in result.records)
        wanted = sorted(i["id"] for p in projects.records for i in fake.visible_issues(p["external_id"]))
        assert read == wanted
        statuses: list[Any] = [r["status"] for r in fake.requests]
        assert statuses.count(429) <= 1 and harness.throttle.stats().responses_429 == statuses.count(429)
