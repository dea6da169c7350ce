"""The seed integration against a misbehaving fake Sentry, over real HTTP.

Every fault ends in complete, correct records or in a clear failure of the partition it hit
(records read before it kept, ``complete`` false); never in silently missing records.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.extract.http import HttpFetcher
from airflow_provider_opslevel.extract.parallel import run_partitions
from airflow_provider_opslevel.extract.retry import RetryPolicy
from airflow_provider_opslevel.extract.runner import ExtractorRunner, PartitionResult
from airflow_provider_opslevel.extract.throttle import Throttle
from airflow_provider_opslevel.secrets import SecretRecorder
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

ROOT = Path(__file__).resolve().parents[2]
SEED = load_integration(ROOT / "dags/sentry_issues/extract.yaml", ROOT / "dags/sentry_issues/transform.yaml")
TOKEN = "sentry-secret-value"


def fast_policy(**overrides: Any) -> RetryPolicy:
    settings: dict[str, Any] = {
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "max_wait": 2.0,
        "hint_jitter": 0.01,
        "rng": random.Random(7),
    }
    settings.update(overrides)
    return RetryPolicy(**settings)


class Harness:
    """The seed's two extractors sharing one fetcher, pointed at ``fake``."""

    def __init__(self, fake: FakeSentry, *, timeout: tuple[float, float] = (2.0, 2.0), **policy: Any):
        self.fake = fake
        self.secrets = SecretRecorder(lambda name: TOKEN)
        self.throttle = Throttle(4)
        self.fetcher = HttpFetcher(
            redact=self.secrets.redact,
            secrets=self.secrets,
            retry=fast_policy(**policy),
            throttle=self.throttle,
            timeout=timeout,
        )

    def runner(self, kind: str) -> ExtractorRunner:
        return ExtractorRunner(
            SEED.extractor(kind),
            fetcher=self.fetcher,
            secrets=self.secrets,
            origins={"https://sentry.io": self.fake.url},
            redact=self.secrets.redact,
        )

    def projects(self) -> PartitionResult:
        return self.runner("sentry_project").run()

    def issues(self, projects: PartitionResult, concurrency: int = 4) -> list[PartitionResult]:
        return run_partitions(self.runner("sentry_issue"), projects.records, concurrency)

    def close(self) -> None:
        self.fetcher.close()


@pytest.fixture
def fake() -> Iterator[FakeSentry]:
    with FakeSentry(token=TOKEN, projects=5, issues_per_project=5, page_size=2) as server:
        yield server
        assert server.internal_errors == []


@pytest.fixture
def harness(fake: FakeSentry) -> Iterator[Harness]:
    h = Harness(fake)
    yield h
    h.close()


def expected_projects(fake: FakeSentry) -> set[str]:
    return {p["id"] for p in fake.projects if "production" not in p["name"]}


def assert_everything_read(fake: FakeSentry, harness: Harness) -> None:
    projects = harness.projects()
    assert projects.complete and projects.error is None
    assert {r["external_id"] for r in projects.records} == expected_projects(fake)
    for result in harness.issues(projects):
        assert result.complete and result.error is None, result.error
        visible = fake.visible_issues(result.parent)
        assert sorted(r["external_id"] for r in result.records) == sorted(i["id"] for i in visible)


def on_issues(info: dict[str, Any]) -> bool:
    return info["path"].endswith("/issues/")


# ------------------------------------------------------------------------------------ 5xx


def test_transient_5xx_are_retried_and_every_record_arrives(fake: FakeSentry, harness: Harness):
    fake.faults += [respond(server_error(500), times=2), respond(server_error(503), times=3, when=on_issues)]
    assert_everything_read(fake, harness)
    stats = harness.throttle.stats()
    assert stats.retries == 5 and stats.failures == 5


def test_a_persistent_5xx_fails_its_partition_clearly_after_bounded_attempts(fake: FakeSentry):
    harness = Harness(fake, max_attempts=4)
    victim = fake.projects[0]["id"]
    fake.faults.append(respond(server_error(502), when=lambda i: f"/{victim}/issues/" in i["path"]))
    projects = harness.projects()
    results = {r.parent: r for r in harness.issues(projects)}
    failed = results.pop(victim)
    assert not failed.complete and failed.records == []
    assert "HTTP 502 Bad Gateway after 4 attempts" in failed.error and f"/{victim}/issues/" in failed.error
    assert sum(1 for r in fake.requests if f"/{victim}/issues/" in r["path"]) == 4
    assert all(r.complete for r in results.values())


# ------------------------------------------------------------------------------------ 429


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_with_retry_after_waits_as_told(fake: FakeSentry, harness: Harness, form: str):
    sent: list[float] = []
    fake.faults.append(lambda info: sent.append(time.time()))  # observes only
    value = "1" if form == "seconds" else email.utils.formatdate(time.time() + 1.5, usegmt=True)
    fake.faults.append(respond(too_many_requests(retry_after=value, rate_headers=False), times=1))
    projects = harness.projects()
    assert projects.complete and {r["external_id"] for r in projects.records} == expected_projects(fake)
    assert sent[1] - sent[0] >= 0.45  # an HTTP date has whole seconds: at least ~0.5 s left
    if form == "seconds":
        assert sent[1] - sent[0] >= 0.95


def test_429_without_retry_after_or_reset_backs_off_and_halves_concurrency(
    fake: FakeSentry, harness: Harness
):
    fake.faults.append(respond(too_many_requests(rate_headers=False), times=3, when=on_issues))
    assert_everything_read(fake, harness)
    stats = harness.throttle.stats()
    assert stats.responses_429 == 3 and stats.retries == 3
    assert stats.min_concurrency < stats.max_concurrency


def test_429_with_only_the_sentry_reset_header_waits_for_the_reset(fake: FakeSentry, harness: Harness):
    resets: list[int] = []
    sent: list[float] = []

    def limited(info: dict[str, Any]) -> Any:
        response = too_many_requests()
        resets.append(int(response[1]["X-Sentry-Rate-Limit-Reset"]))
        return response

    fake.faults += [lambda info: sent.append(time.time()), respond(limited, times=1)]
    projects = harness.projects()
    assert projects.complete and {r["external_id"] for r in projects.records} == expected_projects(fake)
    assert "retry-after" not in {k.lower() for k in too_many_requests()[1]}
    assert sent[1] >= resets[0] - 0.01  # the retry went out once the window had reset


# ------------------------------------------------------------------------------------ timeouts


def test_a_read_timeout_is_retried(fake: FakeSentry):
    harness = Harness(fake, timeout=(2.0, 0.3))
    fake.faults.append(delay(1.0, times=1, when=on_issues))
    assert_everything_read(fake, harness)
    assert harness.throttle.stats().retries == 1


def test_persistent_read_timeouts_fail_clearly(fake: FakeSentry):
    harness = Harness(fake, timeout=(2.0, 0.2), max_attempts=2)
    fake.faults.append(delay(0.5))
    projects = harness.projects()
    assert not projects.complete and projects.records == []
    assert "ReadTimeout" in projects.error and "after 2 attempts" in projects.error
    assert "/api/0/projects/" in projects.error and TOKEN not in projects.error


# ------------------------------------------------------------------------------------ bodies


def test_truncated_json_is_retried(fake: FakeSentry, harness: Harness):
    fake.rewrites.append(rewrite(truncate_body, times=1))
    fake.rewrites.append(rewrite(truncate_body, times=1, when=on_issues))
    assert_everything_read(fake, harness)
    assert harness.throttle.stats().retries == 2


def test_json_truncated_every_time_fails_naming_url_status_type_and_snippet(
    fake: FakeSentry, harness: Harness
):
    fake.rewrites.append(rewrite(truncate_body))
    projects = harness.projects()
    assert not projects.complete and projects.records == []
    error = projects.error
    assert "/api/0/projects/" in error and "HTTP 200" in error and "application/json" in error
    assert "not JSON (after 3 attempts)" in error and '[{"' in error  # the snippet
    first_page = [r for r in fake.requests if "cursor" not in r["query"]]
    assert len(first_page) == 3
    # Page 2 was requested once while page 1's body was read (its Link header was fine); its
    # answer was dropped with page 1's failure.
    assert fake.request_count == 4


def test_an_html_page_with_200_fails_clearly_after_a_few_tries(fake: FakeSentry, harness: Harness):
    fake.faults.append(respond(html_page(200)))
    projects = harness.projects()
    assert not projects.complete
    assert "HTTP 200" in projects.error and "text/html" in projects.error and "maintenance" in projects.error
    assert fake.request_count == 3


def test_a_maintenance_page_once_is_read_again_and_the_pages_after_it_are_not_lost(
    fake: FakeSentry, harness: Harness
):
    # The page has no Link header, so read ahead it looks like the last page; read again it is not.
    fake.faults.append(respond(html_page(200), times=1))
    assert_everything_read(fake, harness)
    projects = [r for r in fake.requests if r["path"] == "/api/0/projects/"]
    assert len(projects) == 1 + 3  # the maintenance page, then the 3 pages, none twice


def test_a_page_read_again_that_points_elsewhere_is_followed_instead_of_the_first_answer(
    fake: FakeSentry, harness: Harness
):
    # Page 1's first answer is unreadable and its Link skips page 2; page 3 is requested ahead
    # from it, but page 1 read again points at page 2, which is what must be followed.
    skip = f'<{fake.url}/api/0/projects/?&cursor=0:4:0>; rel="next"; results="true"; cursor="0:4:0"'

    def unreadable_and_skipping(response: Any) -> Any:
        return set_header("Link", skip)(truncate_body(response))

    fake.rewrites.append(rewrite(unreadable_and_skipping, times=1))
    projects = harness.projects()
    assert projects.complete and projects.error is None and projects.pages == 3
    assert {r["external_id"] for r in projects.records} == expected_projects(fake)
    cursors = sorted(r["query"].get("cursor", "") for r in fake.requests)
    assert cursors == ["", "", "0:2:0", "0:4:0", "0:4:0"]  # page 3 once ahead (dropped), once for real


def test_an_html_502_from_a_proxy_is_retried(fake: FakeSentry, harness: Harness):
    fake.faults.append(respond(html_page(502, "502 Bad Gateway"), times=2))
    assert_everything_read(fake, harness)


def test_an_html_502_that_persists_fails_with_a_readable_error(fake: FakeSentry):
    harness = Harness(fake, max_attempts=2)
    fake.faults.append(respond(html_page(502, "502 Bad Gateway")))
    projects = harness.projects()
    assert "HTTP 502 Bad Gateway after 2 attempts" in projects.error and "<title>502" in projects.error


# ------------------------------------------------------------------------------------ pagination


def test_a_malformed_link_header_fails_naming_the_header_and_keeps_the_page(
    fake: FakeSentry, harness: Harness
):
    bad = '<http://127.0.0.1/?cursor=0:2:0>; rel="next"; results="true" garbage'
    fake.rewrites.append(rewrite(set_header("Link", bad), when=has_cursor))
    projects = harness.projects()
    assert not projects.complete and projects.pages == 2
    assert "malformed Link header" in projects.error and "garbage" in projects.error
    assert len(projects.records) == 3  # pages 1 and 2, payments-production excluded
    assert fake.request_count == 2  # a parse error is not retried


def test_an_empty_page_with_results_true_is_not_the_end():
    with FakeSentry(token=TOKEN, projects=1, issues_per_project=0, page_size=2) as fake:
        project = fake.projects[0]["id"]
        for _ in range(2):
            fake.add_issue(project, status="resolved", substatus=None)
        wanted = [fake.add_issue(project)["id"] for _ in range(3)]
        harness = Harness(fake)
        projects = harness.projects()
        [issues] = harness.issues(projects)
        assert issues.complete and issues.pages == 3 and issues.items == 3
        # Three pages for five rows, two per page, three items: the first page was empty.
        assert sorted(r["external_id"] for r in issues.records) == sorted(wanted)


# ------------------------------------------------------------------------------------ auth


def test_a_401_mid_run_fails_naming_the_secret_and_keeps_earlier_pages(fake: FakeSentry, harness: Harness):
    fake.faults.append(respond(unauthorized(), when=has_cursor))
    projects = harness.projects()
    assert not projects.complete and projects.pages == 1
    assert [r["data"]["name"] for r in projects.records] == ["Backend API", "Frontend Web"]
    assert "HTTP 401 Unauthorized" in projects.error and "'sentry_api_token'" in projects.error
    assert TOKEN not in projects.error
    assert fake.request_count == 2  # a refused credential is not retried


def test_a_403_is_not_retried_either(fake: FakeSentry, harness: Harness):
    fake.faults.append(respond((403, {"Content-Type": "application/json"}, b'{"detail": "forbidden"}')))
    projects = harness.projects()
    assert "HTTP 403 Forbidden" in projects.error and "'sentry_api_token'" in projects.error
    assert fake.request_count == 1


# ------------------------------------------------------------------------------------ everything


def test_a_storm_of_mixed_faults_under_concurrency_still_reads_everything():
    rng = random.Random(11)

    def chaos(info: dict[str, Any]) -> Any:
        roll = rng.random()
        if roll < 0.08:
            return server_error(rng.choice((500, 502, 503, 504)))
        if roll < 0.14:
            return too_many_requests(rate_headers=rng.random() < 0.5)
        if roll < 0.18:
            return html_page(rng.choice((200, 502)))
        return None

    def cut(info: dict[str, Any], response: Any) -> Any:
        return truncate_body(response) if response[0] == 200 and rng.random() < 0.05 else None

    with FakeSentry(token=TOKEN, projects=12, issues_per_project=9, page_size=3, resolved_every=4) as fake:
        fake.faults.append(chaos)
        fake.rewrites.append(cut)
        harness = Harness(fake, max_wait=0.2, max_attempts=8, invalid_json_attempts=8)
        assert_everything_read(fake, harness)
        stats = harness.throttle.stats()
        assert stats.retries > 0 and stats.requests == fake.request_count
