"""FakeSentry over real HTTP: auth, Sentry-style Link pagination, payload shapes, hooks."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from airflow_provider_opslevel.testing import FakeSentry
from airflow_provider_opslevel.testing.sentry_faults import too_many_requests

LINK_PART = re.compile(
    r'<(?P<url>[^>]*)>; rel="(?P<rel>\w+)"; results="(?P<results>true|false)"; cursor="(?P<cursor>[^"]*)"'
)
RATE_HEADERS = (
    "X-Sentry-Rate-Limit-Limit",
    "X-Sentry-Rate-Limit-Remaining",
    "X-Sentry-Rate-Limit-Reset",
    "X-Sentry-Rate-Limit-ConcurrentLimit",
    "X-Sentry-Rate-Limit-ConcurrentRemaining",
)


def parse_link(header: str) -> dict[str, dict[str, str]]:
    """Parse a Sentry Link header, checking it has exactly the documented shape and order."""
    parts = [m.groupdict() for m in LINK_PART.finditer(header)]
    assert [p["rel"] for p in parts] == ["previous", "next"], header
    rebuilt = ", ".join(
        f'<{p["url"]}>; rel="{p["rel"]}"; results="{p["results"]}"; cursor="{p["cursor"]}"' for p in parts
    )
    assert rebuilt == header
    for part in parts:
        assert part["url"].endswith(f"&cursor={part['cursor']}")
    return {p["rel"]: p for p in parts}


def follow(get: Any, url: str) -> tuple[list[dict[str, Any]], list[requests.Response]]:
    """Fetch every page the way OpsLevel's extractor does: next while results == "true"."""
    rows: list[dict[str, Any]] = []
    responses = []
    while url:
        response = get(url)
        assert response.status_code == 200, response.text
        responses.append(response)
        rows += response.json()
        nxt = parse_link(response.headers["Link"])["next"]
        url = nxt["url"] if nxt["results"] == "true" else ""
        assert len(responses) < 50
    return rows, responses


def test_auth_is_required(sentry: FakeSentry) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Token sentry-test-token"}):
        response = requests.get(f"{sentry.url}/api/0/projects/", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token"}
        assert all(name in response.headers for name in RATE_HEADERS)


def test_project_listing_pages_through_link_headers(sentry: FakeSentry, sentry_get: Any) -> None:
    rows, responses = follow(sentry_get, f"{sentry.url}/api/0/projects/")
    assert len(responses) == 2  # 3 projects, page size 2
    assert sorted(r["id"] for r in rows) == sorted(p["id"] for p in sentry.projects)
    assert all(r["organization"]["slug"] == "opslevel" for r in rows)
    assert {"id", "slug", "name"} <= rows[0]["organization"].keys()

    first = parse_link(responses[0].headers["Link"])
    assert first["previous"] == {
        "url": f"{sentry.url}/api/0/projects/?&cursor=0:0:1",
        "rel": "previous",
        "results": "false",
        "cursor": "0:0:1",
    }
    assert first["next"]["url"] == f"{sentry.url}/api/0/projects/?&cursor=0:2:0"
    last = parse_link(responses[-1].headers["Link"])
    assert last["next"]["results"] == "false"  # next is present on the last page too
    assert last["previous"]["results"] == "true"
    # the previous cursor leads back to the first page
    back = sentry_get(last["previous"]["url"])
    assert [p["id"] for p in back.json()] == [p["id"] for p in responses[0].json()]


def test_organization_projects(sentry: FakeSentry, sentry_get: Any) -> None:
    response = sentry_get("/api/0/organizations/opslevel/projects/", per_page="100")
    assert response.status_code == 200
    projects = response.json()
    assert [p["slug"] for p in projects] == ["backend-api", "frontend-web", "payments-production"]
    assert all("organization" not in p for p in projects)
    link = parse_link(response.headers["Link"])
    assert (
        link["next"]["url"]
        == f"{sentry.url}/api/0/organizations/opslevel/projects/?per_page=100&cursor=0:100:0"
    )
    assert link["next"]["results"] == "false"
    assert sentry_get("/api/0/organizations/opslevel/projects/", per_page="101").status_code == 400
    missing = sentry_get("/api/0/organizations/acme/projects/")
    assert (missing.status_code, missing.json()) == (404, {"detail": "The requested resource does not exist"})


def test_default_names_exercise_the_production_exclude(sentry: FakeSentry) -> None:
    assert any(re.search("production", p["name"]) for p in sentry.projects)
    assert FakeSentry(projects=2, project_names=["a", "b"]).projects[1]["name"] == "b"


def test_issues_by_id_and_by_slug(sentry: FakeSentry, sentry_get: Any) -> None:
    project = sentry.projects[0]
    by_slug, _ = follow(sentry_get, f"{sentry.url}/api/0/projects/opslevel/{project['slug']}/issues/")
    by_id, _ = follow(sentry_get, f"{sentry.url}/api/0/projects/opslevel/{project['id']}/issues/")
    assert by_slug == by_id
    assert [i["id"] for i in by_id] == [i["id"] for i in sentry.issues[project["id"]]]
    assert len(by_id) == 5


def test_issue_limit_parameter(sentry: FakeSentry, sentry_get: Any) -> None:
    path = f"/api/0/projects/opslevel/{sentry.projects[1]['slug']}/issues/"
    response = sentry_get(path, limit="3")
    assert len(response.json()) == 3
    link = parse_link(response.headers["Link"])
    assert link["next"]["url"] == f"{sentry.url}{path}?limit=3&cursor=0:3:0"
    assert link["next"]["results"] == "true"
    rest = sentry_get(link["next"]["url"])
    assert len(rest.json()) == 2
    assert parse_link(rest.headers["Link"])["next"]["results"] == "false"
    assert len(sentry_get(path, limit="500").json()) == 5  # clamped to 100, above page_size
    assert sentry_get(path, limit="0").status_code == 400
    assert sentry_get(path, cursor="garbage").status_code == 400
    assert sentry_get(path, statsPeriod="1y").status_code == 400


def test_issue_404s(sentry: FakeSentry, sentry_get: Any) -> None:
    for path in (
        "/api/0/projects/opslevel/nope/issues/",
        f"/api/0/projects/acme/{sentry.projects[0]['id']}/issues/",
    ):
        response = sentry_get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "The requested resource does not exist"}


def test_issue_payload_shape(sentry_get: Any) -> None:
    with FakeSentry(projects=4, issues_per_project=10) as fake:
        issues = []
        for project in fake.projects:
            response = sentry_get(f"{fake.url}/api/0/projects/opslevel/{project['id']}/issues/")
            for issue in response.json():
                assert issue["project"] == {k: project[k] for k in ("id", "name", "slug", "platform")}
                issues.append(issue)
    assert len(issues) == 40
    assert len({i["id"] for i in issues}) == 40  # globally unique
    for issue in issues:
        assert isinstance(issue["id"], str) and isinstance(issue["count"], str)
        assert isinstance(issue["userCount"], int)
        assert issue["permalink"] == f"{fake.url}/organizations/opslevel/issues/{issue['id']}/"
        assert issue["assignedTo"] is None
        assert issue["status"] == "unresolved"
        assert {"shortId", "title", "culprit", "level", "firstSeen", "lastSeen", "metadata"} <= issue.keys()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", issue["lastSeen"])
    assert any(i["culprit"] is None for i in issues) and any(i["culprit"] for i in issues)
    assert any(i["substatus"] is None for i in issues)
    assert len({i["substatus"] for i in issues}) >= 3


def test_data_is_deterministic() -> None:
    assert FakeSentry(seed=3).issues == FakeSentry(seed=3).issues
    assert FakeSentry(seed=3).issues != FakeSentry(seed=4).issues


def test_default_query_hides_resolved_issues_after_cutting_the_page(sentry_get: Any) -> None:
    with FakeSentry(projects=1, issues_per_project=6, page_size=2, resolved_every=2) as fake:
        pid = fake.projects[0]["id"]
        rows, responses = follow(sentry_get, f"{fake.url}/api/0/projects/opslevel/{pid}/issues/")
        assert [len(r.json()) for r in responses] == [1, 1, 1]  # short pages, yet more follow
        assert rows == fake.visible_issues(pid)
        everything, _ = follow(sentry_get, f"{fake.url}/api/0/projects/opslevel/{pid}/issues/?query=")
        assert len(everything) == 6
        assert parse_link(responses[0].headers["Link"])["next"]["url"].endswith("/issues/?&cursor=0:2:0")


def test_mutating_data_between_runs(sentry: FakeSentry, sentry_get: Any) -> None:
    project = sentry.projects[2]
    added = sentry.add_issue(project["slug"], title="Brand new", culprit=None)
    removed = sentry.remove_issue(sentry.issues[project["id"]][0]["id"])
    rows, _ = follow(sentry_get, f"{sentry.url}/api/0/projects/opslevel/{project['id']}/issues/")
    ids = [r["id"] for r in rows]
    assert added["id"] in ids and removed["id"] not in ids
    assert rows[-1]["permalink"].startswith(sentry.url)
    sentry.projects.pop()
    listed, _ = follow(sentry_get, f"{sentry.url}/api/0/projects/")
    assert len(listed) == 2
    with pytest.raises(KeyError):
        sentry.remove_issue("0")


def test_request_log_and_faults(sentry: FakeSentry, sentry_get: Any) -> None:
    calls = []

    def once(info: dict[str, Any]) -> Any:
        calls.append(info["path"])
        return (503, {"Retry-After": "0"}, b"busy") if len(calls) == 1 else None

    sentry.faults.append(once)
    assert sentry_get("/api/0/projects/").status_code == 503
    assert sentry_get("/api/0/projects/").status_code == 200
    log = sentry.requests
    assert sentry.request_count == 2 and [e["status"] for e in log] == [503, 200]
    assert log[0]["method"] == "GET" and log[0]["path"] == "/api/0/projects/"
    assert log[0]["headers"]["authorization"] == "Bearer sentry-test-token"
    sentry.faults[:] = [lambda info: too_many_requests()]
    limited = sentry_get("/api/0/projects/?per_page=5")
    assert limited.status_code == 429 and isinstance(limited.json(), str)
    assert sentry.requests[-1]["query"] == {"per_page": "5"}
    sentry.reset_log()
    assert sentry.request_count == 0


def test_rate_limit_headers_and_enforcement(sentry_get: Any) -> None:
    with FakeSentry(rate_limit=3, enforce_rate_limit=True) as fake:
        statuses, remaining = [], []
        for _ in range(8):
            response = sentry_get(f"{fake.url}/api/0/projects/")
            statuses.append(response.status_code)
            remaining.append(int(response.headers["X-Sentry-Rate-Limit-Remaining"]))
            assert int(response.headers["X-Sentry-Rate-Limit-Reset"]) > 1_700_000_000
    # 8 quick requests span at most two one-second windows, so one window sees 4+ of them
    assert 429 in statuses
    assert statuses[0] == 200 and all(0 <= r <= 2 for r in remaining)
