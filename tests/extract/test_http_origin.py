"""OriginGuard: a cursor URL on another origin never receives the extractor's credentials."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from test_faults import SEED, TOKEN, fast_policy

from airflow_provider_opslevel.extract.errors import OriginError
from airflow_provider_opslevel.extract.http import HttpFetcher, HttpRequest
from airflow_provider_opslevel.extract.origin import OriginGuard, origin_of
from airflow_provider_opslevel.extract.runner import ExtractorRunner
from airflow_provider_opslevel.secrets import SecretRecorder
from airflow_provider_opslevel.testing import FakeSentry
from airflow_provider_opslevel.testing.sentry_faults import has_cursor, rewrite, set_header


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://sentry.io/api/0/projects/", "https://sentry.io"),
        ("HTTPS://Sentry.IO:443/x?y=1", "https://sentry.io"),
        ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080"),
        ("http://example.com:80", "http://example.com"),
        ("https://example.com:8443/", "https://example.com:8443"),
        ("http://[::1]:9000/x", "http://[::1]:9000"),
        ("https://user:pw@sentry.io/x", "https://sentry.io"),
        # Parsers disagree on a backslash; what counts is the host requests connects to.
        ("https://sentry.io\\@evil.example/", "https://sentry.io"),
    ],
)
def test_origin_of(url: str, origin: str):
    assert origin_of(url) == origin


@pytest.mark.parametrize("url", ["ftp://example.com/x", "/relative/path", "https://", "not a url"])
def test_origin_of_refuses_what_is_not_an_http_url(url: str):
    with pytest.raises(OriginError):
        origin_of(url)


def test_the_first_url_pins_the_origin_and_others_are_refused():
    guard = OriginGuard(label="sentry_issue")
    assert guard.origin is None
    guard.check("https://sentry.io/api/0/projects/")
    assert guard.origin == "https://sentry.io"
    guard.check("https://sentry.io/api/0/projects/?&cursor=0:100:0")
    with pytest.raises(OriginError) as info:
        guard.check("https://evil.example/steal?token=abc")
    message = str(info.value)
    assert message.startswith("sentry_issue: refusing to request https://evil.example/steal")
    assert "https://evil.example is not this extractor's origin https://sentry.io" in message
    assert "allowed_origins" in message and "nothing was sent" in message
    for other in ("http://sentry.io/x", "https://sentry.io:8443/x", "https://sentry.io.evil.example/x"):
        with pytest.raises(OriginError):
            guard.check(other)


def test_allowed_origins_and_a_configured_origin():
    guard = OriginGuard(
        ["https://us.sentry.io/", "https://cdn.example.com:8443"], origin="https://sentry.io/api/"
    )
    assert guard.origin == "https://sentry.io"
    for url in ("https://sentry.io/a", "https://us.sentry.io/b", "https://cdn.example.com:8443/c"):
        guard.check(url)
    with pytest.raises(OriginError, match=re.escape("or https://cdn.example.com:8443, https://us.sentry.io")):
        guard.check("https://cdn.example.com/c")
    with pytest.raises(ValueError):
        OriginGuard(["sentry.io"])


def test_the_error_is_redacted():
    guard = OriginGuard(redact=lambda text: text.replace("abc", "***"), origin="https://sentry.io")
    with pytest.raises(OriginError) as info:
        guard.check("https://evil.example/x?token=abc")
    assert "abc" not in str(info.value) and "token=***" in str(info.value)


@pytest.fixture
def two_fakes() -> Iterator[tuple[FakeSentry, FakeSentry]]:
    with (
        FakeSentry(token=TOKEN, projects=5, page_size=2) as home,
        FakeSentry(token=TOKEN, projects=5, page_size=2) as other,
    ):
        yield home, other


def project_runner(
    home: FakeSentry, fetcher: HttpFetcher, secrets: SecretRecorder, allowed: tuple[str, ...] = ()
) -> ExtractorRunner:
    return ExtractorRunner(
        SEED.extractor("sentry_project"),
        fetcher=fetcher,
        secrets=secrets,
        origins={"https://sentry.io": home.url},
        redact=secrets.redact,
        allowed_origins=allowed,
    )


def test_a_link_to_another_origin_is_refused_and_gets_no_token(two_fakes: tuple[FakeSentry, FakeSentry]):
    home, other = two_fakes
    link = f'<{other.url}/api/0/projects/?&cursor=0:2:0>; rel="next"; results="true"; cursor="0:2:0"'
    home.rewrites.append(rewrite(set_header("Link", link)))
    secrets = SecretRecorder(lambda name: TOKEN)
    fetcher = HttpFetcher(redact=secrets.redact, secrets=secrets, retry=fast_policy(), guard=OriginGuard())
    result = project_runner(home, fetcher, secrets).run()
    assert not result.complete and result.pages == 1 and len(result.records) == 2
    assert f"its origin {other.url} is not this extractor's origin {home.url}" in result.error
    assert other.requests == [] and home.request_count == 1


def test_an_allowed_origin_is_followed(two_fakes: tuple[FakeSentry, FakeSentry]):
    home, other = two_fakes
    link = f'<{other.url}/api/0/projects/?&cursor=0:2:0>; rel="next"; results="true"; cursor="0:2:0"'
    home.rewrites.append(rewrite(set_header("Link", link), when=lambda info: not has_cursor(info)))
    secrets = SecretRecorder(lambda name: TOKEN)
    fetcher = HttpFetcher(redact=secrets.redact, secrets=secrets, retry=fast_policy())
    runner = project_runner(home, fetcher, secrets, allowed=(other.url,))
    result = runner.run()
    assert result.complete and result.pages == 3 and other.request_count == 2
    assert runner.guard.origin == home.url


def test_a_per_call_guard_overrides_the_fetchers(two_fakes: tuple[FakeSentry, FakeSentry]):
    home, other = two_fakes
    fetcher = HttpFetcher(guard=OriginGuard(origin=home.url))
    own = OriginGuard(origin=other.url)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    fetcher.fetch(HttpRequest("GET", f"{other.url}/api/0/projects/", headers), guard=own)
    with pytest.raises(OriginError):
        fetcher.fetch(HttpRequest("GET", f"{other.url}/api/0/projects/", headers))
    assert other.request_count == 1
