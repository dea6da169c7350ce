"""Hostile transforms: what a config author or an API can hand the mapping, and the exact outcome.

Each case runs a real sync against the fake OpsLevel (over HTTP) and asserts what the report
says: the action per component, the skip reason, the problem naming file:line, transform
(index, external_kind) and key, and what was (not) written or deleted.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.opslevel.catalog import BUILTIN_FIELDS, OpsLevelCatalog
from airflow_provider_opslevel.opslevel.client import OpsLevelClient
from airflow_provider_opslevel.testing import FakeOpsLevel
from airflow_provider_opslevel.transform.deletion import OWNER_TAG, PARTITION_TAG, DeletionPolicy
from airflow_provider_opslevel.transform.mapping import MAX_ALIAS_CHARS
from airflow_provider_opslevel.transform.report import SyncReport
from airflow_provider_opslevel.transform.sync import SyncOptions, run_sync

TOKEN = "t"
INTEGRATION = "hostile"


@pytest.fixture
def opslevel() -> Iterator[FakeOpsLevel]:
    with FakeOpsLevel(token=TOKEN) as fake:
        fake.add_component_type(
            "widget",
            "Widget",
            properties={
                "colour": {"name": "Colour", "schema": {"type": "string"}},
                "size": {"name": "Size", "schema": {"type": "integer"}},
                "labels": {"name": "Labels", "schema": {"type": "array", "items": {"type": "string"}}},
            },
        )
        yield fake


def write(tmp_path: Path, body: str) -> Any:
    (tmp_path / "extract.yaml").write_text("extractors:\n- external_kind: rec\n  external_id: .id\n")
    (tmp_path / "transform.yaml").write_text(textwrap.dedent(body).lstrip())
    return load_integration(tmp_path / "extract.yaml", tmp_path / "transform.yaml").transforms


def chunk(*items: dict[str, Any]) -> list:
    records = [{"external_id": str(item["id"]), "data": item} for item in items]
    partition = {"parent": None, "complete": True, "pages": 1, "records": len(records), "error": None}
    return [{"external_kind": "rec", "records": records, "partitions": [partition]}]


def sync(opslevel: FakeOpsLevel, transforms: Any, *items: dict[str, Any]) -> SyncReport:
    catalog = OpsLevelCatalog(OpsLevelClient(opslevel.url, TOKEN, requests_per_minute=None))
    options = SyncOptions(deletion=DeletionPolicy(integration_id=INTEGRATION, max_share=1.0))
    return run_sync(transforms, [chunk(*items)], catalog, dry_run=False, options=options)


def transform(on_not_found: str = "create", identifier: str = ".id", extra: str = "") -> str:
    # Line 1 "transforms:", line 2 the item, lines 3-5 its keys, extra keys from line 6 on.
    return (
        "transforms:\n"
        "- external_kind: rec\n"
        f"  on_component_not_found: {on_not_found}\n"
        "  opslevel_kind: widget\n"
        f"  opslevel_identifier: '{identifier}'\n" + textwrap.indent(textwrap.dedent(extra), "  ")
    )


# -- 1. a custom property named like each built-in field ---------------------------------------------


@pytest.mark.parametrize("key", BUILTIN_FIELDS)
def test_custom_property_named_like_a_builtin_is_written_as_the_property(tmp_path, opslevel, key):
    opslevel.add_component_type(
        "widget", "Widget", properties={key: {"name": f"Custom {key}", "schema": {"type": "string"}}}
    )
    config = write(tmp_path, transform(extra=f"properties:\n  {key}: .v\n"))
    report = sync(opslevel, config, {"id": "a", "v": "custom"})
    assert report.problems() == []
    assert report.property_keys[0]["writes"] == "custom property"
    component = opslevel.component_by_alias("a")
    assert component["properties"] == {key: "custom"}
    assert component["name"] == "a" and (key == "name" or component[key] is None)


# -- 2. an identifier held by a component of another type --------------------------------------------


@pytest.mark.parametrize(
    ("on_not_found", "action", "reason"),
    [
        (
            "skip",
            "skip",
            "alias 'a' is held by 'Payments' ({id}), a 'service' component, not a 'widget'; "
            "skipped (on_component_not_found: skip)",
        ),
        (
            "suggest",
            "skip",
            "alias 'a' is held by 'Payments' ({id}), a 'service' component, not a 'widget'; "
            "skipped (on_component_not_found: suggest)",
        ),
        (
            "create",
            "conflict",
            "alias 'a' is held by 'Payments' ({id}), a 'service' component, not a 'widget'; left untouched",
        ),
    ],
)
def test_identifier_held_by_another_type(tmp_path, opslevel, on_not_found, action, reason):
    human = opslevel.add_component("Payments", type="service", aliases=["a"], description="mine")
    reason = reason.format(id=human["id"])
    config = write(tmp_path, transform(on_not_found, extra="properties:\n  colour: .c\n"))
    report = sync(opslevel, config, {"id": "a", "c": "red"}, {"id": "b", "c": "blue"})
    counts = report.plan.counts()["widget"]
    assert counts[action] == (2 if on_not_found == "skip" else 1)  # under skip, "b" is not found either
    held = report.plan.of(action)[0]
    assert held.message == reason
    assert opslevel.component_by_alias("a")["description"] == "mine"  # never touched
    assert opslevel.component_by_alias("a")["properties"] == {}
    if action == "skip":
        assert report.problems() == []  # a skip does not fail the run
        assert report.to_dict()["skipped"][0] == {"kind": "widget", "alias": "a", "reason": reason}
        assert f"  widget a: {reason}" in report.describe()
        assert counts["suggest"] == (1 if on_not_found == "suggest" else 0)
    else:
        assert report.problems() == [f"widget a: {reason}"]  # fails the run...
        assert opslevel.component_by_alias("b")["properties"] == {"colour": "blue"}  # ...after the rest


# -- 3. jq failing at run time in each key -----------------------------------------------------------

JQ_KEYS = [
    # (extra YAML, the failing key, its line, an expression that fails on the record)
    ("", "opslevel_identifier", 5, 'error("boom")'),
    ('properties:\n  colour: error("boom")\n', "properties.colour", 7, 'error("boom")'),
    ('default_properties:\n  name: error("boom")\n', "default_properties.name", 7, 'error("boom")'),
    ('default_properties:\n  tags: error("boom")\n', "default_properties.tags", 7, 'error("boom")'),
    ('aliases: error("boom")\n', "aliases", 6, 'error("boom")'),
    ('aliases:\n- .id\n- error("boom")\n', "aliases[1]", 8, 'error("boom")'),
]


@pytest.mark.parametrize(("extra", "key", "line", "source"), JQ_KEYS, ids=[k[1] for k in JQ_KEYS])
def test_jq_error_in_each_key_is_a_located_problem_for_that_record(
    tmp_path, opslevel, extra, key, line, source
):
    identifier = source if key == "opslevel_identifier" else ".id"
    config = write(tmp_path, transform(identifier=identifier, extra=extra))
    report = sync(opslevel, config, {"id": "a"})
    where = f"{tmp_path / 'transform.yaml'}:{line}: transforms[0] (rec) {key}"
    assert report.problems() == [f"transform rec:a: {where}: jq expression '{source}' failed: boom"]
    assert report.unmapped() == {"rec": 1}
    assert report.to_dict()["unmapped"] == {"rec": 1}
    assert "Records that could not be mapped (listed as problems): 1 rec" in report.describe()
    assert opslevel.component_by_alias("a") is None  # never half-written


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (".x | halt_error", "halt_error"),
        (".a.b", "Cannot index string with"),
        ("halt", "halt"),
    ],
)
def test_jq_halt_and_type_errors_are_problems_not_nulls(tmp_path, opslevel, expression, message):
    config = write(tmp_path, transform(extra=f"properties:\n  colour: '{expression}'\n"))
    report = sync(opslevel, config, {"id": "a", "x": "stop", "a": "text"}, {"id": "b", "x": "stop", "a": "t"})
    where = f"{tmp_path / 'transform.yaml'}:7: transforms[0] (rec) properties.colour"
    prefix = f"{where}: jq expression '{expression}' failed: "
    assert [p.split(": ", 1)[0] for p in report.problems()] == ["transform rec:a", "transform rec:b"]
    for problem in report.problems():
        assert problem.split(": ", 1)[1].startswith(prefix) and message in problem
    assert report.plan.components == []
    assert [c for c in opslevel.components() if c["type"] == "widget"] == []


# -- 4. identifiers that cannot be aliases ---------------------------------------------------------

BAD_IDENTIFIERS = [
    ({"id": "a", "i": None}, "opslevel_identifier '.i' gave null"),
    ({"id": "a", "i": ""}, "opslevel_identifier '.i' gave \"\""),
    ({"id": "a", "i": "   "}, 'opslevel_identifier gave a blank alias "   "'),
    ({"id": "a", "i": {"k": 1}}, 'opslevel_identifier must be a string or a number, got {"k": 1}'),
    ({"id": "a", "i": ["x", "y"]}, 'opslevel_identifier must be a string or a number, got ["x", "y"]'),
    ({"id": "a", "i": True}, "opslevel_identifier must be a string or a number, got true"),
    (
        {"id": "a", "i": "x" * 100_000},
        f"opslevel_identifier gave an alias of 100000 characters (at most {MAX_ALIAS_CHARS}): "
        f'"{"x" * 76}... (100002 characters)',
    ),
]


@pytest.mark.parametrize(
    ("item", "message"), BAD_IDENTIFIERS, ids=["null", "empty", "blank", "object", "array", "bool", "huge"]
)
def test_identifier_that_is_not_an_alias_is_a_problem(tmp_path, opslevel, item, message):
    config = write(tmp_path, transform(identifier=".i"))
    report = sync(opslevel, config, item, {"id": "b", "i": "fine"})
    where = f"{tmp_path / 'transform.yaml'}:5: transforms[0] (rec) opslevel_identifier"
    assert report.problems() == [f"transform rec:a: {where}: {message}"]
    assert [c["aliases"] for c in opslevel.components() if c["type"] == "widget"] == [["fine"]]


def test_identifier_with_several_outputs_is_a_problem_not_its_first(tmp_path, opslevel):
    config = write(tmp_path, transform(identifier=".ids[]"))
    report = sync(opslevel, config, {"id": "a", "ids": ["x", "y", "z", "w"]})
    where = f"{tmp_path / 'transform.yaml'}:5: transforms[0] (rec) opslevel_identifier"
    assert report.problems() == [
        f"transform rec:a: {where}: opslevel_identifier '.ids[]' gave 4 values "
        '("x", "y", "z", ...); it must give exactly one'
    ]


def test_identifier_with_surrounding_blanks_is_trimmed_as_opslevel_stores_it(tmp_path, opslevel):
    config = write(tmp_path, transform(identifier=".i"))
    first = sync(opslevel, config, {"id": "a", "i": "  spaced "})
    again = sync(opslevel, config, {"id": "a", "i": "  spaced "})
    assert first.problems() == [] and again.problems() == []
    assert [c["aliases"] for c in opslevel.components() if c["type"] == "widget"] == [["spaced"]]
    assert again.plan.counts()["widget"]["unchanged"] == 1  # not created twice


# -- 5. several records with one identifier --------------------------------------------------------


def test_duplicate_identifiers_with_different_values_are_reported(tmp_path, opslevel):
    config = write(tmp_path, transform(identifier=".key", extra="properties:\n  colour: .c\n"))
    report = sync(opslevel, config, {"id": "1", "key": "k", "c": "red"}, {"id": "2", "key": "k", "c": "blue"})
    # Counted and shown, but not a failure: the source's data is not the user's to fix.
    warning = 'widget k: records disagree on properties.colour: "red" (rec:1) and "blue" (rec:2); the last one is used'
    assert report.problems() == []
    assert report.warnings() == [warning]
    assert report.to_dict()["warnings"] == [warning]
    assert f"Warnings (1; written, not failing the run):\n  {warning}" in report.describe()
    assert opslevel.component_by_alias("k")["properties"] == {"colour": "blue"}


def test_duplicate_identifiers_with_equal_values_merge_silently(tmp_path, opslevel):
    config = write(tmp_path, transform(identifier=".key", extra="properties:\n  colour: .c\n"))
    report = sync(opslevel, config, {"id": "1", "key": "k", "c": "red"}, {"id": "2", "key": "k", "c": "red"})
    assert report.problems() == []
    ((item),) = report.plan.components
    assert item.desired.sources == ["rec:1", "rec:2"]


# -- 6. values that do not fit the property's schema ------------------------------------------------

MISFITS = [
    ("size", {"n": 1}, "property 'size': {'n': 1} is not of type 'integer'"),
    ("size", "many", "property 'size': 'many' is not of type 'integer'"),
    ("size", 1.5, "property 'size': 1.5 is not of type 'integer'"),
    ("colour", ["a", "b"], "property 'colour': ['a', 'b'] is not of type 'string'"),
    ("labels", [1, {"x": 2}], "property 'labels': {'x': 2} is not of type 'string'"),
]


@pytest.mark.parametrize(
    ("key", "value", "message"), MISFITS, ids=[f"{m[0]}-{i}" for i, m in enumerate(MISFITS)]
)
def test_property_value_that_does_not_fit_is_reported_and_the_rest_written(
    tmp_path, opslevel, key, value, message
):
    extra = f"properties:\n  {key}: .v\n" + ("  colour: .c\n" if key != "colour" else "")
    config = write(tmp_path, transform(extra=extra))
    report = sync(opslevel, config, {"id": "a", "v": value, "c": "red"})
    assert report.problems() == [f"widget a: {message}"]
    component = opslevel.component_by_alias("a")
    assert key not in component["properties"]
    assert component["properties"] == ({} if key == "colour" else {"colour": "red"})


# -- 7. a failed record blocks deletion of its kind --------------------------------------------------


def test_a_record_failing_in_jq_blocks_deletion_for_its_kind(tmp_path, opslevel):
    config = write(
        tmp_path, transform(extra='properties:\n  colour: if .bad then error("boom") else .c end\n')
    )
    first = sync(opslevel, config, {"id": "a", "c": "red"}, {"id": "b", "c": "red"})
    assert first.problems() == []
    tags = {t["key"]: t["value"] for t in opslevel.component_by_alias("b")["tags"]}
    assert tags == {OWNER_TAG: INTEGRATION, PARTITION_TAG: "rec"}
    # "b" is gone from the source, and "a" fails to map: "b" cannot be proven gone.
    report = sync(opslevel, config, {"id": "a", "bad": True})
    assert opslevel.component_by_alias("b") is not None
    assert report.problems()[1] == (
        "delete widget: records of rec could not be mapped, so which widget components are gone is not "
        "known; nothing of this kind was deleted"
    )
    assert report.problems()[0].startswith("transform rec:a: ") and "boom" in report.problems()[0]
    # Once it maps again, "b" goes.
    sync(opslevel, config, {"id": "a", "c": "red"})
    assert opslevel.component_by_alias("b") is None
