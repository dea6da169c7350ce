"""The retry arithmetic shared by extraction and the OpsLevel client."""

from __future__ import annotations

import email.utils
import random

import pytest

from airflow_provider_opslevel.extract.retry import RetryPolicy
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.retry_policy import (
    AttemptBudget,
    full_jitter_backoff,
    header_number,
    parse_reset,
    parse_retry_after,
)


def test_retry_after_fractions_past_dates_and_naive_dates():
    now = 1_700_000_000.0
    assert parse_retry_after("1.5", now=now) == 1.5
    assert parse_retry_after("-3", now=now) == 0.0
    assert parse_retry_after(email.utils.formatdate(now + 9, usegmt=True), now=now) == pytest.approx(9)
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:20 -0000", now=now) is None  # no zone: unreadable


def test_reset_headers_first_readable_wins():
    headers = {"x-ratelimit-reset": "soon", "ratelimit-reset": "4"}
    assert header_number(headers, ("x-ratelimit-reset", "ratelimit-reset")) == 4
    assert parse_reset(header_number(headers, ("missing",))) is None


def test_full_jitter_spans_zero_to_the_capped_ceiling():
    rng = random.Random(3)
    samples = [full_jitter_backoff(4, base=0.5, cap=5.0, rng=rng) for _ in range(500)]
    assert all(0 <= s <= 5.0 for s in samples) and max(samples) > 4.5  # 0.5 * 2**4 = 8, capped at 5
    assert full_jitter_backoff(-1, base=2.0, rng=random.Random(0)) <= 2.0


def test_extraction_backoff_draws_exactly_as_before():
    """RetryPolicy.backoff(retry) is the shared backoff with exponent retry - 1, then max_wait."""
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0, max_wait=3.0, rng=random.Random(7))
    rng = random.Random(7)
    for retry in range(1, 8):
        expected = min(rng.uniform(0, min(4.0, 0.5 * 2 ** (retry - 1))), 3.0)
        assert policy.backoff(retry) == expected


def test_attempt_budget_is_shared_and_each_caller_keeps_its_own_bounds():
    budget = AttemptBudget(3)
    assert [budget.allows_another(n) for n in range(1, 4)] == [True, True, False]
    with pytest.raises(ValueError, match="max_attempts must be >= 1"):
        RetryPolicy(max_attempts=0)  # extraction refuses a zero budget...
    client = OpsLevelClient("https://opslevel.invalid", "token-value", max_attempts=0)
    assert client.budget == AttemptBudget(1) and client.max_attempts == 1  # ...the client clamps it
    assert RetryPolicy(max_attempts=4).budget == AttemptBudget(4)
