"""The seed's Sentry documents load verbatim and compile into working models."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from airflow_provider_opslevel.config import Extractor, load_integration

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
SEED_DOC = DATA / "seed-sentry-custom-integration.md"  # a copy of the reference document


def _seed_blocks(markdown: str) -> list[str]:
    """The ```yaml blocks of the seed README, without the list indentation."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in markdown.split("\n"):
        if line.strip() == "```yaml":
            current = []
        elif line.strip() == "```" and current is not None:
            blocks.append("\n".join(current) + "\n")
            current = None
        elif current is not None:
            current.append(line[4:])
    return blocks


def test_dag_copies_match_the_test_copies() -> None:
    for name in ("extract", "transform"):
        dag_copy = (ROOT / "dags" / "sentry_issues" / f"{name}.yaml").read_bytes()
        assert dag_copy == (DATA / f"seed_{name}.yaml").read_bytes()


def test_copies_are_the_seed_verbatim() -> None:
    extract, transform = _seed_blocks(SEED_DOC.read_text())
    assert (DATA / "seed_extract.yaml").read_text() == extract
    assert (DATA / "seed_transform.yaml").read_text() == transform


@pytest.fixture()
def seed(tmp_path: Path) -> tuple[Path, Path]:
    extract = shutil.copy(DATA / "seed_extract.yaml", tmp_path / "extract.yaml")
    transform = shutil.copy(DATA / "seed_transform.yaml", tmp_path / "transform.yaml")
    return Path(extract), Path(transform)


def test_seed_loads(seed: tuple[Path, Path]) -> None:
    integration = load_integration(*seed)
    assert [e.external_kind for e in integration.extractors] == ["sentry_project", "sentry_issue"]
    assert [t.external_kind for t in integration.transforms] == ["sentry_issue"]
    assert integration.extract_path == seed[0] and integration.transform_path == seed[1]
    assert integration.oauth is None


def test_seed_project_extractor(seed: tuple[Path, Path]) -> None:
    project = load_integration(*seed).extractor("sentry_project")
    assert project.iterator.source == "."
    assert project.external_id.first({"id": "7"}) == "7"
    assert project.exclude is not None and project.exclude.test({"name": "production-api"})
    assert project.expires_after_days is None and not project.is_push and project.for_each is None
    polling = project.http_polling
    assert polling is not None
    assert polling.method == "GET" and polling.body is None and polling.for_each is None
    assert polling.url.render({"cursor": ""}) == "https://sentry.io/api/0/projects/"
    assert [h.name for h in polling.headers] == ["Accept", "Authorization"]
    assert not polling.headers[0].value.variables and not polling.headers[0].value.uses_secrets
    assert (
        polling.headers[1].value.render({"cursor": ""}, {"sentry_api_token": "T"}.__getitem__) == "Bearer T"
    )
    assert polling.uses_secrets and polling.secret_names == {"sentry_api_token"}
    assert polling.next_cursor is not None and polling.next_cursor.from_ == "header"
    link = {"link": {"next": {"target_url": "https://n", "attributes": {"results": "true"}}}}
    assert polling.next_cursor.value.first(link) == "https://n"


def test_seed_issue_extractor_reads_its_parent(seed: tuple[Path, Path]) -> None:
    issue: Extractor = load_integration(*seed).extractor("sentry_issue")
    assert issue.for_each == "sentry_project"
    assert issue.exclude is None
    polling = issue.http_polling
    assert polling is not None and polling.template_names == {"cursor", "sentry_project"}
    url = polling.url.render({"cursor": "", "sentry_project": {"id": "11", "slug": "api"}})
    assert url == "https://sentry.io/api/0/projects/opslevel/11/issues/"


def test_seed_locations(seed: tuple[Path, Path]) -> None:
    integration = load_integration(*seed)
    issue = integration.extractor("sentry_issue")
    assert issue.where.line == 18 and issue.where.index == 1
    for_each = issue.location("http_polling.for_each")
    assert str(for_each) == f"{seed[0]}:23: extractors[1] (sentry_issue) http_polling.for_each"
    assert issue.http_polling is not None
    assert issue.http_polling.url.where == issue.location("http_polling.url")
    assert issue.http_polling.headers[1].value.where is not None
    assert issue.http_polling.headers[1].value.where.key == "http_polling.headers[1].value"
    assert issue.http_polling.headers[1].value.where.line == 29
    assert issue.http_polling.next_cursor is not None
    assert issue.http_polling.next_cursor.value.where == issue.location("http_polling.next_cursor.value")
    assert issue.location("external_kind") == issue.where.with_key("external_kind")
    # Absent keys still get a useful location: the item's, with the key.
    assert issue.location("exclude").line == 18 and issue.location("exclude").key == "exclude"


def test_seed_transform(seed: tuple[Path, Path]) -> None:
    (transform,) = load_integration(*seed).transforms_for("sentry_issue")
    assert transform.opslevel_kind == "sentry_issue"
    assert transform.on_component_not_found == "create"
    assert transform.opslevel_identifier.first({"id": "99"}) == "99"
    assert list(transform.properties) == ["name", "url", "substatus", "project_slug"]
    issue = {"title": "T", "permalink": "P", "substatus": "new", "project": {"slug": "api"}}
    assert {k: v.first(issue) for k, v in transform.properties.items()} == {
        "name": "T",
        "url": "P",
        "substatus": "new",
        "project_slug": "api",
    }
    assert transform.default_properties.items() == [] and transform.aliases == ()
    assert transform.location("properties.project_slug").line == 11
    assert str(transform.where) == f"{seed[1]}:3: transforms[0] (sentry_issue)"


def test_seed_graph(seed: tuple[Path, Path]) -> None:
    integration = load_integration(*seed)
    assert [e.external_kind for e in integration.roots()] == ["sentry_project"]
    assert [e.external_kind for e in integration.children("sentry_project")] == ["sentry_issue"]
    assert [e.external_kind for e in integration.ordered()] == ["sentry_project", "sentry_issue"]
    parent = integration.parent("sentry_issue")
    assert parent is not None and parent.external_kind == "sentry_project"
    assert integration.transforms_for("sentry_project") == ()


def test_dag_folder_documents_load() -> None:
    folder = ROOT / "dags" / "sentry_issues"
    integration = load_integration(folder / "extract.yaml", folder / "transform.yaml")
    assert integration.kinds == ("sentry_project", "sentry_issue")
