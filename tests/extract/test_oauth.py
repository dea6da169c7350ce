"""OAuth client credentials: loading the ``oauth`` block, the cached token, refresh, 401s, secrecy."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_faults import SEED, fast_policy

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.errors import ConfigError, NotSupportedYetError
from airflow_provider_opslevel.extract.errors import AuthError, OAuthError
from airflow_provider_opslevel.extract.http import HttpFetcher, HttpRequest
from airflow_provider_opslevel.extract.oauth import OAuthClient, oauth_client
from airflow_provider_opslevel.extract.parallel import run_partitions
from airflow_provider_opslevel.extract.runner import ExtractorRunner
from airflow_provider_opslevel.secrets import SecretRecorder
from airflow_provider_opslevel.testing import FakeSentry
from airflow_provider_opslevel.testing.sentry_faults import has_cursor, respond, server_error, unauthorized

CLIENT_ID = "opslevel-sync"
CLIENT_SECRET = "very-secret-client-secret"
SECRETS = {"sentry_client_id": CLIENT_ID, "sentry_client_secret": CLIENT_SECRET}
LINK_CURSOR = 'if .link.next.attributes.results == "true" then .link.next.target_url else null end'

EXTRACT = f"""\
oauth:
  grant_type: client_credentials
  token_url: https://sentry.io/oauth/token
  client_id: "{{{{ 'sentry_client_id' | secret }}}}"
  client_secret: "{{{{ 'sentry_client_secret' | secret }}}}"
  extra_params: {{ audience: sentry-api }}
extractors:
- external_kind: sentry_project
  iterator: "."
  external_id: ".id"
  http_polling:
    method: GET
    url: "{{% if cursor %}}{{{{cursor}}}}{{% else %}}https://sentry.io/api/0/projects/{{% endif %}}"
    headers:
    - name: Accept
      value: application/json
    next_cursor:
      from: header
      value: '{LINK_CURSOR}'
- external_kind: sentry_issue
  iterator: "."
  external_id: ".id"
  http_polling:
    method: GET
    for_each: sentry_project
    url: "{{% if cursor %}}{{{{cursor}}}}{{% else %}}https://sentry.io/api/0/projects/opslevel/{{{{ sentry_project.id }}}}/issues/{{% endif %}}"
    next_cursor:
      from: header
      value: '{LINK_CURSOR}'
"""
TRANSFORM = """\
transforms:
- external_kind: sentry_issue
  on_component_not_found: create
  opslevel_kind: sentry_issue
  opslevel_identifier: ".id"
"""


@pytest.fixture
def integration(tmp_path: Path) -> Any:
    (tmp_path / "extract.yaml").write_text(EXTRACT)
    (tmp_path / "transform.yaml").write_text(TRANSFORM)
    return load_integration(tmp_path / "extract.yaml", tmp_path / "transform.yaml")


@pytest.fixture
def fake() -> Iterator[FakeSentry]:
    with FakeSentry(
        token="static-token", projects=5, page_size=2, oauth_clients={CLIENT_ID: CLIENT_SECRET}
    ) as f:
        yield f
        assert f.internal_errors == []


class Setup:
    def __init__(self, integration: Any, fake: FakeSentry, **client: Any) -> None:
        self.secrets = SecretRecorder(lambda name: SECRETS.get(name, "static-token"))
        self.origins = {"https://sentry.io": fake.url}
        self.tokens: list[str] = []
        options: dict[str, Any] = {
            "secrets": self.secrets,
            "origins": self.origins,
            "redact": self.secrets.redact,
            "on_token": self.tokens.append,
            "retry": fast_policy(),
        }
        options.update(client)
        self.oauth = oauth_client(integration, **options)
        assert self.oauth is not None
        self.fetcher = HttpFetcher(
            redact=self.secrets.redact, secrets=self.secrets, oauth=self.oauth, retry=fast_policy()
        )
        self.integration = integration

    def runner(self, kind: str, extractor: Any = None) -> ExtractorRunner:
        return ExtractorRunner(
            extractor or self.integration.extractor(kind),
            fetcher=self.fetcher,
            secrets=self.secrets,
            origins=self.origins,
            redact=self.redact,
        )

    def redact(self, text: str) -> str:
        assert self.oauth is not None
        return self.oauth.redact(text)


def api_requests(fake: FakeSentry) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["path"] != fake.token_path]


# ----------------------------------------------------------------------------- config


def test_the_loader_accepts_oauth_and_exposes_it(integration: Any):
    oauth = integration.oauth
    assert oauth is not None and oauth.grant_type == "client_credentials"
    assert oauth.token_url.source == "https://sentry.io/oauth/token"
    assert set(oauth.extra_params) == {"audience"}
    assert oauth.client_secret.secret_names == frozenset({"sentry_client_secret"})
    assert load_integration(*_seed_paths()).oauth is None


def _seed_paths() -> tuple[Path, Path]:
    return SEED.extract_path, SEED.transform_path


def test_an_invalid_oauth_block_is_still_a_config_error(tmp_path: Path):
    (tmp_path / "extract.yaml").write_text(
        EXTRACT.replace("grant_type: client_credentials", "grant_type: password").replace(
            "token_url", "token_uri"
        )
    )
    (tmp_path / "transform.yaml").write_text(TRANSFORM)
    with pytest.raises(ConfigError) as info:
        load_integration(tmp_path / "extract.yaml", tmp_path / "transform.yaml")
    assert not isinstance(info.value, NotSupportedYetError)
    text = str(info.value)
    assert "expected one of: client_credentials" in text and "did you mean 'token_url'" in text
    assert "not supported" not in text


# ----------------------------------------------------------------------------- the happy path


def test_one_token_serves_every_thread_and_every_request(integration: Any, fake: FakeSentry):
    setup = Setup(integration, fake)
    projects = setup.runner("sentry_project").run()
    assert projects.complete and len(projects.records) == 5  # no exclude in this extract document
    issues = run_partitions(setup.runner("sentry_issue"), projects.records, concurrency=4)
    assert all(r.complete for r in issues)
    assert fake.token_requests == 1 and setup.oauth is not None and setup.oauth.fetches == 1
    [token] = setup.tokens
    assert all(r["headers"]["authorization"] == f"Bearer {token}" for r in api_requests(fake))
    [form] = [r["form"] for r in fake.requests if r["path"] == fake.token_path]
    assert form == {
        "grant_type": "client_credentials",
        "audience": "sentry-api",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


def test_concurrent_first_use_fetches_one_token(integration: Any, fake: FakeSentry):
    setup = Setup(integration, fake)
    assert setup.oauth is not None
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def use() -> None:
        barrier.wait()
        assert setup.oauth is not None
        seen.append(setup.oauth.token())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1 and fake.token_requests == 1


def test_basic_client_authentication(integration: Any, fake: FakeSentry):
    setup = Setup(integration, fake, client_auth="basic")
    assert setup.runner("sentry_project").run().complete
    [request] = [r for r in fake.requests if r["path"] == fake.token_path]
    assert "client_secret" not in request["form"] and "client_id" not in request["form"]
    scheme, _, encoded = request["headers"]["authorization"].partition(" ")
    assert scheme == "Basic" and base64.b64decode(encoded).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"


def test_a_request_with_its_own_authorization_header_keeps_it_and_fetches_no_token(
    fake: FakeSentry, integration: Any
):
    setup = Setup(integration, fake)
    runner = setup.runner("sentry_project", SEED.extractor("sentry_project"))  # sets Authorization itself
    assert runner.run().complete
    assert fake.token_requests == 0
    assert all(r["headers"]["authorization"] == "Bearer static-token" for r in api_requests(fake))


# ----------------------------------------------------------------------------- expiry and 401


def test_the_token_is_refreshed_shortly_before_it_expires(integration: Any):
    with FakeSentry(projects=2, oauth_clients={CLIENT_ID: CLIENT_SECRET}, token_ttl=0.5) as fake:
        setup = Setup(integration, fake)
        assert setup.runner("sentry_project").run().complete
        time.sleep(0.5)  # 0.45 s of use, 0.05 s margin: the token is due for renewal
        assert setup.runner("sentry_project").run().complete
        assert fake.token_requests == 2 and len(set(setup.tokens)) == 2
        assert all(r["status"] == 200 for r in fake.requests)  # never sent an expired token


def test_a_401_fetches_a_fresh_token_and_retries_once(integration: Any, fake: FakeSentry):
    revoked = threading.Event()

    def revoke_once(info: dict[str, Any]) -> None:
        if has_cursor(info) and not revoked.is_set():
            revoked.set()
            fake.revoke_tokens()

    fake.faults.append(revoke_once)
    setup = Setup(integration, fake)
    projects = setup.runner("sentry_project").run()
    assert projects.complete and len(projects.records) == 5
    assert fake.token_requests == 2 and [r["status"] for r in api_requests(fake)].count(401) == 1


def test_a_401_with_a_fresh_token_fails_naming_the_client_secrets(integration: Any, fake: FakeSentry):
    fake.faults.append(respond(unauthorized(), when=has_cursor))
    setup = Setup(integration, fake)
    projects = setup.runner("sentry_project").run()
    assert not projects.complete and projects.pages == 1 and len(projects.records) == 2
    error = projects.error
    assert "HTTP 401 Unauthorized" in error and "OAuth token" in error
    assert "'sentry_client_id', 'sentry_client_secret'" in error
    assert all(token not in error for token in setup.tokens) and CLIENT_SECRET not in error
    assert fake.token_requests == 2 and len(api_requests(fake)) == 3  # page 1, page 2, page 2 again


# ----------------------------------------------------------------------------- the token endpoint


def test_a_wrong_client_secret_fails_naming_the_secrets_and_sends_nothing_else(integration: Any):
    with FakeSentry(oauth_clients={CLIENT_ID: "another secret"}) as fake:
        setup = Setup(integration, fake)
        result = setup.runner("sentry_project").run()
        assert not result.complete and result.pages == 0
        error = result.error
        assert error.startswith(f"{integration.extractor('sentry_project').where}: ")  # names it
        assert ": oauth: could not get an access token: POST " in error
        assert "/oauth/token answered HTTP 401 Unauthorized" in error and "invalid_client" in error
        assert "'sentry_client_id', 'sentry_client_secret'" in error and CLIENT_SECRET not in error
        assert api_requests(fake) == []
        assert fake.token_requests == 1  # a refused client is not retried
        # Other partitions get the same answer without asking again.
        issues = run_partitions(setup.runner("sentry_issue"), [{"external_id": "1", "data": {"id": "1"}}] * 3)
        assert all("invalid_client" in (r.error or "") for r in issues) and fake.token_requests == 1


def test_the_token_endpoint_is_retried_on_5xx(integration: Any, fake: FakeSentry):
    fake.faults.append(respond(server_error(503), times=2, when=lambda info: info["path"] == fake.token_path))
    setup = Setup(integration, fake)
    assert setup.runner("sentry_project").run().complete
    assert fake.token_requests == 3


def test_a_token_response_without_a_token_is_a_clear_error(integration: Any, fake: FakeSentry):
    fake.faults.append(
        respond(
            (200, {"Content-Type": "application/json"}, b'{"token": "abc", "expires_in": 60}'),
            when=lambda info: info["path"] == fake.token_path,
        )
    )
    setup = Setup(integration, fake)
    with pytest.raises(OAuthError, match=r"without an access_token \(keys: expires_in, token\)") as info:
        assert setup.oauth is not None
        setup.oauth.token()
    assert "abc" not in str(info.value)


def test_a_non_bearer_token_is_refused_without_showing_it(integration: Any, fake: FakeSentry):
    body = b'{"access_token": "mac-token-value", "token_type": "mac"}'
    fake.faults.append(
        respond(
            (200, {"Content-Type": "application/json"}, body), when=lambda i: i["path"] == fake.token_path
        )
    )
    setup = Setup(integration, fake)
    assert setup.oauth is not None
    with pytest.raises(OAuthError, match="only bearer tokens") as info:
        setup.oauth.token()
    assert "mac-token-value" not in str(info.value)


def test_tokens_and_the_client_secret_are_redacted(integration: Any, fake: FakeSentry):
    setup = Setup(integration, fake)
    assert setup.oauth is not None
    token = setup.oauth.token()
    text = f"token={token} secret={CLIENT_SECRET}"
    assert setup.oauth.redact(text) == "token=*** secret=***"
    assert setup.fetcher.redact(text) == "token=*** secret=***"


def test_an_auth_error_from_an_oauth_request_is_an_auth_error(integration: Any, fake: FakeSentry):
    fake.faults.append(respond(unauthorized(), when=lambda info: info["path"] != fake.token_path))
    setup = Setup(integration, fake)
    with pytest.raises(AuthError) as info:
        setup.fetcher.fetch(HttpRequest("GET", f"{fake.url}/api/0/projects/"))
    assert info.value.secret_names == ["sentry_client_id", "sentry_client_secret"]


def test_no_oauth_block_means_no_client(integration: Any):
    assert oauth_client(SEED, secrets=None) is None
    with pytest.raises(ValueError):
        OAuthClient(integration.oauth, secrets=None, client_auth="header")
