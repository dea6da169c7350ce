"""load_integration: caching, the single-file form, the for_each graph, and no Airflow import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_opslevel.config import clear_cache, load_integration
from airflow_provider_opslevel.errors import ConfigError

EXTRACT = """\
extractors:
- external_kind: issue
  external_id: .id
  http_polling:
    for_each: project
    url: https://example.com/{{ project.slug }}/issues
- external_kind: project
  external_id: .id
  http_polling:
    for_each: org
    url: https://example.com/{{ org.id }}/projects
- external_kind: org
  external_id: .id
  http_polling:
    url: https://example.com/orgs
- external_kind: team
  external_id: .id
  http_polling:
    url: https://example.com/teams
- external_kind: member
  external_id: .id
  http_polling:
    for_each: team
    url: https://example.com/{{ team.id }}/members
"""

TRANSFORM = """\
transforms:
- external_kind: issue
  opslevel_kind: sentry_issue
  opslevel_identifier: .id
  on_component_not_found: create
  aliases: .shortId
- external_kind: project
  opslevel_kind: service
  opslevel_identifier: .slug
  on_component_not_found: suggest
  aliases:
  - .slug
  - '[.name, .id]'
  default_properties:
    name: .name
    tags: '[{key: "platform", value: .platform}]'
- external_kind: issue
  opslevel_kind: alert
  opslevel_identifier: '"a-" + .id'
  on_component_not_found: skip
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path / "extract.yaml", EXTRACT), write(tmp_path / "transform.yaml", TRANSFORM)


def kinds(extractors: tuple) -> list[str]:  # type: ignore[type-arg]
    return [e.external_kind for e in extractors]


def test_graph_queries(files: tuple[Path, Path]) -> None:
    integration = load_integration(*files)
    assert kinds(integration.roots()) == ["org", "team"]
    assert kinds(integration.children("org")) == ["project"]
    assert kinds(integration.children("team")) == ["member"]
    assert kinds(integration.children("issue")) == []
    ordered = kinds(integration.ordered())
    assert sorted(ordered) == sorted(integration.kinds)
    for extractor in integration.extractors:
        if extractor.for_each:
            assert ordered.index(extractor.for_each) < ordered.index(extractor.external_kind)


def test_extractor_lookup_suggests(files: tuple[Path, Path]) -> None:
    integration = load_integration(*files)
    assert integration.extractor("org").external_kind == "org"
    assert integration.parent("org") is None
    with pytest.raises(KeyError, match="did you mean 'project'"):
        integration.extractor("projects")


def test_transforms_for_keeps_file_order_and_aliases(files: tuple[Path, Path]) -> None:
    integration = load_integration(*files)
    assert [t.opslevel_kind for t in integration.transforms_for("issue")] == ["sentry_issue", "alert"]
    (project,) = integration.transforms_for("project")
    assert project.on_component_not_found == "suggest"
    assert [a.source for a in project.aliases] == [".slug", "[.name, .id]"]
    assert [a.first({"slug": "s", "name": "n", "id": "1"}) for a in project.aliases] == ["s", ["n", "1"]]
    assert [name for name, _ in project.default_properties.items()] == ["name", "tags"]
    assert project.default_properties.tags is not None
    assert project.default_properties.tags.first({"platform": "python"}) == [
        {"key": "platform", "value": "python"}
    ]
    assert project.location("aliases[1]").line == 13
    (issue, _) = integration.transforms_for("issue")
    assert [a.source for a in issue.aliases] == [".shortId"]


def test_cache_returns_same_object_until_the_file_changes(files: tuple[Path, Path]) -> None:
    first = load_integration(*files)
    assert load_integration(*files) is first
    _, transform = files
    write(transform, TRANSFORM.replace("on_component_not_found: skip", "on_component_not_found: create"))
    stat = transform.stat()
    os.utime(transform, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_integration(*files)
    assert second is not first
    assert second.transforms[2].on_component_not_found == "create"
    assert load_integration(*files) is second
    clear_cache()
    assert load_integration(*files) is not second


def test_cache_notices_same_mtime_but_new_size(files: tuple[Path, Path]) -> None:
    first = load_integration(*files)
    extract, _ = files
    stat = extract.stat()
    write(extract, EXTRACT + "- external_kind: extra\n  external_id: .id\n")
    os.utime(extract, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert "extra" in load_integration(*files).kinds and "extra" not in first.kinds


def test_invalid_files_are_not_cached(files: tuple[Path, Path]) -> None:
    extract, transform = files
    write(extract, "extractors: {}\n")
    for _ in range(2):
        with pytest.raises(ConfigError):
            load_integration(extract, transform)


def test_single_file_with_both_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "integration.yaml", EXTRACT + TRANSFORM)
    integration = load_integration(path, path)
    assert integration.extract_path == integration.transform_path == path
    assert len(integration.extractors) == 5 and len(integration.transforms) == 3
    assert integration.transforms[0].where.file == str(path)


def test_single_file_with_two_documents(tmp_path: Path) -> None:
    path = write(tmp_path / "integration.yaml", "---\n" + EXTRACT + "---\n" + TRANSFORM)
    integration = load_integration(path, path)
    assert len(integration.extractors) == 5
    assert integration.transforms[1].where.line == 7 + len(EXTRACT.splitlines()) + 2


def test_single_file_reports_missing_half(tmp_path: Path) -> None:
    path = write(tmp_path / "integration.yaml", EXTRACT)
    with pytest.raises(ConfigError) as info:
        load_integration(path, path)
    (problem,) = info.value.problems
    assert problem.message == "missing required key 'transforms'"


def test_single_file_given_by_two_spellings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "integration.yaml", EXTRACT + TRANSFORM)
    monkeypatch.chdir(tmp_path)
    integration = load_integration("integration.yaml", path)
    assert integration.extractors[0].where.file == "integration.yaml"  # the path as given


def test_config_layer_does_not_import_airflow() -> None:
    code = (
        "import sys, airflow_provider_opslevel.config, airflow_provider_opslevel.templating, "
        "airflow_provider_opslevel.expressions, airflow_provider_opslevel.errors\n"
        "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env)
