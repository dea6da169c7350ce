"""Client-side pacing and the retry policy's helpers."""

from __future__ import annotations

import email.utils

from airflow_provider_opslevel.opslevel.ratelimit import SlidingWindowLimiter
from airflow_provider_opslevel.retry_policy import full_jitter_backoff, parse_retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_no_more_than_limit_requests_in_any_window():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 10.0, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(10):
        limiter.acquire()
        sent.append(clock.now)
        clock.now += 0.5  # the requests themselves take time
    for index, start in enumerate(sent):
        assert sum(1 for t in sent if start <= t < start + 10.0) <= 3, index
    assert sent[3] - sent[0] >= 10.0 and clock.sleeps


def test_disabled_limiter_never_waits():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(None, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        limiter.acquire()
    assert clock.sleeps == []


def test_retry_after_in_seconds_or_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = email.utils.formatdate(2_000_000_030, usegmt=True)
    assert parse_retry_after(date, now=2_000_000_000) == 30.0
    assert parse_retry_after(email.utils.formatdate(1, usegmt=True)) == 0.0


def test_backoff_grows_and_is_capped():
    assert all(0 <= full_jitter_backoff(0) <= 1 for _ in range(50))
    assert all(0 <= full_jitter_backoff(3) <= 8 for _ in range(50))
    assert all(full_jitter_backoff(30, cap=60) <= 60 for _ in range(50))
