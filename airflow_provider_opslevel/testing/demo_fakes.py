"""The fakes as `make demo`, `make airflow` and the end-to-end tests run them: seeded alike.

A fake Sentry (3 projects, 4 issues each, 2 per page) and a fake OpsLevel holding one service per
Sentry project, aliased by the project's slug (so the seed's relationship rule has services to
link issues to), plus the Airflow environment that points the example DAG at them.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow_provider_opslevel.testing.fake_opslevel import FakeOpsLevel
from airflow_provider_opslevel.testing.fake_sentry import FakeSentry
from airflow_provider_opslevel.transform.report import table

SENTRY_TOKEN = "demo-sentry-token"
OPSLEVEL_TOKEN = "demo-opslevel-token"


@dataclass(frozen=True)
class DemoFakes:
    """Both fakes, started and seeded."""

    sentry: FakeSentry
    opslevel: FakeOpsLevel

    def environment(self) -> dict[str, str]:
        """The connections ``opslevel_default`` and ``sentry_api_token``, and ``SENTRY_URL``."""
        return {
            "AIRFLOW_CONN_OPSLEVEL_DEFAULT": json.dumps(
                {"conn_type": "opslevel", "host": self.opslevel.url, "password": OPSLEVEL_TOKEN}
            ),
            "AIRFLOW_CONN_SENTRY_API_TOKEN": json.dumps({"conn_type": "generic", "password": SENTRY_TOKEN}),
            "SENTRY_URL": self.sentry.url,
        }

    def synced_projects(self) -> list[dict[str, Any]]:
        """The Sentry projects the seed's integration reads issues of: those not named
        ``production`` (the seed's ``exclude``)."""
        return [project for project in self.sentry.projects if "production" not in project["name"]]

    def expected_issues(self) -> dict[str, dict[str, Any]]:
        """The issues the seed's integration syncs, by id: every unresolved issue of
        :meth:`synced_projects`."""
        issues: dict[str, dict[str, Any]] = {}
        for project in self.synced_projects():
            issues.update((issue["id"], issue) for issue in self.sentry.visible_issues(project["id"]))
        return issues

    def sentry_issue_components(self) -> list[dict[str, Any]]:
        """The fake catalog's ``sentry_issue`` components, by project slug, then name."""
        return sorted(
            (c for c in self.opslevel.components() if c["type"] == "sentry_issue"),
            key=lambda c: (c["properties"].get("project_slug") or [""], c["name"]),
        )

    def catalog_text(self) -> str:
        """What `make demo` prints: the issue components, then each service's related issues."""
        issues = self.sentry_issue_components()
        rows = [
            [
                c["managedAliases"][0] if c["managedAliases"] else "",
                c["name"][:46],
                ",".join(c["properties"].get("project_slug") or []),
                str(c["properties"].get("substatus") or ""),
            ]
            for c in issues
        ]
        lines = [
            f"OpsLevel catalog: {len(issues)} sentry_issue component(s)",
            textwrap.indent(table(["alias", "name", "project_slug", "substatus"], rows), "  "),
            "",
            "Services and their Sentry issues (relationship `sentry_issues`, set by its management rule):",
        ]
        services = (c for c in self.opslevel.components() if c["type"] == "service")
        for service in sorted(services, key=lambda c: c["name"]):
            related = self.opslevel.related(service["managedAliases"][0], "sentry_issues")
            lines.append(f"  {service['name']} ({service['managedAliases'][0]}): {len(related)} issue(s)")
            lines.extend(f"    - {issue['name'][:70]}" for issue in sorted(related, key=lambda c: c["name"]))
        return "\n".join(lines)


@contextmanager
def demo_fakes(*, projects: int = 3, issues_per_project: int = 4, page_size: int = 2) -> Iterator[DemoFakes]:
    """Start both fakes on free ports, seed them, stop them on exit.

    :param projects: Sentry projects (the 3rd and 7th are named ``*-production``, which the seed
        excludes; past the 10th they are ``Project N``).
    :param issues_per_project: issues of each project.
    :param page_size: issues per Sentry page.
    """
    with (
        FakeSentry(
            token=SENTRY_TOKEN, projects=projects, issues_per_project=issues_per_project, page_size=page_size
        ) as sentry,
        FakeOpsLevel(token=OPSLEVEL_TOKEN) as opslevel,
    ):
        for project in sentry.projects:
            opslevel.add_component(project["name"], type="service", aliases=[project["slug"]])
        yield DemoFakes(sentry, opslevel)
