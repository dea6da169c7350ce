"""The line-aware YAML loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_opslevel.config.yaml_source import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENTS,
    MAX_NODES,
    YamlMapping,
    YamlSequence,
    load_yaml_file,
)
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


# ------------------------------------------------------------------------------------ limits


def _problem(path: Path) -> tuple[int | None, str]:
    with pytest.raises(ConfigError) as info:
        load_yaml_file(path)
    (problem,) = info.value.problems
    assert problem.location is not None and problem.location.file == str(path)
    return problem.location.line, problem.message


def test_size_limit_is_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    body = "a: 1\n# " + "x" * (MAX_DOCUMENT_BYTES - 8) + "\n"
    path.write_text(body)
    assert len(body) == MAX_DOCUMENT_BYTES and load_yaml_file(path) == [{"a": 1}]
    path.write_text(body + "b: 2\n")
    line, message = _problem(path)
    assert line == 3  # the first byte past the limit is on line 3
    assert message.startswith(f"the file has {MAX_DOCUMENT_BYTES + 5:,} bytes, more than the limit of")


def test_depth_limit_is_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    (document,) = load_yaml_file(path)
    for _ in range(MAX_DEPTH - 1):
        document = document[0]
    assert document == []
    path.write_text("a:\n  b: " + "[ x, " * MAX_DEPTH + "]" * MAX_DEPTH)  # not a run of brackets
    assert _problem(path) == (2, f"nesting is deeper than {MAX_DEPTH} levels (the limit)")


def test_aliases_count_what_they_expand_to(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    # Line 1 holds 1,002 nodes (mapping, key, sequence of 999); each "uN: *big" adds 1,001:
    # 18 of them make 19,020 (allowed), the 19th (u18, line 20) 20,021.
    items = ", ".join(["x"] * 999)
    uses = "".join(f"u{i}: *big\n" for i in range(19))
    path.write_text(f"big: &big [{items}]\n{uses}")
    line, message = _problem(path)
    assert line == 20 and message.startswith(f"the file expands to more than {MAX_NODES:,} values")
    path.write_text(f"big: &big [{items}]\n{uses[: uses.index('u18')]}")
    (document,) = load_yaml_file(path)
    assert document["u17"] is document["big"]  # aliases share one object, nothing is copied


def test_an_anchor_may_be_reused_after_it_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: &a {k: [1, 2]}\nb: [*a, *a]\nc: &c [x]\nd: *c\n")
    (document,) = load_yaml_file(path)
    assert document["b"] == [{"k": [1, 2]}] * 2 and document["d"] == ["x"]


def test_recursive_alias_and_documents_limit(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a:\n  b: &loop\n    c: [1, *loop]\n")
    assert _problem(path) == (3, "alias *loop is used inside the value it names (a recursive alias)")
    path.write_text("---\na: 1\n" * MAX_DOCUMENTS)
    assert len(load_yaml_file(path)) == MAX_DOCUMENTS
    path.write_text("---\na: 1\n" * (MAX_DOCUMENTS + 1))
    assert _problem(path) == (
        2 * MAX_DOCUMENTS + 1,
        f"more than {MAX_DOCUMENTS} YAML documents in one file (the limit)",
    )


def test_non_utf8_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    assert _problem(path) == (2, "the file is not UTF-8: byte 0xe9 at column 7 (invalid continuation byte)")


def test_repeated_key_remembers_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\nb: 2\na: 3\na: 4\n")
    (document,) = load_yaml_file(path)
    assert document.duplicate_keys == [("a", 3), ("a", 4)] and document.first_lines == {"a": 1}
