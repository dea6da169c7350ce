"""The fake Sentry's data generator on its own: deterministic, list-shaped issues."""

from __future__ import annotations

import random

from airflow_provider_opslevel.testing.sentry_data import make_issue, make_organization, make_project


def test_projects_belong_to_the_organization_and_issues_are_deterministic() -> None:
    project = make_project(0, "Backend API", make_organization("acme"))
    assert (project["slug"], project["organization"]["slug"]) == ("backend-api", "acme")
    first = make_issue(random.Random(1), 6500000001, 1, project)
    assert first == make_issue(random.Random(1), 6500000001, 1, project)
    assert (first["id"], first["permalink"], first["status"]) == ("6500000001", None, "unresolved")
    assert first["shortId"].startswith("BACKEND-API-") and "activity" not in first  # list shape
    hidden = make_issue(random.Random(1), 6500000002, 2, project, hidden=True)
    assert hidden["status"] in ("resolved", "ignored")
