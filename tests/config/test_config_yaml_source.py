"""The line-aware YAML loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_opslevel.config.yaml_source import YamlMapping, YamlSequence, load_yaml_file
from airflow_provider_opslevel.errors import ConfigError

TEXT = """\
base: &base {p: 1, q: 2}
merged:
  <<: *base
  q: 3
list:
- plain
- |
  block
  text
flag: yes
"""


def test_lines_for_keys_values_and_items(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(TEXT)
    (document,) = load_yaml_file(path)
    assert isinstance(document, YamlMapping) and document.line == 1
    assert document.position("merged").key_line == 2 and document.position("merged").value_line == 3
    items = document["list"]
    assert isinstance(items, YamlSequence) and items == ["plain", "block\ntext\n"]
    assert [p.key_line for p in items.positions] == [6, 7]
    assert [p.value_line for p in items.positions] == [6, 8]  # block content starts after "|"
    assert document["flag"] is True and document.position("flag").raw == "yes"


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(TEXT)
    (document,) = load_yaml_file(path)
    assert document["merged"] == {"p": 1, "q": 3}
    assert document["merged"].duplicate_keys == []


def test_repeated_keys_are_recorded(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\nb: 2\na: 3\n")
    (document,) = load_yaml_file(path)
    assert document["a"] == 3 and document.duplicate_keys == [("a", 3)]


def test_syntax_error_has_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a:\n  b: 1\n c: 2\n")
    with pytest.raises(ConfigError) as info:
        load_yaml_file(path)
    (problem,) = info.value.problems
    assert problem.location is not None and problem.location.file == str(path) and problem.location.line == 3
    assert problem.message.startswith("invalid YAML: ")


def test_unsafe_tags_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_yaml_file(path)
