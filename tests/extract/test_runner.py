"""ExtractorRunner over real HTTP: the seed against the fake Sentry, and pagination edge cases."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.extract.http import HttpFetcher
from airflow_provider_opslevel.extract.runner import ExtractorRunner, rewrite_origin
from airflow_provider_opslevel.secrets import SecretRecorder
from airflow_provider_opslevel.testing import FakeSentry

ROOT = Path(__file__).resolve().parents[2]
SEED_EXTRACT = ROOT / "dags" / "sentry_issues" / "extract.yaml"
SEED_TRANSFORM = ROOT / "dags" / "sentry_issues" / "transform.yaml"


def runner_for(extractor: Any, origins: dict[str, str] | None = None, token: str = "tok") -> ExtractorRunner:
    secrets = SecretRecorder(lambda name: token)
    return ExtractorRunner(
        extractor,
        fetcher=HttpFetcher(redact=secrets.redact, timeout=(2, 5)),
        secrets=secrets,
        origins=origins,
        redact=secrets.redact,
    )


def integration_from(tmp_path: Path, extract_yaml: str, kind: str = "thing") -> Any:
    extract = tmp_path / "extract.yaml"
    extract.write_text(textwrap.dedent(extract_yaml))
    transform = tmp_path / "transform.yaml"
    transform.write_text(
        f"transforms:\n- external_kind: {kind}\n  opslevel_kind: service\n  opslevel_identifier: .id\n"
        "  on_component_not_found: skip\n"
    )
    return load_integration(extract, transform)


def test_seed_reads_every_page_of_projects_and_issues_and_excludes_production():
    integration = load_integration(SEED_EXTRACT, SEED_TRANSFORM)
    with FakeSentry(token="tok", projects=5, issues_per_project=7, page_size=2) as sentry:
        origins = {"https://sentry.io": sentry.url}
        projects = runner_for(integration.extractor("sentry_project"), origins).run()
        assert projects.complete and projects.error is None
        assert projects.pages == 3  # 5 projects, 2 per page: the results="false" link ends it
        names = {record["data"]["name"] for record in projects.records}
        expected = {p["name"] for p in sentry.projects if "production" not in p["name"]}
        assert names == expected and projects.excluded == 5 - len(expected) > 0
        assert all(record["external_id"] == record["data"]["id"] for record in projects.records)

        issues = runner_for(integration.extractor("sentry_issue"), origins)
        for project in projects.records:
            result = issues.run(project)
            visible = sentry.visible_issues(project["data"]["id"])
            assert result.complete and result.parent == project["external_id"]
            assert sorted(r["external_id"] for r in result.records) == sorted(i["id"] for i in visible)
            assert all(r["data"]["project"]["id"] == project["data"]["id"] for r in result.records)
        # Every request carried the token and went to the fake, by project id (the seed's URL).
        assert all(req["headers"].get("authorization") == "Bearer tok" for req in sentry.requests)


def test_wrong_token_stops_the_partition_with_the_status_and_no_secret(tmp_path: Path):
    integration = load_integration(SEED_EXTRACT, SEED_TRANSFORM)
    with FakeSentry(token="right") as sentry:
        result = runner_for(
            integration.extractor("sentry_project"), {"https://sentry.io": sentry.url}, "wrong-secret"
        ).run()
    assert not result.complete and result.records == []
    assert "HTTP 401" in result.error and "wrong-secret" not in result.error


def test_short_and_empty_pages_are_not_the_end(api: Any, tmp_path: Path):
    pages = {"": ([{"id": 1}, {"id": 2}], "p2"), "p2": ([], "p3"), "p3": ([{"id": 3}], None)}

    def handler(method, path, query, headers, body):
        items, following = pages[query.get("cursor", "")]
        return 200, {"X-Next": following or ""}, items

    api.handler = handler
    integration = integration_from(
        tmp_path,
        f"""
        extractors:
        - external_kind: thing
          iterator: ".[]"
          external_id: .id
          http_polling:
            url: "{api.url}/things?cursor={{{{ cursor }}}}"
            next_cursor:
              from: header
              value: 'if .["x-next"] == "" then null else .["x-next"] end'
        """,
    )
    result = runner_for(integration.extractor("thing")).run()
    assert result.complete and result.pages == 3
    assert [r["external_id"] for r in result.records] == ["1", "2", "3"]  # numbers become strings


def test_post_with_templated_body_and_payload_cursor(api: Any, tmp_path: Path):
    def handler(method, path, query, headers, body):
        after = __import__("json").loads(body)["after"]
        page = {"": (["a", "b"], "c2"), "c2": (["c"], None)}[after]
        return 200, {}, {"data": {"nodes": [{"slug": s} for s in page[0]], "end": page[1]}}

    api.handler = handler
    integration = integration_from(
        tmp_path,
        f"""
        extractors:
        - external_kind: thing
          iterator: .data.nodes
          external_id: .slug
          http_polling:
            method: post
            url: {api.url}/graphql
            headers:
            - name: Authorization
              value: Bearer {{{{ 'api' | secret }}}}
            body: '{{"after": "{{{{ cursor }}}}"}}'
            next_cursor:
              from: payload
              value: .data.end
        """,
    )
    result = runner_for(integration.extractor("thing"), token="s3cret").run()
    assert result.complete and [r["external_id"] for r in result.records] == ["a", "b", "c"]
    assert [r["method"] for r in api.requests] == ["POST", "POST"]
    assert api.requests[0]["headers"]["authorization"] == "Bearer s3cret"


@pytest.mark.parametrize("source", ["payload", "header"])  # read in turn / read ahead
def test_a_repeating_cursor_stops_with_an_error_and_keeps_what_was_read(
    api: Any, tmp_path: Path, source: str
):
    api.handler = lambda *a: (200, {"X-Next": "same"}, {"items": [{"id": "x"}], "next": "same"})
    value = ".next" if source == "payload" else '.["x-next"]'
    integration = integration_from(
        tmp_path,
        f"""
        extractors:
        - external_kind: thing
          iterator: .items
          external_id: .id
          http_polling:
            url: "{api.url}/x?c={{{{ cursor }}}}"
            next_cursor: {{from: {source}, value: '{value}'}}
        """,
    )
    runner = runner_for(integration.extractor("thing"))
    assert runner.reads_ahead is (source == "header")
    result = runner.run()
    assert not result.complete and result.pages == 2 and len(api.requests) == 2
    assert "gave 'same' again after page 2" in result.error and "extract.yaml" in result.error
    assert [r["external_id"] for r in result.records] == ["x"]


def test_non_json_body_is_a_clear_error_with_secrets_redacted(api: Any, tmp_path: Path):
    api.handler = lambda *a: (200, {"Content-Type": "text/html"}, b"<html>maintenance</html>")
    integration = integration_from(
        tmp_path,
        f"""
        extractors:
        - external_kind: thing
          external_id: .id
          http_polling:
            url: "{api.url}/x?token={{{{ 'tok' | secret }}}}"
        """,
    )
    result = runner_for(integration.extractor("thing"), token="hunter2").run()
    assert "not JSON" in result.error and "text/html" in result.error and "maintenance" in result.error
    assert "hunter2" not in result.error and "token=***" in result.error


def test_iterator_dot_and_dot_brackets_are_equivalent_and_exclude_drops(api: Any, tmp_path: Path):
    api.handler = lambda *a: (
        200,
        {},
        [{"id": 1, "env": "prod"}, {"id": 2, "env": "dev"}, {"id": 3, "env": "dev"}],
    )
    for iterator in ('"."', '".[]"'):
        integration = integration_from(
            tmp_path,
            f"""
            extractors:
            - external_kind: thing
              iterator: {iterator}
              external_id: .id
              exclude: .env == "prod"
              http_polling: {{url: "{api.url}/x"}}
            """,
        )
        result = runner_for(integration.extractor("thing")).run()
        assert [r["external_id"] for r in result.records] == ["2", "3"] and result.excluded == 1


def test_an_item_without_an_id_is_rejected_naming_the_key_and_the_rest_is_kept(api: Any, tmp_path: Path):
    api.handler = lambda *a: (200, {}, [{"id": 1}, {"name": "no id"}, {"id": 3}])
    integration = integration_from(
        tmp_path,
        f"""
        extractors:
        - external_kind: thing
          external_id: .id
          http_polling: {{url: "{api.url}/x"}}
        """,
    )
    result = runner_for(integration.extractor("thing")).run()
    assert not result.complete and result.error is None and result.pages == 1
    assert [r["external_id"] for r in result.records] == ["1", "3"] and result.rejected == 1
    [problem] = result.problems
    assert "extractors[0] (thing) external_id: external_id '.id' gave null for item 1" in problem
    assert f"(page 1: {api.url}/x)" in problem


def test_undefined_parent_field_is_an_error_not_an_empty_string(api: Any, tmp_path: Path):
    api.handler = lambda *a: (200, {}, [])
    integration = integration_from(
        tmp_path,
        f"""
        extractors:
        - external_kind: parent
          external_id: .id
          http_polling: {{url: "{api.url}/parents"}}
        - external_kind: thing
          external_id: .id
          http_polling:
            for_each: parent
            url: "{api.url}/things/{{{{ parent.slug }}}}"
        """,
    )
    result = runner_for(integration.extractor("thing")).run({"external_id": "1", "data": {"id": 1}})
    assert not result.complete and "slug" in result.error
    assert api.requests == []  # nothing was sent with a half-rendered URL


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://sentry.io/api/0/projects/", "http://127.0.0.1:9/api/0/projects/"),
        ("https://sentry.io", "http://127.0.0.1:9"),
        ("https://sentry.io.evil.example/api/", "https://sentry.io.evil.example/api/"),
        ("https://other.example/api/", "https://other.example/api/"),
    ],
)
def test_rewrite_origin_only_touches_the_exact_origin(url: str, expected: str):
    assert rewrite_origin(url, {"https://sentry.io": "http://127.0.0.1:9/"}) == expected
