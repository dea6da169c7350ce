"""The fake Sentry's generated data: organization, projects and issues built from the packaged fixtures.

Payload shapes come from the Sentry fixtures in ``data/`` (sentry-mcp mock server and the
sentry-api-schema examples); values come from a seeded :class:`random.Random`, so a seed always
gives the same data.
"""

from __future__ import annotations

import copy
import functools
import json
import random
import re
from datetime import datetime, timedelta, timezone
from importlib.resources import files
from typing import Any

__all__ = ["DEFAULT_PROJECT_NAMES", "load_template", "make_issue", "make_organization", "make_project"]

DEFAULT_PROJECT_NAMES = (
    "Backend API",
    "Frontend Web",
    "payments-production",
    "Mobile App",
    "Data Pipeline",
    "Auth Service",
    "search-production",
    "Notifications Worker",
    "Billing Service",
    "Admin Console",
)
_PLATFORMS = ("python", "javascript-react", "python-django", "node", "go", "ruby-rails", "java-spring", "php")
_TEAMS = ("platform", "web", "payments", "mobile")
_ISSUE_TEMPLATES = ("issue.json", "issue-null-culprit.json", "performance-issue.json", "regressed-issue.json")
# Keys only the issue *detail* endpoint returns; list items do not carry them.
_DETAIL_ONLY = (
    "activity",
    "openPeriods",
    "seenBy",
    "pluginActions",
    "pluginIssues",
    "pluginContexts",
    "userReportCount",
    "participants",
    "firstRelease",
    "lastRelease",
)
_TITLES = {
    "error": (
        "TypeError: Cannot read properties of undefined (reading 'id')",
        "ValueError: invalid literal for int() with base 10: 'abc'",
        "KeyError: 'user_id'",
        "ConnectionError: Max retries exceeded with url: /v1/charges",
        "OperationalError: could not connect to server: Connection refused",
        "TimeoutError: Request timed out after 30000ms",
        "Error: Tool list_organizations is already registered",
        "AttributeError: 'NoneType' object has no attribute 'email'",
        "RangeError: Maximum call stack size exceeded",
        "ZeroDivisionError: division by zero",
    ),
    "performance": (
        "N+1 Query: SELECT * FROM users WHERE id = %s",
        "Slow DB Query: SELECT * FROM orders WHERE status = %s",
        "Consecutive HTTP: GET /api/inventory",
        "Large HTTP Payload: GET /api/reports/export",
    ),
    "metric": ("Endpoint Regression", "Function Regression: render_dashboard"),
}
_CULPRITS = (
    "app.views.checkout in post",
    "GET /api/users",
    "src/components/Cart.tsx in CartItem",
    "worker.tasks in process_payment",
    "Object.fetch(index)",
    "POST /oauth/token",
)
_UNRESOLVED_SUBSTATUS = ("ongoing", "new", "regressed", "escalating", None)
_IGNORED_SUBSTATUS = ("archived_until_escalating", "archived_until_condition_met", "archived_forever")
_BASE_DATE = datetime(2025, 3, 3, 9, 15, 0, 123456, tzinfo=timezone.utc)


def load_template(name: str) -> Any:
    """A fresh copy of one of the packaged Sentry JSON fixtures in ``testing/data``.

    :param name: file name, e.g. ``"issue.json"``.
    """
    return copy.deepcopy(_read_template(name))


@functools.cache
def _read_template(name: str) -> Any:
    return json.loads((files("airflow_provider_opslevel.testing") / "data" / name).read_text("utf-8"))


def make_organization(slug: str) -> dict[str, Any]:
    """The organization every project belongs to (id ``1``, named after its slug)."""
    example = load_template("list-your-projects.json")["200"][0]["organization"]
    org = copy.deepcopy(example)
    org.update(id="1", slug=slug, name=slug)
    return org


def make_project(index: int, name: str, organization: dict[str, Any]) -> dict[str, Any]:
    """The ``index``-th project (0-based), named ``name``; ids, team and platform follow ``index``."""
    template = load_template("project.json")
    listing = load_template("list-your-projects.json")["200"][0]
    team_slug = _TEAMS[index % len(_TEAMS)]
    team = {"id": str(4509106733776896 + index % len(_TEAMS)), "slug": team_slug, "name": team_slug}
    project = copy.deepcopy(template)
    project.update(
        id=str(4509109104082945 + index),
        slug=_slugify(name),
        name=name,
        platform=_PLATFORMS[index % len(_PLATFORMS)],
        dateCreated=_iso(_BASE_DATE - timedelta(days=90 - index, seconds=index * 7), True),
        team=team,
        teams=[team],
        avatar=copy.deepcopy(listing["avatar"]),
        color=listing["color"],
        isInternal=False,
        isPublic=False,
        status="active",
        organization=copy.deepcopy(organization),
    )
    return project


def make_issue(
    rng: random.Random, number: int, seq: int, project: dict[str, Any], *, hidden: bool = False
) -> dict[str, Any]:
    """A list-shaped issue of ``project``; ``permalink`` is left ``None`` for the server to fill in.

    :param rng: the generator's random source (drawn from in a fixed order).
    :param number: the issue id; also picks the fixture it is shaped after.
    :param seq: the issue's number within its project, for ``shortId``.
    :param project: the project it belongs to.
    :param hidden: resolved or ignored (hidden by the default ``is:unresolved`` query).
    """
    template_name = _ISSUE_TEMPLATES[number % len(_ISSUE_TEMPLATES)]
    issue = load_template(template_name)
    for key in _DETAIL_ONLY:
        issue.pop(key, None)
    category = issue.get("issueCategory") or "error"
    title = rng.choice(_TITLES.get(category, _TITLES["error"]))
    if template_name == "issue-null-culprit.json" or rng.random() < 0.15:
        culprit = None
    else:
        culprit = rng.choice(_CULPRITS)
    if hidden:
        status = rng.choice(("resolved", "ignored"))
        substatus = None if status == "resolved" else rng.choice(_IGNORED_SUBSTATUS)
    else:
        status, substatus = "unresolved", rng.choice(_UNRESOLVED_SUBSTATUS)
    first_seen = _BASE_DATE + timedelta(
        minutes=rng.randint(0, 60 * 24 * 30), microseconds=rng.randint(0, 999999)
    )
    last_seen = first_seen + timedelta(minutes=rng.randint(0, 60 * 24 * 14), seconds=rng.randint(0, 59))
    metadata = dict(issue.get("metadata") or {})
    metadata.update(title=title, value=title.partition(": ")[2] or title)
    issue.update(
        id=str(number),
        shortId=f"{project['slug'].upper()}-{_short_number(seq + 30)}",
        title=title,
        culprit=culprit,
        permalink=None,
        level=rng.choice(("error", "error", "warning", "fatal", "info")),
        status=status,
        substatus=substatus,
        platform=project.get("platform"),
        project={k: project.get(k) for k in ("id", "name", "slug", "platform")},
        metadata=metadata,
        assignedTo=None,
        count=str(rng.randint(1, 5000)),
        userCount=rng.randint(0, 300),
        firstSeen=_iso(first_seen, rng.random() < 0.5),
        lastSeen=_iso(last_seen, rng.random() < 0.5),
    )
    return issue


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "project"


def _iso(moment: datetime, micros: bool) -> str:
    # Sentry emits both "…:19.403000Z" and "…:11Z"; clients must accept either.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micros else "%Y-%m-%dT%H:%M:%SZ")


def _short_number(n: int) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    out = ""
    while True:
        n, digit = divmod(n, len(alphabet))
        out = alphabet[digit] + out
        if not n:
            return out
